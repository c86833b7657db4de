"""`vault_allocation.json`: target weights per vault (intent), written by the allocator."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Fraction, Identifier, Symbol, Text, UtcTimestamp


class VaultTargets(VantaModel):
    """One vault's intended holdings."""

    targets: dict[Symbol, Fraction] = Field(default_factory=dict)
    """Target weight per symbol (``AAPL``, ``BTC/USD``), each a fraction of the vault's NAV
    from 0 to 1 (0.07 = 7 %); together at most 1, and what they leave is cash. A held symbol
    without a target counts as target 0."""

    @field_validator("targets")
    @classmethod
    def _sum_at_most_one(cls, targets: dict[str, Decimal]) -> dict[str, Decimal]:
        total = sum(targets.values(), Decimal(0))
        if total > 1:
            raise ValueError(f"target weights sum to {total}, more than 1")
        return targets


class AllocationFile(StateFileModel):
    """``vault_allocation.json``: target weights per vault (intent), written by the
    allocator and read by the desk."""

    asof: UtcTimestamp
    """When the allocator computed these targets (UTC, ``Z``)."""
    source: Text = "conviction_stack"
    """The program or model that wrote the targets (free text, e.g. ``conviction_stack``)."""
    vaults: dict[Identifier, VaultTargets] = Field(default_factory=dict)
    """Targets per vault, keyed by ``vault_id``; a vault without an entry has no targets."""
