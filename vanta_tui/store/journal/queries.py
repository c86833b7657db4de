"""Named readings of the journal: each answers one question the actions ask of it.

Above the store nobody writes SQL or touches the journal's connection: an action that needs
a reading of the journal asks one of these (or adds one here). Readings of a table derived
from the events (orders, fills, the fee ledger: `projection`) live beside its projection.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from vanta_tui.core.types import format_utc, parse_utc
from vanta_tui.store.journal.events import EVENT_COLUMNS, Event, event_from_row
from vanta_tui.store.journal.journal import Journal


def actions_after(journal: Journal, seq: int) -> int:
    """How many actions (each one `Journal.act` or `record`: its events share one time) the
    journal took after event ``seq``."""
    row = journal.db.execute(
        "SELECT COUNT(DISTINCT ts) FROM events WHERE seq > ?", [seq]
    ).fetchone()
    return int(row[0])


def meta(journal: Journal, key: str) -> str | None:
    """The operational note kept under ``key`` (``executor.last_cycle``, ``verify.last``…;
    see `Journal.set_meta`), or None when there is none."""
    row = journal.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def events_of(
    journal: Journal,
    actions: Collection[str],
    *,
    vault_id: str | None = None,
    order_id: str | None = None,
    follower_id: str | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[Event]:
    """The events of the given ``actions`` (of ``vault_id``, ``order_id``, ``follower_id``
    where given; None: any), in chain order (``newest_first``: the other way), at most
    ``limit``."""
    names = list(actions)
    if not names:
        return []
    clauses = [f"action IN ({','.join('?' for _ in names)})"]
    args: list[object] = list(names)
    for column, wanted in (("vault_id", vault_id), ("order_id", order_id),
                           ("follower_id", follower_id)):  # fmt: skip
        if wanted is not None:
            clauses.append(f"{column} = ?")
            args.append(wanted)
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY seq"
    if newest_first:
        sql += " DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    return [event_from_row(row) for row in journal.db.execute(sql, args)]


def first_event(
    journal: Journal,
    action: str,
    *,
    order_id: str | None = None,
    follower_id: str | None = None,
    latest: bool = False,
) -> Event | None:
    """The first (``latest``: the last) ``action`` event (of ``order_id`` / ``follower_id``,
    if given), or None."""
    found = events_of(
        journal, [action], order_id=order_id, follower_id=follower_id, newest_first=latest,
        limit=1,
    )  # fmt: skip
    return found[0] if found else None


def order_ids_of(journal: Journal, action: str) -> set[str]:
    """The orders that have an ``action`` event (``order.dead_letter_dismissed``: the dead
    letters an operator dismissed)."""
    return {
        str(row[0])
        for row in journal.db.execute("SELECT order_id FROM events WHERE action = ?", [action])
    }


def dismissed_orders(journal: Journal) -> set[str]:
    """Failed orders an operator dismissed from the dead letters."""
    return order_ids_of(journal, "order.dead_letter_dismissed")


def retry_of(journal: Journal, failed_order_id: str) -> str | None:
    """The order staged as the retry of failed order ``failed_order_id`` (the first, if
    ever more than one), or None."""
    row = journal.db.execute(
        "SELECT order_id FROM events WHERE action = 'order.staged' "
        "AND json_extract(payload, '$.retry_of') = ? ORDER BY seq LIMIT 1",
        [failed_order_id],
    ).fetchone()
    return str(row[0]) if row else None


def retried_orders(journal: Journal) -> set[str]:
    """Failed orders that were staged again as a retry."""
    return {
        str(row[0])
        for row in journal.db.execute(
            "SELECT json_extract(payload, '$.retry_of') FROM events "
            "WHERE action = 'order.staged' AND json_extract(payload, '$.retry_of') IS NOT NULL"
        )
    }


def alarm_first_seen(journal: Journal) -> dict[str, datetime]:
    """Each alarm the journal has seen open (and not seen closed since): when it was first
    seen (``alarm_seen``, kept by `note_alarms_seen`)."""
    return {
        str(r[0]): parse_utc(str(r[1]))
        for r in journal.db.execute("SELECT alarm_id, first_seen FROM alarm_seen")
    }


def note_alarms_seen(journal: Journal, open_ids: Iterable[str], now: datetime) -> None:
    """Keep ``alarm_seen`` to the alarms open now: one not seen before is first seen
    ``now``; one no longer open is forgotten (seen again later, it starts over). Not kept
    by a read-only journal (like `Journal.set_meta`). Written by difference: when the open
    alarms are the ones kept (a status refresh, thousands of alarms at 5,000 positions),
    nothing is written and the journal's write lock is not taken."""
    if journal.read_only:
        return
    ids = list(dict.fromkeys(open_ids))
    conn = journal.db.conn

    def kept() -> set[str]:
        return {str(row[0]) for row in conn.execute("SELECT alarm_id FROM alarm_seen")}

    if kept() == set(ids):
        return
    # One transaction (the connection is in autocommit: `with conn` would not begin one),
    # so a crash between the two statements cannot forget the first-seen times; what is
    # kept is read again under the write lock (another desk may have written meanwhile).
    conn.execute("BEGIN IMMEDIATE")
    try:
        known = kept()
        gone = known.difference(ids)
        if gone:
            conn.execute(
                "DELETE FROM alarm_seen WHERE alarm_id IN (SELECT value FROM json_each(?))",
                [json.dumps(sorted(gone))],
            )
        conn.executemany(
            "INSERT OR IGNORE INTO alarm_seen (alarm_id, first_seen) VALUES (?, ?)",
            [(alarm_id, format_utc(now)) for alarm_id in ids if alarm_id not in known],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def recent_events(
    journal: Journal,
    *,
    after_seq: int = 0,
    before_seq: int | None = None,
    vault_id: str | None = None,
    order_id: str | None = None,
    actor: str | None = None,
    skip: Collection[str] = (),
    limit: int = 200,
) -> list[Event]:
    """The newest events first (after ``after_seq``, before ``before_seq``), of ``vault_id``,
    ``order_id`` (the order or its follower copies) and ``actor`` where given, leaving out
    the actions in ``skip``; at most ``limit``. An order's follower copies count as its own:
    an event names its parent in ``payload.order.parent_id``."""
    clauses = ["seq > ?"]
    args: list[object] = [after_seq]
    if before_seq is not None:
        clauses.append("seq < ?")
        args.append(before_seq)
    if vault_id is not None:
        clauses.append("vault_id = ?")
        args.append(vault_id)
    if actor is not None:
        clauses.append("actor = ?")
        args.append(actor)
    if order_id is not None:
        clauses.append("(order_id = ? OR json_extract(payload, '$.order.parent_id') = ?)")
        args += [order_id, order_id]
    names = list(skip)
    if names:
        clauses.append(f"action NOT IN ({','.join('?' for _ in names)})")
        args += names
    sql = (
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} "
        "ORDER BY seq DESC LIMIT ?"
    )
    args.append(int(limit))
    return [event_from_row(row) for row in journal.db.execute(sql, args)]


