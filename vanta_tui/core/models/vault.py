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
    """Settings that apply to every vault of the registry."""

    base_currency: Text = "USD"
    """ISO 4217 code of the currency amounts are kept in where a vault sets none (``USD``)."""
    drift_tolerance: Fraction = Decimal("0.01")
    """Fraction (0.01 = 1 percentage point): |actual weight − target weight| above which a
    position counts as drifted and a rebalance proposes a trade."""
    min_trade_usd: NonNegative = Decimal("50")
    """USD, ≥ 0: rebalance trades worth less than this are not staged."""


class Risk(VantaModel):
    """The vault's risk limits."""

    max_drawdown: Fraction
    """Fraction (0.12 = 12 %): when ``pnl_summary.json``'s ``drawdown`` for the vault reaches
    it, the vault trips: only orders that reduce exposure are sent until an operator clears
    the trip."""
    max_single_pos_pct: Fraction
    """Fraction of the vault's equity (0.08 = 8 %) that no single position may exceed;
    effective target weights are capped at it."""


class FeeSpec(VantaModel):
    """What a follower of the vault pays per fee cycle (a follower's ``fee_model`` may
    override parts of it)."""

    type: FeeType
    """``performance``: ``perf_share`` × realized profit above the high-water mark;
    ``flat``: ``flat_usd`` per period; ``performance_or_flat``: the greater of the two."""
    flat_usd: NonNegative = Decimal("0")
    """USD, ≥ 0: charged once per period (pro rata for a follower that joined during it)."""
    perf_share: Fraction = Decimal("0")
    """Fraction (0.20 = 20 %) of the realized profit above the high-water mark that no
    earlier cycle charged."""
    period: FeePeriod = FeePeriod.MONTHLY
    """The fee cycle: ``monthly``, ``quarterly`` or ``yearly`` (UTC calendar periods); a
    cycle is closed once, after its period has ended."""


class Mirroring(VantaModel):
    """How followers mirror the vault's orders, and what they pay for it."""

    mode: MirrorMode = MirrorMode.PROPORTIONAL
    """The vault's default mirroring mode: ``proportional``, ``capped`` or ``shadow`` (each
    follower's own ``mode`` in ``followers.json`` is the one applied)."""
    min_account_equity: NonNegative = Decimal("0")
    """USD, ≥ 0: followers whose ``equity`` is below this get no child orders (audited)."""
    fee: FeeSpec
    """The fee followers of this vault pay, unless their ``fee_model`` says otherwise."""


class Venue(VantaModel):
    """The broker account that executes one asset class (never its credentials)."""

    adapter: AdapterName
    """The broker adapter: ``paper`` (built in), ``alpaca``, or ``ccxt:<exchange id>``
    (a ccxt exchange id in lower case, e.g. ``ccxt:kraken``)."""
    account_ref: Identifier
    """Names the account whose credentials live in the environment or the OS keyring
    (never in this file)."""


class Vault(VantaModel):
    """One vault: a pool of capital with its own limits, personas, followers and brokers."""

    vault_id: Identifier
    """The vault's id (``V_CORE``), unique in the file; the other state files name the vault
    by it. 1 to 64 letters, digits, ``_``, ``.`` or ``-``, starting with a letter or digit."""
    label: Text
    """The vault's name as shown to people (free text)."""
    base_currency: Text = "USD"
    """ISO 4217 code of the currency the vault's cash, prices and PnL are in."""
    crypto_enabled: StrictBool = False
    """Whether the vault may trade crypto (``BTC/USD``-style symbols)."""
    fiat_enabled: StrictBool = True
    """Whether the vault may trade equities (tickers such as ``AAPL``)."""
    personas: list[Identifier] = Field(
        default_factory=list, json_schema_extra={"uniqueItems": True}
    )
    """The personas the vault may run (each listed once); ``vault_overlay.json`` picks the
    active one and its boosts from these."""
    risk: Risk
    """The limits that trip the vault (drawdown) and cap its positions (size)."""
    mirroring: Mirroring
    """How followers mirror the vault, and their fee."""
    venues: dict[AssetClass, Venue] = Field(default_factory=dict)
    """The broker account per asset class (keys ``equity`` and ``crypto``); an asset class
    without an entry trades on the built-in paper broker."""

    @model_validator(mode="after")
    def _personas_unique(self) -> Self:
        if len(set(self.personas)) != len(self.personas):
            raise ValueError("personas are listed more than once")
        return self


_vault_id = attrgetter("vault_id")


class VaultFile(StateFileModel):
    """``vault.json``: the vault registry and the defaults every vault shares."""

    defaults: Defaults = Field(default_factory=Defaults)
    """Settings shared by every vault."""
    vaults: list[Vault] = Field(default_factory=list)
    """The registered vaults, each ``vault_id`` once."""

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
