"""Projections: tables derived from the journal's events, kept by the journal itself.

The store knows only its own tables (``events``, ``blobs``, ``file_heads``, ``intents``,
``alarm_seen``, ``meta``). A layer that knows what some events mean (the actions: orders,
fills, the fee ledger, overlay history) describes a table and the row one event gives it,
and `register`\\ s it; every journal opened afterwards keeps that table in the very SQLite
transaction that appends the events (``executemany``, one statement per table and batch).

Each projection's progress is kept in ``meta`` (``projection.<table>``: the seq through
which its table holds the chain). A journal catches a table up (from that seq) before it
appends, and at start-up: a table that is new, or that a process without the projection
fell behind on, is rebuilt from the events it missed. `rebuild` starts one over from the
first event. A table found without a mark (made before projections were marked) is taken
as holding the chain as it is.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vanta_tui.store.journal.analyst import indexes_of, links_of
from vanta_tui.store.journal.events import EVENT_COLUMNS, Event, event_from_row

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MARK_PREFIX = "projection."
"""``meta`` key of a projection's mark: ``projection.<table>`` → the last seq it holds."""
CATCH_UP_CHUNK = 5000
"""Events read at a time when a table catches up."""


@dataclass(frozen=True)
class Projection:
    """One table derived from the events: its columns and the row each event gives it.

    The first column is the primary key. ``latest_per_key``: the table holds one row per
    key, the one of the key's last event (``INSERT OR REPLACE``; within one batch only the
    last row of a key is written); otherwise every row is inserted (its key is the event's
    seq, so a row is never written twice)."""

    table: str
    columns: tuple[tuple[str, str], ...]
    """(name, SQLite type) of each column, in the order of the rows."""
    row: Callable[[Event], tuple[Any, ...] | None]
    """The row ``event`` adds (None: it adds none). Called inside the journal's
    transaction for every event appended: keep it cheap, and free of I/O."""
    latest_per_key: bool = False
    indexes: tuple[tuple[str, str], ...] = ()
    """(index name, column) pairs."""

    def __post_init__(self) -> None:
        names = [
            self.table,
            *(c for c, _ in self.columns),
            *(i for pair in self.indexes for i in pair),
        ]
        for name in names:
            if not _NAME.match(name):
                raise ValueError(f"projection {self.table!r}: {name!r} is not a plain name")
        if not self.columns:
            raise ValueError(f"projection {self.table!r} has no columns")

    @property
    def key(self) -> str:
        return self.columns[0][0]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` (and its indexes): idempotent. The table's links
        and the indexes an analyst needs (`analyst`) come with it."""
        links = links_of(self.table)
        first, *rest = self.columns
        cols = [f"{first[0]} {first[1]} PRIMARY KEY", *(f"{n} {t}" for n, t in rest)]
        cols = [
            f"{col} {links[name].clause()}" if name in links else col
            for (name, _), col in zip(self.columns, cols, strict=True)
        ]
        text = f"CREATE TABLE IF NOT EXISTS {self.table} (\n    " + ",\n    ".join(cols) + "\n);\n"
        for index, column in self.indexes:
            text += f"CREATE INDEX IF NOT EXISTS {index} ON {self.table}({column});\n"
        for extra in indexes_of(self.table):
            text += extra.ddl() + ";\n"
        return text

    def insert_sql(self) -> str:
        verb = "INSERT OR REPLACE" if self.latest_per_key else "INSERT"
        marks = ",".join("?" for _ in self.columns)
        return f"{verb} INTO {self.table} ({', '.join(self.column_names)}) VALUES ({marks})"


_REGISTRY: dict[str, Projection] = {}


def register(projection: Projection) -> None:
    """Keep ``projection`` in every journal opened from now on (registering a table's
    projection again replaces it: a module imported twice does no harm)."""
    _REGISTRY[projection.table] = projection


def registered() -> tuple[Projection, ...]:
    """The projections registered now, in the order they were first registered."""
    return tuple(_REGISTRY.values())


def schema_of(projections: Iterable[Projection]) -> str:
    return "".join(p.ddl() for p in projections)


def _mark_key(projection: Projection) -> str:
    return MARK_PREFIX + projection.table


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _head(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(seq) FROM events").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def prepare(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    """Create the projections' tables (adding any column an older table lacks) and mark a
    new table as holding nothing yet (it catches up before the next append); an existing
    table without a mark is taken as current (made before marks were kept). Inside the
    caller's write transaction (`schema.upgrade`: one transaction with the rest of the
    schema, so two processes opening the journal at once agree)."""
    have = _tables(conn)
    head = None
    for projection in projections:
        for statement in projection.ddl().split(";\n"):
            if statement.strip():
                conn.execute(statement)
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({projection.table})")}
        for name, kind in projection.columns:
            if name not in present:
                conn.execute(f"ALTER TABLE {projection.table} ADD COLUMN {name} {kind}")
        if projection.table in have:
            head = _head(conn) if head is None else head
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                [_mark_key(projection), str(head)],
            )
        else:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [_mark_key(projection), "0"],
            )


def prepared(conn: sqlite3.Connection, projections: Sequence[Projection]) -> bool:
    """Whether every table is there with every column, and marked (a read only)."""
    have = _tables(conn)
    if any(p.table not in have for p in projections):
        return False
    for projection in projections:
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({projection.table})")}
        if not set(projection.column_names) <= present:
            return False
    keys = [_mark_key(p) for p in projections]
    found = conn.execute(
        f"SELECT COUNT(*) FROM meta WHERE key IN ({','.join('?' for _ in keys)})", keys
    ).fetchone()
    return int(found[0]) == len(keys)


def create_tables(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    """The tables alone (a read-only journal's empty in-memory database)."""
    conn.executescript(schema_of(projections))


class Projector:
    """The projections one journal keeps, applied inside its transactions."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.projections = tuple(projections)
        self._current_at: int | None = None
        """The head at which every mark was last known to be at the head: an append from
        there needs no look at the marks (another process's append moves the head)."""

    def catch_up(self, conn: sqlite3.Connection, head: int) -> int:
        """Bring every table up to ``head`` (the caller's transaction holds the write lock);
        returns how many events were applied."""
        if not self.projections or self._current_at == head:
            return 0
        marks = _marks(conn, self.projections)
        applied = 0
        behind = [p for p in self.projections if marks[p.table] < head]
        if behind:
            for projection in behind:
                if marks[projection.table] <= 0:
                    conn.execute(f"DELETE FROM {projection.table}")  # holds nothing: start over
            start = min(marks[p.table] for p in behind)
            while start < head:
                rows = conn.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? AND seq <= ? "
                    "ORDER BY seq LIMIT ?",
                    [start, head, CATCH_UP_CHUNK],
                ).fetchall()
                if not rows:
                    break
                events = [event_from_row(r) for r in rows]
                for projection in behind:
                    mark = marks[projection.table]
                    _write(conn, projection, [e for e in events if e.seq > mark])
                applied += len(events)
                start = events[-1].seq
            _set_marks(conn, behind, head)
        self._current_at = head
        return applied

    def apply(self, conn: sqlite3.Connection, events: Sequence[Event]) -> None:
        """The rows of a batch just appended (the tables were caught up to the seq before
        it), and the marks moved to its last event."""
        if not self.projections or not events:
            return
        for projection in self.projections:
            _write(conn, projection, events)
        head = events[-1].seq
        _set_marks(conn, self.projections, head)
        self._current_at = head

    def rebuild(self, conn: sqlite3.Connection, tables: Iterable[str] | None = None) -> int:
        """Empty the tables (``tables``: those only) and fill them again from every event."""
        wanted = set(tables) if tables is not None else None
        chosen = [p for p in self.projections if wanted is None or p.table in wanted]
        _set_marks(conn, chosen, 0)  # a table marked 0 is emptied as it catches up
        self._current_at = None
        return self.catch_up(conn, _head(conn))

    def forget(self) -> None:
        """Look at the marks again before the next append (a transaction rolled back)."""
        self._current_at = None


def _marks(conn: sqlite3.Connection, projections: Sequence[Projection]) -> dict[str, int]:
    keys = [_mark_key(p) for p in projections]
    found = conn.execute(
        f"SELECT key, value FROM meta WHERE key IN ({','.join('?' for _ in keys)})", keys
    ).fetchall()
    out: dict[str, int] = {}
    for key, value in found:
        try:
            out[str(key)[len(MARK_PREFIX) :]] = int(value)
        except (TypeError, ValueError):
            out[str(key)[len(MARK_PREFIX) :]] = 0  # unreadable: start the table over
    for projection in projections:
        out.setdefault(projection.table, 0)  # no mark: a table of unknown content, rebuilt
    return out


def _set_marks(conn: sqlite3.Connection, projections: Iterable[Projection], seq: int) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(_mark_key(p), str(seq)) for p in projections],
    )


def _write(conn: sqlite3.Connection, projection: Projection, events: Iterable[Event]) -> None:
    make = projection.row
    if projection.latest_per_key:
        latest: dict[Any, tuple[Any, ...]] = {}
        for event in events:
            row = make(event)
            if row is not None:
                latest[row[0]] = row
        rows: list[tuple[Any, ...]] = list(latest.values())
    else:
        rows = [row for row in map(make, events) if row is not None]
    if rows:
        conn.executemany(projection.insert_sql(), rows)


def read(
    conn: sqlite3.Connection,
    projection: Projection,
    *,
    where: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[tuple[Any, ...]]:
    """Rows of ``projection``'s table (``columns``: those only, else every column in its
    order) whose columns named in ``where`` hold the given values (None: NULL), by key.
    A table this journal does not have yet (opened read-only) reads as empty."""
    names = set(projection.column_names)
    chosen = list(columns) if columns is not None else list(projection.column_names)
    asked = list((where or {}).items())
    unknown = [c for c in chosen + [c for c, _ in asked] if c not in names]
    if unknown:
        raise ValueError(f"{projection.table} has no column {unknown[0]!r}")
    clauses = [f"{c} IS NULL" if v is None else f"{c} = ?" for c, v in asked]
    args: list[Any] = [v for _, v in asked if v is not None]
    sql = f"SELECT {', '.join(chosen)} FROM {projection.table}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY {projection.key}"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
