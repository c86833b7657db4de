"""The bundled demo's numbers agree with each other."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import (
    AllocationFile,
    FollowersFile,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    VaultFile,
)
from vanta_tui.store import load_all, load_model


def test_demo_loads_cleanly(state_dir: Path) -> None:
    assert load_all(state_dir).ok


def test_equity_nav_and_drawdown_agree(state_dir: Path) -> None:
    vaults = load_model(state_dir, VaultFile)
    portfolio = load_model(state_dir, PortfolioFile)
    pnl = load_model(state_dir, PnlFile)
    assert len(vaults.vaults) == 3
    near_trip = 0
    for vault in vaults.vaults:
        account = portfolio.accounts[vault.vault_id]
        equity = account.cash + sum(p.qty * p.last_price for p in account.positions.values())
        vp = pnl.vaults[vault.vault_id]
        assert vp.nav == equity
        assert vp.nav_history[-1][1] == vp.nav
        assert len(vp.nav_history) == 60
        assert vp.high_water_mark == max(v for _, v in vp.nav_history)
        assert vp.drawdown == ((vp.high_water_mark - vp.nav) / vp.high_water_mark).quantize(
            Decimal("0.0001")
        )
        unrealized = sum(p.qty * (p.last_price - p.avg_price) for p in account.positions.values())
        assert vp.unrealized == unrealized
        assert vp.drawdown < vault.risk.max_drawdown
        if vault.risk.max_drawdown - vp.drawdown < Decimal("0.03"):
            near_trip += 1
    assert near_trip == 1


def test_exactly_one_vault_has_drifted(state_dir: Path) -> None:
    vaults = load_model(state_dir, VaultFile)
    portfolio = load_model(state_dir, PortfolioFile)
    allocation = load_model(state_dir, AllocationFile)
    tolerance = vaults.defaults.drift_tolerance
    drifted = set()
    for vault in vaults.vaults:
        account = portfolio.accounts[vault.vault_id]
        targets = allocation.vaults[vault.vault_id].targets
        for symbol in set(targets) | set(account.positions):
            position = account.positions.get(symbol)
            actual = position.value / account.equity if position else Decimal(0)
            if abs(actual - targets.get(symbol, Decimal(0))) > tolerance:
                drifted.add(vault.vault_id)
    assert drifted == {"V_CORE"}


def test_queue_covers_every_state_and_followers_are_five(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    assert {o.status for o in queue.orders} == set(OrderStatus)
    assert 10 <= len(queue.orders) <= 16
    assert any(o.parent_id for o in queue.orders)
    followers = load_model(state_dir, FollowersFile)
    assert len(followers.followers) == 5
    overlay = load_model(state_dir, OverlayFile)
    assert set(overlay.vaults) == {"V_CORE", "V_CRYPTO", "V_INCOME"}


def test_fees_accrued_agree_with_the_fee_terms_and_the_ledger(state_dir: Path) -> None:
    """Each account's fees accrued are one closed period (October 2026) under its terms, and
    the first close's opening balances in the fee ledger say exactly that."""
    from datetime import UTC, datetime

    from vanta_tui.actions.context import ActionContext
    from vanta_tui.actions.fees import close_fee_cycle, ledger
    from vanta_tui.core.fees import close_cycle, fee_accounts

    vaults = load_model(state_dir, VaultFile).vaults
    followers = load_model(state_dir, FollowersFile).followers
    pnl = load_model(state_dir, PnlFile)
    accounts = fee_accounts(vaults, followers, pnl)
    for account in accounts:
        # Vaults: one period on their realized PnL; followers (opened in November): none.
        realized = account.pnl.realized if account.follower_id is None else Decimal(0)
        fee = close_cycle(account.terms, Decimal(0), realized, Decimal(0)).fee_due
        expected = fee if account.follower_id is None else Decimal(0)
        assert account.pnl.fees_accrued == expected, account.name
        assert account.pnl.fees_through == datetime(2026, 11, 1, tzinfo=UTC), account.name
    ctx = ActionContext.open(state_dir, "dana", clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    close_fee_cycle(ctx, dry_run=False)
    opening = {
        (e.follower_id or e.vault_id): e.fee_due
        for e in ledger(ctx.journal)
        if e.entry == "opening_balance"
    }
    assert opening == {a.name: a.pnl.fees_accrued for a in accounts}
    ctx.close()
