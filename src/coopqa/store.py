"""Persistent corpus state under --home: a SQLite manifest (documents, sentences, embedding cache) and
a Chroma collection (one vector per citable sentence) reached through LlamaIndex's Chroma vector store."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from coopqa.embed import DIM, MODEL_NAME, embed_passages
from coopqa.settings import Settings
from coopqa.types import CoopqaError, Document, Sentence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
  doc_id TEXT PRIMARY KEY, path TEXT, sha256 TEXT NOT NULL, language TEXT NOT NULL, title TEXT,
  date TEXT, date_text TEXT, source TEXT, text TEXT NOT NULL, ingested_at REAL DEFAULT (unixepoch('subsec')));
CREATE TABLE IF NOT EXISTS sentences (
  id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES docs(doc_id) ON DELETE CASCADE, n INTEGER NOT NULL,
  start INTEGER NOT NULL, "end" INTEGER NOT NULL, boilerplate INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id, n);
CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vec BLOB NOT NULL);
"""


class StoreError(CoopqaError):
    """The index under --home cannot be used; str() is a one-line reason."""


def embedding_key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def embed_text(doc: Document, s: Sentence) -> str:
    """What is embedded for a sentence: the sentence itself (its neighbours travel as context)."""
    return s.text


class Store:
    """Documents, sentences and vectors of one --home. Readers may share it; writers take `lock()`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = Path(settings.home)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            probe = self.home / ".write-probe"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise StoreError(f"--home {self.home} is not writable: {e.strerror or e}") from None
        self.db = sqlite3.connect(self.home / "coopqa.sqlite", isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)

    # ---- locking -------------------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock on this --home; a second writer gets a clear error instead of waiting."""
        fd = os.open(self.home / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"another coopqa process is writing to {self.home}; try again when it ends") from None
            yield
        finally:
            os.close(fd)

    # ---- Chroma through LlamaIndex ------------------------------------------------------------------
    @cached_property
    def collection(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        from coopqa.embed import E5ChromaFunction

        client = chromadb.PersistentClient(
            path=str(self.home / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return client.get_or_create_collection(
            self.settings.collection, embedding_function=E5ChromaFunction(self.settings.threads),
            metadata={"hnsw:space": "cosine", "embedder": MODEL_NAME},
        )

    @cached_property
    def vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    # ---- reads ---------------------------------------------------------------------------------
    def version(self) -> str:
        """Changes whenever the set of documents changes (for in-memory caches)."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(ingested_at), 0), group_concat(sha256) FROM docs"
        ).fetchone()
        return hashlib.sha1(repr(row).encode()).hexdigest()

    def doc_rows(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT d.doc_id, d.language, d.date, d.title, d.path, d.sha256, count(s.id) "
            "FROM docs d LEFT JOIN sentences s ON s.doc_id = d.doc_id GROUP BY d.doc_id ORDER BY d.doc_id"
        ).fetchall()
        keys = ("doc_id", "language", "date", "title", "path", "sha256", "sentences")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute(
            "SELECT doc_id, text, language, title, date, date_text, source, path, sha256 FROM docs WHERE doc_id=?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("doc_id", "text", "language", "title", "date", "date_text", "source", "path", "sha256")
        doc = Document(**dict(zip(keys, row, strict=True)))
        doc.sentences = [
            Sentence(id=i, start=s, end=e, text=doc.text[s:e], boilerplate=bool(b))
            for i, s, e, b in self.db.execute(
                'SELECT id, start, "end", boilerplate FROM sentences WHERE doc_id=? ORDER BY n', (doc_id,)
            )
        ]
        return doc

    def documents(self) -> list[Document]:
        return [d for r in self.doc_rows() if (d := self.document(r["doc_id"])) is not None]

    def sha(self, doc_id: str) -> str | None:
        row = self.db.execute("SELECT sha256 FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        return row[0] if row else None

    # ---- embeddings ----------------------------------------------------------------------------
    def embeddings_for(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """Vectors for texts, computing only those not cached; returns (vectors, number computed)."""
        keys = [embedding_key(t) for t in texts]
        cached: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            cached.update(self.db.execute(f"SELECT key, vec FROM embeddings WHERE key IN ({marks})", chunk))
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
        if todo:
            vecs = embed_passages([t for _, t in todo], self.settings.threads)
            rows = [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(todo, vecs, strict=True)]
            with self._tx():  # one commit, not one fsync per sentence
                self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)
            cached.update(rows)
        out = np.stack([np.frombuffer(cached[k], np.float32) for k in keys]) if keys else np.zeros((0, DIM))
        return out.astype(np.float32), len(todo)

    # ---- writes --------------------------------------------------------------------------------
    def put(self, doc: Document) -> int:
        """Index one document atomically: vectors for its citable sentences, then its manifest rows in one
        transaction. Returns the number of sentences newly embedded."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        citable = [s for s in doc.sentences if not s.boilerplate]
        vecs, computed = self.embeddings_for([embed_text(doc, s) for s in citable])
        nodes = [
            TextNode(
                id_=s.id, text=s.text, embedding=v.tolist(),
                metadata={"lang": doc.language, "n": int(s.id.rsplit(":s", 1)[1]), "sha": doc.sha256},
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc.doc_id)},
            )
            for s, v in zip(citable, vecs, strict=True)
        ]
        if self.sha(doc.doc_id) is not None:  # vectors a crash left behind are removed by repair()
            self.vector_store.delete(ref_doc_id=doc.doc_id)
        if nodes:
            self.vector_store.add(nodes)
        with self._tx():
            self.db.execute("DELETE FROM docs WHERE doc_id=?", (doc.doc_id,))
            self.db.execute(
                "INSERT INTO docs (doc_id, path, sha256, language, title, date, date_text, source, text) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (doc.doc_id, doc.path, doc.sha256, doc.language, doc.title, doc.date, doc.date_text,
                 doc.source, doc.text),
            )
            self.db.executemany(
                'INSERT INTO sentences (id, doc_id, n, start, "end", boilerplate) VALUES (?,?,?,?,?,?)',
                [(s.id, doc.doc_id, n, s.start, s.end, int(s.boilerplate)) for n, s in enumerate(doc.sentences, 1)],
            )
        return computed

    def delete(self, doc_id: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))
        self.vector_store.delete(ref_doc_id=doc_id)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- consistency ---------------------------------------------------------------------------
    def check(self) -> dict[str, list[str]]:
        """Vectors without a finished document ('orphaned') and citable sentences without a vector
        ('missing') — what a crash between the two stores can leave."""
        got = self.collection.get(include=["metadatas"])
        in_chroma = {i: (m or {}).get("sha") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
        expected = dict(self.db.execute(
            "SELECT s.id, d.sha256 FROM sentences s JOIN docs d ON d.doc_id = s.doc_id WHERE s.boilerplate = 0"
        ).fetchall())
        return {
            "orphaned": sorted(i for i, sha in in_chroma.items() if expected.get(i) != sha),
            "missing": sorted(i for i in expected if in_chroma.get(i) != expected[i]),
        }

    def repair(self) -> dict[str, list[str]]:
        """Delete orphaned vectors and re-add missing ones (from the embedding cache where possible)."""
        problems = self.check()
        if problems["orphaned"]:
            self.collection.delete(ids=problems["orphaned"])
        for doc_id in sorted({i.rsplit(":s", 1)[0] for i in problems["missing"]}):
            doc = self.document(doc_id)
            if doc is not None:
                self.put(doc)
        return problems
