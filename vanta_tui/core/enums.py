"""The closed vocabularies of the state files."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class AssetClass(StrEnum):
    EQUITY = "equity"
    CRYPTO = "crypto"


def asset_class_of(symbol: str) -> AssetClass:
    """The one rule that tells a symbol's asset class: crypto symbols are BASE/QUOTE pairs
    (``BTC/USD``), equities are tickers (``AAPL``)."""
    return AssetClass.CRYPTO if "/" in symbol else AssetClass.EQUITY


class OrderStatus(StrEnum):
    """Order states of `autotrade_queue.json`; the legal moves are in `core.order_states`."""

    STAGED = "staged"
    APPROVED = "approved"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BROKER_REJECTED = "broker_rejected"


class FeeType(StrEnum):
    PERFORMANCE = "performance"
    FLAT = "flat"
    PERFORMANCE_OR_FLAT = "performance_or_flat"


class FeePeriod(StrEnum):
    """How long one fee cycle is: a UTC calendar month, quarter or year."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class MirrorMode(StrEnum):
    PROPORTIONAL = "proportional"
    CAPPED = "capped"
    SHADOW = "shadow"