def head_seq(journal: Journal) -> int:
    """The newest event's seq (0 for an empty journal)."""
    row = journal.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
    return int(row[0])


def mirrored_counts(journal: Journal, parent_ids: Collection[str]) -> dict[str, int]:
    """How many follower copies each of these vault orders got (its ``order.mirrored``
    events)."""
    ids = list(parent_ids)
    if not ids:
        return {}
    rows = journal.db.execute(
        "SELECT json_extract(payload, '$.parent.order_id'), COUNT(*) FROM events "
        f"WHERE action = 'order.mirrored' AND json_extract(payload, '$.parent.order_id') "
        f"IN ({','.join('?' for _ in ids)}) GROUP BY 1",
        ids,
    )
    return {str(r[0]): int(r[1]) for r in rows}


def meta_with_prefix(journal: Journal, prefix: str) -> dict[str, str]:
    """The operational notes whose key starts with ``prefix`` (the prefix taken off)."""
    rows = journal.db.execute(
        "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", [len(prefix), prefix]
    )
    return {str(k)[len(prefix) :]: str(v) for k, v in rows if v is not None}


FILL_ACTIONS = ("order.filled", "order.partially_filled")
"""The events that carry a fill (``payload.fill``)."""


def fill_events(journal: Journal, *, vault_id: str | None = None) -> list[Event]:
    """Every event that recorded a fill, oldest first (of ``vault_id``, if given)."""
    return events_of(journal, FILL_ACTIONS, vault_id=vault_id)


PAGE = 5000
"""Events read at a time by `paged_events`."""


def paged_events(
    journal: Journal, columns: str, where: str = "", args: Sequence[Any] = ()
) -> Iterator[tuple[Any, ...]]:
    """Every event's ``columns`` (the first is ``seq``) in seq order, read a page at a time
    by seq: a million events are never all in memory at once, on SQLite or PostgreSQL (whose
    driver would otherwise hold a whole result)."""
    last = 0
    clause = f" AND ({where})" if where else ""
    sql = f"SELECT {columns} FROM events WHERE seq > ?{clause} ORDER BY seq LIMIT ?"
    while True:
        rows = journal.db.execute(sql, [last, *args, PAGE]).fetchall()
        if not rows:
            return
        yield from (tuple(row) for row in rows)
        last = int(rows[-1][0])
