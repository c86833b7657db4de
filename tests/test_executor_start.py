"""The executor sends at once (issue 24): before the sends only the accounts holding an order
in ``submitting`` are asked what they hold (exactly once: such an order goes again only if
its broker never saw it); every other account's working orders, those of the accounts sent
to included, are checked after the sends, in the same cycle (at 10,000 orders, thousands of
working orders no longer stand between an approval and its send). A paper order numbered
while another account of the book is not open yet never takes that account's order's id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.cli.main import main
from vanta_tui.core.models import QueueFile
from vanta_tui.executor import engine
from vanta_tui.store.loader import load_model


def _approve_new(state_dir: Path, capsys: pytest.CaptureFixture[str], symbol: str = "AAPL") -> str:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "stage", "V_CORE", symbol, "buy", "2", "--limit", "150", *args]) == 0
    oid = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["orders", "approve", oid, *args]) == 0
    capsys.readouterr()
    return oid


def test_only_accounts_with_a_submitting_order_are_checked_before_the_sends(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = _approve_new(state_dir, capsys)
    seen: list[tuple[str, str]] = []
    check = engine.Executor._check_account
    submit = PaperBroker.submit

    def spy_check(self: engine.Executor, broker: Any, orders: Any) -> Any:
        seen.append(("check", broker.account_ref))
        return check(self, broker, orders)

    def spy_submit(self: PaperBroker, request: Any) -> Any:
        seen.append(("send", self.account_ref))
        return submit(self, request)

    monkeypatch.setattr(engine.Executor, "_check_account", spy_check)
    monkeypatch.setattr(PaperBroker, "submit", spy_submit)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["executor", "--once", *args]) == 0
    first_send = next(i for i, (what, _) in enumerate(seen) if what == "send")
    sent_to = {ref for what, ref in seen if what == "send"}
    checked_before = {ref for what, ref in seen[:first_send] if what == "check"}
    checked_after = {ref for what, ref in seen[first_send:] if what == "check"}
    # The demo's V_CRYPTO holds an order in submitting (ETH/USD): asked before any send.
    crypto = next(ref for what, ref in seen if what == "check" and ref.endswith("V_CRYPTO"))
    assert crypto in checked_before
    # V_INCOME has a working order (PG) and nothing to send: checked after.
    income = next(ref for what, ref in seen if what == "check" and ref.endswith("V_INCOME"))
    assert income not in sent_to and income in checked_after and income not in checked_before
    # V_CORE holds a working order (NVDA) and is sent to: its check waits for the sends.
    core = next(ref for ref in sent_to if ref.endswith("V_CORE"))
    assert core in checked_after and core not in checked_before
    queue = load_model(state_dir, QueueFile)
    assert queue.get(oid).status == "submitted"  # type: ignore[union-attr]


def test_a_new_paper_order_never_takes_the_id_of_an_unopened_accounts_order(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The book numbers new orders past every paper id of the queue, not only past those of
    the accounts opened so far: the demo's V_INCOME order paper-000041 stays its own."""
    queue = json.loads((state_dir / "autotrade_queue.json").read_text())
    held = {
        o["broker_order_id"]: o["order_id"]
        for o in queue["orders"]
        if (o["broker_order_id"] or "").startswith("paper-")
    }
    oid = _approve_new(state_dir, capsys)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["executor", "--once", *args]) == 0
    after = load_model(state_dir, QueueFile)
    new_id = after.get(oid).broker_order_id  # type: ignore[union-attr]
    assert new_id is not None and new_id not in held
    ids = [o.broker_order_id for o in after.orders if o.broker_order_id is not None]
    assert len(ids) == len(set(ids))  # no two orders share a broker id
    capsys.readouterr()
    # Every working order is in the book: panic cancels them all.
    assert main(["panic", "--reason", "check", *args]) == 0
    out = capsys.readouterr().out
    assert "not cancelled:" not in out


def test_a_cycle_routes_each_account_once_not_each_order(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The venue files are read once per account and asset class in a cycle: at 10,000
    working orders, one read of vault.json per order stood between the start and the first
    send. An account without a venue is still reported for each of its orders."""
    from vanta_tui.brokers.routing import VenueBrokers

    sending = {_approve_new(state_dir, capsys), _approve_new(state_dir, capsys, "MSFT")}
    asked: list[list[tuple[str | None, str, str]]] = []
    cycle, for_order = engine.Executor.cycle, VenueBrokers.for_order

    def spy_cycle(self: engine.Executor) -> Any:
        asked.append([])
        return cycle(self)

    def spy_for_order(self: VenueBrokers, order: Any) -> Any:
        asked[-1].append((order.follower_id, order.vault_id, str(order.asset_class)))
        return for_order(self, order)

    monkeypatch.setattr(engine.Executor, "cycle", spy_cycle)
    monkeypatch.setattr(VenueBrokers, "for_order", spy_for_order)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["executor", "--once", *args]) == 0
    assert asked and all(asked)
    for keys in asked:
        assert len(keys) == len(set(keys)), keys  # one lookup per account and class
    queue = load_model(state_dir, QueueFile)
    assert {o.order_id for o in queue.orders if o.status == "submitted"} >= sending


def test_an_account_without_a_broker_is_reported_for_each_of_its_orders(
    state_dir: Path,
) -> None:
    from types import SimpleNamespace

    from vanta_tui.brokers.errors import BrokerError

    calls: list[str] = []

    class NoVenue:
        def for_order(self, order: Any) -> Any:
            calls.append(order.order_id)
            raise BrokerError("no venue for V_CORE equity")

    orders = [o for o in load_model(state_dir, QueueFile).orders if o.vault_id == "V_CORE"]
    orders = [o for o in orders if o.follower_id is None and o.asset_class == "equity"][:2]
    assert len(orders) == 2
    executor = SimpleNamespace(_routes={}, brokers=NoVenue())
    report = engine.CycleReport()
    assert [engine.Executor._broker_of(executor, o, report) for o in orders] == [None, None]  # type: ignore[arg-type]
    assert calls == [orders[0].order_id]
    assert report.errors == [f"{o.order_id}: no venue for V_CORE equity" for o in orders]


def test_a_cycle_with_no_flip_mode_due_takes_no_overlay_action(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor asks every cycle whether a flip mode's TTL has passed; when none has, it
    takes no action (an action copies every vault's overlay under its lock: at 200 vaults,
    tens of milliseconds a cycle, the first send's included)."""
    from vanta_tui.core.state_files import StateKind
    from vanta_tui.store.journal.journal import Journal

    _approve_new(state_dir, capsys)
    acted: list[list[StateKind]] = []
    act = Journal.act

    def spy(self: Journal, actor: str, kinds: Any, plan: Any, **kwargs: Any) -> Any:
        acted.append(list(kinds))
        return act(self, actor, kinds, plan, **kwargs)

    monkeypatch.setattr(Journal, "act", spy)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["executor", "--once", *args]) == 0
    # The demo's V_CRYPTO flip mode is past its TTL by now: one action reverts it.
    assert [kinds for kinds in acted if StateKind.OVERLAY in kinds] == [[StateKind.OVERLAY]]
    assert acted[-1] != [StateKind.OVERLAY]  # the send was recorded after it
    acted.clear()
    capsys.readouterr()
    _approve_new(state_dir, capsys, "MSFT")
    assert main(["executor", "--once", *args]) == 0
    assert acted and not [kinds for kinds in acted if StateKind.OVERLAY in kinds]
