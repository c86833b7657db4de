"""A broker's answer the queue's state machine cannot take as given never stops the
executor: an order that already filled in part and is then refused the rest ends
cancelled (its fills stand); the other answers of the same batch are recorded.

Found on the generated demo (`vanta-tui demo --orders 500`): the paper book refused the
rest of a partly filled sell ("insufficient quantity") as *rejected*, the recording step
raised, and every executor cycle was refused, so nothing was ever sent.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.execution import SendOutcome, execution_step
from vanta_tui.brokers.base import BrokerOrder, BrokerStatus, OrderRequest
from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.cli.main import main
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import QueueFile
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.demo.generate import write_generated
from vanta_tui.store import load_model
from vanta_tui.store.journal.verify import verify


def test_paper_refusing_the_rest_of_a_partly_filled_sell_cancels_it(tmp_path: Path) -> None:
    request = OrderRequest("vanta-A", "XYZ", Side.SELL, Decimal(10))
    working = BrokerOrder(
        "paper-000007", "vanta-A", "XYZ", Side.SELL, Decimal(10),
        BrokerStatus.PARTIALLY_FILLED, Decimal(5), Decimal(100),
    )  # fmt: skip
    broker = PaperBroker(
        tmp_path / "book.sqlite",
        lambda symbol: Decimal(100),
        initial_positions={"XYZ": (Decimal(2), Decimal(90))},  # less than the rest (5)
        initial_orders=lambda: [(request, working)],
    )
    broker.poll()
    answer = broker.get_by_client_id("vanta-A")
    assert answer is not None
    assert answer.status is BrokerStatus.CANCELLED
    assert answer.filled_qty == 5 and answer.reason == "insufficient quantity"


def test_a_rejection_after_a_partial_fill_cancels_and_the_batch_is_recorded(
    state_dir: Path,
) -> None:
    queue = load_model(state_dir, QueueFile)
    partly = next(o for o in queue.orders if o.status is OrderStatus.PARTIALLY_FILLED)
    submitted = next(o for o in queue.orders if o.status is OrderStatus.SUBMITTED)

    def answer(order_id: str, status: BrokerStatus, filled: Decimal) -> SendOutcome:
        order = queue.get(order_id)
        assert order is not None and order.broker_order_id and order.client_order_id
        return SendOutcome(order_id, BrokerOrder(
            order.broker_order_id, order.client_order_id, order.symbol, order.side, order.qty,
            status, filled, order.avg_fill_price or Decimal(100), reason="insufficient quantity",
        ))  # fmt: skip

    ctx = ActionContext.open(state_dir, "executor", clock=lambda: DEMO_NOW)
    execution_step(
        ctx,
        [
            answer(partly.order_id, BrokerStatus.REJECTED, partly.filled_qty),
            answer(submitted.order_id, BrokerStatus.FILLED, submitted.qty),
        ],
    )
    after = load_model(state_dir, QueueFile)
    was_partly = after.get(partly.order_id)
    assert was_partly is not None and was_partly.status is OrderStatus.CANCELLED
    assert was_partly.filled_qty == partly.filled_qty  # its fills stand
    assert was_partly.last_error is not None and "insufficient quantity" in was_partly.last_error
    filled = after.get(submitted.order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert verify(ctx.journal).ok


def test_the_executor_runs_on_a_generated_demo(tmp_path: Path) -> None:
    state = tmp_path / "gen"
    write_generated(state, vaults=20, orders=500, positions=500)
    before = {o.order_id: o.status for o in load_model(state, QueueFile).orders}
    assert main(["--state-dir", str(state), "executor", "--once"]) == 0
    after = {o.order_id: o.status for o in load_model(state, QueueFile).orders}
    # Partly filled sells whose rest the paper book refused: cancelled, and recorded.
    assert any(
        before[oid] is OrderStatus.PARTIALLY_FILLED and after[oid] is OrderStatus.CANCELLED
        for oid in after
    )
    ctx = ActionContext.open(state, "auditor")
    assert verify(ctx.journal).ok


def test_an_answer_the_order_cannot_take_is_not_applied_and_said_once(state_dir: Path) -> None:
    """A fill reported for an order the queue already has cancelled: the portfolio is not
    moved, the order keeps its state, one alarm says why (not one per cycle)."""
    queue = load_model(state_dir, QueueFile)
    working = next(o for o in queue.orders if o.status is OrderStatus.SUBMITTED)
    assert working.broker_order_id and working.client_order_id
    ctx = ActionContext.open(state_dir, "executor", clock=lambda: DEMO_NOW)

    def answer(status: BrokerStatus, filled: Decimal) -> SendOutcome:
        assert working.broker_order_id and working.client_order_id
        return SendOutcome(working.order_id, BrokerOrder(
            working.broker_order_id, working.client_order_id, working.symbol, working.side,
            working.qty, status, filled, Decimal(100) if filled else None,
        ))  # fmt: skip

    execution_step(ctx, [answer(BrokerStatus.CANCELLED, Decimal(0))])
    portfolio_before = (state_dir / "portfolio.json").read_bytes()
    for _ in range(2):  # the same late fill, on two cycles
        execution_step(ctx, [answer(BrokerStatus.FILLED, working.qty)])
    order = load_model(state_dir, QueueFile).get(working.order_id)
    assert order is not None and order.status is OrderStatus.CANCELLED
    assert order.filled_qty == 0
    assert order.last_error is not None and "not applied" in order.last_error
    assert (state_dir / "portfolio.json").read_bytes() == portfolio_before
    alarms = ctx.journal.db.execute(
        "SELECT COUNT(*) FROM events WHERE action = 'alarm.raised' AND order_id = ?",
        [working.order_id],
    ).fetchone()[0]
    assert alarms == 1
    assert verify(ctx.journal).ok
