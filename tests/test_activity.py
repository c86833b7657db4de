"""What happened, read back from the journal: the activity feed in words, the fills blotter
and its totals, realized profit by period, the panic banner, unstaging, and when each
account was last reconciled and priced. Real Desk sessions on a demo copy, real executor
cycles against the paper broker."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.actions.activity import ActivityFilter, period_of
from vanta_tui.brokers.ccxt_adapter import _fee_of
from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import Side
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.desk import ActionRefused, Desk
from vanta_tui.store.journal import Journal


@pytest.fixture
def state(tmp_path: Path) -> Path:
    target = tmp_path / "state"
    write_demo(target, DEMO_NOW)
    return target


def _aapl(state: Path) -> str:
    """The demo's staged V_CORE buy 43 AAPL."""
    return next(
        str(o["order_id"])
        for o in _queue(state).values()
        if o["symbol"] == "AAPL" and o["status"] == "staged" and o["qty"] == 43
    )


def _desk(state: Path, operator: str = "dana") -> Desk:
    return Desk(state, operator=operator, clock=fixed_clock(DEMO_NOW))


def _queue(state: Path) -> dict[str, dict[str, object]]:
    data = json.loads((state / "autotrade_queue.json").read_text())
    return {o["order_id"]: o for o in data["orders"]}


def _run_once(desk: Desk) -> None:
    end = desk.run_executor(threading.Event(), once=True, price_every_s=None)
    assert end.why == "stopped", end


def test_the_feed_words_an_approval_with_its_copies_and_the_fill_newest_first(
    state: Path,
) -> None:
    with _desk(state) as desk:
        desk.start()
        aapl_id = _aapl(state)
        desk.approve([aapl_id])
        _run_once(desk)
        items = desk.activity()
    texts = [i.text for i in items]
    assert "dana approved AAPL buy 43 · 2 follower copies" in texts
    filled = next(t for t in texts if t.startswith("executor: AAPL buy 43 at the broker ("))
    assert filled.endswith("), filled at 190.1")  # one event: accepted and filled
    # Newest first: the fill comes before the approval; seqs go down.
    assert texts.index(filled) < texts.index("dana approved AAPL buy 43 · 2 follower copies")
    assert [i.seq for i in items] == sorted((i.seq for i in items), reverse=True)
    # The copies are folded into the approval's line, not listed on their own.
    assert not any(i.action == "order.mirrored" for i in items)


def test_the_feed_filters_by_vault_order_and_actor_and_reads_only_what_is_new(
    state: Path,
) -> None:
    with _desk(state) as desk:
        desk.start()
        aapl_id = _aapl(state)
        desk.approve([aapl_id])
        seen = desk.head_seq()
        staged = [o for o in _queue(state).values() if o["status"] == "staged"]
        income = next(o for o in staged if o["vault_id"] == "V_INCOME")
        desk.reject([str(income["order_id"])], "not today")
        _run_once(desk)

        by_vault = desk.activity(ActivityFilter(vault_id="V_INCOME"))
        assert by_vault and {i.vault_id for i in by_vault} == {"V_INCOME"}
        assert any(i.text == "dana rejected KO buy 50: not today" for i in by_vault)

        by_actor = desk.activity(ActivityFilter(actor="executor"))
        assert by_actor and {i.actor for i in by_actor} == {"executor"}

        # One order's feed holds its follower copies' events too (their own order ids).
        by_order = desk.activity(ActivityFilter(order_id=aapl_id))
        assert {i.order_id for i in by_order} > {aapl_id}
        assert sum(i.action == "order.mirrored" for i in by_order) == 2
        assert sum(i.action == "order.filled" for i in by_order) == 3

        new = desk.activity(after_seq=seen)
        assert new and min(i.seq for i in new) > seen
        assert not any(i.text.startswith("dana approved AAPL") for i in new)


