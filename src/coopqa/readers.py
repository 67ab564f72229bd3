"""Read corpus files (.txt, .md, .html, .json, .jsonl) into raw documents, with one-line errors."""

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coopqa.types import CoopqaError

MAX_FILE_BYTES = 20 * 1024 * 1024
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
SUPPORTED = sorted(TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES)
_SAFE_ID = re.compile(r"[^\w\-.]+", re.UNICODE)
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)


class ReadError(CoopqaError):
    """A file (or one record of it) that cannot be ingested; str() is a one-line reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


@dataclass
class RawDoc:
    """A document as read, before segmentation."""

    doc_id: str
    text: str
    path: str
    title: str = ""
    date: str | None = None
    source: str | None = None


def decode(data: bytes, path: Path) -> str:
    """Strict UTF-8 (a UTF-8 BOM is dropped); anything else is refused with the reason."""
    if not data.strip():
        raise ReadError(path, "empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        len(data) > 3 and (data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4)
    ):
        raise ReadError(path, "UTF-16 text is not supported; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)")
    if b"\x00" in data:
        raise ReadError(path, "binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReadError(
            path, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); it may be Windows-1256 or "
            "another legacy encoding: convert it to UTF-8 (iconv -f CP1256 -t UTF-8)"
        ) from None
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
    if controls > max(8, len(text) // 100):
        raise ReadError(path, "binary file (too many control characters), not text")
    if not text.strip():
        raise ReadError(path, "empty file")
    return text


def doc_id_for(path: Path) -> str:
    """The file stem, made safe for sentence ids."""
    return _SAFE_ID.sub("_", path.stem).strip("_") or "doc"


def _html(text: str, path: Path) -> RawDoc:
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False, include_tables=False)
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise ReadError(path, "no article text found in the HTML")
    return RawDoc(doc_id_for(path), body, str(path), title=doc.title or "", date=doc.date, source=doc.url)


def _record(obj: object, path: Path, where: str) -> RawDoc:
    if not isinstance(obj, dict):
        raise ReadError(path, f"{where}: expected a JSON object with 'id' and 'text'")
    doc_id, text = obj.get("id"), obj.get("text")
    if doc_id is None or (isinstance(doc_id, str) and not doc_id.strip()):
        raise ReadError(path, f"{where}: missing 'id'")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise ReadError(path, f"{where}: 'id' must be a string or an integer, not {type(doc_id).__name__}")
    safe_id = _SAFE_ID.sub("_", str(doc_id)).strip("_")
    if not _HAS_WORD.search(safe_id):
        raise ReadError(path, f"{where}: 'id' {str(doc_id)[:40]!r} has no letter or digit to name the document by")
    if not isinstance(text, str) or not text.strip():
        raise ReadError(path, f"{where}: missing or empty 'text'")
    fields = {}
    for key in ("title", "date", "source"):
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
            raise ReadError(path, f"{where}: '{key}' must be a string, not {type(value).__name__}")
        fields[key] = None if value is None or value == "" else str(value)
    return RawDoc(safe_id, text, f"{path}#{doc_id}", title=fields["title"] or "", date=fields["date"],
                  source=fields["source"])


def read_file(path: Path) -> tuple[list[RawDoc], list[ReadError]]:
    """Documents of one file, and the errors of records that could not be read (JSONL lines)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ReadError(path, f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ReadError(path, f"file too large ({size / 1e6:.0f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB limit)")
        text = decode(path.read_bytes(), path)
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from None
    if suffix in TEXT_SUFFIXES:
        return [RawDoc(doc_id_for(path), text, str(path))], []
    if suffix in HTML_SUFFIXES:
        return [_html(text, path)], []
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ReadError(path, f"malformed JSON at line {e.lineno}: {e.msg}") from None
        items = data if isinstance(data, list) else [data]
        return _records(((f"item {i + 1}", obj) for i, obj in enumerate(items)), path)
    return _records(_jsonl(text, path), path)


def _jsonl(text: str, path: Path) -> Iterator[tuple[str, object]]:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield f"line {n}", json.loads(line)
            except json.JSONDecodeError as e:
                yield f"line {n}", ReadError(path, f"line {n}: malformed JSON ({e.msg})")


def _records(items: Iterator[tuple[str, object]], path: Path) -> tuple[list[RawDoc], list[ReadError]]:
    docs, errors = [], []
    for where, obj in items:
        try:
            if isinstance(obj, ReadError):
                raise obj
            docs.append(_record(obj, path, where))
        except ReadError as e:
            errors.append(e)
    if not docs and not errors:
        errors.append(ReadError(path, "no records"))
    return docs, errors


def discover(paths: list[Path]) -> tuple[list[Path], list[ReadError]]:
    """Files under the given paths (folders recursively, hidden files skipped), sorted."""
    files, errors = [], []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and not any(
                part.startswith(".") for part in f.relative_to(p).parts))
        elif p.is_file():
            files.append(p)
        else:
            errors.append(ReadError(p, "no such file or folder"))
    return files, errors
