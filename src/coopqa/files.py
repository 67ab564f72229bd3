"""Atomic file writes: a reader (or a process killed mid-write) sees the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path | str, text: str) -> None:
    """Write `text` to `path` via a temp file in the same folder, fsync and os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_generated(path: Path | str, text: str) -> Path:
    """Write a generated file (a schema exported from code), creating its folder; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    return path


def is_current(path: Path | str, text: str) -> bool:
    """Whether the generated file at `path` holds exactly `text` (a stale export fails a test)."""
    path = Path(path)
    return path.is_file() and path.read_text(encoding="utf-8") == text