def test_the_blotter_lists_every_fill_with_its_parent_and_totals_that_add_up(
    state: Path,
) -> None:
    with _desk(state) as desk:
        desk.start()
        aapl_id = _aapl(state)
        desk.approve([aapl_id])
        _run_once(desk)
        blotter = desk.blotter()
        with Journal(state, read_only=True) as journal:
            stored = journal.db.execute("SELECT symbol, qty, price FROM fills").fetchall()
    assert len(blotter.fills) == len(stored) >= 3
    copies = [f for f in blotter.fills if f.symbol == "AAPL" and f.follower_id]
    assert {f.follower_id for f in copies} == {"F_1042", "F_1043"}
    assert {f.parent_id for f in copies} == {aapl_id}
    assert all(f.fee == 0 for f in blotter.fills)  # the paper broker charges nothing
    for total in blotter.totals:
        rows = [r for r in stored if r[0] == total.symbol]
        assert total.fills == len(rows)
        assert total.bought + total.sold == sum(Decimal(r[1]) for r in rows)
        assert total.bought_value + total.sold_value == sum(
            Decimal(r[1]) * Decimal(r[2]) for r in rows
        )
    aapl = next(t for t in blotter.totals if t.symbol == "AAPL")
    assert aapl.bought == Decimal(43 + 10 + 4)


def test_profit_by_period_adds_up_each_fills_realized_pnl(state: Path) -> None:
    with _desk(state) as desk:
        desk.start()
        sell = desk.stage("V_CORE", "AAPL", Side.SELL, Decimal(10))
        desk.approve([sell.order_id])
        _run_once(desk)
        fills = desk.blotter().fills
        days, weeks, months = (desk.profit(p) for p in ("day", "week", "month"))
        with pytest.raises(ActionRefused, match="period must be one of"):
            desk.profit("year")  # type: ignore[arg-type]
    sold = next(f for f in fills if f.order_id == sell.order_id)
    # Bought at 182.50 on average, sold at the last price 190.10.
    assert sold.realized == Decimal("76.00")
    day = next(r for r in days.by_account if r.key == "V_CORE")
    assert day.period == "2026-11-24" and day.realized == Decimal("76.00")
    assert day.closing == 1 and day.wins == 1
    assert [r.period for r in weeks.by_account if r.key == "V_CORE"] == ["2026-W48"]
    assert [r.period for r in months.by_account if r.key == "V_CORE"] == ["2026-11"]
    for profit in (days, weeks, months):
        assert sum((r.realized for r in profit.by_account), Decimal(0)) == sum(
            (f.realized for f in fills), Decimal(0)
        )
    assert days.by_symbol[0].key == "AAPL" and days.by_symbol[0].realized == Decimal("76.00")


def test_periods_are_utc_days_iso_weeks_and_months() -> None:
    at = datetime(2027, 1, 1, 23, 59, tzinfo=UTC)  # a Friday in ISO week 53 of 2026
    assert period_of(at, "day")[0] == "2027-01-01"
    assert period_of(at, "week") == ("2026-W53", datetime(2026, 12, 28, tzinfo=UTC))
    assert period_of(at, "month") == ("2027-01", datetime(2027, 1, 1, tzinfo=UTC))


def test_unstage_takes_a_staged_order_off_audited_and_refuses_an_approved_one(
    state: Path,
) -> None:
    with _desk(state) as desk:
        desk.start()
        order = desk.stage("V_CORE", "AAPL", Side.BUY, Decimal(2))
        taken = desk.unstage([order.order_id])
        assert [o.order_id for o in taken] == [order.order_id]
        assert order.order_id not in _queue(state)
        line = desk.activity(ActivityFilter(order_id=order.order_id))[0]
        assert line.action == "order.unstaged"
        assert line.text == "dana unstaged AAPL buy 2 (taken off the queue before approval)"

        aapl_id = _aapl(state)
        desk.approve([aapl_id])
        before = (state / "autotrade_queue.json").read_bytes()
        with pytest.raises(ActionRefused, match="only staged orders can be unstaged"):
            desk.unstage([aapl_id])
        with pytest.raises(ActionRefused, match="not in the queue"):
            desk.unstage([order.order_id])  # twice: it is gone
        assert (state / "autotrade_queue.json").read_bytes() == before
        assert desk.verify_journal().ok
        replay = desk.replay()
    assert replay.ok, replay
    with Journal(state, read_only=True) as journal:
        row = journal.db.execute(
            "SELECT status FROM orders WHERE order_id = ?", [order.order_id]
        ).fetchone()
    assert row == ("unstaged",)


