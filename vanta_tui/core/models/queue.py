"""`autotrade_queue.json`: staged orders, the bridge between intent and truth."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import Field, StrictBool, StrictInt, model_validator

from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import (
    Fraction,
    Identifier,
    NonNegative,
    Positive,
    Symbol,
    Text,
    UtcTimestamp,
)


class Order(VantaModel):
    order_id: Identifier
    vault_id: Identifier
    symbol: Symbol
    asset_class: AssetClass
    side: Side
    qty: Positive
    order_type: OrderType = OrderType.MARKET
    limit_price: Positive | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    status: OrderStatus = OrderStatus.STAGED
    origin: Text = "operator"
    reason_vector: list[Text] = Field(default_factory=list)
    conviction: Fraction | None = None
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    approved_by: Text | None = None
    approved_at: UtcTimestamp | None = None
    flipped: StrictBool = False
    client_order_id: Text | None = None
    broker_order_id: Text | None = None
    filled_qty: NonNegative = Decimal(0)
    avg_fill_price: Positive | None = None
    attempts: StrictInt = Field(default=0, ge=0)
    last_error: Text | None = None
    parent_id: Identifier | None = None
    follower_id: Identifier | None = None

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
        if (self.asset_class is AssetClass.CRYPTO) != ("/" in self.symbol):
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


class QueueFile(StateFileModel):
    """The whole of ``autotrade_queue.json``."""

    orders: list[Order] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        check_unique_order_ids(self.orders)
        return self

    def get(self, order_id: str) -> Order | None:
        return next((o for o in self.orders if o.order_id == order_id), None)

    def index(self) -> dict[str, Order]:
        """Orders by id, for code that looks up many (a fresh dict: `orders` is mutable)."""
        return {o.order_id: o for o in self.orders}


def check_unique_order_ids(orders: list[Order]) -> None:
    """Raise ValueError naming the first order id that appears twice."""
    seen: set[str] = set()
    for index, order in enumerate(orders):
        if order.order_id in seen:
            raise ValueError(f"order_id {order.order_id} appears again at orders[{index}]")
        seen.add(order.order_id)
