"""Opening a WAL-mode SQLite database that other threads and processes may be opening too."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def connect_wal(path: Path, schema: str, *, timeout_s: float = 30.0) -> sqlite3.Connection:
    """An autocommit connection to ``path`` in WAL mode with ``synchronous=FULL`` and a busy
    timeout, its ``schema`` (idempotent DDL) created.

    Turning a new database to WAL and creating its tables need locks that SQLite does not
    wait for when another connection is doing the same at that moment: it answers "database
    is locked" at once (waiting could deadlock) instead of calling the busy handler. Those
    steps are retried until ``timeout_s``; every other error is raised at once.
    """
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"database is locked (journal mode {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            conn.executescript(schema)
            return conn
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                conn.close()
                raise
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
