"""One intent, one order: what an account already has staged, approved or working.

Every path that puts an order in the queue asks here first, so nothing is staged or sent
twice by accident: a rebalance nets out what is already open for the symbol, a hand-staged
order identical to a recent open one needs an explicit "again", an approval never sells more
than the account holds (less what its open sells already take), and an order for a symbol
the account neither holds nor has a price for is refused instead of held forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from vanta_tui.core.enums import OrderType, Side
from vanta_tui.core.models import Account, Order
from vanta_tui.core.order_states import OPEN

ZERO = Decimal(0)

DUPLICATE_WINDOW = timedelta(minutes=10)
"""An identical open order staged within this window makes a new one a likely duplicate."""


def open_qty(order: Order) -> Decimal:
    """What an open order may still trade (its quantity less what has filled)."""
    return order.qty - order.filled_qty


def account_of(order: Order) -> str:
    """The account an order trades for: the follower's for a child, else the vault's."""
    return order.follower_id or order.vault_id


def open_orders(orders: Iterable[Order], account_id: str, symbol: str | None = None) -> list[Order]:
    """The account's orders that still need someone (staged → partially filled)."""
    return [
        o
        for o in orders
        if o.status in OPEN
        and account_of(o) == account_id
        and (symbol is None or o.symbol == symbol)
    ]


def describe_open(order: Order) -> str:
    """`already staged: sell 7 MSFT (order 01JD…)`: how a refusal or a preview names it."""
    left = open_qty(order)
    part = f" ({left} of {order.qty} left)" if left != order.qty else ""
    return (
        f"already {order.status.value}: {order.side.value} {left} {order.symbol}{part} "
        f"(order {order.order_id})"
    )


def signed(order: Order) -> Decimal:
    return open_qty(order) if order.side is Side.BUY else -open_qty(order)


@dataclass(frozen=True)
class Ticket:
    """What a hand-staged order trades: the fields that make two orders the same intent."""

    vault_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    limit_price: Decimal | None

    @classmethod
    def of(cls, order: Order) -> Ticket:
        return cls(
            order.vault_id, order.symbol, order.side, order.qty, order.order_type,
            order.limit_price,
        )  # fmt: skip

    def matches(self, order: Order) -> bool:
        return (
            order.follower_id is None
            and order.vault_id == self.vault_id
            and order.symbol == self.symbol
            and order.side is self.side
            and order.qty == self.qty
            and order.order_type is self.order_type
            and order.limit_price == self.limit_price
        )


def find_duplicate(
    orders: Iterable[Order], ticket: Ticket, now: datetime, window: timedelta = DUPLICATE_WINDOW
) -> Order | None:
    """The newest open order identical to ``ticket`` staged within ``window`` of ``now``."""
    since = now - window
    same = [o for o in orders if o.status in OPEN and ticket.matches(o) and o.created_at >= since]
    return max(same, key=lambda o: o.created_at, default=None)


def sell_shortfall(order: Order, account: Account | None, others: Sequence[Order]) -> str | None:
    """Why a sell cannot be approved: it exceeds the holding less what the account's other
    open sells of the symbol already take (``others``: the account's open orders, this
    one excluded). None when it fits, and for buys."""
    if order.side is not Side.SELL:
        return None
    position = account.positions.get(order.symbol) if account is not None else None
    held = position.qty if position is not None else ZERO
    committed = [
        o for o in others if o.side is Side.SELL and o.symbol == order.symbol and o is not order
    ]
    taken = sum((open_qty(o) for o in committed), ZERO)
    if order.qty <= held - taken:
        return None
    detail = (
        f", of which {taken} is already taken by {len(committed)} open sell(s) "
        f"({', '.join(o.order_id for o in committed)})"
        if committed
        else ""
    )
    return (
        f"sell of {order.qty} {order.symbol} exceeds the holding: {held} held{detail}, "
        f"{max(held - taken, ZERO)} left to sell"
    )


def unknown_symbol(order: Order, account: Account | None) -> str | None:
    """Why an order for a symbol the account neither holds nor can price is refused (a
    mistyped `SELMSFT` would otherwise be approved and held forever). A limit order carries
    its own price. None when the symbol is known."""
    if order.side is Side.BUY and order.order_type is OrderType.LIMIT:
        return None
    if account is not None and order.symbol in account.positions:
        return None  # a position always carries its last price
    return (
        f"no price and no position for {order.symbol} in {account_of(order)}'s account: "
        "check the symbol (a buy can carry its own limit price)"
    )
