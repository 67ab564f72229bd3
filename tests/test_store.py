"""The vector store embedded under --home and on a real Chroma server, collections per corpus, `coopqa doctor`,
manifest schema upgrades, and two writers on one --home."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import CORPUS, reopen_chroma
from coopqa.api import CoopQA
from coopqa.embed import MODEL_NAME, E5ChromaFunction
from coopqa.store import SCHEMA_VERSION

BELARUS_Q = "Which country's ambassador met the head of Iran's Cinema Organization?"
BELARUS_DOC = "001_0264cdd17540aec1"
STORES = ("embedded", "server")


def run_cli(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coopqa", *args, "--home", str(home)], check=False,
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def vector_options(where: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings overrides for the store: nothing (embedded) or the test server with a fresh collection."""
    if where == "embedded":
        return {}
    return {"chroma_url": request.getfixturevalue("chroma_server"), "collection": f"t-{uuid.uuid4().hex[:12]}"}


@pytest.fixture
def warm_home(seed_home: Path, tmp_path: Path) -> Path:
    """An empty home whose embedding cache already holds the seed sentences (ingest without the embedding
    time; the vectors still go through the whole ingest path into the store under test)."""
    home = tmp_path / "warm"
    home.mkdir()
    with sqlite3.connect(seed_home / "coopqa.sqlite") as src, sqlite3.connect(home / "coopqa.sqlite") as dst:
        src.backup(dst)
        dst.execute("PRAGMA foreign_keys=ON")
        dst.execute("DELETE FROM docs")
        dst.execute("DELETE FROM meta")  # a manifest of its own
    return home


@pytest.mark.parametrize("where", STORES)
def test_ingest_and_search_same_on_embedded_store_and_server(where: str, warm_home: Path, seed_home: Path,
                                                              request: pytest.FixtureRequest) -> None:
    coop = CoopQA(home=warm_home, **vector_options(where, request))
    report = coop.ingest([CORPUS])
    assert len(report.added) == 5 and not report.errors
    assert (warm_home / "chroma").exists() == (where == "embedded")
    assert isinstance(coop.store.collection._embedding_function, E5ChromaFunction)
    assert coop.store.collection.metadata["embedder"] == MODEL_NAME
    assert coop.store.collection.count() == sum(not s.boilerplate for d in coop.store.documents() for s in d.sentences)
    hits = coop.search(BELARUS_Q, 5)
    assert hits[0].doc_id == BELARUS_DOC
    reference = CoopQA(home=seed_home)  # the session's embedded index of the same corpus
    for query in (BELARUS_Q, "Azerbaijani Culture Minister Anar Karimov", "سینمای قزاقستان"):
        assert [h.id for h in coop.search(query, 5)] == [h.id for h in reference.search(query, 5)], query
    assert coop.doctor().consistent


@pytest.mark.llm
@pytest.mark.parametrize("where", STORES)
def test_ask_same_on_embedded_store_and_server(where: str, warm_home: Path, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    from test_llm import _real_settings

    settings = _real_settings(tmp_path).model_copy(update={"home": warm_home, "cache": False, "n_ctx": 4096,
                                                           **vector_options(where, request)})
    coop = CoopQA(settings)
    coop.ingest([CORPUS])
    result = coop.ask(BELARUS_Q)
    assert not result["abstained"] and "Belarus" in result["answer"], result
    assert result["citations"] and {c["doc_id"] for c in result["citations"]} == {BELARUS_DOC}, result


@pytest.mark.parametrize("where", STORES)
def test_an_open_index_sees_another_process_ingest(where: str, warm_home: Path, tmp_path: Path,
                                                   request: pytest.FixtureRequest) -> None:
    """A long-lived reader (coopqa serve, chat, a notebook) searches correctly after a CLI ingest in another
    process added and changed documents (an embedded Chroma would otherwise answer from its stale memory)."""
    options = vector_options(where, request)
    src = tmp_path / "docs"
    src.mkdir()
    (src / "a.txt").write_text("Iran and Serbia signed a film MoU in Belgrade. A film week is planned.")
    reader = CoopQA(home=warm_home, **options)
    reader.ingest([src])
    assert reader.search("film week", 1)[0].id == "a:s2"
    (src / "a.txt").write_text("Iran and Serbia signed a film MoU in Novi Sad. Training workshops follow.")
    (src / "b.txt").write_text("The Tajik minister visited Tehran. They discussed dubbing.")
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in options.items()]
    result = run_cli(*flags, "ingest", str(src), home=warm_home)
    assert result.returncode == 0 and "1 added, 1 updated" in result.stdout, result.stderr
    for query, expected in (("Training workshops follow", "a:s2"), ("The Tajik minister visited Tehran", "b:s1")):
        hit = reader.search(query, 1)[0]
        assert hit.id == expected and hit.parts["dense"] > 1.0, (query, hit)  # found by its vector too
    assert reader.store.collection.count() == 4


