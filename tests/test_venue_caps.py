"""The core rule that refuses at staging what a venue cannot take, and the rebalancer's fit
to a venue's steps and minimums (no broker needed: the limits are plain values)."""

from __future__ import annotations

from decimal import Decimal

from vanta_tui.actions.venues import screen_rebalance
from vanta_tui.core.enums import AssetClass, OrderType, Side, TimeInForce
from vanta_tui.core.rebalance import ProposedOrder, RebalancePlan
from vanta_tui.core.venue_caps import MarketLimits, VenueCaps, venue_refusal

D = Decimal
KRAKEN = VenueCaps(
    "ccxt:kraken",
    limit_time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC}),
    markets={
        "BTC/USD": MarketLimits(
            min_amount=D("0.00005"), min_cost=D("0.5"), amount_step=D("0.00000001"),
            price_step=D("0.1"),
        ),
        "ETH/USD": MarketLimits(min_amount=D("0.002"), amount_step=D("0.0001"), active=False),
    },
)  # fmt: skip


def refusal(**order: object) -> str | None:
    ticket: dict[str, object] = {
        "symbol": "BTC/USD", "qty": D("0.01"), "order_type": OrderType.MARKET,
        "time_in_force": TimeInForce.DAY, "limit_price": None, "price": D(64250),
    }  # fmt: skip
    ticket.update(order)
    return venue_refusal(KRAKEN, **ticket)  # type: ignore[arg-type]


def test_what_the_venue_takes_passes() -> None:
    assert refusal() is None  # a market order's time in force is not sent
    assert refusal(order_type=OrderType.LIMIT, limit_price=D(60000), time_in_force="gtc") is None


def test_what_the_venue_cannot_take_is_refused_with_its_limits() -> None:
    day = refusal(order_type=OrderType.LIMIT, limit_price=D(60000))
    assert day == "ccxt:kraken does not take time in force day (limit orders: gtc, ioc)"
    assert "below the minimum 0.00005" in (refusal(qty=D("0.00001")) or "")
    assert "not a multiple of the step 0.00000001" in (refusal(qty=D("0.000100001")) or "")
    tick = refusal(order_type=OrderType.LIMIT, limit_price=D("60000.05"), time_in_force="gtc")
    assert "not a multiple of the tick 0.1" in (tick or "")
    cheap = refusal(qty=D("0.00006"), price=D(5000))
    assert cheap == "ccxt:kraken BTC/USD: order value 0.3 below the minimum 0.5"
    assert refusal(symbol="DOGE/USD") == "ccxt:kraken has no market DOGE/USD"
    assert refusal(symbol="ETH/USD") == "ccxt:kraken: market ETH/USD is not trading"
    no_market = VenueCaps("ccxt:x", order_types=frozenset({OrderType.LIMIT}))
    assert venue_refusal(
        no_market, symbol="BTC/USD", qty=D(1), order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY, limit_price=None,
    ) == "ccxt:x takes no market orders (order types: limit)"  # fmt: skip


def test_the_rebalancer_fits_its_orders_to_the_venue() -> None:
    plan = RebalancePlan(
        "V_CRYPTO",
        orders=[
            ProposedOrder("BTC/USD", AssetClass.CRYPTO, Side.BUY, D("0.123456789"), D(64250), "r"),
            ProposedOrder("BTC/USD", AssetClass.CRYPTO, Side.SELL, D("0.00001"), D(64250), "r"),
            ProposedOrder("AAPL", AssetClass.EQUITY, Side.BUY, D(3), D(190), "r"),
        ],
    )  # fmt: skip
    screen_rebalance(plan, {AssetClass.CRYPTO: KRAKEN})
    assert [(o.symbol, o.qty) for o in plan.orders] == [("BTC/USD", D("0.12345678")), ("AAPL", 3)]
    assert plan.skipped == [
        "BTC/USD: ccxt:kraken BTC/USD: quantity 0.00001 below the minimum 0.00005"
    ]
