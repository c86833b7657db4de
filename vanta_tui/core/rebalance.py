"""The rebalancer: allocation (intent) against portfolio (truth) → orders to stage.

Effective target = target × (1 + active persona boost), capped at ``max_single_pos_pct``.
A symbol trades only where |drift| > ``drift_tolerance`` and the trade's notional ≥
``min_trade_usd``. Equities trade whole shares, crypto to 8 decimals (or the exchange's
precision when known). Sells come before buys; buys never spend more cash than the vault
has after its sells. While flip mode is active, sizes are × (1 + amplify). The same inputs
always give the same orders.

What the vault already has open (staged, approved or working) for a symbol is netted out:
a rebalance run twice stages nothing the second time, and says what is already open. An
open order that goes against the trade the targets call for is never traded over: the
symbol is skipped until the operator rejects it or it finishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from vanta_tui.core.enums import AssetClass, OrderStatus, Side, asset_class_of
from vanta_tui.core.intents import describe_open, open_orders, open_qty, signed
from vanta_tui.core.models import Account, Defaults, Order, Vault, VaultOverlay
from vanta_tui.core.positions import effective_targets

ZERO = Decimal(0)
CRYPTO_STEP = Decimal("0.00000001")


@dataclass(frozen=True)
class ProposedOrder:
    symbol: str
    asset_class: AssetClass
    side: Side
    qty: Decimal
    price: Decimal
    reason: str

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


@dataclass
class RebalancePlan:
    vault_id: str
    orders: list[ProposedOrder] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why a drifted symbol gets no order (no price, below the minimum trade, no cash)."""
    amplified: Decimal | None = None
    """The flip-mode factor applied, if any."""

    @property
    def buy_notional(self) -> Decimal:
        return sum((o.notional for o in self.orders if o.side is Side.BUY), ZERO)

    @property
    def sell_notional(self) -> Decimal:
        return sum((o.notional for o in self.orders if o.side is Side.SELL), ZERO)


def _step(symbol: str, precision: Mapping[str, Decimal] | None) -> Decimal:
    if precision and symbol in precision:
        return precision[symbol]
    return CRYPTO_STEP if asset_class_of(symbol) is AssetClass.CRYPTO else Decimal(1)


def _round_down(qty: Decimal, step: Decimal) -> Decimal:
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step


def _pct(weight: Decimal) -> str:
    return f"{weight * 100:.1f}%"


def plan_rebalance(
    vault: Vault,
    overlay: VaultOverlay,
    account: Account,
    targets: Mapping[str, Decimal],
    defaults: Defaults,
    now: datetime,
    *,
    precision: Mapping[str, Decimal] | None = None,
    pending: Sequence[Order] = (),
) -> RebalancePlan:
    """The orders that bring the vault's positions back to its effective targets, net of
    the vault's open orders among ``pending`` (the queue's orders; others are ignored)."""
    plan = RebalancePlan(vault.vault_id)
    mine = open_orders(pending, vault.vault_id)
    equity = account.equity
    if equity <= 0:
        plan.skipped.append("vault equity is not positive; nothing to rebalance")
        return plan
    effective = effective_targets(vault, overlay, dict(targets))
    amplify = Decimal(1)
    if overlay.flip_mode.active_at(now):
        amplify = 1 + overlay.flip_mode.amplify
        plan.amplified = amplify
    tolerance = defaults.drift_tolerance
    sells: list[ProposedOrder] = []
    buys: list[ProposedOrder] = []
    for symbol in sorted(set(effective) | set(account.positions)):
        position = account.positions.get(symbol)
        held = position.qty if position is not None else ZERO
        price = position.last_price if position is not None else None
        target = effective.get(symbol, ZERO)
        weight = (held * price / equity) if price is not None else ZERO
        if abs(weight - target) <= tolerance:
            continue
        if price is None:
            plan.skipped.append(f"{symbol}: no last price in portfolio.json; cannot size")
            continue
        delta = (target * equity - held * price) / price * amplify
        step = _step(symbol, precision)
        side = Side.BUY if delta > 0 else Side.SELL
        opened = [o for o in mine if o.symbol == symbol]
        against = [o for o in opened if o.side is not side]
        if against:
            plan.skipped.append(
                f"{symbol}: {'; '.join(describe_open(o) for o in against)} goes against the "
                f"{side.value} the targets call for; reject it or let it finish first"
            )
            continue
        covered = sum((open_qty(o) for o in opened), ZERO)
        qty = _round_down(abs(delta) - covered, step)
        if side is Side.SELL:
            qty = min(qty, held - covered)
        reason = f"rebalance: {symbol} {_pct(weight)} → {_pct(target)}"
        if opened:
            if qty <= 0 or qty * price < defaults.min_trade_usd:
                plan.skipped.append(f"{symbol}: {'; '.join(describe_open(o) for o in opened)}")
                continue
            reason += f" (net of {covered} {side.value} already open)"
        order = ProposedOrder(
            symbol,
            asset_class_of(symbol),
            side,
            qty,
            price,
            reason + (f" (flip ×{amplify})" if amplify != 1 else ""),
        )
        if qty <= 0 or order.notional < defaults.min_trade_usd:
            plan.skipped.append(
                f"{symbol}: trade of {order.notional:.2f} is below the minimum "
                f"{defaults.min_trade_usd}"
            )
            continue
        (sells if side is Side.SELL else buys).append(order)
    # Open orders will move cash too: their buys spend it; their sells bring it only once
    # approved (a staged sell may yet be rejected, and nothing buys on its proceeds).
    cash = account.cash + sum((o.notional for o in sells), ZERO)
    for open_order in mine:
        if open_order.side is Side.SELL and open_order.status is OrderStatus.STAGED:
            continue
        position = account.positions.get(open_order.symbol)
        limit = open_order.limit_price
        price = limit or (position.last_price if position is not None else None)
        if price is not None:
            cash -= signed(open_order) * price
    plan.orders.extend(sells)
    for order in buys:
        qty = order.qty
        if qty * order.price > cash:
            qty = _round_down(max(cash, ZERO) / order.price, _step(order.symbol, precision))
        notional = qty * order.price
        if qty <= 0 or notional < defaults.min_trade_usd:
            plan.skipped.append(f"{order.symbol}: not enough cash ({cash:.2f} left)")
            continue
        if qty != order.qty:
            order = ProposedOrder(
                order.symbol, order.asset_class, order.side, qty, order.price,
                order.reason + " (limited by cash)",
            )  # fmt: skip
        cash -= notional
        plan.orders.append(order)
    return plan