def test_collections_namespace_corpora_on_one_server(chroma_server: str, warm_home: Path, tmp_path: Path) -> None:
    """Two corpora, two homes, two collections on one server: each searches only its own documents, neither's
    doctor sees the other's vectors; a home pointed at another index's collection is refused."""
    ours = {"chroma_url": chroma_server, "collection": f"a-{uuid.uuid4().hex[:8]}"}
    a = CoopQA(home=warm_home, **ours)
    a.ingest([CORPUS / f"{BELARUS_DOC}.txt"])
    other = tmp_path / "other"
    other.mkdir()
    (other / "tj.txt").write_text("The Tajik culture minister visited Tehran. Both sides discussed dubbing films.")
    b = CoopQA(home=tmp_path / "b", chroma_url=chroma_server, collection=f"b-{uuid.uuid4().hex[:8]}")
    b.ingest([other])
    assert {h.doc_id for h in b.search(BELARUS_Q, 5)} == {"tj"}
    assert a.search(BELARUS_Q, 1)[0].doc_id == BELARUS_DOC
    assert a.doctor().consistent and b.doctor().consistent
    result = run_cli("--chroma-url", chroma_server, "--collection", ours["collection"], "search", "film",
                     home=tmp_path / "b")
    assert result.returncode == 1
    assert error_lines(result) == [f"error: Chroma collection '{ours['collection']}' belongs to another coopqa "
                                   f"index than {tmp_path / 'b'}: give each corpus its own --collection"]
    env_result = subprocess.run(
        [sys.executable, "-m", "coopqa", "search", BELARUS_Q, "-k", "1", "--json", "--home", str(warm_home)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "COOPQA_CHROMA_URL": chroma_server, "COOPQA_COLLECTION": ours["collection"]},
    )
    assert env_result.returncode == 0 and BELARUS_DOC in env_result.stdout, env_result.stderr


