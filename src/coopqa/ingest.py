"""Ingestion: files → documents (language, date, sentences with offsets) → the store, idempotently."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from coopqa.dates import document_date
from coopqa.readers import RawDoc, ReadError, discover, read_file
from coopqa.segment import segment
from coopqa.store import Store
from coopqa.text import detect_language
from coopqa.types import Document

_BYLINE = re.compile(r"^(by|from|بقلم|نوشته|گزارش|خبرنگار)\s", re.IGNORECASE)
# Bump when segmentation or boilerplate rules change, so documents are re-processed.
PIPELINE_VERSION = "1"


@dataclass
class IngestReport:
    """What an ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    sentences: int = 0
    embedded: int = 0

    @property
    def indexed(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)


def _title(doc: Document) -> str:
    """The headline: a short first line without final punctuation, else the first sentence, shortened."""
    citable = [s for s in doc.sentences if not s.boilerplate]
    for s in citable[:4]:
        headline = len(s.text.split()) <= 16 and s.text[-1] not in ".!?؟:؛" and not _BYLINE.match(s.text)
        if headline and not document_date(s.text):
            return s.text
    first = citable[0].text if citable else ""
    return first if len(first) <= 100 else first[:97].rsplit(" ", 1)[0] + "…"


def document_sha(raw: RawDoc) -> str:
    """What identifies an indexed version of a document: its input and the pipeline version."""
    return hashlib.sha256(f"{PIPELINE_VERSION}\n{raw.title}\n{raw.date}\n{raw.text}".encode()).hexdigest()


def build_document(raw: RawDoc) -> Document:
    """Language, date, sentences and title of a raw document; the text is kept exactly."""
    doc = Document(
        doc_id=raw.doc_id, text=raw.text, language=detect_language(raw.text), title=raw.title,
        source=raw.source, path=raw.path, sha256=document_sha(raw),
    )
    doc.sentences = segment(raw.text, raw.doc_id)
    body = "\n".join(s.text for s in doc.sentences if not s.boilerplate)
    found = document_date(body)
    doc.date = raw.date or (found.iso if found else None)
    doc.date_text = raw.date or (found.text if found else None)
    doc.title = doc.title or _title(doc)
    return doc


def ingest(
    store: Store, paths: list[Path], prune: bool = False, progress: Callable[[str], None] | None = None,
    rebuild: Collection[str] = (),
) -> IngestReport:
    """Index files/folders into `store`. Unchanged documents cost nothing (except those listed in `rebuild`);
    a changed one replaces its old sentences; with `prune`, documents whose files are gone are removed. Bad
    files are reported, not fatal."""
    report = IngestReport()
    files, report.errors = discover(paths)
    with store.lock():
        store.repair()
        seen: dict[str, str] = {}
        read_files: set[str] = set()
        for path in files:
            try:
                raws, errors = read_file(path)
            except ReadError as e:
                report.errors.append(e)
                continue
            read_files.add(str(path))
            report.errors += errors
            for raw in raws:
                if raw.doc_id in seen:
                    report.errors.append(ReadError(raw.path, f"duplicate document id '{raw.doc_id}' "
                                                             f"(already read from {seen[raw.doc_id]})"))
                    continue
                seen[raw.doc_id] = raw.path
                old = store.sha(raw.doc_id)
                if old == document_sha(raw) and raw.doc_id not in rebuild:
                    report.unchanged.append(raw.doc_id)
                    continue
                doc = build_document(raw)
                if progress:
                    progress(doc.doc_id)
                report.embedded += store.put(doc, pipeline=PIPELINE_VERSION)
                report.sentences += len(doc.sentences)
                (report.updated if old else report.added).append(doc.doc_id)
        if prune:
            for row in store.doc_rows():
                file = (row["path"] or "").split("#", 1)[0]
                if row["doc_id"] not in seen and (not Path(file).exists() or file in read_files):
                    store.delete(row["doc_id"])
                    report.removed.append(row["doc_id"])
    return report
