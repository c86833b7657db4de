"""Risk checks on approve and before send: maintenance holds, trips, the position cap, cash."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from vanta_tui.core.enums import OrderType, Side
from vanta_tui.core.models import Account, Order, OverlayFile, PnlFile, Vault
from vanta_tui.core.positions import is_tripped, under_maintenance

ZERO = Decimal(0)


@dataclass(frozen=True)
class RiskVerdict:
    allowed: bool
    held: bool = False
    """Allowed, but waits: the vault (or the desk) is under maintenance."""
    reason: str = ""


def order_price(order: Order, account: Account | None) -> Decimal | None:
    """The price to judge an order by: its limit, else the position's last price."""
    if order.order_type is OrderType.LIMIT and order.limit_price is not None:
        return order.limit_price
    if account is not None and order.symbol in account.positions:
        return account.positions[order.symbol].last_price
    return None


def reduces_exposure(order: Order, account: Account | None) -> bool:
    held = (
        account.positions[order.symbol].qty
        if account and order.symbol in account.positions
        else ZERO
    )
    return order.side is Side.SELL and order.qty <= held


def check_order(
    order: Order,
    vault: Vault,
    overlays: OverlayFile | None,
    pnl: PnlFile | None,
    account: Account | None,
    *,
    for_send: bool = False,
    price_hint: Decimal | None = None,
    max_pos_usd: Decimal | None = None,
) -> RiskVerdict:
    """Whether ``order`` may be approved (or, with ``for_send``, sent now), and why not.

    A follower's child order passes ``max_pos_usd`` (the follower's cap, in place of the
    vault's share of equity) and ``price_hint`` (the vault's price of the symbol, for a
    follower who does not hold it yet)."""
    overlay = overlays.for_vault(vault.vault_id) if overlays is not None else None
    vault_pnl = pnl.vaults.get(vault.vault_id) if pnl is not None else None
    if (
        overlay is not None
        and is_tripped(vault, overlay, vault_pnl)
        and not reduces_exposure(order, account)
    ):
        dd = vault_pnl.drawdown if vault_pnl else ZERO
        return RiskVerdict(
            False,
            reason=(
                f"vault {vault.vault_id} is tripped (drawdown {dd * 100:.2f}% ≥ max "
                f"{vault.risk.max_drawdown * 100:.0f}%): only orders that reduce exposure may "
                "pass until an operator clears the trip"
            ),
        )
    price = order_price(order, account) or price_hint
    if order.side is Side.BUY:
        if price is None:
            return RiskVerdict(
                False,
                reason=(
                    f"no price for {order.symbol}: not held in portfolio.json; use a limit "
                    "order so the position cap can be checked"
                ),
            )
        equity = account.equity if account is not None else ZERO
        held = (
            account.positions[order.symbol].qty
            if account and order.symbol in account.positions
            else ZERO
        )
        after = (held + order.qty) * price
        if max_pos_usd is not None:
            if after > max_pos_usd:
                return RiskVerdict(
                    False,
                    reason=(
                        f"{order.symbol} would be {after:,.2f} USD, above the follower's "
                        f"max_pos_usd {max_pos_usd:,.2f}"
                    ),
                )
            cap = None
        else:
            cap = vault.risk.max_single_pos_pct
        if cap is not None and (equity <= 0 or after > cap * equity):
            share = after / equity * 100 if equity > 0 else Decimal(100)
            return RiskVerdict(
                False,
                reason=(
                    f"{order.symbol} would be {share:.2f}% of equity ({after:,.2f} of "
                    f"{equity:,.2f}), above the {cap * 100:.0f}% cap"
                ),
            )
        if for_send and account is not None and order.qty * price > account.cash:
            return RiskVerdict(
                False,
                reason=(
                    f"not enough cash: {order.qty * price:,.2f} needed, "
                    f"{account.cash:,.2f} available"
                ),
            )
    elif for_send:
        held = (
            account.positions[order.symbol].qty
            if account and order.symbol in account.positions
            else ZERO
        )
        if order.qty > held:
            return RiskVerdict(
                False, reason=f"sell of {order.qty} {order.symbol} exceeds the {held} held"
            )
    if under_maintenance(overlays, vault.vault_id):
        return RiskVerdict(True, held=True, reason=f"vault {vault.vault_id} is under maintenance")
    return RiskVerdict(True)
