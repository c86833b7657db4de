"""`vault_overlay.json`: runtime modifiers (maintenance, flip mode, personas, trips)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Self

from pydantic import Field, StrictBool, model_validator

from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Identifier, NonNegative, SignedFraction, Text, UtcTimestamp


class Maintenance(VantaModel):
    """A hard stop: nothing is sent for a vault under maintenance."""

    enabled: StrictBool = False
    reason: Text | None = None
    since: UtcTimestamp | None = None
    by: Text | None = None


MAX_FLIP_TTL_MIN = 240
"""Flip mode is a bounded experiment (the seed's examples: 30–60 minutes)."""


def flip_mode_problem(ttl_minutes: int, amplify: Decimal) -> str | None:
    """Why flip mode may not be turned on with this TTL and amplify, or None: the one rule
    (the desk's form and the action both ask it)."""
    if not 1 <= ttl_minutes <= MAX_FLIP_TTL_MIN:
        return f"flip mode TTL must be 1 to {MAX_FLIP_TTL_MIN} minutes"
    if not Decimal(0) < amplify <= Decimal(1):
        return "flip mode amplify must be above 0 and at most 1 (100 %)"
    return None


class FlipMode(VantaModel):
    """A bounded experiment: staged sizes × (1 + amplify) until ``expires_at``."""

    enabled: StrictBool = False
    amplify: NonNegative = Decimal("0.35")
    expires_at: UtcTimestamp | None = None
    by: Text | None = None

    @model_validator(mode="after")
    def _enabled_needs_ttl(self) -> Self:
        if self.enabled and self.expires_at is None:
            raise ValueError("flip mode is enabled without expires_at; it must always have a TTL")
        return self

    def active_at(self, now: datetime) -> bool:
        return self.enabled and self.expires_at is not None and now < self.expires_at


class TripClearance(VantaModel):
    """An operator's review of a tripped vault, valid while drawdown stays at or below it."""

    cleared_at: UtcTimestamp
    by: Text
    reason: Text
    drawdown: NonNegative
    """The drawdown the operator saw when clearing; a deeper one trips the vault again."""


class GlobalOverlay(VantaModel):
    maintenance: Maintenance = Field(default_factory=Maintenance)


class VaultOverlay(VantaModel):
    maintenance: Maintenance = Field(default_factory=Maintenance)
    flip_mode: FlipMode = Field(default_factory=FlipMode)
    persona: Identifier | None = None
    persona_boosts: dict[Identifier, SignedFraction] = Field(default_factory=dict)
    trip_clearance: TripClearance | None = None


class OverlayFile(StateFileModel):
    """The whole of ``vault_overlay.json``."""

    global_: GlobalOverlay = Field(default_factory=GlobalOverlay, alias="global")
    vaults: dict[Identifier, VaultOverlay] = Field(default_factory=dict)

    def for_vault(self, vault_id: str) -> VaultOverlay:
        return self.vaults.get(vault_id) or VaultOverlay()
