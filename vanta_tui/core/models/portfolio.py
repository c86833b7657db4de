"""`portfolio.json`: broker holdings per account (truth)."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from vanta_tui.core.enums import AssetClass, asset_class_of
from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.types import Identifier, NonNegative, Number, Positive, Symbol, UtcTimestamp


class Position(VantaModel):
    qty: NonNegative
    avg_price: NonNegative
    last_price: Positive
    asset_class: AssetClass

    @property
    def value(self) -> Decimal:
        return self.qty * self.last_price

    @property
    def unrealized(self) -> Decimal:
        return self.qty * (self.last_price - self.avg_price)


class Account(VantaModel):
    cash: Number
    positions: dict[Symbol, Position] = Field(default_factory=dict)

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
    """The whole of ``portfolio.json``: accounts keyed by vault id (or follower id)."""

    asof: UtcTimestamp
    accounts: dict[Identifier, Account] = Field(default_factory=dict)
