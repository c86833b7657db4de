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
    nav: Number
    realized: Number = Decimal(0)
    unrealized: Number = Decimal(0)
    fees_accrued: NonNegative = Decimal(0)
    fees_through: UtcTimestamp | None = None
    """The end of the last fee period whose fee ``fees_accrued`` includes (UTC, exclusive:
    ``2026-11-01T00:00:00Z`` = through October 2026); unset: no period charged yet."""
    high_water_mark: NonNegative = Decimal(0)
    drawdown: Fraction = Decimal(0)
    """(high-water mark − NAV) / high-water mark."""
    nav_history: list[tuple[UtcTimestamp, Number]] = Field(default_factory=list)

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
    """The whole of ``pnl_summary.json``."""

    asof: UtcTimestamp
    vaults: dict[Identifier, VaultPnl] = Field(default_factory=dict)
