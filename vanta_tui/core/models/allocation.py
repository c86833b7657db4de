"""`vault_allocation.json`: target weights per vault (intent), written by the allocator."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Fraction, Identifier, Symbol, Text, UtcTimestamp


class VaultTargets(VantaModel):
    targets: dict[Symbol, Fraction] = Field(default_factory=dict)
    """Fractions of the vault's NAV; what they leave is cash."""

    @field_validator("targets")
    @classmethod
    def _sum_at_most_one(cls, targets: dict[str, Decimal]) -> dict[str, Decimal]:
        total = sum(targets.values(), Decimal(0))
        if total > 1:
            raise ValueError(f"target weights sum to {total}, more than 1")
        return targets


class AllocationFile(StateFileModel):
    """The whole of ``vault_allocation.json``."""

    asof: UtcTimestamp
    source: Text = "conviction_stack"
    vaults: dict[Identifier, VaultTargets] = Field(default_factory=dict)
