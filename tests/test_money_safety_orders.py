"""Nothing staged or sent twice by accident (issue 15): rebalance nets out what is open, a
hand-staged twin needs an explicit "again", approval refuses sells beyond the holding and
unknown symbols, and the approval's confirmation and result say the same."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Input
from ui_helpers import NOW, loaded, make_app, settle, wait_for

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.orders import (
    ApprovalSummary,
    DuplicateOrder,
    approve_orders,
    reject_orders,
    stage_order,
    stage_rebalance,
)
from vanta_tui.cli.main import main
from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import QueueFile
from vanta_tui.store import load_model
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.verify import verify
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen
from vanta_tui.ui.table import KeyedTable


def ctx_for(state_dir: Path) -> ActionContext:
    return ActionContext.open(state_dir, "dana", clock=fixed_clock(NOW))


def open_id(state_dir: Path, vault: str, symbol: str, status: str = "staged") -> str:
    queue = load_model(state_dir, QueueFile)
    return next(
        o.order_id
        for o in queue.orders
        if o.vault_id == vault and o.symbol == symbol and o.status == status and not o.follower_id
    )


def without_demo_aapl(state_dir: Path) -> None:
    """The demo ships V_CORE's rebalance (buy 43 AAPL) staged; take it away."""
    ctx = ctx_for(state_dir)
    try:
        reject_orders(ctx, [open_id(state_dir, "V_CORE", "AAPL")], "test starts clean")
    finally:
        ctx.close()


def open_rebalance_orders(state_dir: Path, vault: str, symbol: str) -> list[str]:
    queue = load_model(state_dir, QueueFile)
    return [
        o.order_id
        for o in queue.orders
        if o.vault_id == vault
        and o.symbol == symbol
        and o.origin == "rebalance"
        and o.status in {"staged", "approved"}
    ]


# ---------------------------------------------------------------- rebalance


def test_rebalance_twice_in_the_cli_stages_once(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without_demo_aapl(state_dir)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["stage", "V_CORE", *args]) == 0
    first = capsys.readouterr().out
    assert "buy 43 AAPL" in first
    [staged] = open_rebalance_orders(state_dir, "V_CORE", "AAPL")
    assert main(["stage", "V_CORE", *args]) == 0
    second = capsys.readouterr().out
    assert "staged " not in second
    assert f"skipped: AAPL: already staged: buy 43 AAPL (order {staged})" in second
    assert "nothing to stage for V_CORE" in second
    assert main(["stage", "V_CORE", "--dry-run", *args]) == 0
    assert f"already staged: buy 43 AAPL (order {staged})" in capsys.readouterr().out
    assert open_rebalance_orders(state_dir, "V_CORE", "AAPL") == [staged]


def test_rebalance_nets_out_approved_and_working_orders(state_dir: Path) -> None:
    without_demo_aapl(state_dir)
    ctx = ctx_for(state_dir)
    try:
        # 20 of the 43 are already approved by hand: the rebalance adds only the rest.
        by_hand = stage_order(
            ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=Decimal(20)
        ).result
        approve_orders(ctx, [by_hand.order_id])
        done = stage_rebalance(ctx, "V_CORE").result
        assert [(o.side, o.qty, o.symbol) for o in done.orders] == [(Side.BUY, 23, "AAPL")]
        assert "net of 20 buy already open" in done.orders[0].reason_vector[0]
        again = stage_rebalance(ctx, "V_CORE").result
        assert again.orders == []
        assert any("already approved: buy 20 AAPL" in note for note in again.plan.skipped)
    finally:
        ctx.close()


def test_rebalance_never_trades_over_an_open_order_the_other_way(state_dir: Path) -> None:
    without_demo_aapl(state_dir)
    ctx = ctx_for(state_dir)
    try:
        sell = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=Decimal(5))
        done = stage_rebalance(ctx, "V_CORE").result
        assert done.orders == []
        assert any(
            f"already staged: sell 5 AAPL (order {sell.result.order_id}) goes against the buy"
            in note
            for note in done.plan.skipped
        )
    finally:
        ctx.close()


def test_two_rebalances_at_once_stage_one(state_dir: Path) -> None:
    without_demo_aapl(state_dir)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ctx = ActionContext.open(state_dir, "dana")
            try:
                stage_rebalance(ctx, "V_CORE")
            finally:
                ctx.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(open_rebalance_orders(state_dir, "V_CORE", "AAPL")) == 1
    with Journal(state_dir) as journal:
        assert verify(journal).ok


async def test_rebalance_key_pressed_twice_stages_once(state_dir: Path) -> None:
    without_demo_aapl(state_dir)
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(open_rebalance_orders(state_dir, "V_CORE", "AAPL")) == 1)
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        await wait_for(
            pilot, lambda: any("already staged" in n.message for n in app._notifications)
        )
        assert not isinstance(app.screen, ConfirmScreen)
    [staged] = open_rebalance_orders(state_dir, "V_CORE", "AAPL")
    note = next(n.message for n in app._notifications if "already staged" in n.message)
    assert f"already staged: buy 43 AAPL (order {staged})" in note


