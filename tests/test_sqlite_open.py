"""Several threads opening one new SQLite database at once (the desk's workers do: the
journal at start-up, the executor, the status view; the paper book likewise).

SQLite answers "database is locked" at once, without waiting, to a connection that turns a
new database to WAL while another one does the same; `connect_wal` retries those steps.
Before it, about one round in ten of the journal case below failed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

import vanta_tui.actions  # noqa: F401  (registers the journal's derived tables: orders...)
from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.core.sqlite_wal import connect_wal
from vanta_tui.store.journal.db import open_db

ROUNDS = 60
THREADS = 4


def _all_at_once(work: Callable[[], None]) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_threads_opening_a_new_journal_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / f"journal-{round_}.db"

        def open_and_close(path: Path = path) -> None:
            db = open_db(path)
            db.conn.close()

        assert _all_at_once(open_and_close) == []
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"events", "orders", "intents", "meta"} <= tables
        conn.close()


def test_threads_opening_a_new_paper_book_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS // 2):
        path = tmp_path / f"book-{round_}.db"

        def cash(path: Path = path) -> None:
            broker = PaperBroker(path, lambda symbol: None, initial_cash=Decimal(1000))
            assert broker.account().cash == Decimal(1000)

        assert _all_at_once(cash) == []


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        connect_wal(tmp_path / "missing" / "x.db", "CREATE TABLE IF NOT EXISTS t (x)")
