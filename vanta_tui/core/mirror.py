"""Mirroring: a vault order expanded into one child order per eligible follower.

Exactly as the contract says: proportional = floor(parent qty × scale) (crypto to 8
decimals, equities to whole units), then the follower's ``max_pos_usd``: a buy that would
take the follower's position above it is skipped (proportional) or clipped to it (capped);
shadow followers get a computed child that is audited and never sent; a kill switch, or
equity below the vault's ``min_account_equity``, gives no child. A sell never exceeds what
the follower holds. Every follower is sized from the same snapshot of the parent (its
quantity, side and price when it was approved), so every follower sees the same intent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from vanta_tui.core.enums import AssetClass, MirrorMode, Side
from vanta_tui.core.models import Account, Follower, Order, Vault

CRYPTO_STEP = Decimal("0.00000001")
EQUITY_STEP = Decimal(1)


@dataclass(frozen=True)
class ParentSnapshot:
    """The parent as every follower sizes from it."""

    order_id: str
    vault_id: str
    symbol: str
    asset_class: AssetClass
    side: Side
    qty: Decimal
    price: Decimal | None
    """The parent's limit price, else the vault's last price of the symbol."""
    vault_nav: Decimal | None

    def as_payload(self) -> dict[str, object]:
        return {
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": self.qty,
            "price": self.price,
            "vault_nav": self.vault_nav,
        }


def snapshot(
    parent: Order, vault_account: Account | None, vault_nav: Decimal | None
) -> ParentSnapshot:
    price = parent.limit_price
    if price is None and vault_account is not None and parent.symbol in vault_account.positions:
        price = vault_account.positions[parent.symbol].last_price
    return ParentSnapshot(
        order_id=parent.order_id,
        vault_id=parent.vault_id,
        symbol=parent.symbol,
        asset_class=parent.asset_class,
        side=parent.side,
        qty=parent.qty,
        price=price,
        vault_nav=vault_nav,
    )


@dataclass(frozen=True)
class ChildSize:
    """What one follower gets: a quantity (``qty`` None: no child, ``reason`` says why)."""

    follower_id: str
    qty: Decimal | None
    reason: str
    shadow: bool = False
    clipped: bool = False


def _floor(value: Decimal, asset: AssetClass) -> Decimal:
    step = CRYPTO_STEP if asset is AssetClass.CRYPTO else EQUITY_STEP
    return (value / step).to_integral_value(ROUND_DOWN) * step


def size_child(
    parent: ParentSnapshot, follower: Follower, vault: Vault, follower_account: Account | None
) -> ChildSize:
    """The child order of ``follower`` for ``parent`` (see the module's rules)."""
    fid = follower.follower_id
    if follower.kill_switch:
        return ChildSize(fid, None, "kill switch is on")
    minimum = vault.mirroring.min_account_equity
    if follower.equity < minimum:
        return ChildSize(fid, None, f"equity {follower.equity} is below the minimum {minimum}")
    shadow = follower.mode is MirrorMode.SHADOW
    if not shadow and parent.asset_class not in follower.brokers:
        return ChildSize(
            fid, None, f"no {parent.asset_class.value} broker in the follower's packet"
        )
    qty = _floor(parent.qty * follower.scale, parent.asset_class)
    if qty <= 0:
        return ChildSize(fid, None, f"{parent.qty} × {follower.scale} rounds to nothing")
    position = follower_account.positions.get(parent.symbol) if follower_account else None
    held = position.qty if position is not None else Decimal(0)
    clipped = False
    if parent.side is Side.SELL:
        if held <= 0:
            return ChildSize(fid, None, f"holds no {parent.symbol} to sell")
        if qty > held:
            qty, clipped = _floor(held, parent.asset_class), True
    else:
        if parent.price is None:
            return ChildSize(fid, None, f"no price for {parent.symbol} to check max_pos_usd")
        after = (held + qty) * parent.price
        if after > follower.max_pos_usd:
            if follower.mode is MirrorMode.PROPORTIONAL:
                return ChildSize(
                    fid,
                    None,
                    f"would hold {after:.2f} USD of {parent.symbol}, above max_pos_usd "
                    f"{follower.max_pos_usd}",
                )
            room = follower.max_pos_usd / parent.price - held
            qty, clipped = _floor(max(room, Decimal(0)), parent.asset_class), True
            if qty <= 0:
                return ChildSize(fid, None, f"already at max_pos_usd {follower.max_pos_usd}")
    reason = "shadow: computed, never sent" if shadow else "mirrored"
    if clipped:
        reason += " (clipped to the cap)" if parent.side is Side.BUY else " (clipped to holding)"
    return ChildSize(fid, qty, reason, shadow=shadow, clipped=clipped)


def within_free_holding(
    size: ChildSize, parent: ParentSnapshot, account: Account | None, busy: Decimal
) -> ChildSize:
    """A child sell clipped to what the follower holds less ``busy``, what its open sells of
    the symbol already take: a holding is sold once, however many parents sell it."""
    if parent.side is not Side.SELL or size.qty is None or size.shadow:
        return size
    position = account.positions.get(parent.symbol) if account is not None else None
    held = position.qty if position is not None else Decimal(0)
    left = held - busy
    if left <= 0:
        return ChildSize(
            size.follower_id, None, f"holds {held} {parent.symbol}, all taken by open sells"
        )
    if size.qty <= left:
        return size
    qty = _floor(left, parent.asset_class)
    if qty <= 0:
        return ChildSize(size.follower_id, None, f"{left} {parent.symbol} left rounds to nothing")
    return ChildSize(
        size.follower_id, qty, "mirrored (clipped to holding less open sells)", clipped=True
    )
