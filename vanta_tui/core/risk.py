"""Risk checks on approve and before send: maintenance holds, trips, the position cap, cash.

`hold_reason` is the one answer to "why is this approved order not sent?": the executor
holds by it, and the queue, the order detail, the status view and `status --json` show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from vanta_tui.core.enums import OrderStatus, OrderType, Side
from vanta_tui.core.models import (
    Account,
    FollowersFile,
    Order,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    Vault,
    VaultFile,
)
from vanta_tui.core.positions import is_tripped, under_maintenance

ZERO = Decimal(0)


@dataclass(frozen=True)
class RiskVerdict:
    allowed: bool
    held: bool = False
    """Allowed, but waits: the vault (or the desk) is under maintenance."""
    reason: str = ""
    code: str = ""
    """What kind of refusal or hold: tripped, no_price, max_pos, cap, cash, quantity,
    maintenance (empty when allowed)."""
    short: str = ""
    """The reason in a few words, for a table column."""


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
            code="tripped",
            short=f"tripped {dd * 100:.1f}%≥{vault.risk.max_drawdown * 100:.0f}%",
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
                code="no_price",
                short=f"no price {order.symbol}",
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
                    code="max_pos",
                    short=f"cap {order.symbol} {after:,.0f}>{max_pos_usd:,.0f}",
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
                code="cap",
                short=f"cap {order.symbol} {share:.1f}%>{cap * 100:.0f}%",
                reason=(
                    f"{order.symbol} would be {share:.2f}% of equity ({after:,.2f} of "
                    f"{equity:,.2f}), above the {cap * 100:.0f}% cap"
                ),
            )
        if for_send and account is not None and order.qty * price > account.cash:
            return RiskVerdict(
                False,
                code="cash",
                short=f"cash {order.qty * price:,.0f}>{account.cash:,.0f}",
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
                False,
                code="quantity",
                short=f"holds {held} {order.symbol}",
                reason=f"sell of {order.qty} {order.symbol} exceeds the {held} held",
            )
    if under_maintenance(overlays, vault.vault_id):
        return RiskVerdict(
            True,
            held=True,
            code="maintenance",
            short="maintenance",
            reason=f"vault {vault.vault_id} is under maintenance",
        )
    return RiskVerdict(True)


@dataclass(frozen=True)
class HoldReason:
    """Why an approved order is not sent now."""

    code: str
    """maintenance, tripped, cap, max_pos, cash, quantity, no_price, follower_gone,
    unknown_vault."""
    text: str
    """The whole reason, with whose, since when and the numbers."""
    short: str
    """A few words for the queue's Why column."""


def maintenance_hold(overlays: OverlayFile | None, vault_id: str) -> HoldReason | None:
    """The maintenance (global first, else the vault's) that holds ``vault_id``'s orders:
    whose, since when and why; None when there is none."""
    if overlays is None or not under_maintenance(overlays, vault_id):
        return None
    glob = overlays.global_.maintenance
    maint = glob if glob.enabled else overlays.for_vault(vault_id).maintenance
    where = "global maintenance" if glob.enabled else "maintenance"
    who = maint.by or "unknown"
    since = f" since {maint.since:%Y-%m-%d %H:%M}Z" if maint.since else ""
    why = f" — {maint.reason}" if maint.reason else ""
    return HoldReason("maintenance", f"{where}: {who}{since}{why}", f"{where} ({who})")


def hold_reason(
    order: Order,
    vaults: VaultFile | None,
    overlays: OverlayFile | None,
    pnl: PnlFile | None,
    portfolio: PortfolioFile | None,
    followers: FollowersFile | None,
) -> HoldReason | None:
    """Why the approved ``order`` is held (not sent now), or None when it may be sent (or is
    not approved). The executor's checks before a send, in the order an operator would
    look: maintenance (global or the vault's), a gone follower, then the risk checks (trip,
    price, cap, cash, quantity) with the numbers."""
    if order.status is not OrderStatus.APPROVED:
        return None
    vault = vaults.get(order.vault_id) if vaults is not None else None
    if vault is None:
        return HoldReason(
            "unknown_vault", f"vault {order.vault_id} is not in vault.json", "unknown vault"
        )
    paused = maintenance_hold(overlays, order.vault_id)
    if paused is not None:
        return paused
    follower = None
    if order.follower_id is not None:
        follower = followers.get(order.follower_id) if followers is not None else None
        if follower is None:
            where = "not in followers.json" if followers is not None else "followers.json unread"
            return HoldReason(
                "follower_gone",
                f"follower {order.follower_id} gone ({where})",
                f"{order.follower_id} gone",
            )
    accounts = portfolio.accounts if portfolio is not None else {}
    verdict = check_order(
        order,
        vault,
        overlays,
        pnl,
        accounts.get(order.follower_id or order.vault_id),
        for_send=True,
        price_hint=order_price(order, accounts.get(order.vault_id)) if follower else None,
        max_pos_usd=follower.max_pos_usd if follower else None,
    )
    if verdict.allowed and not verdict.held:
        return None
    return HoldReason(verdict.code, verdict.reason, verdict.short)
