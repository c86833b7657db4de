"""`vault_overlay.json`: runtime modifiers (maintenance, flip mode, personas, trips)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import ConfigDict, Field, StrictBool, model_validator

from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Identifier, NonNegative, SignedFraction, Text, UtcTimestamp


class Maintenance(VantaModel):
    """A hard stop: nothing is sent for a vault under maintenance."""

    enabled: StrictBool = False
    """True: nothing is sent (for the vault, or for every vault when global); approved
    orders wait, shown as held."""
    reason: Text | None = None
    """Why, in the operator's words (free text), or null."""
    since: UtcTimestamp | None = None
    """When maintenance was turned on (UTC, ``Z``), or null."""
    by: Text | None = None
    """Who turned it on (an operator or program name), or null."""


_ENABLED: dict[str, Any] = {"properties": {"enabled": {"const": True}}, "required": ["enabled"]}
_HAS_EXPIRY: dict[str, Any] = {
    "properties": {"expires_at": {"type": "string"}},
    "required": ["expires_at"],
}
"""The schema's form of the rule `FlipMode._enabled_needs_ttl` checks."""

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

    model_config = ConfigDict(json_schema_extra={"if": _ENABLED, "then": _HAS_EXPIRY})

    enabled: StrictBool = False
    """True: while before ``expires_at``, orders staged for the vault are sized
    × (1 + ``amplify``); at ``expires_at`` the desk turns it off (audited). Enabled needs an
    ``expires_at``."""
    amplify: NonNegative = Decimal("0.35")
    """Fraction, ≥ 0 (0.35 = sizes +35 %); the desk turns flip mode on only with
    0 < amplify ≤ 1."""
    expires_at: UtcTimestamp | None = None
    """When flip mode ends by itself (UTC, ``Z``); required while enabled (the desk sets it
    1 to 240 minutes ahead)."""
    by: Text | None = None
    """Who turned flip mode on, or null."""

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
    """When the operator cleared the trip (UTC, ``Z``)."""
    by: Text
    """The operator who cleared it."""
    reason: Text
    """Why, in the operator's words."""
    drawdown: NonNegative
    """Fraction, ≥ 0: the drawdown the operator saw when clearing; a deeper one trips the
    vault again."""


class GlobalOverlay(VantaModel):
    """Modifiers for every vault at once."""

    maintenance: Maintenance = Field(default_factory=Maintenance)
    """Maintenance of the whole desk: while enabled, nothing is sent for any vault."""


class VaultOverlay(VantaModel):
    """One vault's runtime modifiers."""

    maintenance: Maintenance = Field(default_factory=Maintenance)
    """Maintenance of this vault: while enabled, nothing is sent for it."""
    flip_mode: FlipMode = Field(default_factory=FlipMode)
    """The vault's flip mode (amplified sizing for a limited time)."""
    persona: Identifier | None = None
    """The vault's active persona: one of its ``personas`` in ``vault.json``, or null (no
    boost applies)."""
    persona_boosts: dict[Identifier, SignedFraction] = Field(default_factory=dict)
    """Boost per persona (keys: the vault's ``personas``), a fraction from −1 to 1: the
    active persona's boost scales the vault's target weights, effective weight = target
    × (1 + boost), capped at ``risk.max_single_pos_pct``."""
    trip_clearance: TripClearance | None = None
    """An operator's clearance of the vault's drawdown trip, or null (not cleared)."""


class OverlayFile(StateFileModel):
    """``vault_overlay.json``: runtime modifiers (maintenance, flip mode, personas, trip
    clearances), set by operators."""

    global_: GlobalOverlay = Field(default_factory=GlobalOverlay, alias="global")
    """Modifiers for every vault (the key is ``global``)."""
    vaults: dict[Identifier, VaultOverlay] = Field(default_factory=dict)
    """Modifiers per vault, keyed by ``vault_id``; a vault without an entry has none."""

    def for_vault(self, vault_id: str) -> VaultOverlay:
        return self.vaults.get(vault_id) or VaultOverlay()
