"""Shared fixtures: every test works on a temp copy of the demo, never on `state/`."""

from __future__ import annotations

import decimal
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vanta_tui.demo.bundled import write_demo
from vanta_tui.store.postgres.server import LocalServer

REPO = Path(__file__).resolve().parent.parent
TRACKED_STATE = REPO / "state"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A fresh copy of the pristine bundled demo."""
    target = tmp_path / "state"
    write_demo(target)
    return target


@pytest.fixture
def tracked_state_copy(tmp_path: Path) -> Path:
    """A copy of the repo's `state/` as it is now (the operator may have changed it)."""
    target = tmp_path / "tracked"
    shutil.copytree(TRACKED_STATE, target, ignore=shutil.ignore_patterns("*.lock", "*.db*"))
    return target


@pytest.fixture(autouse=True)
def _decimal_context() -> Iterator[None]:
    """Each test starts and ends with the thread's decimal context as it was: a test that
    drives ccxt directly (the fakes' self-tests) must not change how the next one rounds."""
    saved = decimal.getcontext().copy()
    yield
    decimal.setcontext(saved)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalServer]:
    """A throwaway PostgreSQL server for the tests that ask for it (one per test process):
    the machine's server programs, as an unprivileged user when root, on a Unix socket in a
    temp directory under /tmp (its user must reach it), stopped and removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="vanta-pg-"))
    local = LocalServer(root)
    local.start()
    try:
        yield local
    finally:
        local.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with the journal in ``vanta.db`` and once in PostgreSQL (issue 25):
    a database of its own on the test process's server, named to every process the test
    starts through `VANTA_JOURNAL_URL`. Returns the backend's name."""
    backend = str(request.param)
    monkeypatch.delenv("VANTA_JOURNAL_URL", raising=False)
    if backend == "postgresql":
        server: LocalServer = request.getfixturevalue("pg_server")
        monkeypatch.setenv("VANTA_JOURNAL_URL", fresh_database(server))
    return backend


def fresh_database(server: LocalServer) -> str:
    """A new, empty database on ``server``: its URL."""
    import uuid

    return server.database(f"j_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def another_journal(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call before a test opens a second state directory: on PostgreSQL (`journal_backend`)
    the journals opened from then on are in a new database of their own (a database is the
    journal of one directory); on SQLite it does nothing."""

    def switch() -> None:
        if os.environ.get("VANTA_JOURNAL_URL"):
            server: LocalServer = request.getfixturevalue("pg_server")
            monkeypatch.setenv("VANTA_JOURNAL_URL", fresh_database(server))

    return switch
