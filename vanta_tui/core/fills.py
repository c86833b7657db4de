"""A fill applied to the truth: the account's cash and position, and the vault's PnL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from vanta_tui.core.enums import AssetClass, Side
from vanta_tui.core.models import Account, Position, VaultPnl

PLACES = Decimal("0.00000001")
CENTS = Decimal("0.01")


def apply_fill(
    account: Account,
    symbol: str,
    asset_class: AssetClass,
    side: Side,
    qty: Decimal,
    price: Decimal,
) -> Decimal:
    """Move cash and the position for one fill; returns the realized PnL of a reduction."""
    position = account.positions.get(symbol)
    if position is None:
        position = Position(
            qty=Decimal(0), avg_price=Decimal(0), last_price=price, asset_class=asset_class
        )
        account.positions[symbol] = position
    realized = Decimal(0)
    if side is Side.BUY:
        total = position.qty + qty
        position.avg_price = ((position.qty * position.avg_price + qty * price) / total).quantize(
            PLACES
        )
        position.qty = total
        account.cash = (account.cash - qty * price).quantize(CENTS)
    else:
        sold = min(qty, position.qty)
        realized = (sold * (price - position.avg_price)).quantize(CENTS)
        position.qty -= sold
        account.cash = (account.cash + qty * price).quantize(CENTS)
    return realized


def nav_of(account: Account) -> Decimal:
    """The account's NAV: its equity (cash + Σ qty × last price) to the cent. The vaults
    pane's equity, the PnL's NAV and the NAV history's last point are all this number."""
    return account.equity.quantize(CENTS)


def mark_pnl(pnl: VaultPnl, account: Account, realized: Decimal, at: datetime) -> None:
    """NAV = equity; unrealized from the positions; high-water mark and drawdown follow; the
    NAV history's point of ``at``'s day (its last) becomes this NAV, so the chart ends where
    the figures are (one point per UTC day: the day's latest mark)."""
    pnl.realized += realized
    pnl.nav = nav_of(account)
    history = pnl.nav_history
    if history and history[-1][0].date() == at.date():
        history[-1] = (max(history[-1][0], at), pnl.nav)
    elif not history or history[-1][0] < at:
        history.append((at, pnl.nav))
    else:  # a clock behind the history's last day: that point still shows the NAV
        history[-1] = (history[-1][0], pnl.nav)
    pnl.unrealized = sum(
        (p.qty * (p.last_price - p.avg_price) for p in account.positions.values()), Decimal(0)
    ).quantize(CENTS)
    pnl.high_water_mark = max(pnl.high_water_mark, pnl.nav)
    if pnl.high_water_mark > 0:
        pnl.drawdown = ((pnl.high_water_mark - pnl.nav) / pnl.high_water_mark).quantize(
            Decimal("0.0001")
        )
