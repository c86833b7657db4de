"""The journal's tables derived from the actions' events: orders, fills, the fee ledger and
overlay history, and the readings of them the actions make.

Each is a `Projection` (a table and the row one event gives it) registered with the store
when `vanta_tui.actions` is imported, so every journal the actions open keeps them, in the
transaction that appends the events; a journal catches a table up, or rebuilds it, from the
events (`vanta_tui.store.journal.projection`). The rows are what the journal kept in these
tables before they were projections, column for column.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from vanta_tui.core.codec import dumps_canonical
from vanta_tui.store.journal import Event, Journal, Projection, register

FEE_LEDGER_ACTIONS = {"fee.charged": "charged", "fee.opening_balance": "opening_balance"}
"""Events kept in ``fee_ledger`` (and the ``entry`` they are there)."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _order_row(event: Event) -> tuple[Any, ...] | None:
    """The order's row as of this event (an order's last event of a batch is the one kept)."""
    order = event.payload.get("order")
    if not event.order_id or not isinstance(order, dict):
        return None
    get = order.get
    return (
        event.order_id, get("vault_id"), get("symbol"), get("side"), _text(get("qty")),
        get("order_type"), _text(get("limit_price")),
        "unstaged" if event.action == "order.unstaged" else get("status"), get("parent_id"),
        get("follower_id"), get("client_order_id"), get("broker_order_id"),
        _text(get("filled_qty")), _text(get("avg_fill_price")), get("updated_at"), event.seq,
        dumps_canonical(order),
    )  # fmt: skip


def _fill_row(event: Event) -> tuple[Any, ...] | None:
    fill = event.payload.get("fill")
    if not isinstance(fill, dict):
        return None
    return (
        event.seq, fill.get("ts", event.ts), event.order_id, event.vault_id, event.follower_id,
        fill.get("symbol"), fill.get("side"), _text(fill.get("qty")), _text(fill.get("price")),
    )  # fmt: skip


def _overlay_row(event: Event) -> tuple[Any, ...] | None:
    if not event.action.startswith("overlay."):
        return None
    kept = {k: v for k, v in event.payload.items() if k != "changes"}
    return (event.seq, event.ts, event.actor, event.action, event.vault_id, dumps_canonical(kept))


def _fee_row(event: Event) -> tuple[Any, ...] | None:
    entry = FEE_LEDGER_ACTIONS.get(event.action)
    if entry is None:
        return None
    payload = event.payload
    return (
        event.seq, event.ts, event.vault_id, event.follower_id, payload.get("fee_type"),
        _text(payload.get("perf_share")), _text(payload.get("flat_usd")),
        _text(payload.get("realized_pnl")), _text(payload.get("fee_due")),
        dumps_canonical(payload), payload.get("period_start"), payload.get("period_end"), entry,
    )  # fmt: skip


_T, _I = "TEXT", "INTEGER"

ORDERS = Projection(
    "orders",
    (("order_id", _T), ("vault_id", _T), ("symbol", _T), ("side", _T), ("qty", _T),
     ("order_type", _T), ("limit_price", _T), ("status", _T), ("parent_id", _T),
     ("follower_id", _T), ("client_order_id", _T), ("broker_order_id", _T),
     ("filled_qty", _T), ("avg_fill_price", _T), ("updated_at", _T), ("last_seq", _I),
     ("order_json", _T)),
    _order_row,
    latest_per_key=True,
    indexes=(("orders_parent", "parent_id"),),
)  # fmt: skip
"""Each order as of its last event (``order_json``: the order the event carried)."""

FILLS = Projection(
    "fills",
    (("seq", _I), ("ts", _T), ("order_id", _T), ("vault_id", _T), ("follower_id", _T),
     ("symbol", _T), ("side", _T), ("qty", _T), ("price", _T)),
    _fill_row,
)  # fmt: skip
"""Every fill an event recorded (its seq is the event's)."""

OVERLAY_HISTORY = Projection(
    "overlay_history",
    (("seq", _I), ("ts", _T), ("actor", _T), ("action", _T), ("vault_id", _T),
     ("payload", _T)),
    _overlay_row,
)  # fmt: skip
"""Every ``overlay.*`` event, its payload without the file changes."""

FEE_LEDGER = Projection(
    "fee_ledger",
    (("seq", _I), ("ts", _T), ("vault_id", _T), ("follower_id", _T), ("fee_type", _T),
     ("perf_share", _T), ("flat_usd", _T), ("realized_pnl", _T), ("fee_due", _T),
     ("payload", _T), ("period_start", _T), ("period_end", _T), ("entry", _T)),
    _fee_row,
)  # fmt: skip
"""Opening balances and charged fee periods (`FEE_LEDGER_ACTIONS`). ``period_start``,
``period_end`` and ``entry`` came after journals were in use: rows written before have them
NULL, and readers derive the period from the row's time (`actions/fees.py`)."""

PROJECTIONS = (ORDERS, FILLS, OVERLAY_HISTORY, FEE_LEDGER)


def register_all() -> None:
    """Register the actions' projections (done on importing `vanta_tui.actions`)."""
    for projection in PROJECTIONS:
        register(projection)


# --------------------------------------------------------------------------- readings


class FeeLedgerRow(NamedTuple):
    """One row of ``fee_ledger`` as stored (numbers as their text; see `fees.LedgerEntry`)."""

    seq: int
    ts: str
    vault_id: str
    follower_id: str | None
    fee_type: str
    perf_share: str | None
    flat_usd: str | None
    realized_pnl: str | None
    fee_due: str | None
    period_start: str | None
    period_end: str | None
    entry: str | None
    payload: str | None


_LEDGER_COLUMNS = FeeLedgerRow._fields


def _where(**given: str | None) -> dict[str, Any]:
    """Filters on the columns given a value (None: any value)."""
    return {column: value for column, value in given.items() if value is not None}


def fee_ledger(
    journal: Journal, *, vault_id: str | None = None, follower_id: str | None = None
) -> list[FeeLedgerRow]:
    """The fee ledger's rows (of ``vault_id`` / ``follower_id`` where given), oldest first."""
    where = _where(vault_id=vault_id, follower_id=follower_id)
    rows = journal.rows_of(FEE_LEDGER, columns=_LEDGER_COLUMNS, where=where)
    return [FeeLedgerRow(*row) for row in rows]


def in_fee_ledger(
    journal: Journal, *, vault_id: str | None = None, follower_id: str | None = None
) -> bool:
    """Whether the fee ledger has any row of ``vault_id`` / ``follower_id`` (where given)."""
    where = _where(vault_id=vault_id, follower_id=follower_id)
    return bool(journal.rows_of(FEE_LEDGER, columns=("seq",), where=where, limit=1))


def order_ids(journal: Journal) -> list[str]:
    """Every order the journal has an event of (with the order), by id."""
    return [str(row[0]) for row in journal.rows_of(ORDERS, columns=("order_id",))]


def child_orders(journal: Journal, order_id: str) -> list[str]:
    """The orders whose parent is ``order_id`` (a vault order's mirrored children), by id."""
    rows = journal.rows_of(ORDERS, columns=("order_id",), where={"parent_id": order_id})
    return [str(row[0]) for row in rows]
