"""Opening a WAL-mode SQLite database that other threads and processes may be opening too."""

from __future__ import annotations

import contextlib
import os
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
    if not path.exists():
        # Created the owner's only, whatever the umask (SQLite gives -wal/-shm the same mode).
        with contextlib.suppress(FileExistsError, FileNotFoundError):  # no directory: below
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    # Any thread may use it (a `Desk` session is used from the desk's worker threads, one
    # at a time under its lock); SQLite itself is built serialized.
    conn = sqlite3.connect(
        str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False
    )
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while True:
        try:
            # When it cannot switch, SQLite may also just leave the old mode and say so.
            switched = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
            if switched:
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(schema)
                return conn
            problem = "journal mode is not WAL"
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                conn.close()
                raise
            problem = str(exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        if time.monotonic() >= deadline:
            conn.close()
            raise sqlite3.OperationalError(f"{path}: {problem} after {timeout_s:g} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