def _leave_one_uncancellable(state: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """V_INCOME trades at Alpaca with no keys: its working PG order cannot be cancelled."""
    for name in ("VANTA_ALPACA_INCOME_API_KEY", "VANTA_ALPACA_INCOME_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    path = state / "vault.json"
    data = json.loads(path.read_text())
    income = next(v for v in data["vaults"] if v["vault_id"] == "V_INCOME")
    income["venues"]["equity"] = {"adapter": "alpaca", "account_ref": "alpaca_income"}
    path.write_text(json.dumps(data, indent=2))
    return next(
        str(o["order_id"])
        for o in _queue(state).values()
        if o["vault_id"] == "V_INCOME" and o["status"] == "submitted"
    )


def test_the_banner_names_the_panic_and_keeps_what_was_not_cancelled_until_acknowledged(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = _leave_one_uncancellable(state, monkeypatch)
    with _desk(state) as desk:
        desk.start()
        assert desk.banner(desk.reload()) is None
        report = desk.panic("fat finger")
        assert [f.split(":")[0] for f in report.failed] == [lost]
        banner = desk.banner(desk.reload())
        assert banner is not None and banner.panic
        assert banner.by == "dana" and banner.since == DEMO_NOW
        assert banner.text.startswith("PANIC: nothing is sent · by dana · since ")
        assert banner.text.endswith("why: fat finger")
        assert [f.split(":")[0] for f in banner.not_cancelled] == [lost]
        assert banner.panic_seq is not None
        with pytest.raises(ActionRefused, match="not the last panic"):
            desk.acknowledge_panic(banner.panic_seq - 1)
        desk.acknowledge_panic(banner.panic_seq)
        after = desk.banner(desk.reload())
        assert after is not None and after.not_cancelled == []  # maintenance is still on
        desk.maintenance(None, False, "checked with the broker")
        assert desk.banner(desk.reload()) is None


def test_the_banner_keeps_the_list_after_maintenance_is_turned_off(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _leave_one_uncancellable(state, monkeypatch)
    with _desk(state) as desk:
        desk.start()
        desk.panic("fat finger")
        desk.maintenance(None, False, "back on")
        banner = desk.banner(desk.reload())
        assert banner is not None and banner.not_cancelled and banner.panic


def test_the_executor_notes_when_each_account_was_reconciled(state: Path) -> None:
    with _desk(state) as desk:
        desk.start()
        before = desk.broker_times(desk.reload())
        assert [t.account for t in before] == ["V_CORE", "V_CRYPTO", "V_INCOME"]
        assert all(t.reconciled is None for t in before)
        end = desk.run_executor(
            threading.Event(), once=True, price_every_s=None, reconcile_every_s=0
        )
        assert end.why == "stopped"
        after = desk.broker_times()
    assert {t.account: t.reconciled for t in after} == dict.fromkeys(
        ["V_CORE", "V_CRYPTO", "V_INCOME"], DEMO_NOW
    )


def test_an_exchange_fee_is_read_from_ccxts_unified_order() -> None:
    # ccxt's order structure: `fee` {cost, currency, rate}, or `fees`, a list of them.
    assert _fee_of({"fee": {"cost": 0.26, "currency": "USD"}}) == {
        "fee": Decimal("0.26"),
        "fee_currency": "USD",
    }
    assert _fee_of(
        {"fees": [{"cost": "0.1", "currency": "USDT"}, {"cost": "0.2", "currency": "USDT"}]}
    ) == {"fee": Decimal("0.3"), "fee_currency": "USDT"}
    # Two currencies do not add up, and an exchange that does not say gives nothing.
    assert (
        _fee_of({"fees": [{"cost": 1, "currency": "BNB"}, {"cost": 2, "currency": "USDT"}]}) == {}
    )
    assert _fee_of({"fee": None}) == {} == _fee_of({"fee": {"cost": None}})
