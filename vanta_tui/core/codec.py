"""JSON text of the state files: numbers become `Decimal`, never float.

Reading rejects NaN/Infinity and duplicate keys; writing keeps every `Decimal` exactly as it
is (``190.10`` stays ``190.10``) with two-space indentation and a final newline.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from itertools import compress, starmap
from sys import intern
from typing import Any

import orjson
import simplejson

from vanta_tui.core.types import PlainDecimal


class DuplicateKeyError(ValueError):
    """An object names the same key twice; JSON readers disagree on which one wins."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (numbers must be finite)")


_SHORT = 16
"""Strings up to this long are interned when parsed (`_no_duplicate_keys`)."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object of ``pairs``, refusing a key twice. Keys and short string values are
    interned: a queue parsed order by order (`store.spans`, whose parser forgets its keys
    after each order) would otherwise hold its field names and its repeated words
    (``"status"``, ``"approved"``, a vault id) once per order: at 10,000 orders some 20 MB.
    (Interned strings are freed as any other once nothing holds them.)"""
    result: dict[str, Any] = {}
    for key, value in pairs:
        key = intern(key)
        if key in result:
            raise DuplicateKeyError(f"key {key!r} appears twice in one object")
        if type(value) is str and len(value) <= _SHORT:
            value = intern(value)
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


def _fragment(value: Any) -> orjson.Fragment:
    """orjson's hook for what it does not know: a `Decimal` goes in as its exact text."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} is not JSON")


_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Timestamps and dataclasses are not JSON here (simplejson refuses them too)."""
_PRETTY = _STRICT | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
_CANONICAL = _STRICT | orjson.OPT_SORT_KEYS


def _dumps(data: Any, option: int, **fallback: Any) -> str:
    """orjson (fast, exact through `_fragment`); simplejson for what orjson refuses (integers
    beyond 64 bits), which writes the same text."""
    try:
        return orjson.dumps(data, default=_fragment, option=option).decode("utf-8")
    except TypeError:
        text: str = simplejson.dumps(
            data, use_decimal=True, ensure_ascii=False, allow_nan=False, **fallback
        )
        return text


def dumps_pretty(data: Any) -> str:
    """The text a state file is written as."""
    text = _dumps(data, _PRETTY, indent=2)
    return text if text.endswith("\n") else text + "\n"


def dumps_canonical(data: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) for hashing: the same data, the same text."""
    return _dumps(data, _CANONICAL, sort_keys=True, separators=(",", ":"))


def data_sha(data: Any) -> str:
    """sha256 of data in canonical form (independent of formatting): a state file's content."""
    try:
        text = orjson.dumps(data, default=_fragment, option=_CANONICAL)
    except TypeError:  # what orjson refuses: `dumps_canonical`'s fallback, the same text
        text = dumps_canonical(data).encode("utf-8")
    return hashlib.sha256(text).hexdigest()


def dumps_compact(data: Any) -> str:
    """Compact JSON that keeps key order (for records that must rebuild a file exactly)."""
    return _dumps(data, _STRICT, separators=(",", ":"))


# A large file rewritten by many small changes (the queue) is written from the cached text
# of its unchanged members: orjson puts a `Fragment` in verbatim, so a member's text only
# has to be indented for its place. Each raises TypeError for what orjson refuses; the
# caller then writes the whole file with `dumps_pretty` / `dumps_canonical`.

_MEMBER = _STRICT | orjson.OPT_INDENT_2


def member_text(item: Any) -> bytes:
    """The pretty text of ``item`` as a member of a list under a top-level key (indented by
    four spaces)."""
    return orjson.dumps(item, default=_fragment, option=_MEMBER).replace(b"\n", b"\n    ")


def pretty_with_members(top: dict[str, Any], key: str, members: list[bytes]) -> bytes:
    """``dumps_pretty(top)`` with ``top[key]`` the list whose members' texts are given."""
    parts = [orjson.Fragment(m) for m in members]
    return orjson.dumps({**top, key: parts}, default=_fragment, option=_PRETTY)


_CONTAINERS = frozenset({dict, list})


def same_json(a: Any, b: Any) -> bool:
    """Whether two parsed JSON values are equal and of the same JSON types throughout:
    what ``==`` alone misses (``true == 1``, ``1 == 1.0``), so a value that changed type is
    never taken for one already validated. (Numbers written differently but equal, ``1.0``
    and ``1.00``, still compare equal: the value is the same.)"""
    return bool(a == b) and _same_types(a, b)


def _same_types(a: Any, b: Any) -> bool:
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        mine, theirs = a.values(), b.values()
    elif kind is list:
        mine, theirs = a, b
    else:
        return True
    kinds = tuple(map(type, mine))
    if kinds != tuple(map(type, theirs)):
        return False  # a changed type, or the same keys in another order (compared again)
    nested = compress(zip(mine, theirs, strict=True), map(_CONTAINERS.__contains__, kinds))
    return all(starmap(_same_types, nested))
