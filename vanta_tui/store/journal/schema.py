"""The journal database's schema: the store's own tables, the projections' tables, the
analyst's links, indexes and views (`analyst`), and its version in ``PRAGMA user_version``.

Versions (`SCHEMA_VERSION` is this code's):

- 0: the journal as it was before versions were kept (``user_version`` 0): no declared
  links, no ``events(ts)`` or ``fills(order_id)`` index, no views.
- 1: ``events.order_id`` and ``fills.order_id`` declared as links to ``orders`` (see
  `analyst` for why they are not enforced), the two indexes, the typed views ``orders_v``,
  ``fills_v``, ``fee_ledger_v`` and ``events_v``.

Opening a journal for writing (`upgrade`) brings it to this version in one SQLite
transaction (``BEGIN IMMEDIATE`` … ``COMMIT``, with ``user_version`` set inside it): a crash
anywhere leaves the journal as it was, to be upgraded at the next open, and two processes
opening it at once upgrade it once. Adding a link to a table needs the table rebuilt (SQLite
cannot add a foreign key to a table): a new table with the same columns, constraints and
indexes plus the link, every row copied as it is (same seq, same text: the hash chain and
every event's content are unchanged, and the copy is checked row by row), the
old one dropped, the new one renamed. A journal whose ``user_version`` is newer than this
code's was made by a newer desk: it is refused (`JournalSchemaTooNew`), read-only too, and
never changed.

The views and the analyst's indexes are kept current whenever the journal is opened for
writing: a table the journal gains later (a projection registered afterwards) gets its
link, index and view then.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from vanta_tui.store.errors import JournalFileError
from vanta_tui.store.journal.analyst import INDEXES, LINKS, VIEWS, Link, links_of, views_over
from vanta_tui.store.journal.projection import (
    Projection,
    create_tables,
    prepare,
    prepared,
)

SCHEMA_VERSION = 1
"""The ``PRAGMA user_version`` this code writes and understands."""

STORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    vault_id TEXT,
    order_id TEXT REFERENCES orders(order_id),
    follower_id TEXT,
    payload TEXT NOT NULL,
    parents TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS events_order ON events(order_id);
CREATE INDEX IF NOT EXISTS events_vault ON events(vault_id);
CREATE INDEX IF NOT EXISTS events_action ON events(action);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    file TEXT,
    size INTEGER,
    content BLOB
);
CREATE TABLE IF NOT EXISTS file_heads (
    file TEXT PRIMARY KEY,
    sha256 TEXT,
    version INTEGER,
    seq INTEGER
);
CREATE TABLE IF NOT EXISTS intents (
    intent_id TEXT PRIMARY KEY,
    created TEXT,
    actor TEXT,
    body TEXT
);
CREATE TABLE IF NOT EXISTS alarm_seen (
    alarm_id TEXT PRIMARY KEY,
    first_seen TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""
"""The store's own tables (``events`` is the chain; the others are described in `db`)."""

STORE_TABLES = ("events", "blobs", "file_heads", "intents", "alarm_seen", "meta")


class JournalSchemaTooNew(JournalFileError):
    """``vanta.db`` was written by a newer version of the desk (its ``user_version`` is newer
    than this code knows). Nothing was read or changed: run the newer desk, or open a copy
    with it; this one does not guess at a schema it does not know."""


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(conn: sqlite3.Connection) -> int:
    """The journal's schema version; `JournalSchemaTooNew` when it is newer than this code."""
    version = user_version(conn)
    if version > SCHEMA_VERSION:
        raise JournalSchemaTooNew(
            f"vanta.db has schema version {version} (PRAGMA user_version), newer than the "
            f"{SCHEMA_VERSION} this desk knows: it was written by a newer vanta-tui. Nothing "
            "was changed; use that version (or newer) to open this journal"
        )
    return version


