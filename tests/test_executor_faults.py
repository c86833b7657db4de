"""A paper broker made to fail on purpose: one order per client id, and the right state."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.base import Broker, BrokerOrder, Brokers, OrderRequest
from vanta_tui.brokers.errors import (
    OrderRejected,
    RefusedBeforeSend,
    TemporaryBrokerError,
    UnknownOutcome,
)
from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.core.enums import Side
from vanta_tui.core.models import Order, QueueFile, Venue
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.executor.engine import RETRY_AFTER_S, Executor
from vanta_tui.store import load_model
from vanta_tui.store.journal.verify import verify


class Clock:
    def __init__(self) -> None:
        self.now = DEMO_NOW + timedelta(minutes=10)

    def __call__(self) -> datetime:
        return self.now


class Flaky:
    """Wraps the paper broker: fails the first ``times`` submits in the given way."""

    def __init__(self, inner: Broker, mode: str, times: int) -> None:
        self.inner = inner
        self.mode = mode
        self.times = times
        self.name = "flaky"
        self.sends: dict[str, int] = {}

    def calls_for(self, order_id: str) -> int:
        return self.sends.get(f"vanta-{order_id}", 0)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        count = self.sends.get(request.client_order_id, 0) + 1
        self.sends[request.client_order_id] = count
        if count <= self.times:
            if self.mode == "temporary":
                raise TemporaryBrokerError("503 service unavailable")
            if self.mode == "reject":
                raise OrderRejected("symbol halted")
            if self.mode == "reject_unsure":  # refused, and the lookup cannot be made
                self.lookups_fail = True
                raise OrderRejected("EGeneral:Internal error")
            if self.mode == "refuse_before":
                raise RefusedBeforeSend("quantity 1 is below the venue's minimum 5")
            if self.mode == "lose_answer":
                self.inner.submit(request)
                raise UnknownOutcome("connection dropped after sending")
        return self.inner.submit(request)

    lookups_fail = False

    def get_by_client_id(
        self, client_order_id: str, symbol: str | None = None, broker_order_id: str | None = None
    ) -> BrokerOrder | None:
        if self.lookups_fail:
            self.lookups_fail = False
            raise TemporaryBrokerError("lookup: 502 bad gateway")
        return self.inner.get_by_client_id(client_order_id, symbol, broker_order_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def setup(
    state_dir: Path, mode: str, times: int, qty: str = "1"
) -> tuple[Executor, Flaky, str, Clock]:
    clock = Clock()
    ctx = ActionContext.open(state_dir, "dana", clock=clock)
    order = stage_order(
        ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=Decimal(qty)
    ).result
    approve_orders(ctx, [order.order_id])
    brokers = FlakyBrokers(paper_brokers(state_dir), mode, times)
    executor = Executor(ActionContext.open(state_dir, "executor", clock=clock), brokers)
    executor.run_once()
    return executor, brokers.wrapped["V_CORE"], order.order_id, clock


class FlakyBrokers:
    """The paper brokers, each vault's orders sent through one `Flaky` wrapper."""

    live = False

    def __init__(self, inner: Brokers, mode: str, times: int) -> None:
        self.inner, self.mode, self.times = inner, mode, times
        self.wrapped: dict[str, Flaky] = {}

    def for_order(self, order: Order) -> Broker:
        if order.vault_id not in self.wrapped:
            self.wrapped[order.vault_id] = Flaky(self.inner.for_order(order), self.mode, self.times)
        return self.wrapped[order.vault_id]  # type: ignore[return-value]

    def for_venue(self, venue: Venue | None, account_id: str) -> Broker:
        return self.inner.for_venue(venue, account_id)


def book_orders(executor: Executor, order_id: str) -> int:
    order = load_model(executor.ctx.state_dir, QueueFile).get(order_id)
    assert order is not None
    broker = executor.brokers.for_order(order)
    inner = broker.inner if isinstance(broker, Flaky) else broker
    assert isinstance(inner, PaperBroker)
    cid = f"vanta-{order_id}"
    # Only this order's: the account also holds the demo's own working orders.
    return sum(1 for o in inner.open_orders() if o.client_order_id == cid) + (
        inner.get_by_client_id(cid) is not None
    )


def test_temporary_errors_retry_with_backoff_then_fill(state_dir: Path) -> None:
    executor, flaky, oid, clock = setup(state_dir, "temporary", times=2)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "submitting" and order.last_error
    executor.run_once()  # the backoff has not passed: nothing is sent
    assert flaky.calls_for(oid) == 1
    clock.now += timedelta(seconds=RETRY_AFTER_S[0])
    executor.run_once()
    clock.now += timedelta(seconds=RETRY_AFTER_S[1])
    executor.run_once()
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "filled" and order.attempts == 3
    assert book_orders(executor, oid) == 1
    assert verify(executor.ctx.journal).ok


def test_retries_spent_dead_letter_the_order(state_dir: Path) -> None:
    executor, flaky, oid, clock = setup(state_dir, "temporary", times=99)
    for wait in RETRY_AFTER_S:
        clock.now += timedelta(seconds=wait)
        executor.run_once()
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "failed"
    assert order.last_error == "temporary: 503 service unavailable"
    assert flaky.calls_for(oid) == len(RETRY_AFTER_S) + 1
    assert verify(executor.ctx.journal).ok


def test_accepted_then_answer_lost_is_looked_up_not_resent(state_dir: Path) -> None:
    executor, flaky, oid, _ = setup(state_dir, "lose_answer", times=1)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "filled"
    assert flaky.calls_for(oid) == 1 and book_orders(executor, oid) == 1


def test_a_broker_reject_is_final_and_never_resent(state_dir: Path) -> None:
    executor, flaky, oid, clock = setup(state_dir, "reject", times=1)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "broker_rejected"  # final, not a dead letter
    assert order.last_error == "rejected: symbol halted"
    clock.now += timedelta(minutes=5)
    executor.run_once()
    assert flaky.calls_for(oid) == 1
    assert verify(executor.ctx.journal).ok
    from vanta_tui.store.journal.replay import replay

    replayed = replay(executor.ctx.journal)
    assert replayed.ok, (replayed.problems, replayed.differences)


def test_a_refusal_whose_lookup_fails_is_not_final(state_dir: Path) -> None:
    """A refusal is final only once the order is known not to be at the broker: when the
    lookup cannot be made, the order stays submitting and is looked up again later."""
    executor, flaky, oid, clock = setup(state_dir, "reject_unsure", times=1)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None
    assert order.status == "submitting", order.status
    assert "lookup failed" in (order.last_error or "")
    clock.now += timedelta(minutes=5)
    executor.run_once()
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "filled"  # looked up, then sent once more
    assert flaky.calls_for(oid) == 2


def test_a_refusal_before_sending_fails_without_a_submitted_event(state_dir: Path) -> None:
    executor, _flaky, oid, _ = setup(state_dir, "refuse_before", times=1)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "failed"  # never at the broker
    assert (order.last_error or "").startswith("not sent: quantity 1 is below")
    actions = [
        row[0]
        for row in executor.ctx.journal.db.execute(
            "SELECT action FROM events WHERE order_id = ? ORDER BY seq", [oid]
        )
    ]
    assert "order.submitted" not in actions and actions[-1] == "order.failed"
