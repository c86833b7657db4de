"""`Desk`, the one session the fronts go through: the journal opened once and shared by the
actions (from any thread, one at a time), readings from the current state, the executor run
with its lease, read-only sessions that write nothing."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.desk import ActionRefused, Desk, ReadOnlyRefused
from vanta_tui.store.journal import Journal


@pytest.fixture
def state(tmp_path: Path) -> Path:
    target = tmp_path / "state"
    write_demo(target, DEMO_NOW)
    return target


def _desk(state: Path, **kw: object) -> Desk:
    return Desk(state, operator="tester", clock=fixed_clock(DEMO_NOW), **kw)  # type: ignore[arg-type]


def _staged(desk: Desk) -> list[str]:
    queue = desk.reload().queue
    assert queue is not None
    return [o.order_id for o in queue.orders if o.status is OrderStatus.STAGED]


def test_the_journal_is_opened_once_for_a_session(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Journal] = []
    real_init = Journal.__init__

    def counting_init(self: Journal, *args: object, **kw: object) -> None:
        real_init(self, *args, **kw)  # type: ignore[arg-type]
        opened.append(self)

    monkeypatch.setattr(Journal, "__init__", counting_init)
    with _desk(state) as desk:
        desk.start()
        ids = _staged(desk)
        desk.approve(ids[:1])
        desk.reject(ids[1:2], "not today")
        order = desk.stage("V_CORE", "AAPL", Side.BUY, Decimal(2))
        desk.edit(order.order_id, {"qty": Decimal(3)})
        trail = desk.audit_trail(order.order_id)
        desk.status(probe=False)
        desk.dead_letters()
    assert len(opened) == 1
    assert trail[0] == f"order {order.order_id}"
    assert any("order.staged" in line for line in trail)
    assert any("order.edited" in line for line in trail)


def test_actions_from_many_threads_run_one_at_a_time(state: Path) -> None:
    """The desk calls its session from worker threads: ten stagings at once all land, each
    once, in one queue and one unbroken chain."""
    with _desk(state) as desk:
        staged: list[str] = []
        errors: list[BaseException] = []

        def stage(i: int) -> None:
            try:
                order = desk.stage("V_CORE", "MSFT", Side.BUY, Decimal(i + 1))
                staged.append(order.order_id)
            except BaseException as exc:  # pragma: no cover - the assertion says it
                errors.append(exc)

        threads = [threading.Thread(target=stage, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        queue = desk.reload().queue
        assert queue is not None
        assert len({o for o in staged if queue.get(o) is not None}) == 10
        assert desk.verify_journal().ok


def test_a_duplicate_ticket_is_refused_then_allowed(state: Path) -> None:
    with _desk(state) as desk:
        first = desk.stage("V_CORE", "NVDA", Side.BUY, Decimal(5))
        desk.reload()
        assert desk.duplicate_of(first) is not None
        with pytest.raises(ActionRefused, match="identical"):
            desk.stage("V_CORE", "NVDA", Side.BUY, Decimal(5))
        again = desk.stage("V_CORE", "NVDA", Side.BUY, Decimal(5), allow_duplicate=True)
        assert again.order_id != first.order_id


def test_a_read_only_session_refuses_changes_and_writes_nothing(state: Path) -> None:
    with _desk(state) as desk:
        desk.start()  # the journal exists, as on a desk that has been used
    before = {p.name: p.stat().st_mtime_ns for p in state.iterdir()}
    with _desk(state, read_only=True) as desk:
        ids = _staged(desk)
        with pytest.raises(ReadOnlyRefused):
            desk.approve(ids[:1])
        assert desk.status(probe=False).lines
        assert [o.symbol for o in desk.dead_letters()] == ["ETH/USD"]
    after = {p.name: p.stat().st_mtime_ns for p in state.iterdir()}
    assert after == before


def test_run_executor_once_sends_the_approved_orders_and_frees_the_lease(state: Path) -> None:
    with _desk(state) as desk:
        desk.approve(_staged(desk)[:2])
        end = desk.run_executor(threading.Event(), once=True)
        assert end.why == "stopped" and end.sent >= 2
        # The lease was given back: a second run takes it again.
        assert desk.run_executor(threading.Event(), once=True).why == "stopped"


def test_run_executor_reports_a_lease_held_by_another_executor(state: Path) -> None:
    with _desk(state) as desk:
        stop = threading.Event()
        news: list[str] = []
        running = threading.Thread(
            target=desk.run_executor,
            args=(stop,),
            kwargs={"on_news": lambda n: news.append(n.text), "interval_s": 0.05},
        )
        running.start()
        try:
            for _ in range(200):
                if news:
                    break
                threading.Event().wait(0.02)
            with _desk(state) as other:
                end = other.run_executor(threading.Event(), once=True)
            assert end.why == "lease-held"
            assert "tester" in end.text
        finally:
            stop.set()
            running.join(10)
        assert not running.is_alive()
        assert "executor: running" in news


def test_a_session_routes_through_brokers_it_is_given(state: Path) -> None:
    """A test's or a benchmark's own `Brokers` (here the paper brokers in a wrapper that
    counts) route every order the session's executor sends (an account once a cycle)."""
    from vanta_tui.actions.brokers import paper_brokers
    from vanta_tui.brokers.base import Broker, Brokers
    from vanta_tui.core.models import Order, Venue

    class Counting:
        live = False

        def __init__(self, inner: Brokers) -> None:
            self.inner = inner
            self.routed: list[str] = []

        def for_order(self, order: Order) -> Broker:
            self.routed.append(order.follower_id or order.vault_id)
            return self.inner.for_order(order)

        def for_venue(self, venue: Venue | None, account_id: str) -> Broker:
            return self.inner.for_venue(venue, account_id)

    counting = Counting(paper_brokers(state))
    with Desk(state, operator="tester", clock=fixed_clock(DEMO_NOW), brokers=counting) as desk:
        ids = _staged(desk)[:1]
        desk.approve(ids)
        end = desk.run_executor(threading.Event(), once=True)
        sent = desk.reload().queue.get(ids[0])  # type: ignore[union-attr]
    assert end.sent >= 1
    assert sent is not None and sent.status is not OrderStatus.APPROVED
    assert sent.vault_id in counting.routed


