"""Shared fixtures: no network, isolated homes, and one ingested seed corpus per session."""

from __future__ import annotations

import ipaddress
import shutil
import socket
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
