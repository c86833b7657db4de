"""The journal on PostgreSQL (issue 25): what only it does. (Everything the journal does on
SQLite it does here too: the journal suites run on both, `journal_backend`.)"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import fresh_database
from journal_helpers import do_actions, open_raw, run_actions, without_followers

from vanta_tui.actions.context import ActionContext
from vanta_tui.cli.main import main
from vanta_tui.store.errors import JournalFileError
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify
from vanta_tui.store.postgres.location import JOURNAL_URL_ENV, LOCATION_NAME
from vanta_tui.store.postgres.server import LocalServer


@pytest.fixture
def url(pg_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database of this test's own (not yet named in the environment)."""
    monkeypatch.delenv(JOURNAL_URL_ENV, raising=False)
    monkeypatch.delenv("VANTA_CHANGES_URL", raising=False)
    return fresh_database(pg_server)


def _sqlite_journal_with_events(state_dir: Path) -> int:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    try:
        do_actions(ctx, 4)
        return ctx.journal.head()[0]
    finally:
        ctx.close()


def _tables(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in ("events", "blobs", "file_heads", "orders", "fills", "fee_ledger"):
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        out[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    return out


def test_migrate_copies_every_row_verifies_and_makes_it_the_journal(
    state_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _sqlite_journal_with_events(state_dir)
    before = _tables(open_raw(state_dir))
    assert main(["audit", "migrate", "--to", url, "--state-dir", str(state_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{head} events" in out and "verified" in out
    assert not (state_dir / "vanta.db").exists()
    assert [p.name for p in state_dir.glob("vanta.db.migrated-*")]
    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    assert _tables(open_raw(state_dir)) == before  # row for row, hashes and blobs included
    # The journal goes on there: an action, verify, replay.
    stage = ["orders", "stage", "V_CORE", "AAPL", "buy", "1", "--state-dir", str(state_dir)]
    assert main(stage) == 0
    with Journal(state_dir) as journal:
        assert journal.head()[0] == head + 1
        assert verify(journal).ok and replay(journal).ok
    # Without the URL the directory is refused, not given a second journal in vanta.db.
    monkeypatch.delenv(JOURNAL_URL_ENV)
    assert main(stage) == 65
    assert "journal is in PostgreSQL" in capsys.readouterr().out
    assert not (state_dir / "vanta.db").exists()


def test_migrate_refuses_a_broken_journal_and_a_database_in_use_changing_nothing(
    state_dir: Path, url: str, pg_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _sqlite_journal_with_events(state_dir)
    log = state_dir / "trade_log.jsonl"
    good = log.read_bytes()
    log.write_bytes(good.replace(b'"qty":', b'"qty":1', 1))
    assert main(["audit", "migrate", "--to", url, "--state-dir", str(state_dir)]) == 65
    assert "audit verify fails" in capsys.readouterr().err
    log.write_bytes(good)
    # A database that already holds a journal (another directory's).
    other = state_dir.parent / "other"
    other.mkdir()
    os.environ[JOURNAL_URL_ENV] = url
    try:
        Journal(other).close()
        with Journal(other) as journal:
            journal.start()
    finally:
        del os.environ[JOURNAL_URL_ENV]
    assert main(["audit", "migrate", "--to", url, "--state-dir", str(state_dir)]) == 65
    assert "already holds a journal" in capsys.readouterr().err
    assert (state_dir / "vanta.db").exists() and not (state_dir / LOCATION_NAME).exists()
    with Journal(state_dir) as journal:
        assert verify(journal).ok


def test_an_sqlite_journal_open_during_the_migration_writes_nothing_after_it(
    state_dir: Path, url: str
) -> None:
    _sqlite_journal_with_events(state_dir)
    ctx = ActionContext.open(state_dir, "dana")  # an SQLite desk still running
    try:
        assert main(["audit", "migrate", "--to", url, "--state-dir", str(state_dir)]) == 0
        (kept,) = state_dir.glob("vanta.db.migrated-*")
        events = _sqlite_events(kept)
        assert events == ctx.journal.head()[0]  # whole: the -wal was folded in first
        with pytest.raises(JournalFileError, match="moved to PostgreSQL"):
            do_actions(ctx, 1)
        assert _sqlite_events(kept) == events
    finally:
        ctx.close()


def _sqlite_events(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def test_a_migration_stopped_before_its_note_is_finished_by_the_next_open(
    state_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`audit migrate` dies after keeping vanta.db aside, before writing the directory's
    note: an SQLite open is refused (it would start a second journal); the open with the
    URL finishes the move, and the journal verifies."""
    from vanta_tui.store.postgres import migrate as migrate_module

    head = _sqlite_journal_with_events(state_dir)

    def die(*args: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(migrate_module, "write_location", die)
    with pytest.raises(KeyboardInterrupt):
        migrate_module.migrate(state_dir, url)
    monkeypatch.undo()
    assert not (state_dir / "vanta.db").exists() and not (state_dir / LOCATION_NAME).exists()
    with pytest.raises(JournalFileError, match="being moved to PostgreSQL"):
        Journal(state_dir)
    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    with Journal(state_dir) as journal:
        assert journal.head()[0] == head and verify(journal).ok
    assert (state_dir / LOCATION_NAME).exists()


def test_a_directory_and_a_database_that_do_not_belong_together_are_refused(
    state_dir: Path, url: str, pg_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A directory with an SQLite journal, given a URL: copy it first.
    _sqlite_journal_with_events(state_dir)
    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    with pytest.raises(JournalFileError, match="audit migrate"):
        Journal(state_dir)
    # Two directories on one database: the second is refused.
    first, second = state_dir.parent / "first", state_dir.parent / "second"
    first.mkdir()
    second.mkdir()
    with Journal(first) as journal:
        journal.start()
    with pytest.raises(JournalFileError, match="journal of another state directory"):
        Journal(second)
    # The first directory, pointed at another database: refused, naming both.
    monkeypatch.setenv(JOURNAL_URL_ENV, fresh_database(pg_server))
    with pytest.raises(JournalFileError, match="holds no journal"):
        Journal(first)


def test_the_journal_goes_on_after_the_server_ended_its_sessions(
    state_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server restarted (or a connection cut) under a running desk: the sessions it held
    are gone; its next action opens new ones (the journal's, the locks') and goes on."""
    import psycopg

    without_followers(state_dir)
    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    ctx = ActionContext.open(state_dir, "dana")
    try:
        do_actions(ctx, 2)
        with psycopg.connect(url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        assert len(ended) >= 2  # the journal's session and the locks'
        do_actions(ctx, 2)
        assert verify(ctx.journal).ok
    finally:
        ctx.close()
    with Journal(state_dir) as journal:
        staged = journal.db.execute(
            "SELECT COUNT(*) FROM events WHERE action = 'order.staged'"
        ).fetchone()[0]
        assert staged == 4 and replay(journal).ok


@pytest.mark.parametrize("whose", ["the journal's", "the locks'"])
def test_a_session_ended_in_the_middle_of_an_action_commits_nothing_of_it(
    state_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch, whose: str
) -> None:
    """The server ends a session while an action is being recorded: the journal's own (its
    transaction is gone) or the one holding the locks (another host could come in). The
    action is refused, nothing of it is committed, the next open finishes it from its
    intent, and the journal verifies and replays."""
    import psycopg

    from vanta_tui.store.errors import StoreError
    from vanta_tui.store.journal import journal as journal_module
    from vanta_tui.store.postgres.remote_locks import remote_locks

    without_followers(state_dir)
    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    ctx = ActionContext.open(state_dir, "dana")
    insert = journal_module.Journal._insert_events

    def cut_then_insert(self: Any, events: Any) -> None:
        if whose == "the journal's":
            pid = self.db.conn._pg.info.backend_pid
        else:
            locks = remote_locks()
            assert locks is not None and locks._conn is not None
            pid = locks._conn.info.backend_pid
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        insert(self, events)

    try:
        head = ctx.journal.head()[0]
        monkeypatch.setattr(journal_module.Journal, "_insert_events", cut_then_insert)
        with pytest.raises(StoreError):
            do_actions(ctx, 1)
        monkeypatch.setattr(journal_module.Journal, "_insert_events", insert)
        with Journal(state_dir, read_only=True) as reader:
            assert reader.head()[0] == head  # nothing of it committed
    finally:
        ctx.close()
    ctx = ActionContext.open(state_dir, "dana")  # start-up recovery finishes it
    try:
        assert ctx.recovery is not None and ctx.recovery.anything
        do_actions(ctx, 1)
        assert verify(ctx.journal).ok and replay(ctx.journal).ok
    finally:
        ctx.close()


def test_a_password_in_the_journal_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--journal", "postgresql://u:secret@db/x", "status"])
    assert code == 64 and "secret" not in capsys.readouterr().err


def _writer_without_file_locks(state_dir: str, rounds: int) -> None:
    """Actions as on another host whose file locks do not hold (a network filesystem that
    ignores them): only PostgreSQL's locks keep the journal in order."""
    import contextlib

    from vanta_tui.store import locks

    @contextlib.contextmanager
    def no_lock(self: Any, waiting: Any = None) -> Any:
        yield

    locks.PathLock._hold_here = no_lock  # type: ignore[method-assign]
    run_actions(state_dir, rounds)


def test_writers_whose_file_locks_do_not_hold_keep_one_gapless_chain(
    state_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four processes act at once with their file locks made no-ops (this host's locks; the
    locks in PostgreSQL stay): those alone serialize them. The chain is gapless and verifies,
    every action is recorded once, and the files replay."""
    without_followers(state_dir)
    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    ActionContext.open(state_dir, "dana").close()
    ctx = multiprocessing.get_context("fork")
    rounds = 6
    children = [
        ctx.Process(target=_writer_without_file_locks, args=(str(state_dir), rounds))
        for _ in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0, child.exitcode
    with Journal(state_dir) as journal:
        result = verify(journal)
        assert result.ok, str(result)
        seqs = [r[0] for r in journal.db.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        staged = journal.db.execute(
            "SELECT COUNT(*) FROM events WHERE action = 'order.staged'"
        ).fetchone()[0]
        assert staged == 4 * rounds
        assert replay(journal).ok


def _try_lease(where: str, shared: bool, answer: Any, hold_s: float = 0.0) -> None:
    import time

    from vanta_tui.executor.lease import Lease, LeaseHeld

    try:
        with Lease(Path(where), "on host b", shared=shared):
            answer.put("taken")
            time.sleep(hold_s)
    except LeaseHeld as exc:
        answer.put(f"refused: {exc}")


def _on_host_b(where: Path, *, shared: bool, hold_s: float = 0.0) -> Any:
    """Another host (another process, its own session; the directory under another path,
    so its flock never meets ours) tries the lease: what it got (and, holding it
    ``hold_s``, the process, to join)."""
    ctx = multiprocessing.get_context("fork")
    answer = ctx.Queue()
    child = ctx.Process(target=_try_lease, args=(str(where), shared, answer, hold_s))
    child.start()
    if hold_s:
        return str(answer.get(timeout=30)), child
    child.join(60)
    return str(answer.get(timeout=5))


def _end_sessions(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_an_executor_whose_session_broke_takes_its_lease_again_or_stops(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vanta_tui.executor.lease import Lease, LeaseHeld

    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    here, there = tmp_path / "host-a", tmp_path / "host-b"
    here.mkdir()
    there.mkdir()
    with Lease(here, "executor on a") as lease:
        lease.keep()  # held: nothing to do
        _end_sessions(url)  # the server restarted: the lease in PostgreSQL is gone
        lease.keep()  # nobody took it meanwhile: taken again
        assert _on_host_b(there, shared=False).startswith("refused: ")
        _end_sessions(url)
        got, child = _on_host_b(there, shared=False, hold_s=20.0)  # taken meanwhile
        assert got == "taken"
        with pytest.raises(LeaseHeld, match="held on another host now"):
            lease.keep()
        child.kill()
        child.join(30)


def test_the_executor_lease_holds_between_hosts(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts see one shared directory under two paths (their flocks never meet): the
    lease in PostgreSQL still lets one lone executor in, or workers together, never both."""
    from vanta_tui.executor.lease import Lease

    monkeypatch.setenv(JOURNAL_URL_ENV, url)
    here, there = tmp_path / "host-a", tmp_path / "host-b"
    here.mkdir()
    there.mkdir()
    with Lease(here, "executor on a"):
        assert _on_host_b(there, shared=False).startswith("refused: ")
        assert "another host" in _on_host_b(there, shared=True)
    assert _on_host_b(there, shared=False) == "taken"  # given back: the other host may
    with Lease(here, "worker on a", shared=True):
        assert _on_host_b(there, shared=True) == "taken"
        assert _on_host_b(there, shared=False).startswith("refused: ")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
