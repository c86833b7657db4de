"""`pnl_summary.json`: realized and mark-to-market PnL per vault."""

from __future__ import annotations

import operator
from datetime import datetime
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Fraction, Identifier, NonNegative, Number, UtcTimestamp


class VaultPnl(VantaModel):
    """One account's PnL: a vault's, or a follower's (keyed by its ``follower_id``)."""

    nav: Number
    """Net asset value in the base currency: cash + Σ qty × last price (may be negative)."""
    realized: Number = Decimal(0)
    """Realized PnL to date, in the base currency (negative: a loss)."""
    unrealized: Number = Decimal(0)
    """Mark-to-market PnL of the open positions, Σ qty × (last price − average price), in
    the base currency (negative: a loss)."""
    fees_accrued: NonNegative = Decimal(0)
    """Fees charged to date, in the base currency, ≥ 0."""
    fees_through: UtcTimestamp | None = None
    """The end of the last fee period whose fee ``fees_accrued`` includes (UTC, exclusive:
    ``2026-11-01T00:00:00Z`` = through October 2026); unset: no period charged yet."""
    high_water_mark: NonNegative = Decimal(0)
    """The highest NAV reached, in the base currency, ≥ 0."""
    drawdown: Fraction = Decimal(0)
    """Fraction from 0 to 1: (high-water mark − NAV) / high-water mark. At or above the
    vault's ``risk.max_drawdown`` the vault trips."""
    nav_history: list[tuple[UtcTimestamp, Number]] = Field(default_factory=list)
    """NAV over time as ``[timestamp, nav]`` pairs (UTC ``Z`` string, number), each
    timestamp later than the one before."""

    @model_validator(mode="after")
    def _history_in_order(self) -> Self:
        stamps: list[datetime] = [ts for ts, _ in self.nav_history]
        if all(map(operator.lt, stamps, stamps[1:])):  # the usual case, at C speed
            return self
        for index in range(1, len(stamps)):
            if stamps[index] <= stamps[index - 1]:
                raise ValueError(f"nav_history[{index}] is not later than the entry before it")
        return self


class PnlFile(StateFileModel):
    """``pnl_summary.json``: realized and mark-to-market PnL per account."""

    asof: UtcTimestamp
    """When these figures were computed (UTC, ``Z``)."""
    vaults: dict[Identifier, VaultPnl] = Field(default_factory=dict)
    """PnL per account, keyed by ``vault_id`` (``vault.json``) or ``follower_id``
    (``followers.json``)."""
