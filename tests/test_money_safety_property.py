"""Any sequence of operator actions keeps the desk's money promises (issue 15).

Hypothesis draws sequences of stage (by hand), rebalance, approve, reject, retry, dismiss
and fee closes at random times, run through the real actions on a real copy of the demo
with a real journal. After every step:
- no two open orders carry the same intent: one open rebalance order per vault and symbol,
  no identical hand-staged twin inside the duplicate window, one retry per dead letter;
- approved sells never exceed the holding;
- the fee ledger charges each account's period once, only after it ended, and its sum is
  what ``pnl_summary.json`` says was accrued.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.fees import close_fee_cycle, ledger
from vanta_tui.actions.orders import (
    approve_orders,
    dismiss_failed,
    reject_orders,
    retry_failed,
    stage_order,
    stage_rebalance,
)
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.intents import DUPLICATE_WINDOW, open_qty
from vanta_tui.core.models import PnlFile, PortfolioFile, QueueFile
from vanta_tui.core.order_states import OPEN
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.store import load_model
from vanta_tui.store.errors import StoreError
from vanta_tui.store.journal.verify import verify

SYMBOLS = [
    ("V_CORE", "AAPL"),
    ("V_CORE", "MSFT"),
    ("V_CORE", "MSFT"),  # twice: parents' sells competing for the followers' MSFT
    ("V_INCOME", "KO"),
    ("V_CORE", "SELMSFT"),
]

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("stage"),
            st.sampled_from(SYMBOLS),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 70),
        ),
        st.tuples(st.just("rebalance"), st.sampled_from(["V_CORE", "V_INCOME", "V_CRYPTO"])),
        st.tuples(st.just("approve"), st.integers(0, 50), st.integers(1, 3)),
        st.tuples(st.just("reject"), st.integers(0, 50)),
        st.tuples(st.just("retry"), st.integers(0, 5)),
        st.tuples(st.just("dismiss"), st.integers(0, 5)),
        st.tuples(st.just("close"), st.sampled_from([None, "V_CORE", "V_CRYPTO"])),
        st.tuples(st.just("wait"), st.integers(0, 60 * 24 * 40)),
    ),
    min_size=1,
    max_size=14,
)


def _pick(orders: list[str], index: int) -> list[str]:
    return [orders[index % len(orders)]] if orders else []


def _check_orders(state_dir: Path, ctx: ActionContext) -> None:
    queue = load_model(state_dir, QueueFile)
    open_orders = [o for o in queue.orders if o.status in OPEN]
    rebalances = Counter(
        (o.vault_id, o.symbol) for o in open_orders if o.origin == "rebalance" and not o.follower_id
    )
    assert all(n == 1 for n in rebalances.values()), rebalances
    by_hand = sorted((o for o in open_orders if o.origin == "operator"), key=lambda o: o.created_at)
    for i, first in enumerate(by_hand):
        for later in by_hand[i + 1 :]:
            twin = first.ticket() == later.ticket() and first.vault_id == later.vault_id
            assert not (twin and later.created_at - first.created_at < DUPLICATE_WINDOW), (
                first.order_id,
                later.order_id,
            )
    retries = Counter(
        str(row[0])
        for row in ctx.journal.db.execute(
            "SELECT json_extract(payload, '$.retry_of') FROM events "
            "WHERE action = 'order.staged' AND json_extract(payload, '$.retry_of') IS NOT NULL"
        )
    )
    assert all(n == 1 for n in retries.values()), retries
    portfolio = load_model(state_dir, PortfolioFile)
    sold: Counter[tuple[str, str]] = Counter()
    for o in queue.orders:
        if o.side is Side.SELL and o.status in OPEN and o.status is not OrderStatus.STAGED:
            sold[(o.follower_id or o.vault_id, o.symbol)] += open_qty(o)  # type: ignore[assignment]
    for (account_id, symbol), qty in sold.items():
        account = portfolio.accounts.get(account_id)
        held = account.positions[symbol].qty if account and symbol in account.positions else 0
        if (account_id, symbol) != ("V_CORE", "NVDA"):  # the demo's own partial sell
            assert qty <= held, (account_id, symbol, qty, held)


def _check_fees(state_dir: Path, ctx: ActionContext, closes: dict[int, datetime]) -> None:
    entries = ledger(ctx.journal)
    charged = [e for e in entries if e.entry == "charged"]
    periods = Counter((e.vault_id, e.follower_id, e.period_start) for e in charged)
    assert all(n == 1 for n in periods.values()), periods
    for entry in charged:
        assert entry.period_end is not None and entry.period_end <= closes[entry.seq]
    pnl = load_model(state_dir, PnlFile)
    for vault_id, account in pnl.vaults.items():
        mine = [e.fee_due for e in entries if (e.follower_id or e.vault_id) == vault_id]
        if mine:
            assert sum(mine, Decimal(0)) == account.fees_accrued, vault_id


def _followers_hold_some(state_dir: Path) -> None:
    """F_1042 and F_1043 hold a little of what their vault holds, so child sells are sized
    against real holdings (and several parents' sells compete for them)."""
    from vanta_tui.core.enums import AssetClass
    from vanta_tui.core.models import Position
    from vanta_tui.store import update

    def change(portfolio: PortfolioFile) -> None:
        for account, qty in (("F_1042", "3"), ("F_1043", "1")):
            for symbol, last in (("MSFT", "415.50"), ("AAPL", "190.10")):
                portfolio.accounts[account].positions[symbol] = Position(
                    qty=Decimal(qty), avg_price=Decimal(last), last_price=Decimal(last),
                    asset_class=AssetClass.EQUITY,
                )  # fmt: skip

    update(state_dir, PortfolioFile, change)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@example(
    [  # two parents' sells compete for F_1042's 3 MSFT (found by review, kept as an example)
        ("stage", ("V_CORE", "MSFT"), Side.SELL, 20),
        ("approve", -1, 1),  # the newest staged order
        ("stage", ("V_CORE", "MSFT"), Side.SELL, 19),
        ("approve", -1, 1),  # the newest staged order
    ]
)
@given(steps)
def test_any_sequence_keeps_one_order_per_intent_and_one_charge_per_period(
    plan: list[tuple[object, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        write_demo(state_dir)
        _followers_hold_some(state_dir)
        now = [DEMO_NOW + timedelta(minutes=4)]
        ctx = ActionContext.open(state_dir, "dana", clock=lambda: now[0])
        closes: dict[int, datetime] = {}
        try:
            for step in plan:
                queue = load_model(state_dir, QueueFile)
                staged = [o.order_id for o in queue.orders if o.status is OrderStatus.STAGED]
                failed = [o.order_id for o in queue.orders if o.status is OrderStatus.FAILED]
                try:
                    match step:
                        case ("stage", (vault, symbol), side, qty):
                            stage_order(
                                ctx, vault_id=str(vault), symbol=str(symbol), side=side,  # type: ignore[arg-type]
                                qty=Decimal(qty),  # type: ignore[arg-type]
                            )  # fmt: skip
                        case ("rebalance", vault):
                            stage_rebalance(ctx, str(vault))
                        case ("approve", index, many):  # a batch: statuses change in place
                            first = int(index) % max(len(staged), 1)  # type: ignore[call-overload]
                            approve_orders(ctx, staged[first : first + int(many)])  # type: ignore[call-overload]
                        case ("reject", index):
                            reject_orders(ctx, _pick(staged, int(index)))  # type: ignore[call-overload]
                        case ("retry", index):
                            for oid in _pick(failed, int(index)):  # type: ignore[call-overload]
                                retry_failed(ctx, oid)
                        case ("dismiss", index):
                            for oid in _pick(failed, int(index)):  # type: ignore[call-overload]
                                dismiss_failed(ctx, oid)
                        case ("close", vault):
                            result = close_fee_cycle(ctx, None if vault is None else str(vault))
                            for event in result.events:
                                closes[event.seq] = now[0]
                        case ("wait", minutes):
                            now[0] += timedelta(minutes=int(minutes))  # type: ignore[call-overload]
                except (StoreError, ValueError):
                    pass  # a refusal changes nothing; the checks below prove it
                _check_orders(state_dir, ctx)
                _check_fees(state_dir, ctx, closes)
            assert verify(ctx.journal).ok
        finally:
            ctx.close()
