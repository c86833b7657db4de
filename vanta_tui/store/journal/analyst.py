"""What `vanta.db` offers an analyst beyond the journal's own rows: declared links between
tables (foreign keys), the indexes their questions need, and typed views.

The journal keeps amounts as TEXT, the exact decimal it was given (``0.0050`` stays
``0.0050``); SQLite and Datasette compare TEXT as text, so ``ORDER BY qty`` gives 43, 4, 3,
12, 10 and ``qty > 10`` keeps 3 and 4. The tables stay as they are (they are what the
actions read, and the hash chain is over the events' exact text); beside each table an
analyst queries, a view has the same rows with

- every amount as an SQLite number under the column's own name (an INTEGER when whole,
  else a REAL: exact to about 15 significant digits, so sort, compare and sum it; round a
  sum to the amount's decimals) and the recorded text beside it as ``<name>_text``; a text
  that is not a plain decimal (``NaN``, empty) is NULL, never 0;
- every timestamp as recorded (ISO 8601, UTC) and parsed: ``<name>_utc``, the UTC time as
  ``YYYY-MM-DD HH:MM:SS.SSS`` (SQLite's own form: its date functions and Datasette read it,
  and it sorts in time order whatever precision or offset the recorded text had), and
  ``<name>_epoch``, seconds since 1970-01-01 UTC (to the millisecond, for durations);
  a text SQLite cannot read as a time gives NULL.

The tables these name besides ``events`` (``orders``, ``fills``, ``fee_ledger``) are the
derived tables the actions register (`projection`): they are part of the database an
analyst opens, so the store describes them here and in ``datasette-metadata.yml``. A link,
an index or a view over a table this journal does not have is left out until it has it.

Links are declared, never enforced (nothing in the package turns ``PRAGMA foreign_keys``
on), and that is deliberate:

- the events are the journal of record and the tables are derived from them: an event
  must never be refused because a derived table lacks a row. Events may name an order that
  has no row in ``orders``: an order the journal never saw staged, or a process that opens
  the journal without the actions' projections; and `Projector.rebuild` empties
  ``orders`` and fills it again from the events, which an enforced link from ``fills``
  would refuse;
- SQLite enforces a link only on a connection that asks for it, so the other programs that
  open ``vanta.db`` (``sqlite-utils``, Datasette, the sqlite3 shell) would not: enforcement
  could not be a guarantee anyway. What holds is checked instead: ``PRAGMA
  foreign_key_check`` lists the rows whose order is missing (tests: every fill's order is
  in ``orders``).

Declared, they are what Datasette and ``sqlite-utils`` read (``PRAGMA foreign_key_list``):
a fill's or an event's order id is a link to the order's row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """``table.column`` names a row of ``parent`` by ``parent_column`` (a foreign key,
    declared and not enforced)."""

    table: str
    column: str
    parent: str
    parent_column: str

    def clause(self) -> str:
        """What follows the column's type in ``CREATE TABLE``."""
        return f"REFERENCES {self.parent}({self.parent_column})"


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    column: str

    def ddl(self) -> str:
        return f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table}({self.column})"


LINKS = (
    Link("events", "order_id", "orders", "order_id"),
    Link("fills", "order_id", "orders", "order_id"),
)
"""Every declared foreign key of the journal database."""

INDEXES = (
    Index("events_ts", "events", "ts"),
    Index("fills_order", "fills", "order_id"),
)
"""Indexes for an analyst's questions (events by time, an order's fills) beside those the
store and the projections make for their own readings."""


def links_of(table: str) -> dict[str, Link]:
    """The links of ``table``, by column."""
    return {link.column: link for link in LINKS if link.table == table}


def indexes_of(table: str) -> tuple[Index, ...]:
    return tuple(index for index in INDEXES if index.table == table)


# ------------------------------------------------------------------------------ views


def number(column: str) -> str:
    """SQL: the TEXT ``column`` as an SQLite number (INTEGER when whole), NULL when it is
    not a plain decimal (``CAST`` alone would make ``NaN`` or an empty text 0)."""
    return (
        f"CASE WHEN {column} GLOB '*[0-9]*' AND {column} NOT GLOB '*[^0-9.eE+-]*' "
        f"THEN CAST({column} AS NUMERIC) END"
    )


