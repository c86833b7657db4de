"""Positions against targets: effective weights, drift, and a vault's status.

Effective target = target × (1 + boost of the vault's active persona), capped at the vault's
``max_single_pos_pct``. Drift = actual weight − effective target; a position whose |drift|
exceeds ``drift_tolerance`` has drifted. Both targets without a position and positions
without a target appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from vanta_tui.core.models import (
    Account,
    AllocationFile,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    Vault,
    VaultOverlay,
    VaultPnl,
)

STALE_AFTER = timedelta(hours=24)
"""A portfolio (or allocation) older than this cannot be trusted for drift."""

ZERO = Decimal(0)


class VaultStatus(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    TRIPPED = "tripped"


def persona_boost(overlay: VaultOverlay) -> Decimal:
    if overlay.persona is None:
        return ZERO
    return overlay.persona_boosts.get(overlay.persona, ZERO)


def effective_targets(
    vault: Vault, overlay: VaultOverlay, targets: dict[str, Decimal]
) -> dict[str, Decimal]:
    """Target weights after the active persona's boost, capped at the single-position limit."""
    factor = 1 + persona_boost(overlay)
    cap = vault.risk.max_single_pos_pct
    return {symbol: max(ZERO, min(weight * factor, cap)) for symbol, weight in targets.items()}


@dataclass(frozen=True)
class PositionRow:
    symbol: str
    qty: Decimal
    last_price: Decimal | None
    value: Decimal
    weight: Decimal
    target: Decimal | None
    """Effective target weight (None: a position the allocation does not mention)."""
    drift: Decimal
    drifted: bool


def position_rows(
    vault: Vault,
    overlay: VaultOverlay,
    account: Account | None,
    targets: dict[str, Decimal],
    tolerance: Decimal,
) -> list[PositionRow]:
    """Every held or targeted symbol of the vault, held ones first, then by symbol."""
    effective = effective_targets(vault, overlay, targets)
    positions = account.positions if account is not None else {}
    equity = account.equity if account is not None else ZERO
    rows: list[PositionRow] = []
    for symbol in sorted(set(positions) | set(effective), key=lambda s: (s not in positions, s)):
        position = positions.get(symbol)
        value = position.value if position is not None else ZERO
        weight = value / equity if equity > 0 else ZERO
        target = effective.get(symbol)
        drift = weight - (target if target is not None else ZERO)
        rows.append(
            PositionRow(
                symbol=symbol,
                qty=position.qty if position is not None else ZERO,
                last_price=position.last_price if position is not None else None,
                value=value,
                weight=weight,
                target=target,
                drift=drift,
                drifted=abs(drift) > tolerance,
            )
        )
    return rows


def is_tripped(vault: Vault, overlay: VaultOverlay, pnl: VaultPnl | None) -> bool:
    """Drawdown at or beyond the vault's max, unless an operator cleared it at this depth."""
    if pnl is None or pnl.drawdown < vault.risk.max_drawdown:
        return False
    clearance = overlay.trip_clearance
    return clearance is None or pnl.drawdown > clearance.drawdown


def under_maintenance(overlays: OverlayFile | None, vault_id: str) -> bool:
    if overlays is None:
        return False
    if overlays.global_.maintenance.enabled:
        return True
    return overlays.for_vault(vault_id).maintenance.enabled


def vault_status(vault: Vault, overlays: OverlayFile | None, pnl: PnlFile | None) -> VaultStatus:
    overlay = overlays.for_vault(vault.vault_id) if overlays is not None else VaultOverlay()
    vault_pnl = pnl.vaults.get(vault.vault_id) if pnl is not None else None
    if under_maintenance(overlays, vault.vault_id):
        return VaultStatus.MAINTENANCE
    if is_tripped(vault, overlay, vault_pnl):
        return VaultStatus.TRIPPED
    return VaultStatus.ACTIVE


def is_stale(asof: datetime, now: datetime) -> bool:
    return now - asof > STALE_AFTER


def vault_targets(allocation: AllocationFile | None, vault_id: str) -> dict[str, Decimal]:
    if allocation is None:
        return {}
    entry = allocation.vaults.get(vault_id)
    return dict(entry.targets) if entry is not None else {}


def account_of(portfolio: PortfolioFile | None, account_id: str) -> Account | None:
    return portfolio.accounts.get(account_id) if portfolio is not None else None
