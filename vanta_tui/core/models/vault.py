"""`vault.json`: the vault registry and its defaults."""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter
from typing import Self

from pydantic import Field, StrictBool, model_validator

from vanta_tui.core.enums import AssetClass, FeePeriod, FeeType, MirrorMode
from vanta_tui.core.models.base import StateFileModel, VantaModel, find_by_key
from vanta_tui.core.types import AdapterName, Fraction, Identifier, NonNegative, Text


class Defaults(VantaModel):
    base_currency: Text = "USD"
    drift_tolerance: Fraction = Decimal("0.01")
    """|actual weight − target weight| above which a position counts as drifted."""
    min_trade_usd: NonNegative = Decimal("50")
    """Rebalance trades smaller than this are not staged."""


class Risk(VantaModel):
    max_drawdown: Fraction
    """Drawdown from the high-water mark at which the vault trips."""
    max_single_pos_pct: Fraction
    """No position may exceed this fraction of the vault's equity."""


class FeeSpec(VantaModel):
    type: FeeType
    flat_usd: NonNegative = Decimal("0")
    """Charged once per period (pro rata for a follower that joined during it)."""
    perf_share: Fraction = Decimal("0")
    period: FeePeriod = FeePeriod.MONTHLY
    """The fee cycle: a UTC calendar month, quarter or year, closed once after it ends."""


class Mirroring(VantaModel):
    mode: MirrorMode = MirrorMode.PROPORTIONAL
    min_account_equity: NonNegative = Decimal("0")
    """Followers with less equity than this get no child orders."""
    fee: FeeSpec


class Venue(VantaModel):
    adapter: AdapterName
    """``paper``, ``alpaca`` or ``ccxt:<exchange id>``."""
    account_ref: Identifier
    """Names the account whose credentials live in the environment or keyring."""


class Vault(VantaModel):
    vault_id: Identifier
    label: Text
    base_currency: Text = "USD"
    crypto_enabled: StrictBool = False
    fiat_enabled: StrictBool = True
    personas: list[Identifier] = Field(default_factory=list)
    risk: Risk
    mirroring: Mirroring
    venues: dict[AssetClass, Venue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _personas_unique(self) -> Self:
        if len(set(self.personas)) != len(self.personas):
            raise ValueError("personas are listed more than once")
        return self


_vault_id = attrgetter("vault_id")


class VaultFile(StateFileModel):
    """The whole of ``vault.json``."""

    defaults: Defaults = Field(default_factory=Defaults)
    vaults: list[Vault] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        seen: set[str] = set()
        for vault in self.vaults:
            if vault.vault_id in seen:
                raise ValueError(f"vault_id {vault.vault_id} appears more than once")
            seen.add(vault.vault_id)
        return self

    def get(self, vault_id: str) -> Vault | None:
        return find_by_key(self.vaults, _vault_id, vault_id)

    @property
    def vault_ids(self) -> list[str]:
        return [v.vault_id for v in self.vaults]