# ---------------------------------------------------------------- duplicates


def test_identical_order_needs_allow_duplicate(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    order = ["orders", "stage", "V_CORE", "JNJ", "buy", "5", "--limit", "150"]
    assert main([*order, *args]) == 0
    first = capsys.readouterr().out.split()[1].rstrip(":")
    assert main([*order, *args]) == 65
    refusal = capsys.readouterr().out
    assert f"an identical order is open: staged: buy 5 JNJ (order {first})" in refusal
    assert "--allow-duplicate" in refusal
    # Anything that differs is not a duplicate; on purpose, the twin goes in.
    assert main(["orders", "stage", "V_CORE", "JNJ", "buy", "6", "--limit", "150", *args]) == 0
    assert main([*order, "--allow-duplicate", *args]) == 0
    capsys.readouterr()
    queue = load_model(state_dir, QueueFile)
    assert len([o for o in queue.orders if o.symbol == "JNJ" and o.qty == 5]) == 2


def test_duplicate_window_and_finished_orders(state_dir: Path) -> None:
    from datetime import timedelta

    ctx = ActionContext.open(state_dir, "dana", clock=fixed_clock(NOW))
    try:
        first = stage_order(ctx, vault_id="V_CORE", symbol="JNJ", side=Side.BUY, qty=Decimal(5))
        with pytest.raises(DuplicateOrder) as caught:
            stage_order(ctx, vault_id="V_CORE", symbol="JNJ", side=Side.BUY, qty=Decimal(5))
        assert caught.value.existing.order_id == first.result.order_id
        reject_orders(ctx, [first.result.order_id])  # no longer open: not a twin
        stage_order(ctx, vault_id="V_CORE", symbol="JNJ", side=Side.BUY, qty=Decimal(5))
    finally:
        ctx.close()
    later = ActionContext.open(state_dir, "dana", clock=fixed_clock(NOW + timedelta(minutes=11)))
    try:  # outside the window, an identical order is a new decision
        stage_order(later, vault_id="V_CORE", symbol="JNJ", side=Side.BUY, qty=Decimal(5))
    finally:
        later.close()


async def test_desk_ticket_twin_asks_stage_it_again(state_dir: Path) -> None:
    ctx = ctx_for(state_dir)
    try:
        first = stage_order(ctx, vault_id="V_CORE", symbol="JNJ", side=Side.BUY, qty=Decimal(5))
    finally:
        ctx.close()
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        values = {"vault": "V_CORE", "symbol": "JNJ", "side": "buy", "qty": "5"}
        for key, value in values.items():
            app.screen.query_one(f"#field-{key}", Input).value = value
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert screen.title_text == "Stage it again?"
        assert any(
            f"staged: buy 5 JNJ (order {first.result.order_id})" in li for li in screen.lines
        )
        await pilot.press("y")
        await settle(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                len([o for o in load_model(state_dir, QueueFile).orders if o.symbol == "JNJ"]) == 2
            ),
        )


# ---------------------------------------------------------------- approval checks


def test_approval_refuses_a_sell_beyond_the_holding(state_dir: Path) -> None:
    ctx = ctx_for(state_dir)
    try:
        # V_CORE holds 60 AAPL.
        too_many = stage_order(
            ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=Decimal(61)
        ).result
        with pytest.raises(ActionRefused) as caught:
            approve_orders(ctx, [too_many.order_id])
        assert "sell of 61 AAPL exceeds the holding: 60 held, 60 left to sell" in str(caught.value)
        forty = stage_order(
            ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=Decimal(40)
        ).result
        approve_orders(ctx, [forty.order_id])
        thirty = stage_order(
            ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=Decimal(30)
        ).result
        with pytest.raises(ActionRefused) as caught:
            approve_orders(ctx, [thirty.order_id])
        message = str(caught.value)
        assert "sell of 30 AAPL exceeds the holding: 60 held" in message
        assert f"40 is already taken by 1 open sell(s) ({forty.order_id}), 20 left" in message
        # Two sells in one batch that together pass the holding: the second is refused and
        # nothing is approved.
        ten = stage_order(ctx, vault_id="V_CORE", symbol="MSFT", side=Side.SELL, qty=Decimal(25))
        more = stage_order(ctx, vault_id="V_CORE", symbol="MSFT", side=Side.SELL, qty=Decimal(20))
        with pytest.raises(ActionRefused, match="sell of 20 MSFT exceeds the holding: 40 held"):
            approve_orders(ctx, [ten.result.order_id, more.result.order_id])
    finally:
        ctx.close()
    queue = load_model(state_dir, QueueFile)
    assert queue.get(too_many.order_id).status is OrderStatus.STAGED  # type: ignore[union-attr]
    assert queue.get(ten.result.order_id).status is OrderStatus.STAGED  # type: ignore[union-attr]


