"""`coopqa doctor`: is the index consistent with its manifest and the corpus files, and repairs when it is not.

Checked: vectors without a finished document (orphaned) and citable sentences without a vector (missing), the
embedder that made the vectors, the manifest schema, the ingestion pipeline that built each document, and each
document's file (gone, or changed since it was indexed). Paths are resolved as `ingest --prune` does: as
given to `coopqa ingest`, relative to the working directory."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from coopqa.embed import MODEL_NAME
from coopqa.ingest import PIPELINE_VERSION, document_sha, ingest
from coopqa.readers import ReadError, read_file
from coopqa.store import SCHEMA_VERSION, Store


@dataclass
class Diagnosis:
    """What is wrong with an index; every list is empty (and embedder None) when it is consistent."""

    documents: int
    vectors: int | None  # None when the vectors cannot be read (another embedder's collection)
    schema: int
    embedder: str | None = None  # what made the vectors, when it is not coopqa's embedder
    orphaned: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    outdated: list[str] = field(default_factory=list)  # documents built by another ingestion pipeline
    changed: list[str] = field(default_factory=list)  # documents whose file changed (or became unreadable)
    gone: list[str] = field(default_factory=list)  # documents whose file or record is gone

    @property
    def consistent(self) -> bool:
        return not (self.embedder or self.orphaned or self.missing or self.outdated or self.changed or self.gone)

    def lines(self) -> list[str]:
        """The report, one problem per line (ids shortened to the first five)."""
        vectors = "unreadable" if self.vectors is None else str(self.vectors)
        out = [f"{self.documents} documents, {vectors} vectors; manifest schema {self.schema} "
               f"(current {SCHEMA_VERSION}), pipeline {PIPELINE_VERSION}, embedder {MODEL_NAME}"]
        if self.embedder:
            out.append(f"embedding-model mismatch: the vectors were made by {self.embedder}")
        for name, ids, what in (
            ("orphaned", self.orphaned, "vectors without an indexed document"),
            ("missing", self.missing, "citable sentences without their vector"),
            ("outdated", self.outdated, f"documents built by another ingestion pipeline than {PIPELINE_VERSION}"),
            ("changed", self.changed, "documents whose file changed since they were indexed"),
            ("gone", self.gone, "documents whose file or record is gone"),
        ):
            if ids:
                shown = ", ".join(ids[:5]) + (f", … {len(ids) - 5} more" if len(ids) > 5 else "")
                out.append(f"{name}: {len(ids)} {what} ({shown})")
        return out

    def as_json(self) -> dict:
        return {**asdict(self), "consistent": self.consistent}


@dataclass
class DoctorReport:
    """What `doctor` found, and with repair the state afterwards."""

    found: Diagnosis
    after: Diagnosis | None = None

    @property
    def consistent(self) -> bool:
        return (self.after or self.found).consistent


def _source_files(store: Store) -> tuple[list[str], list[str]]:
    """(changed, gone) documents by comparing each document's file with what was indexed."""
    changed, gone = [], []
    files: dict[str, dict[str, str] | None] = {}  # file → {doc_id: sha} of its records, None when unreadable
    for row in store.doc_rows():
        if not row["path"]:
            continue
        file = row["path"].split("#", 1)[0]
        if file not in files:
            try:
                raws, _ = read_file(Path(file)) if Path(file).is_file() else ([], [])
                files[file] = {raw.doc_id: document_sha(raw) for raw in raws}
            except ReadError:
                files[file] = None
        shas = files[file]
        if shas is not None and row["doc_id"] not in shas:
            gone.append(row["doc_id"])
        elif shas is None or shas[row["doc_id"]] != row["sha256"]:
            changed.append(row["doc_id"])
    return changed, gone


def diagnose(store: Store) -> Diagnosis:
    """Check the index under `store` (read-only)."""
    rows = store.doc_rows()
    made_by = store.vector_embedder()
    found = Diagnosis(documents=len(rows), vectors=None, schema=store.schema_version())
    if made_by not in (None, MODEL_NAME):
        found.embedder = made_by
    else:
        found.vectors = store.collection.count()
        problems = store.check()
        found.orphaned, found.missing = problems["orphaned"], problems["missing"]
    found.outdated = sorted(d for d, version in store.pipelines().items() if version != PIPELINE_VERSION)
    found.changed, found.gone = _source_files(store)
    return found


def doctor(store: Store, repair: bool = False) -> DoctorReport:
    """Diagnose the index; with `repair`, rebuild another embedder's vectors, re-ingest changed and outdated
    documents from their files, remove documents whose files are gone, fix orphaned and missing vectors, and
    diagnose again. Holds the writer lock throughout."""
    with store.lock():
        report = DoctorReport(diagnose(store))
        if not repair or report.found.consistent:
            return report
        found = report.found
        if found.embedder:
            store.drop_vectors()
        for doc_id in found.gone:
            store.delete(doc_id)
        paths = {row["doc_id"]: row["path"].split("#", 1)[0] for row in store.doc_rows() if row["path"]}
        stale = sorted({paths[d] for d in {*found.changed, *found.outdated} if d in paths})
        if stale:
            ingest(store, [Path(p) for p in stale if Path(p).is_file()], rebuild=set(found.outdated))
        store.repair()
        report.after = diagnose(store)
        return report
