"""What a venue can trade, and the rule that refuses an order it cannot take.

The brokers layer fills a `VenueCaps` from what the venue publishes (for ccxt: the loaded
markets, ``has`` and ``features``); this module only applies it, so staging, editing and
the rebalancer refuse such an order before anyone approves it, with the venue's limits in
the message. Plain Python: no broker library is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from vanta_tui.core.enums import OrderType, TimeInForce


@dataclass(frozen=True)
class MarketLimits:
    """One market's limits; None where the venue does not say."""

    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_cost: Decimal | None = None
    amount_step: Decimal | None = None
    price_step: Decimal | None = None
    active: bool = True


@dataclass(frozen=True)
class VenueCaps:
    """What one venue (``ccxt:kraken``) accepts."""

    venue: str
    order_types: frozenset[OrderType] = frozenset(OrderType)
    limit_time_in_force: frozenset[TimeInForce] | None = None
    """Times in force a limit order may carry (None: not known, not checked). The adapters
    send a time in force with limit orders only."""
    markets: Mapping[str, MarketLimits] = field(default_factory=dict)
    """By symbol; a symbol missing here is not traded at the venue."""


def _multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or (value / step) == (value / step).to_integral_value()


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def venue_refusal(
    caps: VenueCaps,
    *,
    symbol: str,
    qty: Decimal,
    order_type: OrderType,
    time_in_force: TimeInForce,
    limit_price: Decimal | None,
    price: Decimal | None = None,
) -> str | None:
    """Why ``caps.venue`` cannot take this order (None: it can). ``price`` is the last known
    price, used for the minimum cost of a market order."""
    venue = caps.venue
    if order_type not in caps.order_types:
        kinds = ", ".join(sorted(t.value for t in caps.order_types)) or "none"
        return f"{venue} takes no {order_type.value} orders (order types: {kinds})"
    if (
        order_type is OrderType.LIMIT
        and caps.limit_time_in_force is not None
        and time_in_force not in caps.limit_time_in_force
    ):
        allowed = ", ".join(t.value for t in TimeInForce if t in caps.limit_time_in_force)
        return (
            f"{venue} does not take time in force {time_in_force.value} "
            f"(limit orders: {allowed or 'none'})"
        )
    market = caps.markets.get(symbol)
    if market is None:
        return f"{venue} has no market {symbol}"
    if not market.active:
        return f"{venue}: market {symbol} is not trading"
    where = f"{venue} {symbol}: quantity {_plain(qty)}"
    if market.min_amount is not None and qty < market.min_amount:
        return f"{where} below the minimum {_plain(market.min_amount)}"
    if market.max_amount is not None and qty > market.max_amount:
        return f"{where} above the maximum {_plain(market.max_amount)}"
    if market.amount_step is not None and not _multiple(qty, market.amount_step):
        return (
            f"{venue} {symbol}: quantity {_plain(qty)} is not a multiple of the step "
            f"{_plain(market.amount_step)}"
        )
    if (
        limit_price is not None
        and market.price_step is not None
        and not _multiple(limit_price, market.price_step)
    ):
        return (
            f"{venue} {symbol}: limit price {_plain(limit_price)} is not a multiple of the tick "
            f"{_plain(market.price_step)}"
        )
    at = limit_price if limit_price is not None else price
    if market.min_cost is not None and at is not None and qty * at < market.min_cost:
        return (
            f"{venue} {symbol}: order value {_plain(qty * at)} below the minimum "
            f"{_plain(market.min_cost)}"
        )
    return None
