"""Market prices from the brokers applied to the truth: positions' last prices, NAV and PnL.

One audited action per account and refresh; nothing is written when no price moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from vanta_tui.actions.context import ActionContext
from vanta_tui.core.fills import mark_pnl
from vanta_tui.core.models import PnlFile, PortfolioFile, StateFileModel
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.journal import ActResult, EventDraft, Plan


def remark(
    portfolio: PortfolioFile, pnl: PnlFile, account_id: str, at: datetime
) -> dict[StateKind, StateFileModel]:
    """The files a change to ``account_id``'s holdings in ``portfolio`` changes: the
    portfolio, and the PnL when the account is a vault's (its NAV, unrealized, high-water
    mark and drawdown re-marked at ``at``, nothing realized). The one rule for every action
    that moves holdings or prices outside a fill (marking prices, adopting a broker's view)."""
    changed: dict[StateKind, StateFileModel] = {StateKind.PORTFOLIO: portfolio}
    account = portfolio.accounts.get(account_id)
    vault_pnl = pnl.vaults.get(account_id)
    if account is not None and vault_pnl is not None:
        mark_pnl(vault_pnl, account, Decimal(0), at)
        changed[StateKind.PNL] = pnl
    return changed


def mark_prices(
    ctx: ActionContext, account_id: str, prices: Mapping[str, Decimal], source: str
) -> ActResult:
    """Set the last price of ``account_id``'s positions from ``prices`` (symbol → price) and
    re-mark its PnL (NAV, unrealized, high-water mark, drawdown) when it is a vault."""

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        portfolio, pnl = models[StateKind.PORTFOLIO], models[StateKind.PNL]
        assert isinstance(portfolio, PortfolioFile) and isinstance(pnl, PnlFile)
        account = portfolio.accounts.get(account_id)
        if account is None:
            return Plan({}, [])
        moved: dict[str, dict[str, Decimal]] = {}
        for symbol, position in account.positions.items():
            price = prices.get(symbol)
            if price is None or price <= 0 or price == position.last_price:
                continue
            moved[symbol] = {"before": position.last_price, "after": price}
            position.last_price = price
        if not moved:
            return Plan({}, [])
        changed = remark(portfolio, pnl, account_id, ctx.clock())
        event = EventDraft(
            "prices.marked",
            vault_id=account_id if StateKind.PNL in changed else None,
            payload={"account": account_id, "source": source, "prices": moved},
        )
        return Plan(changed, [event], sorted(moved))

    return ctx.journal.act(ctx.actor, [StateKind.PORTFOLIO, StateKind.PNL], plan)
