"""The paper broker: fills, limits, partial fills, rejects, reused ids, a book that persists."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.brokers.base import BrokerStatus, OrderRequest
from vanta_tui.brokers.errors import DuplicateClientOrderId, OrderRejected
from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.core.enums import OrderType, Side

PRICES = {"AAPL": Decimal("190.10"), "BTC/USD": Decimal("64250")}


def broker(tmp_path: Path, **kwargs: object) -> PaperBroker:
    return PaperBroker(
        tmp_path / "paper_book.json",
        PRICES.get,
        initial_cash=Decimal(100_000),
        initial_positions={"AAPL": (Decimal(10), Decimal(180))},
        **kwargs,  # type: ignore[arg-type]
    )


def test_market_buy_fills_at_last_plus_slippage(tmp_path: Path) -> None:
    paper = broker(tmp_path, slippage_bps=Decimal(10))
    order = paper.submit(OrderRequest("c1", "AAPL", Side.BUY, Decimal(5)))
    assert order.status is BrokerStatus.FILLED and order.filled_qty == 5
    assert order.avg_fill_price == Decimal("190.2901")
    assert paper.account().cash == Decimal(100_000) - Decimal(5) * Decimal("190.2901")
    assert {p.symbol: p.qty for p in paper.positions()} == {"AAPL": 15}


def test_limit_waits_until_the_price_allows(tmp_path: Path) -> None:
    paper = broker(tmp_path)
    order = paper.submit(
        OrderRequest("c2", "BTC/USD", Side.BUY, Decimal("0.5"), OrderType.LIMIT, Decimal(60000))
    )
    assert order.status is BrokerStatus.ACCEPTED
    assert [o.client_order_id for o in paper.open_orders()] == ["c2"]
    PRICES["BTC/USD"] = Decimal(59000)
    try:
        changed = paper.poll()
    finally:
        PRICES["BTC/USD"] = Decimal("64250")
    assert changed[0].status is BrokerStatus.FILLED and changed[0].avg_fill_price == 59000


def test_partial_fills(tmp_path: Path) -> None:
    paper = broker(tmp_path, partial_fill_ratio=Decimal("0.4"))
    first = paper.submit(OrderRequest("c3", "AAPL", Side.BUY, Decimal(10)))
    assert first.status is BrokerStatus.PARTIALLY_FILLED and first.filled_qty == 4
    final = paper.poll()[0]
    assert final.status is BrokerStatus.FILLED and final.filled_qty == 10


def test_rejects_insufficient_cash_and_quantity(tmp_path: Path) -> None:
    paper = broker(tmp_path)
    with pytest.raises(OrderRejected, match="insufficient cash"):
        paper.submit(OrderRequest("c4", "BTC/USD", Side.BUY, Decimal(5)))
    with pytest.raises(OrderRejected, match="insufficient quantity"):
        paper.submit(OrderRequest("c5", "AAPL", Side.SELL, Decimal(11)))


def test_a_reused_client_order_id_is_refused_and_the_book_persists(tmp_path: Path) -> None:
    paper = broker(tmp_path)
    paper.submit(OrderRequest("c6", "AAPL", Side.SELL, Decimal(2)))
    with pytest.raises(DuplicateClientOrderId):
        paper.submit(OrderRequest("c6", "AAPL", Side.SELL, Decimal(2)))
    again = broker(tmp_path)  # a restart
    found = again.get_by_client_id("c6")
    assert found is not None and found.status is BrokerStatus.FILLED
    assert {p.symbol: p.qty for p in again.positions()} == {"AAPL": 8}
    assert again.get_by_client_id("never") is None


def test_cancel_a_working_order(tmp_path: Path) -> None:
    paper = broker(tmp_path)
    order = paper.submit(
        OrderRequest("c7", "AAPL", Side.BUY, Decimal(1), OrderType.LIMIT, Decimal(100))
    )
    assert paper.cancel(order.broker_order_id).status is BrokerStatus.CANCELLED
    assert paper.open_orders() == []
