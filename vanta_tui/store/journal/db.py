"""The SQLite mirror of the journal (`vanta.db`), opened with the standard library.

WAL, ``synchronous=FULL``, file mode 0600. The store's own tables: ``events`` (the chain),
``blobs`` (state-file contents, once per distinct sha256), ``file_heads`` (what the journal
last saw of each file), ``intents`` (actions begun but not yet recorded), ``alarm_seen`` and
``meta``. Tables derived from the events (orders, fills, the fee ledger, overlay history)
are projections registered by the layer that knows them (`projection`). The schema's
version, its migrations, and what it offers an analyst (declared links, indexes, typed
views) are `schema` and `analyst`.

No sqlite-utils here: importing it imports pandas and numpy where they are installed
(half a second of every start). The database stays one that ``sqlite-utils`` and Datasette
open as it is (README).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vanta_tui.core.sqlite_wal import connect_wal
from vanta_tui.store.journal.projection import Projection, registered
from vanta_tui.store.journal.schema import (
    check_version,
    create_in_memory,
    upgrade,
)


class JournalDB:
    """The journal's connection (`sqlite3`, autocommit). ``execute`` and ``conn`` as
    sqlite-utils' ``Database`` had them, so code and tests written against that keep
    working; the store's modules are its only users in the package."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)


def open_db_read_only(path: Path, projections: Sequence[Projection] | None = None) -> JournalDB:
    """The journal database opened read-only (``mode=ro``): nothing in the directory is
    created or changed, and it works where this user cannot write. A directory without a
    journal gives an empty one in memory (with the tables of ``projections``, default: the
    registered ones). A journal of an older schema is read as it is (it is upgraded when
    opened for writing); one newer than this code is refused (`schema.JournalSchemaTooNew`)."""
    if not path.exists():
        return empty_db(projections)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not path.with_name(path.name + "-wal").exists():
        # No writer has the database open (the last one folded its -wal in and removed
        # it): the file alone is the whole journal. Read it as immutable, so SQLite makes
        # no -wal/-shm beside it (it would on a directory it may write) and needs none (it
        # cannot make them on one it may not).
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        check_version(conn)
        events = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone()
    except BaseException:
        conn.close()
        raise
    if events is None:
        # A journal being made this moment (a read-only desk records who opened it), or an
        # empty file: nothing recorded yet, as when there is none.
        conn.close()
        return empty_db(projections)
    return JournalDB(conn)


def empty_db(projections: Sequence[Projection] | None) -> JournalDB:
    """An empty journal in memory (the tables of ``projections``; default: registered)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    create_in_memory(conn, registered() if projections is None else projections)
    return JournalDB(conn)


def open_db(path: Path, projections: Sequence[Projection] | None = None) -> JournalDB:
    """Open (creating with mode 0600) the journal database, brought to this code's schema
    (`schema.upgrade`: one transaction; a journal newer than this code is refused before
    anything is written) with the tables of ``projections`` (default: the registered ones;
    see `projection.prepare`)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    conn = connect_wal(path, "")  # WAL only: the schema is upgrade's, after the version check
    try:
        upgrade(conn, registered() if projections is None else projections)
    except BaseException:
        conn.close()
        raise
    return JournalDB(conn)


def sqlite_has_events(path: Path) -> bool:
    """Whether ``path`` is an SQLite journal holding events (read without changing it; a
    file that is not one counts as holding none)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return False
    try:
        return conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
