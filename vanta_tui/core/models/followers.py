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
    perf_share: Fraction | None = None
    flat_usd: NonNegative | None = None
    period: FeePeriod | None = None
    """The follower's fee cycle; unset: the vault's ``fee.period``."""


class Follower(VantaModel):
    follower_id: Identifier
    vault_id: Identifier
    mode: MirrorMode = MirrorMode.PROPORTIONAL
    scale: Positive = Decimal(1)
    max_pos_usd: NonNegative
    kill_switch: StrictBool = False
    persona: Identifier | None = None
    fee_model: FeeAgreement = Field(default_factory=FeeAgreement)
    equity: NonNegative
    brokers: dict[AssetClass, Venue] = Field(default_factory=dict)


_follower_id = attrgetter("follower_id")


class FollowersFile(StateFileModel):
    """The whole of ``followers.json``."""

    followers: list[Follower] = Field(default_factory=list)

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
