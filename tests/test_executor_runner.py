"""The executor's run (`vanta_tui.executor.runner`), written once for the desk and the CLI,
driven for real on a copy of the demo with the paper broker: ``once`` sends the approved
orders, a held lease is reported with its holder, a stop event ends the loop and frees the
lease, a broken state file is said once and once when it loads again."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import QueueFile
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.executor.lease import Lease, lease_held
from vanta_tui.executor.runner import (
    EventKind,
    RunEnd,
    RunEvent,
    RunLevel,
    RunOutcome,
    run_executor,
)
from vanta_tui.store import load_model

CLOCK = fixed_clock(DEMO_NOW)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    target = tmp_path / "state"
    write_demo(target, DEMO_NOW)
    return target


def approved(state: Path, *symbols: str) -> list[str]:
    """Stage and approve one small buy per symbol in V_CORE; their order ids."""
    ctx = ActionContext.open(state, "dana", clock=CLOCK)
    try:
        ids = [
            stage_order(
                ctx, vault_id="V_CORE", symbol=s, side=Side.BUY, qty=Decimal(1)
            ).result.order_id
            for s in symbols
        ]
        approve_orders(ctx, ids)
    finally:
        ctx.close()
    return ids


def statuses(state: Path, ids: list[str]) -> list[OrderStatus]:
    queue = load_model(state, QueueFile)
    found = [queue.get(i) for i in ids]
    return [o.status for o in found if o is not None]


def wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def run(state: Path, **kw: object) -> RunOutcome:
    options: dict[str, object] = {
        "brokers": paper_brokers(state),
        "stop": threading.Event(),
        "holder": "test executor",
        "clock": CLOCK,
        "price_every_s": None,
    }
    options.update(kw)
    return run_executor(state, **options)  # type: ignore[arg-type]


def test_once_sends_the_approved_orders_and_gives_the_lease_back(state: Path) -> None:
    ids = approved(state, "AAPL", "MSFT")
    assert statuses(state, ids) == [OrderStatus.APPROVED] * 2
    end = run(state, once=True)
    assert end.why is RunEnd.STOPPED
    assert end.sent >= 2 and end.cycles >= 1
    assert statuses(state, ids) == [OrderStatus.FILLED] * 2
    assert not lease_held(state)
    again = run(state, once=True)  # the lease is free: a second run takes it
    assert again.why is RunEnd.STOPPED and again.sent == 0


def test_a_held_lease_is_reported_with_its_holder(state: Path) -> None:
    ids = approved(state, "AAPL")
    with Lease(state, "desk of dana"):
        end = run(state, once=True)
    assert end.why is RunEnd.LEASE_HELD
    assert "desk of dana" in end.text
    text, level = end.status
    assert text.startswith("executor: the executor lease is held by desk of dana")
    assert level is RunLevel.WARN
    assert statuses(state, ids) == [OrderStatus.APPROVED]  # nothing was sent


def test_a_stop_event_ends_the_loop_and_releases_the_lease(state: Path) -> None:
    ids = approved(state, "NVDA")
    stop = threading.Event()
    events: list[RunEvent] = []
    ends: list[RunOutcome] = []
    loop = threading.Thread(
        target=lambda: ends.append(
            run(state, stop=stop, interval_s=0.05, on_event=events.append, once=False)
        )
    )
    loop.start()
    try:
        wait_for(lambda: sum(e.kind is EventKind.CYCLE for e in events) >= 3)
        assert lease_held(state)
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive()
    assert not lease_held(state)
    [end] = ends
    assert end.why is RunEnd.STOPPED and end.sent >= 1 and end.cycles >= 3
    assert statuses(state, ids) == [OrderStatus.FILLED]
    cycles = [e for e in events if e.kind is EventKind.CYCLE]
    assert cycles[0].text == "executor: running" and cycles[0].level is RunLevel.OK
    assert cycles[0].changed and cycles[0].sent >= 1  # the desk reloads the files
    assert [e.first for e in cycles[:3]] == [True, False, False]  # the same status, once


def test_a_broken_state_file_is_said_once_and_once_when_it_loads_again(state: Path) -> None:
    stop = threading.Event()
    events: list[RunEvent] = []
    ends: list[RunOutcome] = []
    loop = threading.Thread(
        target=lambda: ends.append(run(state, stop=stop, interval_s=0.02, on_event=events.append))
    )
    loop.start()
    vault = state / "vault.json"
    good = vault.read_bytes()
    try:
        wait_for(lambda: any(e.kind is EventKind.CYCLE for e in events))
        vault.write_text("{ not json")
        wait_for(lambda: sum(e.kind is EventKind.ERROR for e in events) >= 3)
        vault.write_bytes(good)
        wait_for(lambda: any(e.kind is EventKind.RECOVERED for e in events))
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive() and ends[0].why is RunEnd.STOPPED
    errors = [e for e in events if e.kind is EventKind.ERROR]
    assert errors[0].level is RunLevel.FAIL and "vault.json" in errors[0].text
    assert [e.first for e in errors[:3]] == [True, False, False]
    recovered = next(e for e in events if e.kind is EventKind.RECOVERED)
    assert recovered.text == "executor: the state files load again"


def test_a_broken_journal_chain_sends_nothing(state: Path) -> None:
    ids = approved(state, "AAPL")
    conn = sqlite3.connect(state / "vanta.db")  # the last event removed from both sinks
    conn.execute("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)")
    conn.commit()
    conn.close()
    log = state / "trade_log.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))
    end = run(state, once=True)
    assert end.why is RunEnd.JOURNAL_PROBLEM and end.problem_kind == "truncated"
    assert end.text.startswith("JOURNAL TRUNCATED: journal integrity:")
    assert end.status == ("JOURNAL TRUNCATED: executor not started", RunLevel.FAIL)
    assert statuses(state, ids) == [OrderStatus.APPROVED]
    assert not lease_held(state)


def test_a_lease_file_that_cannot_be_written_is_an_error(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Lease) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Lease, "_write_info", refuse)
    end = run(state, once=True)
    assert end.why is RunEnd.ERROR and "No space left" in end.text
    assert end.status == (f"executor: {end.text}", RunLevel.FAIL)
    assert not lease_held(state)


def test_an_approval_wakes_the_running_executor_before_its_next_tick(state: Path) -> None:
    """Between cycles the executor watches the files that make orders sendable: an order
    approved by another program goes out at once, not at the next tick (here a minute)."""
    stop = threading.Event()
    events: list[RunEvent] = []
    loop = threading.Thread(
        target=lambda: run(state, stop=stop, interval_s=60, on_event=events.append, once=False)
    )
    loop.start()
    try:
        wait_for(lambda: any(e.kind is EventKind.CYCLE for e in events))
        ids = approved(state, "NVDA")
        wait_for(lambda: statuses(state, ids) == [OrderStatus.FILLED], timeout_s=20)
        wait_for(lambda: sum(e.kind is EventKind.CYCLE and e.sent == 1 for e in events) == 1)
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive()


def test_between_cycles_the_executor_makes_every_accounts_broker_client(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the first fan-out, not during it: the Alpaca clients of the vault and of
    each follower are made between cycles (keys loaded, SDK client built; no request)."""
    from vanta_tui.actions.brokers import brokers_for
    from vanta_tui.brokers.credentials import env_names
    from vanta_tui.core.enums import AssetClass
    from vanta_tui.core.models import FollowersFile, VaultFile
    from vanta_tui.core.models.vault import Venue
    from vanta_tui.executor.engine import Executor
    from vanta_tui.store import update

    def to_alpaca(vaults: VaultFile) -> None:
        core = vaults.get("V_CORE")
        assert core is not None
        core.venues[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref="warm-vault")

    def followers_to_alpaca(registry: FollowersFile) -> None:
        for n, follower in enumerate(registry.followers):
            follower.brokers[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref=f"warm-{n}")

    update(state, VaultFile, to_alpaca)
    update(state, FollowersFile, followers_to_alpaca)
    followers = load_model(state, FollowersFile).followers
    assert followers
    refs = ["warm-vault", *(f"warm-{n}" for n in range(len(followers)))]
    for ref in refs:
        key_var, secret_var = env_names(ref)
        monkeypatch.setenv(key_var, f"key-{ref}")
        monkeypatch.setenv(secret_var, f"secret-{ref}-0123456789")
    monkeypatch.setenv("VANTA_ALPACA_URL", "http://127.0.0.1:9")  # never asked here
    brokers = brokers_for(state, timeout_s=1)
    made: list[str] = []
    inner = brokers.for_venue

    def recording(venue: Venue | None, account_id: str) -> object:
        broker = inner(venue, account_id)
        if type(broker).__name__ == "AlpacaBroker":
            made.append(account_id)
        return broker

    monkeypatch.setattr(brokers, "for_venue", recording)
    wanted = sorted(["V_CORE", *(f.follower_id for f in followers)])
    ctx = ActionContext.open(state, "executor", clock=CLOCK)
    stop = threading.Event()
    try:
        executor = Executor(ctx, brokers, price_every_s=None, reconcile_every_s=None)
        napping = threading.Thread(target=executor.nap, args=(stop, 120))
        napping.start()
        wait_for(lambda: sorted(set(made)) == wanted, timeout_s=60)
        # The SDK's own clients too (alpaca-py's TradingClient), not only our adapters.
        assert all(getattr(b, "_client", None) is not None for b in brokers._cache.values())
    finally:
        stop.set()
        napping.join(10)
        ctx.close()


def test_an_error_while_waiting_between_cycles_does_not_end_the_run(state: Path) -> None:
    """An answer recorded between cycles when portfolio.json does not load: the wait ends
    (the next cycle says what is wrong, as for any cycle), nothing is raised out of it."""
    from vanta_tui.actions.execution import SendOutcome
    from vanta_tui.executor.engine import Executor

    ids = approved(state, "NVDA")
    ctx = ActionContext.open(state, "executor", clock=CLOCK)
    try:
        executor = Executor(ctx, paper_brokers(state), price_every_s=None)
        executor._answers.put(SendOutcome(ids[0], error="temporary: a lost answer"))
        (state / "portfolio.json").write_text("{ not json")
        executor.nap(threading.Event(), 5)  # returns at the first try to record: no raise
        assert executor._answers.qsize() == 1  # kept for the next cycle
    finally:
        ctx.close()