def test_unreachable_server_and_bad_collection_are_one_line_errors(chroma_server: str, seed_copy: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    for command in (["ingest", str(CORPUS)], ["search", BELARUS_Q]):
        result = run_cli("--chroma-url", closed, *command, home=seed_copy)
        assert result.returncode == 1, command
        [line] = error_lines(result)
        assert line.startswith(f"error: cannot reach the Chroma server at {closed}: "), line
    result = run_cli("search", BELARUS_Q, "--chroma-url", chroma_server, "--collection", "x", home=seed_copy)
    [line] = error_lines(result)
    assert result.returncode == 1 and line.startswith("error: Chroma collection 'x': ") and "3-512" in line
    assert CoopQA(home=seed_copy).doctor().consistent  # the embedded index was never touched


# ---------------------------------------------------------------- doctor


def test_doctor_finds_and_repairs_missing_and_orphaned_vectors(seed_copy: Path) -> None:
    coop = CoopQA(home=seed_copy)
    collection = coop.store.collection
    gone = f"{BELARUS_DOC}:s1"
    ghost = collection.get(ids=[gone], include=["embeddings", "metadatas"])
    collection.delete(ids=[gone])
    collection.add(ids=["ghost:s1"], embeddings=[ghost["embeddings"][0]], metadatas=[{"sha": "x", "lang": "en"}])
    found = coop.doctor().found
    assert (found.missing, found.orphaned, found.consistent) == ([gone], ["ghost:s1"], False)
    result = run_cli("doctor", home=seed_copy)
    assert result.returncode == 1
    assert f"missing: 1 citable sentences without their vector ({gone})" in result.stdout
    assert "orphaned: 1 vectors without an indexed document (ghost:s1)" in result.stdout
    assert "run `coopqa doctor --repair`" in result.stderr
    result = run_cli("doctor", "--repair", home=seed_copy)
    assert result.returncode == 0 and "ok: the index is consistent" in result.stdout, result.stdout + result.stderr
    reopen_chroma()
    again = CoopQA(home=seed_copy)
    assert again.doctor().consistent and again.search(BELARUS_Q, 1)[0].id == gone


def test_doctor_rebuilds_vectors_of_another_embedder(seed_copy: Path) -> None:
    coop = CoopQA(home=seed_copy)
    coop.store.collection.modify(metadata={"embedder": "some-other-model"})
    result = run_cli("search", BELARUS_Q, home=seed_copy)
    assert result.returncode == 1 and error_lines(result) == [
        f"error: the vectors of collection 'coopqa' were made by some-other-model, not {MODEL_NAME}: run "
        "`coopqa doctor --repair` to rebuild them"]
    result = run_cli("doctor", home=seed_copy)
    assert result.returncode == 1 and "embedding-model mismatch: the vectors were made by some-other-model" \
        in result.stdout
    report = CoopQA(home=seed_copy).doctor(repair=True)
    assert report.found.embedder == "some-other-model" and report.after is not None and report.after.consistent
    fresh = CoopQA(home=seed_copy)
    assert fresh.store.collection.metadata["embedder"] == MODEL_NAME
    assert fresh.search(BELARUS_Q, 1)[0].doc_id == BELARUS_DOC


def test_doctor_changed_gone_and_outdated_documents(warm_home: Path, tmp_path: Path) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    (src / "a.txt").write_text("Iran and Serbia signed a film MoU in Belgrade. A film week is planned.")
    (src / "b.txt").write_text("The Tajik minister visited Tehran. They discussed dubbing.")
    (src / "c.jsonl").write_text('{"id": "c1", "text": "Iran and Cuba held a film week in Havana."}\n'
                                 '{"id": "c2", "text": "Iran and Brazil discussed animation."}\n')
    coop = CoopQA(home=warm_home)
    coop.ingest([src])
    (src / "a.txt").write_text("Iran and Serbia signed a film MoU in Belgrade. Training workshops follow.")
    (src / "b.txt").unlink()
    (src / "c.jsonl").write_text('{"id": "c1", "text": "Iran and Cuba held a film week in Havana."}\n')
    coop.store.db.execute("UPDATE docs SET pipeline='0' WHERE doc_id='c1'")
    found = coop.doctor().found
    assert (found.changed, found.gone, found.outdated) == (["a"], ["b", "c2"], ["c1"])
    result = run_cli("doctor", home=warm_home)
    assert result.returncode == 1 and "gone: 2 documents whose file or record is gone (b, c2)" in result.stdout
    report = coop.doctor(repair=True)
    assert report.after is not None and report.after.consistent, report.after
    assert [r["doc_id"] for r in coop.docs()] == ["a", "c1"]
    assert coop.store.pipelines()["c1"] != "0"
    assert coop.search("Training workshops", 1)[0].text == "Training workshops follow."


def test_manifest_of_the_first_layout_is_upgraded_and_a_newer_one_refused(seed_copy: Path) -> None:
    with sqlite3.connect(seed_copy / "coopqa.sqlite") as db:  # back to the layout before versioning
        db.execute("ALTER TABLE docs DROP COLUMN pipeline")
        db.execute("DROP TABLE meta")
        db.execute("PRAGMA user_version = 0")
    coop = CoopQA(home=seed_copy)
    diagnosis = coop.doctor().found
    assert diagnosis.consistent and diagnosis.schema == SCHEMA_VERSION and diagnosis.documents == 5
    assert set(coop.store.pipelines().values()) == {"1"}
    assert coop.search(BELARUS_Q, 1)[0].doc_id == BELARUS_DOC
    with sqlite3.connect(seed_copy / "coopqa.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result = run_cli("docs", home=seed_copy)
    assert result.returncode == 1 and error_lines(result) == [
        f"error: the index in {seed_copy} has manifest schema {SCHEMA_VERSION + 1}, newer than this coopqa reads "
        f"({SCHEMA_VERSION}): upgrade coopqa"]


# ---------------------------------------------------------------- two writers


def test_second_cli_writer_is_refused_while_the_first_ingests(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    for n in range(12):
        (src / f"d{n:02}.txt").write_text(f"Delegation {n} of the film academy met cinema officials in city {n}. "
                                          f"They planned {n + 3} joint screenings and a workshop {n} on dubbing.")
    home = tmp_path / "home"
    first = subprocess.Popen([sys.executable, "-m", "coopqa", "--home", str(home), "ingest", str(src)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert first.stderr is not None
    assert "indexing d00" in first.stderr.readline()
    first.send_signal(signal.SIGSTOP)  # it holds the lock while paused
    try:
        second = run_cli("ingest", str(src), home=home)
        doctor = run_cli("doctor", "--repair", home=home)
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0 and "12 added" in out, err
    for result in (second, doctor):
        assert result.returncode == 1
        assert error_lines(result) == [f"error: another coopqa process is writing to {home}; try again when it ends"]
    assert CoopQA(home=home).doctor().consistent
