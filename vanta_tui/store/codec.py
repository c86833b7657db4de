"""JSON text of the state files: numbers become `Decimal`, never float.

Reading rejects NaN/Infinity and duplicate keys; writing keeps every `Decimal` exactly as it
is (``190.10`` stays ``190.10``) with two-space indentation and a final newline.
"""

from __future__ import annotations

import json
from typing import Any

import simplejson

from vanta_tui.core.types import PlainDecimal


class DuplicateKeyError(ValueError):
    """An object names the same key twice; JSON readers disagree on which one wins."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (numbers must be finite)")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def parse_json(text: str, *, check_duplicates: bool = True) -> Any:
    """Parse JSON text with `Decimal` numbers; raises `json.JSONDecodeError` or `ValueError`.

    Numbers with a fraction come back as `PlainDecimal`, so writing them again gives the very
    same text (``0.00000001`` stays ``0.00000001``). A key twice in one object is an error
    unless ``check_duplicates`` is off (for text we rendered ourselves).
    """
    if not check_duplicates:
        return json.loads(text, parse_float=PlainDecimal, parse_constant=_reject_constant)
    return json.loads(
        text,
        parse_float=PlainDecimal,
        parse_constant=_reject_constant,
        object_pairs_hook=_no_duplicate_keys,
    )


def dumps_pretty(data: Any) -> str:
    """The text a state file is written as."""
    text: str = simplejson.dumps(
        data, use_decimal=True, indent=2, ensure_ascii=False, allow_nan=False
    )
    return text + "\n"


# One encoder each, made once: `simplejson.dumps` with options builds a new encoder per call,
# and the journal dumps several small objects per event. `encode` keeps no state between calls.
_CANONICAL = simplejson.JSONEncoder(
    use_decimal=True, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_COMPACT = simplejson.JSONEncoder(
    use_decimal=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def dumps_canonical(data: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) for hashing: the same data, the same text."""
    text: str = _CANONICAL.encode(data)
    return text


def dumps_compact(data: Any) -> str:
    """Compact JSON that keeps key order (for records that must rebuild a file exactly)."""
    text: str = _COMPACT.encode(data)
    return text
