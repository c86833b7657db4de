"""`autotrade_queue.json`: staged orders, the bridge between intent and truth."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import Any, Self

from pydantic import ConfigDict, Field, StrictBool, StrictInt, model_validator

from vanta_tui.core.enums import (
    AssetClass,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    asset_class_of,
)
from vanta_tui.core.models.base import StateFileModel, VantaModel, find_by_key
from vanta_tui.core.types import (
    Fraction,
    Identifier,
    NonNegative,
    PlainDecimal,
    Positive,
    Symbol,
    Text,
    UtcTimestamp,
    format_utc,
)

_LIMIT = {
    "properties": {"order_type": {"const": OrderType.LIMIT.value}},
    "required": ["order_type"],
}
_PAIR = {"properties": {"symbol": {"pattern": "/"}}, "required": ["symbol"]}


def _given(name: str) -> dict[str, Any]:
    """Subschema: ``name`` is present and not null."""
    return {"properties": {name: {"not": {"type": "null"}}}, "required": [name]}


_ORDER_RULES: dict[str, Any] = {
    "allOf": [
        {
            "if": _LIMIT,
            "then": {
                "properties": {"limit_price": {"type": "number"}},
                "required": ["limit_price"],
            },
            "else": {"properties": {"limit_price": {"type": "null"}}},
        },
        {
            "if": _PAIR,
            "then": {"properties": {"asset_class": {"const": AssetClass.CRYPTO.value}}},
            "else": {"properties": {"asset_class": {"const": AssetClass.EQUITY.value}}},
        },
        {"if": _given("parent_id"), "then": _given("follower_id")},
        {"if": _given("follower_id"), "then": _given("parent_id")},
        {
            "if": {
                "properties": {"filled_qty": {"exclusiveMinimum": 0}},
                "required": ["filled_qty"],
            },
            "then": _given("avg_fill_price"),
        },
        {
            "if": {
                "properties": {"status": {"const": OrderStatus.FILLED.value}},
                "required": ["status"],
            },
            "then": {
                "properties": {"filled_qty": {"exclusiveMinimum": 0}},
                "required": ["filled_qty"],
            },
        },
    ]
}
"""The rules of `Order._consistent` a JSON Schema can say (the others, comparing two
numbers or two timestamps, are in the queue schema's description)."""


_LENT: dict[int, int] = {}
"""The orders lent read-only to the plan of an action (`lend_orders`), by id: how many
plans hold each. Written under `_LENDING`; read without it (one dict lookup)."""
_LENDING = threading.Lock()


class OrderLentError(RuntimeError):
    """A plan changed an order it was lent to read (it must change its own copy, made by
    the journal's ``own_order``): the journal's shared order is left as it was."""


def lend_orders(orders: Iterable[Order]) -> None:
    """Lend ``orders`` read-only (to an action's plan): setting a field of one raises
    `OrderLentError` until `return_orders` gives them back."""
    with _LENDING:
        for order in orders:
            key = id(order)
            _LENT[key] = _LENT.get(key, 0) + 1


def return_orders(orders: Iterable[Order]) -> None:
    with _LENDING:
        for order in orders:
            key = id(order)
            held = _LENT[key] - 1
            if held:
                _LENT[key] = held
            else:
                del _LENT[key]


class Order(VantaModel):
    """One order of the queue: what to trade, for which vault (or follower), and where it
    stands."""

    model_config = ConfigDict(json_schema_extra=_ORDER_RULES)

    order_id: Identifier
    """The order's id, unique in the file: a ULID (26 characters, Crockford base32) for
    orders the VANTA stack makes; any id of 1 to 64 letters, digits, ``_``, ``.``, ``-``."""
    vault_id: Identifier
    """The vault the order is for: a ``vault_id`` of ``vault.json`` (for a follower's
    child order, the vault it mirrors)."""
    symbol: Symbol
    """What to trade: an equity ticker (``AAPL``) or a ccxt unified crypto symbol
    (``BTC/USD``)."""
    asset_class: AssetClass
    """``crypto`` for a ``BASE/QUOTE`` symbol, ``equity`` for a ticker: it must fit
    ``symbol``."""
    side: Side
    """``buy`` or ``sell``."""
    qty: Positive
    """Units to trade, > 0 (shares; coins for crypto)."""
    order_type: OrderType = OrderType.MARKET
    """``market`` (no ``limit_price``) or ``limit`` (needs ``limit_price``)."""
    limit_price: Positive | None = None
    """The limit price per unit in the quote currency, > 0, for a ``limit`` order; null or
    absent for a ``market`` order."""
    time_in_force: TimeInForce = TimeInForce.DAY
    """``day`` (until the session ends), ``gtc`` (good till cancelled), ``ioc`` (immediate
    or cancel) or ``fok`` (fill or kill)."""
    status: OrderStatus = OrderStatus.STAGED
    """Where the order stands: ``staged`` → ``approved`` → ``submitting`` → ``submitted``
    → ``partially_filled`` → ``filled``; ``staged`` → ``rejected`` (by the operator);
    ``submitting`` → ``failed`` (retries spent, dead-lettered); ``submitted`` →
    ``cancelled`` or ``broker_rejected``. No other moves."""
    origin: Text = "operator"
    """Who made the order: ``allocator``, ``operator``, ``rebalance``, ``mirror`` (a
    follower's child), ``retry`` (of a failed order), or another program's name."""
    reason_vector: tuple[Text, ...] = ()  # a tuple: an order's copies may share it
    """Why the order exists, most important first (free-text reasons shown to the
    operator)."""
    conviction: Fraction | None = None
    """The signal's confidence from 0 to 1, or null."""
    created_at: UtcTimestamp
    """When the order was staged (UTC, ``Z``)."""
    updated_at: UtcTimestamp
    """When the order last changed (UTC, ``Z``); not earlier than ``created_at``."""
    approved_by: Text | None = None
    """The operator who approved the order, or null."""
    approved_at: UtcTimestamp | None = None
    """When it was approved (UTC, ``Z``), or null."""
    flipped: StrictBool = False
    """True if an operator reversed the order's side (buy ↔ sell) while it was staged."""
    client_order_id: Text | None = None
    """The id sent to the broker with the order: derived from ``order_id`` once, before the
    first send, and never changed (a resend cannot make a second order); in whatever form
    the venue accepts. Null until the first send."""
    broker_order_id: Text | None = None
    """The broker's own id of the order, once it has one; else null."""
    filled_qty: NonNegative = Decimal(0)
    """Units filled so far, from 0 to ``qty``; equal to ``qty`` when ``filled``."""
    avg_fill_price: Positive | None = None
    """Average price of the fills per unit, > 0; required once ``filled_qty`` > 0, else
    null."""
    attempts: StrictInt = Field(default=0, ge=0)
    """How many times the executor has tried to send the order (an integer ≥ 0)."""
    last_error: Text | None = None
    """The last error of a send (the broker's words, secrets scrubbed), or null."""
    parent_id: Identifier | None = None
    """For a follower's child order: the ``order_id`` of the vault's order it mirrors, in
    this file; null for a vault's own order. Set together with ``follower_id``."""
    follower_id: Identifier | None = None
    """For a follower's child order: a ``follower_id`` of ``followers.json``; null for a
    vault's own order. Set together with ``parent_id``."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit order needs a limit_price")
        if self.order_type is OrderType.MARKET and self.limit_price is not None:
            raise ValueError("a market order has no limit_price (use order_type limit)")
        if self.filled_qty > self.qty:
            raise ValueError(f"filled_qty {self.filled_qty} exceeds qty {self.qty}")
        if self.status is OrderStatus.FILLED and self.filled_qty != self.qty:
            raise ValueError(f"status is filled but filled_qty {self.filled_qty} ≠ qty {self.qty}")
        if self.filled_qty > 0 and self.avg_fill_price is None:
            raise ValueError("an order with fills needs avg_fill_price")
        if self.asset_class is not asset_class_of(self.symbol):
            raise ValueError(
                f"symbol {self.symbol} does not fit asset_class {self.asset_class.value} "
                "(crypto symbols are BASE/QUOTE pairs, equities are tickers)"
            )
        if self.updated_at < self.created_at:
            raise ValueError("updated_at is earlier than created_at")
        if (self.parent_id is None) != (self.follower_id is None):
            raise ValueError(
                "a child order needs both parent_id and follower_id, a vault order neither"
            )
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        if _LENT and id(self) in _LENT:
            raise OrderLentError(
                f"order {self.order_id}: {name} set on an order lent read-only to a plan "
                "(a plan changes its own copy: own_order)"
            )
        super().__setattr__(name, value)

    def ticket(self) -> dict[str, Any]:
        """What the order trades, as keyword arguments: symbol, side, qty, type, limit, TIF.

        Staging a copy, a broker request and a retry all start from this.
        """
        return {
            "symbol": self.symbol,
            "side": self.side,
            "qty": self.qty,
            "order_type": self.order_type,
            "limit_price": self.limit_price,
            "time_in_force": self.time_in_force,
        }

    def age(self, now: datetime) -> float:
        return (now - self.created_at).total_seconds()


EDITABLE = ("qty", "limit_price", "order_type", "time_in_force")
"""What an operator may change on a staged order."""


def new_order(
    *,
    order_id: str,
    vault_id: str,
    symbol: str,
    side: Side | str,
    qty: Decimal,
    now: datetime,
    order_type: OrderType | str | None = None,
    limit_price: Decimal | None = None,
    time_in_force: TimeInForce | str = TimeInForce.DAY,
    **fields: Any,
) -> Order:
    """The one way a new order is made (a ticket, a rebalance, a flip's copy, a retry, a
    follower's child): its asset class from the symbol, a limit order when it has a limit
    price (unless ``order_type`` says otherwise), staged, created and updated ``now``;
    ``fields`` are the rest (origin, reasons, parent …). A wrong value raises pydantic's
    ValueError naming the field."""
    kind = order_type or (OrderType.LIMIT if limit_price is not None else OrderType.MARKET)
    data: dict[str, Any] = {
        "order_id": order_id,
        "vault_id": vault_id,
        "symbol": symbol,
        "asset_class": asset_class_of(symbol),
        "side": side,
        "qty": qty,
        "order_type": kind,
        "limit_price": limit_price,
        "time_in_force": time_in_force,
        "status": OrderStatus.STAGED,
        "created_at": now,
        "updated_at": now,
    }
    data.update(fields)
    return Order.model_validate(data)


def edited_order(order: Order, changes: dict[str, Any], now: datetime) -> Order:
    """``order`` with ``changes`` (of `EDITABLE` only) made at ``now``: a change to a market
    order drops the limit price. A wrong value raises pydantic's ValueError naming the
    field; a field that is not editable raises ValueError naming it."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot edit {', '.join(sorted(unknown))}; editable: {EDITABLE}")
    data = order.model_dump()
    data.update(changes)
    if "order_type" in changes and OrderType(changes["order_type"]) is OrderType.MARKET:
        data["limit_price"] = None
    data["updated_at"] = now
    return Order.model_validate(data)


_order_id = attrgetter("order_id")


class QueueFile(StateFileModel):
    """``autotrade_queue.json``: staged orders, the bridge between intent (the
    allocation) and truth (the portfolio)."""

    orders: list[Order] = Field(default_factory=list)
    """Every order, each ``order_id`` once; finished orders stay (the desk's history)."""

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        check_unique_order_ids(self.orders)
        return self

    def get(self, order_id: str) -> Order | None:
        return find_by_key(self.orders, _order_id, order_id)

    def index(self) -> dict[str, Order]:
        """Orders by id, for code that looks up many (a fresh dict: `orders` is mutable)."""
        return {o.order_id: o for o in self.orders}


def order_data(order: Order) -> dict[str, Any]:
    """The order as JSON data, exactly as parsing its written text gives it back: integral
    numbers as ``int``, others as `PlainDecimal`, timestamps as UTC strings, enums as their
    values (what ``json.loads(dumps(order.model_dump()))`` makes, built directly: the journal
    does this for every order an action changes and for every event of an order)."""
    out: dict[str, Any] = {}
    convert = _CONVERT
    for key, value in order.__dict__.items():
        change = convert.get(key)
        out[key] = value if change is None or value is None else change(value)
    extra = order.__pydantic_extra__
    if extra:
        # Keys this version does not know hold JSON data exactly as it was parsed.
        out.update(copy.deepcopy(extra))
    return out


def _number(value: Decimal) -> int | PlainDecimal:
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else PlainDecimal(value)


def _enum_value(member: Enum) -> Any:
    return member._value_


def _strings(values: tuple[Any, ...] | list[Any]) -> list[Any]:
    return list(values)


def _converter(annotation: Any) -> Callable[[Any], Any] | None:
    text = str(annotation)
    if "Decimal" in text:
        return _number
    if "datetime" in text:
        return format_utc
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum_value
    if "list[" in text or "tuple[" in text:
        return _strings
    return None


_CONVERT = {
    name: change
    for name, info in Order.model_fields.items()
    if (change := _converter(info.annotation)) is not None
}


def check_unique_order_ids(orders: list[Order]) -> None:
    """Raise ValueError naming the first order id that appears twice."""
    ids = list(map(_order_id, orders))
    if len(set(ids)) == len(ids):
        return  # at set speed (10,000 orders: an action's every render); the place below
    seen: set[str] = set()
    for index, order in enumerate(orders):
        if order.order_id in seen:
            raise ValueError(f"order_id {order.order_id} appears again at orders[{index}]")
        seen.add(order.order_id)
