"""Persistent corpus state: a SQLite manifest under --home (documents, sentences, embedding cache) and a
Chroma collection (one vector per citable sentence) reached through LlamaIndex's Chroma vector store — embedded
under --home, or on a Chroma server when `Settings.chroma_url` is set.

The two are written in order (vectors, then the manifest row in one transaction), so a crash can only leave
vectors the manifest does not vouch for, or a manifest row whose vectors are missing; `check()` finds both and
`repair()` (run by every ingest) fixes them: a document is either fully indexed or absent."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from coopqa.embed import DIM, MODEL_NAME, embed_passages
from coopqa.settings import Settings
from coopqa.types import CoopqaError, Document, Sentence, sentence_number

# The manifest's layout, kept in PRAGMA user_version (0: the first layout, before docs.pipeline and meta).
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
  doc_id TEXT PRIMARY KEY, path TEXT, sha256 TEXT NOT NULL, language TEXT NOT NULL, title TEXT,
  date TEXT, date_text TEXT, source TEXT, text TEXT NOT NULL, ingested_at REAL DEFAULT (unixepoch('subsec')),
  pipeline TEXT NOT NULL DEFAULT '1');
CREATE TABLE IF NOT EXISTS sentences (
  id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES docs(doc_id) ON DELETE CASCADE, n INTEGER NOT NULL,
  start INTEGER NOT NULL, "end" INTEGER NOT NULL, boilerplate INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id, n);
CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(CoopqaError):
    """The index under --home cannot be used; str() is a one-line reason."""


def vector_store_failure(error: BaseException) -> str | None:
    """A one-line reason when `error` comes from Chroma or the connection to a Chroma server, else None."""
    package = type(error).__module__.split(".")[0]
    what = {"chromadb": "Chroma failed", "httpx": "lost the Chroma server", "httpcore": "lost the Chroma server"}
    if package not in what:
        return None
    return f"{what[package]}: {type(error).__name__}: {' '.join(str(error).split())}"


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
        self._lock_owner: int | None = None
        self._migrate()
        self._others = self._others_writes()

    def _migrate(self) -> None:
        """Create or upgrade the manifest to SCHEMA_VERSION; refuse one written by a newer coopqa."""
        if self.schema_version() != SCHEMA_VERSION or self._manifest_id() is None:
            self._upgrade()
        self.manifest_id: str = self._manifest_id() or ""

    def _manifest_id(self) -> str | None:
        """The random id of this manifest (a Chroma collection records the manifest it belongs to)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='manifest_id'").fetchone()
        except sqlite3.OperationalError:  # no meta table yet
            return None
        return row[0] if row else None

    def _upgrade(self) -> None:
        with self._tx():
            found = self.db.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise StoreError(f"the index in {self.home} has manifest schema {found}, newer than this coopqa "
                                 f"reads ({SCHEMA_VERSION}): upgrade coopqa")
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(docs)")}
            if columns and "pipeline" not in columns:  # layout 0: every document was built by pipeline '1'
                self.db.execute("ALTER TABLE docs ADD COLUMN pipeline TEXT NOT NULL DEFAULT '1'")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('manifest_id', ?)", (uuid.uuid4().hex,))
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    # ---- locking -------------------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock on this --home (re-entrant in the thread that holds it); a second writer gets
        a clear error instead of waiting."""
        if self._lock_owner == threading.get_ident():
            yield
            return
        fd = os.open(self.home / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"another coopqa process is writing to {self.home}; try again when it ends") from None
            self._lock_owner = threading.get_ident()
            try:
                yield
            finally:
                self._lock_owner = None
        finally:
            os.close(fd)

    # ---- Chroma through LlamaIndex ------------------------------------------------------------------
    @cached_property
    def client(self):
        """The embedded Chroma under --home, or the server at `settings.chroma_url` (checked to answer)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        options = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url
        if not url:
            return chromadb.PersistentClient(path=str(self.home / "chroma"), settings=options)
        parts = urlsplit(url if "://" in url else f"http://{url}")
        try:
            client = chromadb.HttpClient(host=parts.hostname or "localhost", port=parts.port or 8000,
                                         ssl=parts.scheme == "https", settings=options)
            client.heartbeat()
        except Exception as e:  # chromadb raises ValueError/httpx errors; the user needs the URL and the reason
            raise StoreError(f"cannot reach the Chroma server at {url}: {' '.join(str(e).split())}") from None
        return client

    @property
    def _name(self) -> str:
        return self.settings.collection

    def vector_embedder(self) -> str | None:
        """What made the collection's vectors: its 'embedder' metadata, else the name of the Chroma embedding
        function it was created with; None when the collection does not exist yet."""
        client = self.client
        try:
            existing = client.get_collection(self._name, embedding_function=None)
        except Exception:  # chromadb raises NotFoundError or ValueError, by version and client
            return None
        function = (existing.configuration_json or {}).get("embedding_function") or {}
        return (existing.metadata or {}).get("embedder") or f"Chroma embedding function '{function.get('name')}'"

    @cached_property
    def collection(self):
        from coopqa.embed import E5ChromaFunction

        if (made_by := self.vector_embedder()) not in (None, MODEL_NAME):
            raise StoreError(f"the vectors of collection '{self._name}' were made by {made_by}, not {MODEL_NAME}: "
                             "run `coopqa doctor --repair` to rebuild them")
        client = self.client
        try:
            collection = client.get_or_create_collection(
                self._name, embedding_function=E5ChromaFunction(self.settings.threads),
                metadata={"hnsw:space": "cosine", "embedder": MODEL_NAME, "manifest": self.manifest_id},
            )
        except Exception as e:  # chromadb raises ValueError or its own errors for an invalid name or a refusal
            raise StoreError(f"Chroma collection '{self._name}': {' '.join(str(e).split())}") from None
        if self.settings.chroma_url and (collection.metadata or {}).get("manifest") not in (None, self.manifest_id):
            raise StoreError(f"Chroma collection '{self._name}' belongs to another coopqa index than {self.home}: "
                             "give each corpus its own --collection")
        return collection

    @cached_property
    def vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def _others_writes(self) -> int:
        """SQLite's data_version: changes when another connection (another process) commits to the manifest."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def sync(self) -> None:
        """If another process wrote to this index since this store last looked, reopen an embedded Chroma, which
        keeps the index in memory and would otherwise answer from (or fail on) its stale copy."""
        seen, self._others = self._others, self._others_writes()
        if self.settings.chroma_url or seen == self._others or self._lock_owner is not None:
            return
        client = self.__dict__.pop("client", None)
        for attr in ("collection", "vector_store"):
            self.__dict__.pop(attr, None)
        if client is not None:
            client.close()  # the last client of a path stops chromadb's shared system, so the next one reloads

    def drop_vectors(self) -> None:
        """Delete the whole collection (e.g. vectors of another embedder); `repair()` then re-adds every vector."""
        if self.vector_embedder() is not None:
            self.client.delete_collection(self._name)
        for attr in ("collection", "vector_store"):
            self.__dict__.pop(attr, None)

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
    def put(self, doc: Document, *, pipeline: str) -> int:
        """Index one document built by ingestion pipeline `pipeline`: its vectors, then its manifest rows in one
        transaction (the commit is what makes it indexed). Returns the number of sentences newly embedded."""
        computed = self._put_vectors(doc, replace=self.sha(doc.doc_id) is not None)
        with self._tx():
            self.db.execute("DELETE FROM docs WHERE doc_id=?", (doc.doc_id,))
            self.db.execute(
                "INSERT INTO docs (doc_id, path, sha256, language, title, date, date_text, source, text, pipeline) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (doc.doc_id, doc.path, doc.sha256, doc.language, doc.title, doc.date, doc.date_text,
                 doc.source, doc.text, pipeline),
            )
            self.db.executemany(
                'INSERT INTO sentences (id, doc_id, n, start, "end", boilerplate) VALUES (?,?,?,?,?,?)',
                [(s.id, doc.doc_id, n, s.start, s.end, int(s.boilerplate)) for n, s in enumerate(doc.sentences, 1)],
            )
        return computed

    def _put_vectors(self, doc: Document, replace: bool) -> int:
        """Add the vectors of a document's citable sentences, tagged with its sha256 (`replace`: delete its
        previous vectors first; a new document has none once `repair()` removed a crash's leftovers)."""
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
        if replace:
            self.vector_store.delete(ref_doc_id=doc.doc_id)
        if nodes:
            self.vector_store.add(nodes)
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
    def pipelines(self) -> dict[str, str]:
        """doc_id → the ingestion pipeline version that built it."""
        return dict(self.db.execute("SELECT doc_id, pipeline FROM docs").fetchall())

    def check(self) -> dict[str, list[str]]:
        """Vectors without a finished document ('orphaned') and citable sentences without a vector
        ('missing') — what a crash between the two stores can leave."""
        got = self.collection.get(include=["metadatas"])
        in_chroma = {i: (m or {}).get("sha") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
        expected = dict(self.db.execute(
            "SELECT s.id, d.sha256 FROM sentences s JOIN docs d ON d.doc_id = s.doc_id WHERE s.boilerplate = 0"
        ).fetchall())
        def reading_order(sid: str) -> tuple[str, int]:
            return sid.rsplit(":s", 1)[0], sentence_number(sid) or 0

        return {
            "orphaned": sorted((i for i, sha in in_chroma.items() if expected.get(i) != sha), key=reading_order),
            "missing": sorted((i for i in expected if in_chroma.get(i) != expected[i]), key=reading_order),
        }

    def repair(self) -> dict[str, list[str]]:
        """Delete orphaned vectors and re-add the vectors of documents with missing ones (from the embedding
        cache where possible); the manifest is not touched. Returns what `check()` found."""
        with self.lock():
            problems = self.check()
            if problems["orphaned"]:
                self.collection.delete(ids=problems["orphaned"])
            for doc_id in sorted({i.rsplit(":s", 1)[0] for i in problems["missing"]}):
                if (doc := self.document(doc_id)) is not None:
                    self._put_vectors(doc, replace=True)
        return problems
