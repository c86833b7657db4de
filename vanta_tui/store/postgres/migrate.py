"""``vanta-tui audit migrate --to URL``: an SQLite journal copied into PostgreSQL (issue 25).

Under the journal's lock (no action of any process is recorded meanwhile), after the SQLite
journal has been verified (a broken or unfinished journal is refused: its problem would be
copied as if it were history), every table is copied row for row in one PostgreSQL
transaction: the events with their seq, text and hashes unchanged (the chain is the same
chain), the blobs, the files' heads, the derived tables and their marks, the notes in
``meta`` (the last checkpoint's trace among them). Then the directory's note
(`location.LOCATION_NAME`) is written, ``vanta.db`` is kept aside as
``vanta.db.migrated-<UTC time>``, and the copy is verified through the journal's own
reader on PostgreSQL: the same head, every hash, both sinks (``trade_log.jsonl`` and the
head file stay where they were, the same files).

A process that still has the SQLite journal open is refused at its next action (the note is
there: `Journal._locked`), never writing into the file kept aside.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vanta_tui.core.clock import utc_now
from vanta_tui.store.errors import StoreError
from vanta_tui.store.postgres.journal_db import (
    JOURNAL_ID_META,
    SCHEMA_META,
    PgJournalConnection,
    upgrade,
)
from vanta_tui.store.postgres.location import redact_url, write_location

CHUNK = 2000
"""Rows copied per statement."""


class MigrateRefused(StoreError):
    """The journal was not copied (and nothing changed): the message says why."""


@dataclass(frozen=True)
class Migrated:
    url: str
    """Where the journal is now (without a password)."""
    rows: dict[str, int]
    """Rows copied, by table."""
    head: tuple[int, str]
    kept_as: Path
    """The SQLite journal, kept aside."""


def migrate(state_dir: Path, url: str, progress: Callable[[int], None] | None = None) -> Migrated:
    """Copy ``state_dir``'s SQLite journal into the (empty) PostgreSQL database at ``url``
    and make it the directory's journal; raises `MigrateRefused` before changing anything
    when it cannot."""
    import secrets

    from vanta_tui.store.journal.journal import DB_NAME, Journal
    from vanta_tui.store.journal.verify import verify

    where = redact_url(url)
    if not (state_dir / DB_NAME).exists():
        raise MigrateRefused(f"{state_dir} has no {DB_NAME}: there is no SQLite journal to copy")
    _refuse_a_database_in_use(url)
    source = Journal(state_dir, url=None)
    try:
        with source._locked():
            problem = source._integrity_locked(record=False)
            if problem is not None:
                raise MigrateRefused(f"the journal is not intact ({problem}); nothing copied")
            pending = source.db.execute("SELECT COUNT(*) FROM intents").fetchone()[0]
            if pending:
                raise MigrateRefused(
                    f"{pending} action(s) were interrupted and not yet finished: open the desk "
                    "(or run any command that writes) once so it finishes them; nothing copied"
                )
            checked = verify(source)
            if not checked.ok:
                raise MigrateRefused(f"audit verify fails ({checked}); nothing copied")
            # Every committed event in vanta.db itself, none left in its -wal (a process
            # with the journal open keeps the -wal; the file kept aside must be whole).
            busy = source.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy is not None and busy[0]:
                raise MigrateRefused(
                    "another process is reading the journal this moment (its -wal cannot be "
                    "folded in): try again, or close the other desks first; nothing copied"
                )
            head = source.head()
            tables = _tables(source)
            target = PgJournalConnection(url)
            try:
                upgrade(target, url, source.projector.projections)
                journal_id = secrets.token_hex(16)
                rows = _copy(source, target, tables, journal_id, progress)
            finally:
                target.close()
            # vanta.db aside first, then the note: a crash between them leaves a directory
            # with neither, whose PostgreSQL open finishes the move (`journal_db`), and
            # whose SQLite open is refused (it would start a second journal).
            source.db.conn.close()
            stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
            kept = state_dir / f"{DB_NAME}.migrated-{stamp}"
            os.replace(state_dir / DB_NAME, kept)
            for extra in ("-wal", "-shm"):
                (state_dir / (DB_NAME + extra)).unlink(missing_ok=True)
            write_location(state_dir, where, journal_id)
            # Verified before the lock is let go: no action of another process yet.
            with Journal(state_dir, url=url, read_only=True) as copy:
                checked = verify(copy)
                if not checked.ok or copy.head() != head:
                    raise StoreError(
                        f"the copy at {where} does not verify ({checked}; head "
                        f"{copy.head()[0]} against {head[0]}): the SQLite journal is kept "
                        f"as {kept.name}; to go back to it, rename it {DB_NAME} and remove "
                        "journal.location.json"
                    )
    finally:
        source.db.conn.close()
    return Migrated(where, rows, head, kept)


def _refuse_a_database_in_use(url: str) -> None:
    """Before anything is written there: the database must not be a journal already (an id
    or events: another directory's)."""
    target = PgJournalConnection(url)
    try:
        if "meta" not in target.tables():
            return
        used = target.execute(
            "SELECT 1 FROM meta WHERE key = ?", [JOURNAL_ID_META]
        ).fetchone() is not None or (
            "events" in target.tables()
            and target.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None
        )
    finally:
        target.close()
    if used:
        raise MigrateRefused(
            "the PostgreSQL database already holds a journal; give an empty database"
        )


def _tables(source: object) -> list[str]:
    from vanta_tui.store.journal.schema import STORE_TABLES

    projections = source.projector.projections  # type: ignore[attr-defined]
    return [*STORE_TABLES, *(p.table for p in projections)]


def _copy(
    source: object,
    target: PgJournalConnection,
    tables: list[str],
    journal_id: str,
    progress: Callable[[int], None] | None,
) -> dict[str, int]:
    """Every row of ``tables`` into ``target``'s empty tables, and the journal's new id:
    one transaction."""
    conn = source.db.conn  # type: ignore[attr-defined]
    copied: dict[str, int] = {}
    target.execute("BEGIN IMMEDIATE")
    try:
        if target.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
            raise MigrateRefused(
                "the PostgreSQL database already holds a journal; give an empty database"
            )
        done = 0
        for table in tables:
            columns = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
            wanted = [c for c in columns if c in set(target.columns(table))]
            names = ", ".join(wanted)
            marks = ",".join("?" for _ in wanted)
            if table == "meta":
                target.execute("DELETE FROM meta WHERE key NOT IN (?)", [SCHEMA_META])
            else:
                target.execute(f"DELETE FROM {table}")  # a new projection table's empty rows
            cursor = conn.execute(f"SELECT {names} FROM {table}")
            count = 0
            while batch := cursor.fetchmany(CHUNK):
                if table == "meta":
                    batch = [r for r in batch if r[0] not in {SCHEMA_META, JOURNAL_ID_META}]
                target.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
                count += len(batch)
                done += len(batch)
                if progress is not None:
                    progress(done)
            copied[table] = count
        target.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [JOURNAL_ID_META, journal_id]
        )
    except BaseException:
        target.execute("ROLLBACK")
        raise
    target.execute("COMMIT")
    return copied
