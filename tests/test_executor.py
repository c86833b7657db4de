"""The executor with the paper broker: approve → send once → fill → portfolio, PnL, audit."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.paper import book_path, read_book
from vanta_tui.cli.main import main
from vanta_tui.core.models import PnlFile, PortfolioFile, QueueFile
from vanta_tui.executor.lease import Lease
from vanta_tui.store import load_model
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify


def test_approved_order_is_sent_once_and_filled(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = load_model(state_dir, QueueFile)
    aapl = next(o for o in queue.orders if o.symbol == "AAPL")
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "approve", aapl.order_id, *args]) == 0
    cash = load_model(state_dir, PortfolioFile).accounts["V_CORE"].cash
    assert main(["executor", "--once", *args]) == 0
    order = load_model(state_dir, QueueFile).get(aapl.order_id)
    assert order is not None and order.status == "filled" and order.filled_qty == 43
    assert order.client_order_id == f"vanta-{aapl.order_id}" and order.broker_order_id
    account = load_model(state_dir, PortfolioFile).accounts["V_CORE"]
    assert account.positions["AAPL"].qty == 103
    # The demo's approved MSFT parent (12 @ 415.50) went out in the same run.
    assert account.cash == cash - Decimal(43) * Decimal("190.10") - Decimal(12) * Decimal("415.50")
    pnl = load_model(state_dir, PnlFile).vaults["V_CORE"]
    assert pnl.nav == account.equity.quantize(Decimal("0.01"))
    book = read_book(book_path(state_dir))
    ids = [cid for acc in book.values() for cid in acc["orders"]]
    assert ids.count(order.client_order_id) == 1
    assert main(["executor", "--once", *args]) == 0  # nothing more to send
    book_again = read_book(book_path(state_dir))
    assert book_again == book
    ctx = ActionContext.open(state_dir, "checker")
    assert verify(ctx.journal).ok
    assert replay(ctx.journal).ok
    events = [
        (action, json.loads(payload))
        for action, payload in ctx.journal.db.execute(
            "SELECT action, payload FROM events WHERE order_id = ? ORDER BY seq", [aapl.order_id]
        )
    ]
    ctx.close()
    # A first answer that is a fill: one event from submitting to filled, with the broker's id.
    assert [action for action, _ in events] == [
        "order.approved", "order.submitting", "order.filled"
    ]  # fmt: skip
    filled = events[-1][1]
    assert filled["was"] == "submitting" and filled["broker_order_id"] == order.broker_order_id
    assert filled["order"]["status"] == "filled"
    fills = capsys.readouterr()
    assert "sent" in fills.out


def test_a_second_executor_says_who_holds_the_lease(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lease = Lease(state_dir, "executor")
    lease.acquire()
    try:
        assert main(["executor", "--once", "--state-dir", str(state_dir)]) == 3
        out = capsys.readouterr().out
        assert "held by executor (pid" in out
    finally:
        lease.release()


def test_the_headless_executor_reverts_an_expired_flip_mode(state_dir: Path) -> None:
    from datetime import timedelta

    from vanta_tui.actions.brokers import paper_brokers
    from vanta_tui.core.clock import fixed_clock
    from vanta_tui.core.models import OverlayFile
    from vanta_tui.demo.bundled import DEMO_NOW
    from vanta_tui.executor.engine import Executor

    clock = fixed_clock(DEMO_NOW + timedelta(hours=2))  # V_CRYPTO's flip mode has expired
    ctx = ActionContext.open(state_dir, "executor", clock=clock)
    Executor(ctx, paper_brokers(state_dir)).cycle()
    rows = ctx.journal.db.execute(
        "SELECT actor, vault_id FROM events WHERE action = 'overlay.flip_mode_expired'"
    ).fetchall()
    ctx.close()
    assert rows == [("system", "V_CRYPTO")]
    assert not load_model(state_dir, OverlayFile).for_vault("V_CRYPTO").flip_mode.enabled


def test_maintenance_holds_approved_orders_until_it_ends(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    ko = next(o for o in queue.orders if o.symbol == "KO")  # V_INCOME: under maintenance
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "approve", ko.order_id, *args]) == 0
    assert main(["executor", "--once", *args]) == 0
    assert load_model(state_dir, QueueFile).get(ko.order_id).status == "approved"  # type: ignore[union-attr]
    assert main(["maintenance", "off", "V_INCOME", *args]) == 0
    assert main(["executor", "--once", *args]) == 0
    sent = load_model(state_dir, QueueFile).get(ko.order_id)
    assert sent is not None and sent.status in {"submitted", "filled"}  # a limit at 62.40 fills


def _working_limit_order(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "stage", "V_CORE", "AAPL", "buy", "2", "--limit", "150", *args]) == 0
    oid = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["orders", "approve", oid, *args]) == 0
    assert main(["executor", "--once", *args]) == 0
    assert load_model(state_dir, QueueFile).get(oid).status == "submitted"  # type: ignore[union-attr]
    capsys.readouterr()
    return oid


def test_cancel_a_working_order(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    oid = _working_limit_order(state_dir, capsys)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "cancel", oid, *args]) == 0
    assert f"cancelled {oid}" in capsys.readouterr().out
    assert load_model(state_dir, QueueFile).get(oid).status == "cancelled"  # type: ignore[union-attr]
    staged = next(o for o in load_model(state_dir, QueueFile).orders if o.status == "staged")
    assert main(["orders", "cancel", staged.order_id, *args]) == 1
    assert "only orders working at the broker" in capsys.readouterr().out


def test_panic_stops_everything_and_reports(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vanta_tui.core.models import OverlayFile

    oid = _working_limit_order(state_dir, capsys)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["panic", "--reason", "fat finger", *args]) == 0
    out = capsys.readouterr().out
    assert "PANIC: global maintenance on (fat finger)" in out and f"cancelled {oid}" in out
    # The demo's own working orders (PG, NVDA) are in the paper book too: cancelled as well.
    assert "not cancelled:" not in out and out.count("cancelled 01") == 3
    overlays = load_model(state_dir, OverlayFile)
    assert overlays.global_.maintenance.enabled
    assert overlays.global_.maintenance.reason == "PANIC: fat finger"
    ctx = ActionContext.open(state_dir, "checker")
    row = ctx.journal.db.execute(
        "SELECT payload FROM events WHERE action = 'desk.panic'"
    ).fetchone()
    assert verify(ctx.journal).ok
    ctx.close()
    assert oid in json.loads(row[0])["cancelled"] and not json.loads(row[0])["not_cancelled"]


def test_executor_options_slippage_and_partial_fills(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    aapl = next(o for o in queue.orders if o.symbol == "AAPL")
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "approve", aapl.order_id, *args]) == 0
    assert main(["executor", "--once", "--slippage-bps", "10", "--partial-fill", "0.5",
                 "--retry-after", "2,4", *args]) == 0  # fmt: skip
    order = load_model(state_dir, QueueFile).get(aapl.order_id)
    assert order is not None and order.status == "filled"  # 21 first, 22 on the next cycle
    assert order.avg_fill_price == Decimal("190.2901")
    ctx = ActionContext.open(state_dir, "checker")
    kinds = [a for (a,) in ctx.journal.db.execute(
        "SELECT action FROM events WHERE order_id = ? ORDER BY seq", [aapl.order_id])]  # fmt: skip
    ctx.close()
    assert kinds[-2:] == ["order.partially_filled", "order.filled"]
    assert main(["executor", "--once", "--retry-after", "x", *args]) == 64
