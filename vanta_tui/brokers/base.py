"""The one interface every broker implements, and the values it speaks in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from vanta_tui.core.enums import OrderType, Side, TimeInForce


def decimal_of(value: Any) -> Decimal:
    """A number as a broker answers it (str, int, float text or Decimal; empty is 0) as an
    exact Decimal (through its text, so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


class BrokerStatus(StrEnum):
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def working(self) -> bool:
        return self in {BrokerStatus.ACCEPTED, BrokerStatus.PARTIALLY_FILLED}


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY


@dataclass(frozen=True)
class BrokerOrder:
    broker_order_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    status: BrokerStatus
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BrokerPosition:
    symbol: str
    qty: Decimal
    avg_price: Decimal


@dataclass(frozen=True)
class BrokerAccount:
    cash: Decimal
    equity: Decimal | None = None


class Broker(Protocol):
    """What the executor needs from a broker. Errors are `vanta_tui.brokers.errors` types."""

    name: str

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Send a new order. A reused client order id raises `DuplicateClientOrderId`."""
        ...

    def client_order_id_for(self, order_id: str) -> str:
        """The client order id sent for ``order_id``: a form this broker accepts, derived
        from the order id alone (a restart reproduces it)."""
        ...

    def get_by_client_id(
        self,
        client_order_id: str,
        symbol: str | None = None,
        broker_order_id: str | None = None,
    ) -> BrokerOrder | None:
        """The order with this client order id, or None if the broker never got it.
        ``symbol`` is given whenever known (some exchanges look orders up per market), and
        ``broker_order_id`` once the broker has answered with it (the surest lookup)."""
        ...

    def open_orders(self) -> list[BrokerOrder]:
        """Orders still working at the broker."""
        ...

    def cancel(self, broker_order_id: str, symbol: str | None = None) -> BrokerOrder:
        """Cancel a working order; returns its final state."""
        ...

    def positions(self) -> list[BrokerPosition]: ...

    def quotes(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """Current prices (last trade, else mid) of the symbols the broker knows."""
        ...

    def account(self) -> BrokerAccount: ...