def test_approval_refuses_an_unknown_symbol(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "stage", "V_CORE", "SELMSFT", "sell", "5", *args]) == 0
    typo = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["orders", "approve", typo, *args]) == 65
    out = capsys.readouterr().out
    assert f"order {typo} not approved: no price and no position for SELMSFT" in out
    queue = load_model(state_dir, QueueFile)
    assert queue.get(typo).status is OrderStatus.STAGED  # type: ignore[union-attr]


# ---------------------------------------------------------------- approve count


def test_cli_approval_counts_copies_and_skips(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    sol = open_id(state_dir, "V_CRYPTO", "SOL/USD")
    assert main(["orders", "approve", sol, *args]) == 0
    out = capsys.readouterr().out
    assert (
        "approved 1 order (2 skipped: F_2001: holds no SOL/USD to sell; F_2002: kill switch is on)"
        in out
    )


async def test_desk_approval_confirmation_and_toast_agree(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        for vault, symbol, expected in [
            ("V_CORE", "AAPL", "1 order (2 follower copies)"),
            (
                "V_CRYPTO",
                "SOL/USD",
                "1 order (2 skipped: F_2001: holds no SOL/USD to sell; F_2002: kill switch is on)",
            ),
        ]:
            await pilot.press("3")
            app.query_one("#queue", KeyedTable).move_to(open_id(state_dir, vault, symbol))
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            screen = app.screen
            assert isinstance(screen, ConfirmScreen)
            assert screen.title_text == f"Approve {expected}?"
            await pilot.press("y")
            await settle(pilot, app)

            def toasted(text: str = f"approved {expected}") -> bool:
                return any(n.message == text for n in app._notifications)

            await wait_for(pilot, toasted)


def test_summary_words() -> None:
    assert ApprovalSummary(2, 1, 0, (), ()).text() == "2 orders (1 follower copy)"
    assert ApprovalSummary(1, 0, 0, (), ("vault V_INCOME is under maintenance",)).text() == (
        "1 order (held: vault V_INCOME is under maintenance)"
    )


# ---------------------------------------------------------------- review findings


def _give(state_dir: Path, account: str, symbol: str, qty: str, last: str) -> None:
    from vanta_tui.core.enums import AssetClass
    from vanta_tui.core.models import PortfolioFile, Position
    from vanta_tui.store import update

    def change(portfolio: PortfolioFile) -> None:
        portfolio.accounts[account].positions[symbol] = Position(
            qty=Decimal(qty), avg_price=Decimal(last), last_price=Decimal(last),
            asset_class=AssetClass.EQUITY,
        )  # fmt: skip

    update(state_dir, PortfolioFile, change)


def test_follower_children_never_sell_more_than_the_follower_holds(state_dir: Path) -> None:
    _give(state_dir, "F_1042", "MSFT", "3", "415.50")
    ctx = ctx_for(state_dir)
    try:
        first = stage_order(ctx, vault_id="V_CORE", symbol="MSFT", side=Side.SELL, qty=Decimal(20))
        second = stage_order(
            ctx, vault_id="V_CORE", symbol="MSFT", side=Side.SELL, qty=Decimal(20),
            allow_duplicate=True,
        )  # fmt: skip
        approve_orders(ctx, [first.result.order_id])
        result = approve_orders(ctx, [second.result.order_id])
        skipped = [e for e in result.events if e.action == "mirror.skipped"]
        assert any(
            e.follower_id == "F_1042" and "all taken by open sells" in e.payload["reason"]
            for e in skipped
        )
    finally:
        ctx.close()
    children = [
        o
        for o in load_model(state_dir, QueueFile).orders
        if o.follower_id == "F_1042" and o.symbol == "MSFT" and o.side is Side.SELL
    ]
    assert sum(o.qty for o in children) == 3


def test_a_retried_follower_child_can_be_approved(state_dir: Path) -> None:
    from vanta_tui.store import update

    def fail_child(queue: QueueFile) -> None:
        child = next(o for o in queue.orders if o.follower_id == "F_1042")
        child.status = OrderStatus.FAILED
        child.last_error = "temporary: broker timed out (retries spent)"

    update(state_dir, QueueFile, fail_child)
    from vanta_tui.actions.orders import retry_failed

    ctx = ctx_for(state_dir)
    try:
        failed = next(
            o for o in load_model(state_dir, QueueFile).orders if o.follower_id == "F_1042"
        )
        again = retry_failed(ctx, failed.order_id).result
        assert again.follower_id == "F_1042" and again.parent_id == failed.parent_id
        result = approve_orders(ctx, [again.order_id])
        assert [o.order_id for o in result.result] == [again.order_id]
        assert ApprovalSummary.of(result.events).copies == 0  # a child is not mirrored again
    finally:
        ctx.close()


def test_a_dismissed_dead_letter_is_not_retried(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = next(o for o in load_model(state_dir, QueueFile).orders if o.status == "failed")
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "dismiss", failed.order_id, *args]) == 0
    assert main(["orders", "retry", failed.order_id, *args]) == 65
    assert "was dismissed by dana" in capsys.readouterr().out
    assert not any(o.origin == "retry" for o in load_model(state_dir, QueueFile).orders)
