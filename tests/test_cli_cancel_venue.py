"""`vanta-tui orders cancel` and `panic` cancel at each order's own venue, as the desk does
(they went to the built-in paper broker whatever the venue said)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import FakeAlpaca
from test_real_brokers import set_keys, use_venue

from vanta_tui.cli.main import main
from vanta_tui.core.enums import AssetClass, OrderStatus
from vanta_tui.core.models import QueueFile
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.store import load_model


@pytest.fixture
def state(tmp_path: Path) -> Path:
    target = tmp_path / "state"
    write_demo(target, DEMO_NOW)
    return target


@pytest.mark.parametrize("how", ["cancel", "panic"])
def test_the_cli_cancels_a_working_order_at_its_own_venue(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    use_venue(state, "V_CORE", AssetClass.EQUITY, "alpaca", "alpaca-main")
    set_keys(monkeypatch, "alpaca-main")
    with FakeAlpaca({"AAPL": Decimal("190.10")}) as fake:
        monkeypatch.setenv("VANTA_ALPACA_URL", fake.url)
        common = ["--state-dir", str(state), "--operator", "dana"]
        assert (
            main([*common, "orders", "stage", "V_CORE", "AAPL", "buy", "1", "--limit", "100"]) == 0
        )
        queue = load_model(state, QueueFile)
        order = max(
            (o for o in queue.orders if o.symbol == "AAPL" and o.status is OrderStatus.STAGED),
            key=lambda o: o.created_at,
        )
        assert main([*common, "orders", "approve", order.order_id]) == 0
        assert main([*common, "executor", "--once"]) == 0
        working = load_model(state, QueueFile).get(order.order_id)
        assert working is not None and working.status is OrderStatus.SUBMITTED
        assert working.client_order_id in fake.orders
        capsys.readouterr()
        if how == "cancel":
            code = main([*common, "orders", "cancel", order.order_id])
        else:
            code = main([*common, "panic", "--reason", "drill"])
        said = capsys.readouterr().out
        assert fake.orders[working.client_order_id]["status"] == "canceled", said
        cancelled = load_model(state, QueueFile).get(order.order_id)
        assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED, said
        if how == "cancel":
            assert code == 0, said