def _statements(script: str) -> list[str]:
    return [s for s in script.split(";\n") if s.strip()]


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    """(type, name) → SQL of everything in the schema."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    return {(str(t), str(n)): (None if s is None else str(s)) for t, n, s in rows}


def _tables(objects: dict[tuple[str, str], str | None]) -> set[str]:
    return {name for kind, name in objects if kind == "table"}


def _declared(conn: sqlite3.Connection, table: str) -> set[tuple[str, str, str]]:
    """(column, parent, parent column) of each foreign key ``table`` declares."""
    rows = conn.execute(f"PRAGMA foreign_key_list({table})").fetchall()
    return {(str(r[3]), str(r[2]), str(r[4])) for r in rows}


def _missing_links(conn: sqlite3.Connection, tables: set[str]) -> dict[str, list[Link]]:
    """The links not yet declared, by table (of the tables this journal has)."""
    missing: dict[str, list[Link]] = {}
    for link in LINKS:
        if link.table in tables:
            have = _declared(conn, link.table)
            if (link.column, link.parent, link.parent_column) not in have:
                missing.setdefault(link.table, []).append(link)
    return missing


def is_current(conn: sqlite3.Connection, projections: Sequence[Projection]) -> bool:
    """Whether the journal is at this version with everything in place (reads only: the
    usual open takes no write lock)."""
    if user_version(conn) != SCHEMA_VERSION:
        return False
    objects = _objects(conn)
    tables = _tables(objects)
    if not set(STORE_TABLES) <= tables or not prepared(conn, projections):
        return False
    if any(i.table in tables and ("index", i.name) not in objects for i in INDEXES):
        return False
    if any(objects.get(("view", v.name)) != v.ddl() for v in views_over(tables)):
        return False
    return not _missing_links(conn, tables)


def upgrade(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    """Bring the journal on ``conn`` (autocommit, WAL) to `SCHEMA_VERSION`, with the tables
    of ``projections``: one transaction, or nothing when it is current already. Refuses
    (`JournalSchemaTooNew`) a journal newer than this code, before writing anything."""
    check_version(conn)
    if is_current(conn, projections):
        return
    # Links are not enforced (`analyst`); off (SQLite's default) the rebuild below drops a
    # table without SQLite deleting or checking rows that name it. Not settable inside a
    # transaction, hence here.
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        check_version(conn)  # another process may have upgraded it meanwhile
        _upgrade_in_transaction(conn, projections)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _upgrade_in_transaction(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    objects = _objects(conn)
    ours = {view.name for view in VIEWS}
    # Our views go first (made again at the end, from this code's definitions): a table
    # rebuilt under a view would leave it pointing at a table that is gone for a moment.
    for kind, name in objects:
        if kind == "view" and name in ours:
            conn.execute(f"DROP VIEW {name}")
    for statement in _statements(STORE_SCHEMA):
        conn.execute(statement)  # IF NOT EXISTS: a new journal's tables, an old one's kept
    prepare(conn, projections)
    tables = _tables(_objects(conn))
    for table, links in _missing_links(conn, tables).items():
        _rebuild_with_links(conn, table, links)
    for index in INDEXES:
        if index.table in tables:
            conn.execute(index.ddl())
    for view in views_over(tables):
        conn.execute(view.ddl())
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


_UNSUPPORTED = re.compile(r"\b(AUTOINCREMENT|CHECK|COLLATE|GENERATED|WITHOUT\s+ROWID)\b", re.I)


def _rebuild_with_links(conn: sqlite3.Connection, table: str, links: Sequence[Link]) -> None:
    """Rebuild ``table`` with ``links`` declared (inside the caller's transaction): the same
    columns (name, type, NOT NULL, default, primary key), UNIQUE constraints, links already
    declared, indexes and triggers, and every row copied unchanged."""
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
    ).fetchone()
    if _UNSUPPORTED.search(str(sql)):
        raise JournalFileError(
            f"vanta.db: table {table} has a constraint this desk cannot carry over when it "
            f"adds the link of {', '.join(link.column for link in links)}: {sql}"
        )
    columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
    names = [str(c[1]) for c in columns]
    keys = [str(c[1]) for c in sorted(columns, key=lambda c: int(c[5])) if int(c[5]) > 0]
    wanted = {**links_of(table), **{link.column: link for link in links}}
    declared = conn.execute(f"PRAGMA foreign_key_list({table})").fetchall()
    parts: list[str] = []
    for _cid, name, kind, notnull, default, pk in columns:
        part = f"{name} {kind}".rstrip()
        if int(pk) > 0 and len(keys) == 1:
            part += " PRIMARY KEY"  # keeps an INTEGER PRIMARY KEY the rowid (seq)
        if notnull:
            part += " NOT NULL"
        if default is not None:
            part += f" DEFAULT {default}"
        if name in wanted:
            part += " " + wanted[name].clause()
        parts.append(part)
    if len(keys) > 1:
        parts.append(f"PRIMARY KEY ({', '.join(keys)})")
    others: dict[int, list[tuple[str, str, str]]] = {}
    for key_id, _seq, parent, column, parent_column, *_ in declared:
        others.setdefault(int(key_id), []).append((str(parent), str(column), str(parent_column)))
    for pairs in others.values():
        if len(pairs) > 1 or pairs[0][1] not in wanted:
            parent = pairs[0][0]
            mine = ", ".join(column for _, column, _ in pairs)
            theirs = ", ".join(column for _, _, column in pairs)
            parts.append(f"FOREIGN KEY ({mine}) REFERENCES {parent}({theirs})")
    for _seq, index, unique, origin, *_ in conn.execute(f"PRAGMA index_list({table})"):
        if unique and origin == "u":
            cols = [str(r[2]) for r in conn.execute(f"PRAGMA index_info({index})")]
            parts.append(f"UNIQUE ({', '.join(cols)})")
    kept = [
        str(r[0])
        for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL",
            [table],
        )
    ]
    staging = f"_rebuild_{table}"
    # Rows keep their rowid (for events and fills it is the seq itself, their INTEGER
    # PRIMARY KEY), so the copy can be checked row by row.
    alias = len(keys) == 1 and any(
        str(c[1]) == keys[0] and str(c[2]).upper() == "INTEGER" for c in columns
    )
    copied = ", ".join(names if alias else ["rowid", *names])
    conn.execute(f"DROP TABLE IF EXISTS {staging}")
    conn.execute(f"CREATE TABLE {staging} (\n    " + ",\n    ".join(parts) + "\n)")
    conn.execute(f"INSERT INTO {staging} ({copied}) SELECT {copied} FROM {table}")
    _check_copy(conn, table, staging, names)
    conn.execute(f"DROP TABLE {table}")
    # Legacy rename: nothing else in the schema is re-checked or rewritten (a view of
    # someone else's over this table resolves to the new one by its name).
    conn.execute("PRAGMA legacy_alter_table=ON")
    try:
        conn.execute(f"ALTER TABLE {staging} RENAME TO {table}")
    finally:
        conn.execute("PRAGMA legacy_alter_table=OFF")
    for statement in kept:
        conn.execute(statement)


def _check_copy(conn: sqlite3.Connection, table: str, copy: str, columns: Sequence[str]) -> None:
    """The copy holds exactly the table's rows, value for value and type for type (row by
    row, by rowid); else the transaction is rolled back and nothing changes."""
    counts = [
        int(conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]) for name in (table, copy)
    ]
    unlike = " OR ".join(f"a.{c} IS NOT b.{c} OR typeof(a.{c}) != typeof(b.{c})" for c in columns)
    differ = conn.execute(
        f"SELECT COUNT(*) FROM {table} AS a LEFT JOIN {copy} AS b ON a.rowid = b.rowid "
        f"WHERE b.rowid IS NULL OR {unlike}"
    ).fetchone()[0]
    if counts[0] != counts[1] or differ:
        raise JournalFileError(
            f"vanta.db: a copy of table {table} made to declare its links differs from it "
            f"({counts[0]} rows, {counts[1]} copied, {differ} differ); nothing was changed"
        )


def create_in_memory(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    """The whole schema on an empty database (a read-only journal's stand-in when there is
    no journal yet)."""
    conn.executescript(STORE_SCHEMA)
    create_tables(conn, projections)
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for view in views_over(tables):
        conn.execute(view.ddl())
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
