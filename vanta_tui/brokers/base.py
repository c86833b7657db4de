"""The one interface every broker implements, the values it speaks in, and the interfaces
around it: `Brokers` (which broker serves an order or a venue account) and `StateSource`
(the state files routing reads, supplied by its caller: the brokers never read the store).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from vanta_tui.core.enums import OrderType, Side, TimeInForce
from vanta_tui.core.models import (
    FollowersFile,
    Order,
    PortfolioFile,
    QueueFile,
    VaultFile,
    Venue,
)


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
    fee: Decimal | None = None
    """What the broker charged for this order so far (cumulative over its fills), in
    ``fee_currency``; None when the broker does not say (the fills blotter shows "—")."""
    fee_currency: str | None = None


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
    parallel: bool
    """Whether the executor may send to this account from a worker thread while it sends
    to others (a network API: True); a local book (the paper broker) is served from the
    executor's own thread, one order at a time (`vanta_tui.executor.engine`)."""

    @property
    def mode(self) -> str:
        """Where its orders go, for status lines: ``live``, ``sandbox``, ``test server
        <url>`` (a stand-in host), ``paper`` (the built-in book)."""
        ...

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

    def prepare(self) -> None:
        """Make what the first request needs (the SDK's client) ahead of it, without a
        request: the executor does it between cycles, so a fan-out does not."""
        ...

    def open_orders(self, symbols: Sequence[str] | None = None) -> list[BrokerOrder]:
        """Orders still working at the broker. ``symbols``: the markets the caller knows
        the account works orders in (a venue that charges more for listing every market
        lists these; one that does not may list everything)."""
        ...

    def cancel(self, broker_order_id: str, symbol: str | None = None) -> BrokerOrder:
        """Cancel a working order; returns its final state."""
        ...

    def positions(self) -> list[BrokerPosition]: ...

    def quotes(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """Current prices (last trade, else mid) of the symbols the broker knows."""
        ...

    def account(self) -> BrokerAccount: ...

    def poll(self) -> list[BrokerOrder]:
        """Let working orders advance where the broker is simulated (the paper broker fills
        what its prices allow now); the orders that changed. A real venue works its orders
        itself: nothing to do, an empty list."""
        ...


@runtime_checkable
class Brokers(Protocol):
    """Which broker serves what: the executor, the actions and the desk ask this, never
    build, inspect or poll adapters themselves. Errors are `vanta_tui.brokers.errors` types
    (a venue refused in this mode, missing keys) or the `StateSource`'s own, unchanged."""

    @property
    def live(self) -> bool:
        """Live endpoints (real money); else the venues' sandboxes."""
        ...

    def for_order(self, order: Order) -> Broker:
        """The broker of ``order``: its vault's (or follower's) venue for its asset class."""
        ...

    def for_venue(self, venue: Venue | None, account_id: str) -> Broker:
        """The broker of ``account_id`` (a vault or follower id) at ``venue`` (None: the
        built-in paper broker)."""
        ...


class StateSource(Protocol):
    """The state files routing reads, supplied by its caller (the actions layer reads them
    through the store). Each call gives the file as it is now; a missing or broken file
    raises the source's own error, which passes through routing unchanged."""

    def vaults(self) -> VaultFile: ...

    def followers(self) -> FollowersFile: ...

    def portfolio(self) -> PortfolioFile: ...

    def queue(self) -> QueueFile | None:
        """The queue, or None when it cannot be read now (a paper account then opens with
        no working orders)."""
        ...
