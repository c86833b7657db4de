"""End to end: a vault order approved with three followers (proportional, capped, shadow) →
children at the paper broker for the first two only → fills → fee cycle closed → the ledger,
the files and the desk's panes agree; audit verify and replay pass."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ui_helpers import loaded, make_app, wait_for

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.fees import close_fee_cycle, ledger
from vanta_tui.actions.followers import add_follower
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.paper import book_path, read_book
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.fees import terms_for
from vanta_tui.core.models import FollowersFile, PnlFile, PortfolioFile, QueueFile, VaultFile
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify
from vanta_tui.ui.format import money
from vanta_tui.ui.panes.pnl import PnlPane
from vanta_tui.ui.screens.followers import FollowersScreen
from vanta_tui.ui.screens.modals import ConfirmScreen
from vanta_tui.ui.table import KeyedTable

D = Decimal


def run_executor(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "executor")
    Executor(ctx, paper_brokers(state_dir), price_every_s=None).run_once()
    ctx.close()


async def test_mirrored_order_to_fees_end_to_end(state_dir: Path) -> None:
    def room(vaults: VaultFile) -> None:
        core = vaults.get("V_CORE")
        assert core is not None
        core.risk.max_single_pos_pct = D("0.5")

    update(state_dir, VaultFile, room)
    ctx = ActionContext.open(state_dir, "dana")
    add_follower(
        ctx,
        {
            "follower_id": "F_5000", "vault_id": "V_CORE", "mode": "shadow", "scale": 0.5,
            "max_pos_usd": 50000, "equity": 20000,
            "brokers": {"equity": {"adapter": "paper", "account_ref": "paper_f_5000"}},
        },
    )  # fmt: skip

    # 1. A vault buy, approved: children for F_1042 (proportional) and F_1043 (capped).
    buy = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=D(20)).result
    approved = approve_orders(ctx, [buy.order_id])
    shadow = [e for e in approved.events if e.action == "mirror.shadow"]
    assert [e.follower_id for e in shadow] == ["F_5000"]
    assert shadow[0].payload["child"]["qty"] == D(10)
    run_executor(state_dir)
    queue = load_model(state_dir, QueueFile)
    kids = {o.follower_id: o for o in queue.orders if o.parent_id == buy.order_id}
    assert {f: (o.qty, o.status) for f, o in kids.items()} == {
        "F_1042": (D(5), OrderStatus.FILLED),
        "F_1043": (D(2), OrderStatus.FILLED),
    }
    book = read_book(book_path(state_dir))
    at_broker = {ref: set(account["orders"]) for ref, account in book.items()}
    assert kids["F_1042"].client_order_id in at_broker["paper_f_1042:F_1042"]
    assert kids["F_1043"].client_order_id in at_broker["paper_f_1043:F_1043"]
    assert not any("F_5000" in ref for ref in at_broker)  # the shadow child never went
    portfolio = load_model(state_dir, PortfolioFile)
    assert portfolio.accounts["F_1042"].positions["AAPL"].qty == D(5)
    assert "F_5000" not in {o.follower_id for o in queue.orders}

    # 2. The price rises; the vault sells; the children sell with it: realized profit.
    def rise(portfolio: PortfolioFile) -> None:
        portfolio.accounts["V_CORE"].positions["AAPL"].last_price = D(200)

    update(state_dir, PortfolioFile, rise)
    sell = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=D(20)).result
    approve_orders(ctx, [sell.order_id])
    run_executor(state_dir)
    pnl = load_model(state_dir, PnlFile)
    assert pnl.vaults["F_1042"].realized == D("49.50")  # 5 × (200 − 190.10)
    assert pnl.vaults["F_1043"].realized == D("19.80")

    # 3. Close the fee cycle: ledger, pnl_summary.json and the panes agree.
    before = {fid: pnl.vaults[fid].fees_accrued for fid in ("V_CORE", "F_1042", "F_1043")}
    close_fee_cycle(ctx, "V_CORE")
    entries = {e.follower_id or e.vault_id: e for e in ledger(ctx.journal, vault_id="V_CORE")}
    assert set(entries) == {"V_CORE", "F_1042", "F_1043"}  # the shadow follower pays nothing
    vault = load_model(state_dir, VaultFile).get("V_CORE")
    followers = load_model(state_dir, FollowersFile)
    assert vault is not None
    f1043 = followers.get("F_1043")
    assert f1043 is not None
    assert terms_for(vault.mirroring.fee, f1043.fee_model).flat_usd == D(100)
    assert entries["F_1043"].fee_due == D("100.00")  # max(20 % of 19.80, 100 flat)
    after = load_model(state_dir, PnlFile)
    for who, entry in entries.items():
        assert after.vaults[who].fees_accrued == before[who] + entry.fee_due, who
    assert verify(ctx.journal).ok
    result = replay(ctx.journal)
    assert result.ok, (result.problems, result.differences)
    ctx.close()

    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        figures = app.query_one(PnlPane).figures_text
        for fid in ("F_1042", "F_1043"):
            assert (
                f"{fid} " in figures and f"fees {money(after.vaults[fid].fees_accrued)}" in figures
            )
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, FollowersScreen))
        table = app.screen.query_one("#followers-table", KeyedTable)
        rows = {k: [c.plain for c in table.get_row(k)] for k in table.row_keys()}
        for fid in ("F_1042", "F_1043"):
            assert rows[fid][10] == money(entries[fid].fee_due + before[fid])
            assert rows[fid][9] == money(after.vaults[fid].realized)
        assert rows["F_1042"][7].startswith("sell 5 AAPL")
        # k switches F_1042's kill switch, after a confirmation; the view follows the file.
        table.move_to("F_1042")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, FollowersScreen))
        app.load_state(None)
        await wait_for(
            pilot,
            lambda: [c.plain for c in table.get_row("F_1042")][6] == "ON",
        )
    registry = load_model(state_dir, FollowersFile).get("F_1042")
    assert registry is not None and registry.kill_switch


async def test_a_load_before_the_followers_screen_mounts_is_shown_when_it_does(
    state_dir: Path,
) -> None:
    """The desk hands every new load to an open followers screen; one can arrive between
    the screen being pushed and its table existing (it used to raise NoMatches)."""
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        screen = FollowersScreen(app.snapshot, lambda follower_id: None, read_only=False)
        screen.show(app.snapshot)  # not mounted yet
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.is_mounted)
        table = screen.query_one("#followers-table", KeyedTable)
        assert table.has_row("F_1042") and table.has_row("F_1043")
