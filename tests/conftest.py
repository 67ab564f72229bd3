"""Shared fixtures: no network, isolated homes, and one ingested seed corpus per session."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if not local:
            raise OSError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_network() -> None:
    """Fail any socket connect outside loopback: coopqa must run air-gapped."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own model server settings or home."""
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "COOPQA_BASE_URL", "COOPQA_API_KEY", "COOPQA_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COOPQA_HOME", str(tmp_path / "home"))


def reopen_chroma() -> None:
    """Forget this process's embedded Chroma clients: chromadb keeps one per path in memory, which goes stale
    when another process (a CLI run under test) writes to that path."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


@pytest.fixture(scope="session")
def seed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the five seed articles ingested once per session (read-only for tests)."""
    from coopqa.api import CoopQA

    home = tmp_path_factory.mktemp("seed-home")
    report = CoopQA(home=home).ingest([CORPUS])
    assert len(report.added) == 5 and not report.errors
    return home


@pytest.fixture
def seed_copy(seed_home: Path, tmp_path: Path) -> Path:
    """A writable copy of the seed home."""
    dest = tmp_path / "seed-copy"
    shutil.copytree(seed_home, dest)
    return dest


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server on a free loopback port (the venv's `chroma run`); yields its URL."""
    chroma = Path(sys.executable).parent / "chroma"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("chroma-server") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(chroma), "run", "--path", str(log.parent / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"chroma server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)
