"""kill -9 at random points of `coopqa ingest --prune`: every document is left either fully indexed (old or
new version) or absent, the next run repairs, `coopqa doctor` then reports a consistent index, and every
finished document answers searches."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import reopen_chroma
from coopqa.api import CoopQA
from coopqa.ingest import document_sha
from coopqa.readers import RawDoc

DOCS = 24
TRIALS = 20
CITIES = ("Minsk", "Astana", "Baku", "Belgrade", "Havana", "Dushanbe", "Yerevan", "Caracas")
TOPICS = ("film co-production", "dubbing of series", "a documentary festival", "training workshops",
          "a film week", "animation exchange")


def doc_id(n: int) -> str:
    return f"doc{n:02}"


def code(n: int, variant: int) -> int:
    """The number only this document's version states (numbers are language-neutral search terms)."""
    return 7000 + 10 * n + variant


def text(n: int, variant: int) -> str:
    c = code(n, variant)
    return (f"Cinema delegation {c} from {CITIES[(n + variant) % len(CITIES)]} visited the Farabi Foundation.\n"
            f"Delegation {c} agreed on {TOPICS[(n * 3 + variant) % len(TOPICS)]} with Iranian producers.\n")


def sha(n: int, variant: int, corpus: Path) -> str:
    return document_sha(RawDoc(doc_id(n), text(n, variant), str(corpus / f"{doc_id(n)}.txt")))


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A manifest whose embedding cache holds both versions of every document (so the trials spend their time
    writing the index, not embedding)."""
    home = tmp_path_factory.mktemp("durability-template")
    corpus = tmp_path_factory.mktemp("durability-corpus")
    coop = CoopQA(home=home)
    for variant in (0, 1):
        for n in range(DOCS):
            (corpus / f"{doc_id(n)}.txt").write_text(text(n, variant))
        coop.ingest([corpus])
    return home / "coopqa.sqlite"


def _fresh_home(warm_cache: Path, home: Path) -> None:
    home.mkdir()
    with sqlite3.connect(warm_cache) as src, sqlite3.connect(home / "coopqa.sqlite") as dst:
        src.backup(dst)
        dst.execute("PRAGMA foreign_keys=ON")
        dst.execute("DELETE FROM docs")
        dst.execute("DELETE FROM meta")


def _ingest_and_kill(home: Path, corpus: Path, rng: random.Random) -> tuple[list[str], bool]:
    """Run `coopqa ingest --prune` and kill -9 it at a random point: after a random number of documents
    started (plus a random delay), or at a random time. Returns the documents it started, in order, and
    whether it was killed before finishing."""
    proc = subprocess.Popen([sys.executable, "-m", "coopqa", "--home", str(home), "ingest", "--prune", str(corpus)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    started: list[str] = []
    after = rng.choice([0, 1, 1, 2, 3, 5])  # 0: a random time, which may fall in start-up or repair
    killer = threading.Timer(rng.uniform(0.5, 4.0), proc.kill) if after == 0 else None
    if killer:
        killer.start()
    for line in proc.stderr:
        if line.strip().startswith("indexing "):
            started.append(line.split()[-1])
            if len(started) == after:
                time.sleep(rng.uniform(0, 0.15))
                proc.send_signal(signal.SIGKILL)
    code_ = proc.wait(timeout=300)
    if killer:
        killer.cancel()
    return started, code_ == -signal.SIGKILL


def test_kill_9_during_ingest_leaves_whole_documents_and_doctor_repairs(warm_cache: Path, tmp_path: Path) -> None:
    rng = random.Random(6)
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    _fresh_home(warm_cache, home)
    corpus.mkdir()
    version = {n: 0 for n in range(DOCS)}  # the version each file holds; absent from `present`: file removed
    present = set(range(DOCS))
    for n in present:
        (corpus / f"{doc_id(n)}.txt").write_text(text(n, 0))
    killed = 0
    for trial in range(TRIALS):
        if trial:  # change some documents, remove some files, bring back some removed ones
            for n in rng.sample(sorted(present), 5):
                version[n] = 1 - version[n]
                (corpus / f"{doc_id(n)}.txt").write_text(text(n, version[n]))
            for n in rng.sample(sorted(present), 1):
                present.discard(n)
                (corpus / f"{doc_id(n)}.txt").unlink()
            for n in rng.sample(sorted(set(range(DOCS)) - present), min(1, DOCS - len(present))):
                present.add(n)
                (corpus / f"{doc_id(n)}.txt").write_text(text(n, version[n]))
        started, was_killed = _ingest_and_kill(home, corpus, rng)
        killed += was_killed
        finished = started[:-1] if was_killed else started
        in_flight = set(started[-1:]) if was_killed else set()
        removed = {doc_id(n) for n in set(range(DOCS)) - present}  # --prune may have been deleting these

        reopen_chroma()
        coop = CoopQA(home=home)
        shas = {r["doc_id"]: r["sha256"] for r in coop.docs()}
        for n in range(DOCS):  # every indexed document is one whole version of it, with all its sentences
            if doc_id(n) in shas:
                indexed = coop.document(doc_id(n))
                assert indexed.text in (text(n, 0), text(n, 1)) and len(indexed.sentences) == 2
                assert shas[doc_id(n)] == sha(n, 0 if indexed.text == text(n, 0) else 1, corpus)
        for d in finished:
            assert shas.get(d) == sha(int(d[3:]), version[int(d[3:])], corpus), (trial, d)
        found = coop.doctor().found  # before any repair: only the document being written may be half-indexed
        half = {i.rsplit(":s", 1)[0] for i in found.missing + found.orphaned}
        assert half <= in_flight | removed, (trial, half, in_flight)

        if trial % 2:  # `doctor --repair` first: vectors fixed, changed files re-ingested, gone ones removed
            report = coop.doctor(repair=True)
            assert report.after is None or report.after.consistent, report.after
        if trial % 4 == 3:  # the restart through the CLI: its ingest repairs first; then `coopqa doctor`
            for args in (["ingest", "--prune", str(corpus)], ["doctor"]):
                run = subprocess.run([sys.executable, "-m", "coopqa", "--home", str(home), *args],
                                     capture_output=True, text=True, timeout=300, check=False)
                assert run.returncode == 0, run.stdout + run.stderr
            assert "ok: the index is consistent" in run.stdout
            reopen_chroma()
            coop = CoopQA(home=home)
        else:
            coop.ingest([corpus], prune=True)
        assert coop.doctor().consistent
        assert sorted(r["doc_id"] for r in coop.docs()) == sorted(doc_id(n) for n in present)
        for d in sorted({*finished, *rng.sample(sorted(doc_id(n) for n in present), 2)}):
            n = int(d[3:])
            hit = coop.search(f"delegation {code(n, version[n])}", 1)[0]
            assert hit.doc_id == d and str(code(n, version[n])) in hit.text, (trial, d, hit)
    assert killed >= TRIALS // 2  # most trials really were killed mid-run