def test_a_read_only_session_runs_no_executor(state: Path) -> None:
    """Read-only is the session's own rule, not only its fronts': no lease taken, nothing
    sent (an approved order stays approved)."""
    with _desk(state) as desk:
        ids = _staged(desk)[:1]
        desk.approve(ids)
    with _desk(state, read_only=True) as desk:
        with pytest.raises(ReadOnlyRefused, match="executor"):
            desk.run_executor(threading.Event(), once=True)
        queue = desk.reload().queue
    assert queue is not None
    order = queue.get(ids[0])
    assert order is not None and order.status is OrderStatus.APPROVED
    assert not (state / "executor.lease").exists()


def test_a_slow_broker_probe_holds_no_action(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`S` asks the brokers; while one of them has not answered, the operator's approval
    goes through (the probe does not hold the session's journal). Real alpaca-py over HTTP
    to the fake Alpaca server, whose account endpoint is held until the approval is done."""
    from fake_brokers import FakeAlpaca
    from test_real_brokers import set_keys, use_venue

    from vanta_tui.core.enums import AssetClass

    use_venue(state, "V_CORE", AssetClass.EQUITY, "alpaca", "alpaca-main")
    set_keys(monkeypatch, "alpaca-main")
    with FakeAlpaca({}) as fake, _desk(state) as desk:
        monkeypatch.setenv("VANTA_ALPACA_URL", fake.url)
        fake.gate, fake.gated_path = threading.Event(), "/v2/account"
        ids = _staged(desk)[:1]
        probe = threading.Thread(target=lambda: desk.status(probe=True))
        probe.start()
        try:
            assert fake.arrived.wait(30), "the status never asked the broker"
            approved: list[str] = []
            done = threading.Thread(target=lambda: approved.append(desk.approve(ids).text()))
            done.start()
            done.join(20)
            assert approved, "the approval waited for the broker's answer to the status"
            assert probe.is_alive()  # the broker still has not answered
        finally:
            fake.gate.set()
            probe.join(30)
        assert not probe.is_alive()
