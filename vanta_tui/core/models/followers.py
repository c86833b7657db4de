"""`followers.json`: the mirror registry (API packets, never with secrets)."""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter
from typing import Self

from pydantic import Field, StrictBool, model_validator

from vanta_tui.core.enums import AssetClass, FeePeriod, FeeType, MirrorMode
from vanta_tui.core.models.base import StateFileModel, VantaModel, find_by_key
from vanta_tui.core.models.vault import Venue
from vanta_tui.core.types import Fraction, Identifier, NonNegative, Positive


class FeeAgreement(VantaModel):
    """What the follower agreed to pay; unset parts fall back to the vault's fee spec."""

    type: FeeType | None = None
    """``performance``, ``flat`` or ``performance_or_flat`` (see the vault's ``fee.type``);
    unset or null: the vault's ``fee.type``."""
    perf_share: Fraction | None = None
    """Fraction (0.20 = 20 %) of realized profit above the high-water mark; unset or null:
    the vault's ``fee.perf_share``."""
    flat_usd: NonNegative | None = None
    """USD per period, ≥ 0; unset or null: the vault's ``fee.flat_usd``."""
    period: FeePeriod | None = None
    """The follower's fee cycle (``monthly``, ``quarterly`` or ``yearly``); unset or null:
    the vault's ``fee.period``."""


class Follower(VantaModel):
    """An account that mirrors one vault's orders: its API packet without the keys."""

    follower_id: Identifier
    """The follower's id (``F_1042``), unique in the file; child orders and the follower's
    account in ``portfolio.json`` and ``pnl_summary.json`` are keyed by it."""
    vault_id: Identifier
    """The vault this follower mirrors: a ``vault_id`` of ``vault.json``."""
    mode: MirrorMode = MirrorMode.PROPORTIONAL
    """``proportional``: child qty = floor(parent qty × ``scale``), skipped if the position
    would exceed ``max_pos_usd``; ``capped``: the same, but clipped to ``max_pos_usd``
    instead of skipped; ``shadow``: child orders are computed and audited, never sent."""
    scale: Positive = Decimal(1)
    """Multiplier (> 0) applied to the parent order's quantity (0.25 = a quarter)."""
    max_pos_usd: NonNegative
    """USD, ≥ 0: the largest value the follower may hold in one symbol."""
    kill_switch: StrictBool = False
    """True: the follower gets no child orders (audited) until it is turned off."""
    persona: Identifier | None = None
    """The persona the follower prefers (informational; the vault's active persona in
    ``vault_overlay.json`` is the one applied)."""
    fee_model: FeeAgreement = Field(default_factory=FeeAgreement)
    """The fee the follower agreed to; unset parts fall back to the vault's ``fee``."""
    equity: NonNegative
    """USD, ≥ 0: the follower account's equity as last reported; below the vault's
    ``mirroring.min_account_equity`` the follower gets no child orders."""
    brokers: dict[AssetClass, Venue] = Field(default_factory=dict)
    """The follower's broker account per asset class (keys ``equity`` and ``crypto``), by
    ``account_ref`` only: its keys live in the environment or the OS keyring."""


_follower_id = attrgetter("follower_id")


class FollowersFile(StateFileModel):
    """``followers.json``: the mirror registry (API packets, never with secrets)."""

    followers: list[Follower] = Field(default_factory=list)
    """The registered followers, each ``follower_id`` once."""

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        seen: set[str] = set()
        for follower in self.followers:
            if follower.follower_id in seen:
                raise ValueError(f"follower_id {follower.follower_id} appears more than once")
            seen.add(follower.follower_id)
        return self

    def get(self, follower_id: str) -> Follower | None:
        return find_by_key(self.followers, _follower_id, follower_id)
