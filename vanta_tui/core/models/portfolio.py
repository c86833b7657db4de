"""`portfolio.json`: broker holdings per account (truth)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from pydantic import Field, model_validator

from vanta_tui.core.enums import AssetClass, asset_class_of
from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Identifier, NonNegative, Number, Positive, Symbol, UtcTimestamp

_CLASS_FITS_SYMBOL: dict[str, Any] = {
    # Inside allOf: beside ``additionalProperties`` (each position's schema), patterns that
    # match every key would leave no key to it.
    "allOf": [
        {
            "patternProperties": {
                "/": {"properties": {"asset_class": {"const": AssetClass.CRYPTO.value}}},
                "^[^/]*$": {"properties": {"asset_class": {"const": AssetClass.EQUITY.value}}},
            }
        }
    ]
}
"""The schema's form of the rule `Account._crypto_symbols` checks: a pair is crypto, a
ticker is an equity."""


class Position(VantaModel):
    """A holding of one symbol (long only)."""

    qty: NonNegative
    """Units held, ≥ 0 (shares; coins for crypto, up to 18 decimal places)."""
    avg_price: NonNegative
    """Average price paid per unit, in the quote currency, ≥ 0."""
    last_price: Positive
    """Latest market price per unit, in the quote currency, > 0."""
    asset_class: AssetClass
    """``equity`` for a ticker (``AAPL``), ``crypto`` for a ``BASE/QUOTE`` pair
    (``BTC/USD``): it must fit the symbol."""

    @property
    def value(self) -> Decimal:
        return self.qty * self.last_price

    @property
    def unrealized(self) -> Decimal:
        return self.qty * (self.last_price - self.avg_price)


class Account(VantaModel):
    """One broker account: a vault's, or a follower's."""

    cash: Number
    """Cash in the base currency; negative is kept (an overdraft or margin loan: the
    broker's truth) but flagged by the desk."""
    positions: dict[Symbol, Position] = Field(
        default_factory=dict, json_schema_extra=_CLASS_FITS_SYMBOL
    )
    """Holdings keyed by symbol: equities as tickers (``AAPL``), crypto as ccxt unified
    symbols (``BTC/USD``)."""

    @property
    def equity(self) -> Decimal:
        """Cash plus the market value of every position."""
        return self.cash + sum((p.value for p in self.positions.values()), Decimal(0))

    @model_validator(mode="after")
    def _crypto_symbols(self) -> Self:
        for symbol, position in self.positions.items():
            is_pair = asset_class_of(symbol) is AssetClass.CRYPTO
            if is_pair != (position.asset_class is AssetClass.CRYPTO):
                raise ValueError(
                    f"position {symbol} has asset_class {position.asset_class.value}, but "
                    + ("crypto symbols are BASE/QUOTE pairs" if not is_pair else "it is a pair")
                )
        return self


class PortfolioFile(StateFileModel):
    """``portfolio.json``: broker holdings per account (truth), from fills and broker
    reconciliation."""

    asof: UtcTimestamp
    """When the holdings were last known (UTC, ``Z``); older than 24 hours, the desk calls
    the portfolio stale and does not trust drift."""
    accounts: dict[Identifier, Account] = Field(default_factory=dict)
    """Accounts keyed by ``vault_id`` (``vault.json``) or ``follower_id``
    (``followers.json``)."""
