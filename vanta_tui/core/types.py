"""Field types shared by every state-file model.

Money, quantities, prices and weights are `Decimal`. In a state file they are JSON numbers;
a string, a boolean, NaN or Infinity where a number belongs is an error, never coerced.
Timestamps are timezone-aware and kept in UTC; they are written with a ``Z`` suffix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from annotated_types import Ge, Gt, Le
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, StringConstraints
from pydantic.json_schema import WithJsonSchema


class PlainDecimal(Decimal):
    """A `Decimal` whose text form never uses an exponent (``0.00000001``, not ``1E-8``).

    The file writer turns every number into one of these so the files stay readable.
    """

    __slots__ = ()

    def __str__(self) -> str:
        text = format(self, "f")
        return text

    def __repr__(self) -> str:
        return f"PlainDecimal('{self}')"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


MAX_MAGNITUDE = Decimal(10) ** 15
"""No number in a state file is larger than this (a quadrillion: cash, prices, quantities)."""
MAX_PLACES = 18
"""Nor has more decimal places than this (a wei is 10^-18 ether)."""


def to_decimal(value: Any) -> Decimal:
    """Accept a JSON number (int or Decimal; a float from Python code) as a finite Decimal
    within ±`MAX_MAGNITUDE` and `MAX_PLACES` decimal places: a number beyond them (1e400,
    1e-1000000) is refused here, instead of passing `check` and overflowing later."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a number, got {_type_name(value)}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError("NaN and Infinity are not allowed")
    if number.copy_abs() > MAX_MAGNITUDE:
        raise ValueError(f"{_short(number)} is beyond ±10^15, the largest number allowed")
    _, digits, exponent = number.as_tuple()
    if number and isinstance(exponent, int) and exponent < -MAX_PLACES:
        # Trailing zeros do not count (1.500000000000000000000 has one place); counted on
        # the digits, since quantize or normalize would round to the context's precision.
        zeros = len(digits) - len(bytes(digits).rstrip(b"\x00"))
        if exponent + zeros < -MAX_PLACES:
            raise ValueError(f"{_short(number)} has more than {MAX_PLACES} decimal places")
    return number


def _short(number: Decimal) -> str:
    text = f"{number:E}" if abs(number.adjusted()) > 20 else format(number, "f")
    return text if len(text) <= 40 else text[:37] + "..."


def _plain(value: Decimal) -> Decimal:
    return PlainDecimal(value)


_AS_NUMBER = BeforeValidator(to_decimal)
_WRITE_PLAIN = PlainSerializer(_plain, return_type=Decimal, when_used="always")

_BOUNDS = {"minimum": -(10**15), "maximum": 10**15}
"""What every number of the contract keeps to (and at most 18 decimal places)."""

Number = Annotated[Decimal, _AS_NUMBER, _WRITE_PLAIN, WithJsonSchema({"type": "number", **_BOUNDS})]
"""Any finite number (cash, PnL: may be negative)."""

NonNegative = Annotated[
    Decimal,
    _AS_NUMBER,
    _WRITE_PLAIN,
    Ge(0),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 10**15}),
]
"""A finite number ≥ 0."""

Positive = Annotated[
    Decimal,
    _AS_NUMBER,
    _WRITE_PLAIN,
    Gt(0),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 10**15}),
]
"""A finite number > 0 (order quantities, prices)."""

Fraction = Annotated[
    Decimal,
    _AS_NUMBER,
    _WRITE_PLAIN,
    Ge(0),
    Le(1),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
"""A weight or percentage as a fraction: 0.08 is 8 %."""

SignedFraction = Annotated[
    Decimal,
    _AS_NUMBER,
    _WRITE_PLAIN,
    Ge(-1),
    Le(1),
    WithJsonSchema({"type": "number", "minimum": -1, "maximum": 1}),
]
"""A fraction that may be negative (persona boosts)."""


def parse_utc(value: Any) -> datetime:
    """Accept an ISO 8601 timestamp with a zone (``Z`` or an offset) and return it in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    else:
        raise ValueError(f"expected an ISO 8601 timestamp string, got {_type_name(value)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp has no time zone (write it in UTC with a Z): {value!r}")
    return moment.astimezone(UTC)


@lru_cache(maxsize=4096)
def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; microseconds only when there are any. (Cached:
    the journal writes the same few timestamps for many orders; equal moments in other
    zones share the entry, and their UTC text is the same.)"""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat()[:-6] + "Z"  # drop "+00:00"


UtcTimestamp = Annotated[
    datetime,
    BeforeValidator(parse_utc),
    PlainSerializer(format_utc, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "Z$"}),
]
"""A UTC timestamp, written as ``2026-11-24T08:05:00Z``."""

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

Identifier = Annotated[str, StringConstraints(strict=True, pattern=_ID_PATTERN)]
"""An id such as ``V_CORE``, ``F_1042`` or a ULID order id."""

_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,14}(/[A-Z0-9]{1,10})?$")


def _check_symbol(value: str) -> str:
    if not _SYMBOL_RE.fullmatch(value):  # match() would let "AAPL\n" through (`$`)
        raise ValueError(
            f"not a symbol: {value!r} (equities as tickers like AAPL, "
            "crypto as ccxt unified symbols like BTC/USD)"
        )
    return value


Symbol = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(_check_symbol),
    WithJsonSchema({"type": "string", "pattern": _SYMBOL_RE.pattern}),
]
"""An equity ticker (``AAPL``) or a ccxt unified crypto symbol (``BTC/USD``)."""

Text = Annotated[str, StringConstraints(strict=True)]
"""A string; a number or boolean in its place is an error."""

_ADAPTER_RE = re.compile(r"^(paper|alpaca|ccxt:[a-z0-9_]+)$")


def _check_adapter(value: str) -> str:
    if not _ADAPTER_RE.fullmatch(value):
        raise ValueError(
            f"unknown adapter {value!r}: use 'paper', 'alpaca' or 'ccxt:<exchange id>'"
        )
    return value


AdapterName = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(_check_adapter),
    WithJsonSchema({"type": "string", "pattern": _ADAPTER_RE.pattern}),
]
"""A broker adapter: ``paper``, ``alpaca`` or ``ccxt:<exchange id>``."""