def utc_text(column: str) -> str:
    """SQL: the ISO 8601 time in ``column`` as ``YYYY-MM-DD HH:MM:SS.SSS`` in UTC."""
    return f"strftime('%Y-%m-%d %H:%M:%f', {column})"


def epoch_seconds(column: str) -> str:
    """SQL: the ISO 8601 time in ``column`` as seconds since 1970-01-01 UTC (ms)."""
    return f"round((julianday({column}) - 2440587.5) * 86400.0, 3)"


def payload_value(path: str) -> str:
    """SQL: the value at ``path`` in an event's payload (a JSON number comes back as an SQLite
    number: the journal writes amounts as JSON numbers)."""
    return f"json_extract(payload, '{path}')"


@dataclass(frozen=True)
class View:
    """A view over one table: its columns as (name, SQL expression)."""

    name: str
    table: str
    columns: tuple[tuple[str, str], ...]

    def ddl(self) -> str:
        """``CREATE VIEW`` (exactly the text SQLite keeps, so a changed definition is seen)."""
        selected = ",\n    ".join(
            name if expression == name else f"{expression} AS {name}"
            for name, expression in self.columns
        )
        return f"CREATE VIEW {self.name} AS SELECT\n    {selected}\nFROM {self.table}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _plain(*names: str) -> list[tuple[str, str]]:
    return [(name, name) for name in names]


def _amounts(*names: str) -> list[tuple[str, str]]:
    """Each amount as a number under its name, and its recorded text as ``<name>_text``."""
    out: list[tuple[str, str]] = []
    for name in names:
        out += [(name, number(name)), (f"{name}_text", name)]
    return out


def _times(*names: str) -> list[tuple[str, str]]:
    """Each timestamp as recorded, as ``<name>_utc`` and as ``<name>_epoch``."""
    out: list[tuple[str, str]] = []
    for name in names:
        out += [
            (name, name),
            (f"{name}_utc", utc_text(name)),
            (f"{name}_epoch", epoch_seconds(name)),
        ]
    return out


def _view(name: str, table: str, columns: Iterable[tuple[str, str]]) -> View:
    return View(name, table, tuple(columns))


VIEWS = (
    _view(
        "orders_v",
        "orders",
        [
            *_plain("order_id", "vault_id", "symbol", "side"),
            *_amounts("qty"),
            *_plain("order_type"),
            *_amounts("limit_price"),
            *_plain("status", "parent_id", "follower_id", "client_order_id", "broker_order_id"),
            *_amounts("filled_qty", "avg_fill_price"),
            *_times("updated_at"),
            *_plain("last_seq", "order_json"),
        ],
    ),
    _view(
        "fills_v",
        "fills",
        [
            *_plain("seq"),
            *_times("ts"),
            *_plain("order_id", "vault_id", "follower_id", "symbol", "side"),
            *_amounts("qty", "price"),
            ("notional", f"({number('qty')}) * ({number('price')})"),
        ],
    ),
    _view(
        "fee_ledger_v",
        "fee_ledger",
        [
            *_plain("seq"),
            *_times("ts"),
            *_plain("vault_id", "follower_id", "entry", "fee_type"),
            *_times("period_start", "period_end"),
            *_amounts("perf_share", "flat_usd", "realized_pnl", "fee_due"),
            *_plain("payload"),
        ],
    ),
    _view(
        "events_v",
        "events",
        [
            *_plain("seq"),
            *_times("ts"),
            *_plain("actor", "action", "vault_id", "order_id", "follower_id"),
            ("symbol", f"coalesce({payload_value('$.fill.symbol')}, "
                       f"{payload_value('$.order.symbol')})"),
            ("side", f"coalesce({payload_value('$.fill.side')}, {payload_value('$.order.side')})"),
            ("order_qty", payload_value("$.order.qty")),
            ("limit_price", payload_value("$.order.limit_price")),
            ("fill_qty", payload_value("$.fill.qty")),
            ("fill_price", payload_value("$.fill.price")),
            ("fee_due", payload_value("$.fee_due")),
            *_plain("payload", "parents", "prev_hash", "hash"),
        ],
    ),
)  # fmt: skip
"""The typed views, one over each table an analyst sums: the table's columns (amounts typed,
timestamps parsed) and, over ``events``, the amounts its payloads carry."""


def views_over(tables: Iterable[str]) -> tuple[View, ...]:
    """The views whose table is among ``tables`` (those a journal has)."""
    have = set(tables)
    return tuple(view for view in VIEWS if view.table in have)
