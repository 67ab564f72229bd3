"""Ingestion: idempotency, replacement, pruning, and bad input that never harms the existing index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS
from coopqa.api import CoopQA

BELARUS_Q = "Which country's ambassador met the head of Iran's Cinema Organization?"


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coopqa", *args, "--home", str(home)], check=False, capture_output=True, text=True,
        timeout=300,
    )


def test_reingest_is_free_and_changes_replace_sentences(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    (src / "a.txt").write_text("Iran and Serbia signed a film MoU in Belgrade. A film week is planned.")
    (src / "b.md").write_text("The Tajik minister visited Tehran. They discussed dubbing.")
    coop = CoopQA(home=tmp_path / "home")
    first = coop.ingest([src])
    assert sorted(first.added) == ["a", "b"] and first.embedded == 4
    again = coop.ingest([src])
    assert sorted(again.unchanged) == ["a", "b"] and again.embedded == 0
    (src / "a.txt").write_text("Iran and Serbia signed a film MoU in Belgrade. Training workshops follow.")
    changed = coop.ingest([src])
    assert changed.updated == ["a"] and changed.embedded == 1  # the unchanged sentence is not re-embedded
    assert [s.text for s in coop.document("a").sentences][1] == "Training workshops follow."
    assert coop.store.check() == {"orphaned": [], "missing": []}
    (src / "b.md").unlink()
    pruned = coop.ingest([src], prune=True)
    assert pruned.removed == ["b"] and [r["doc_id"] for r in coop.docs()] == ["a"]
    assert all(h.doc_id == "a" for h in coop.search("Tajik minister dubbing", 5))


def test_json_jsonl_and_html(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    (src / "items.jsonl").write_text(
        json.dumps({"id": "j1", "text": "Iran and Cuba held a film week in Havana.", "title": "Cuba week"}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "j2", "text": "وزير الثقافة زار طهران."}) + "\n"
    )
    (src / "page.html").write_text(
        "<html><head><title>Film talks</title></head><body><nav>Home | About</nav><article><h1>Film talks</h1>"
        + "".join(f"<p>Paragraph {i}: the Iranian and Russian delegations discussed co-production of "
                  f"animated films and a documentary festival in Moscow in detail.</p>" for i in range(5))
        + "</article><footer>Copyright 2024</footer></body></html>"
    )
    report = CoopQA(home=tmp_path / "home").ingest([src])
    assert sorted(report.added) == ["j1", "j2", "page"]
    assert [str(e) for e in report.errors] == [(f"{src / 'items.jsonl'}: line 2: malformed JSON (Expecting "
                                               "property name enclosed in double quotes)")]
    coop = CoopQA(home=tmp_path / "home")
    assert coop.document("j2").language == "ar" and coop.document("j1").title == "Cuba week"
    page = coop.document("page")
    assert "Home | About" not in page.text and "co-production of animated films" in page.text


BAD_FILES = {
    "empty.txt": (b"", "empty file"),
    "binary.txt": (bytes(range(256)) * 4, "binary file"),
    "legacy.txt": ("وزير الثقافة الإيراني".encode("cp1256"), "not valid UTF-8"),
    "wide.txt": ("Iran film week".encode("utf-16"), "UTF-16"),
    "slides.pdf": (b"%PDF-1.4", "unsupported file type '.pdf'"),
    "bad.jsonl": (b"{broken\n", "malformed JSON"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_one_line_error_and_index_intact(name: str, seed_copy: Path, tmp_path: Path) -> None:
    data, reason = BAD_FILES[name]
    bad = tmp_path / name
    bad.write_bytes(data)
    result = run_cli("ingest", str(bad), home=seed_copy)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0] and reason in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    hits = CoopQA(home=seed_copy).search("Azerbaijani Culture Minister Anar Karimov visited", 3)
    assert hits[0].doc_id == "002_d149433968036d4b"
    assert len(CoopQA(home=seed_copy).docs()) == 5


def test_too_large_file_and_unwritable_home(seed_copy: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    result = run_cli("ingest", str(big), home=seed_copy)
    assert result.returncode == 1 and "file too large" in result.stderr and str(big) in result.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("ingest", str(CORPUS), home=blocker / "home")
    assert result.returncode == 1 and "not writable" in result.stderr and "Traceback" not in result.stderr
    assert len(CoopQA(home=seed_copy).docs()) == 5


def test_good_and_bad_files_together_exit_zero(seed_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Iran and Venezuela agreed on a documentary co-production.")
    (tmp_path / "empty.txt").write_text("")
    result = run_cli("ingest", str(tmp_path / "ok.txt"), str(tmp_path / "empty.txt"), home=seed_copy)
    assert result.returncode == 0 and "empty file" in result.stderr
    assert len(CoopQA(home=seed_copy).docs()) == 6


def test_second_writer_gets_a_clear_error(seed_copy: Path) -> None:
    coop = CoopQA(home=seed_copy)
    with coop.store.lock():
        result = run_cli("ingest", str(CORPUS), home=seed_copy)
    assert result.returncode == 1 and "another coopqa process is writing" in result.stderr
