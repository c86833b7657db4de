"""Parsing a state file by difference: the items of its one big array, each with its place
in the text, so that a rewrite of the file that changed one order is parsed as one order.

Another program rewrites ``autotrade_queue.json`` whole (temp file + rename) to change one
order. Parsing 10,000 orders again costs what the change does not: `parse_with_spans` parses
the file once and keeps where each item of the array (``orders``) starts and ends;
`changed_items` compares the new text with the old one from both ends (C-speed slice
comparisons) and names the run of items the difference falls in, and the text that replaces
them; `parse_items` parses only that text. The text outside the run is the same characters
as before, so the items there are the very items parsed before: nothing is taken on trust
that the bytes do not show.

Whatever these functions cannot place (a change outside the array, text they cannot walk)
is answered with None or `NotWalkable`: the caller then parses the whole file the usual way,
which also words any error with its line and column.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vanta_tui.core.codec import _no_duplicate_keys, _reject_constant
from vanta_tui.core.types import PlainDecimal

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder(
    parse_float=PlainDecimal,
    parse_constant=_reject_constant,
    object_pairs_hook=_no_duplicate_keys,
)
_scan = _DECODER.scan_once  # type: ignore[attr-defined]


class NotWalkable(ValueError):
    """The text is not a JSON object these functions can walk (malformed, or shaped
    otherwise): parse it the usual way, which says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Spans:
    """Where each item of the array ``key`` lies in the text: ``starts[k]``..``ends[k]``
    (end exclusive), in order."""

    key: str
    starts: list[int]
    ends: list[int]
    ours: bool = field(default=False, compare=False)
    """Each item is laid out as this desk writes a queue's orders (`loader.member_spans`
    counted them in a text it wrote), so a render takes each one's text as it is."""


def _skip(text: str, index: int) -> int:
    match = _WS.match(text, index)
    return match.end() if match is not None else index


def _value(text: str, index: int) -> tuple[Any, int]:
    try:
        return _scan(text, index)  # type: ignore[no-any-return]
    except StopIteration:
        raise NotWalkable(f"no JSON value at character {index}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a duplicate key, NaN
        raise NotWalkable(str(exc)) from None


def parse_with_spans(text: str, key: str) -> tuple[dict[str, Any], Spans]:
    """The top-level object of ``text`` (as `codec.parse_json` would give it) and the places
    of the items of its array ``key``. Raises `NotWalkable` for anything else."""
    index = _skip(text, 0)
    if text[index : index + 1] != "{":
        raise NotWalkable("the top level is not an object")
    index = _skip(text, index + 1)
    result: dict[str, Any] = {}
    starts: list[int] = []
    ends: list[int] = []
    found = False
    if text[index : index + 1] == "}":
        index += 1
    else:
        while True:
            if text[index : index + 1] != '"':
                raise NotWalkable("expected a key")
            name, index = _value(text, index)
            if name in result:
                raise NotWalkable(f"key {name!r} appears twice")
            index = _skip(text, index)
            if text[index : index + 1] != ":":
                raise NotWalkable("expected ':'")
            index = _skip(text, index + 1)
            if name == key and text[index : index + 1] == "[":
                found = True
                items: list[Any] = []
                index = _skip(text, index + 1)
                if text[index : index + 1] == "]":
                    index += 1
                else:
                    while True:
                        item, end = _value(text, index)
                        starts.append(index)
                        ends.append(end)
                        items.append(item)
                        index = _skip(text, end)
                        mark = text[index : index + 1]
                        if mark == ",":
                            index = _skip(text, index + 1)
                        elif mark == "]":
                            index += 1
                            break
                        else:
                            raise NotWalkable("expected ',' or ']'")
                result[name] = items
            else:
                result[name], index = _value(text, index)
            index = _skip(text, index)
            mark = text[index : index + 1]
            if mark == ",":
                index = _skip(text, index + 1)
            elif mark == "}":
                index += 1
                break
            else:
                raise NotWalkable("expected ',' or '}'")
    if _skip(text, index) != len(text):
        raise NotWalkable("text after the top-level object")
    if not found:
        raise NotWalkable(f"no array {key!r}")
    return result, Spans(key, starts, ends)


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix (halving slice comparisons: C speed)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit``."""
    low, high = 0, limit
    la, lb = len(a), len(b)
    while low < high:
        middle = (low + high + 1) // 2
        if a[la - middle : la - low] == b[lb - middle : lb - low]:
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True, slots=True)
class Change:
    """Items ``first``..``last`` (inclusive; ``last = first - 1`` when none) of the old text
    were replaced by the new text ``start``..``end``: a comma-separated run of zero or more
    items. ``delta``: how far the items after the run moved."""

    first: int
    last: int
    start: int
    end: int
    delta: int


def changed_items(old: str, new: str, spans: Spans) -> Change | None:
    """Which items of ``old`` the difference to ``new`` falls in, or None when it reaches
    outside the array's items (the file's other fields, the brackets), or there are none."""
    starts, ends = spans.starts, spans.ends
    if not starts or old == new:
        return None
    prefix = _common_prefix(old, new)
    suffix = _common_suffix(old, new, min(len(old), len(new)) - prefix)
    old_end = len(old) - suffix  # old[prefix:old_end] became new[prefix:len(new) - suffix]
    if prefix < starts[0] or old_end > ends[-1]:
        return None
    # The run: from the last item starting at or before the first difference, to the first
    # item ending at or after the last one. Both ends of it are unchanged text, so the new
    # text between them is a run of whole items and the commas between them.
    first = bisect_right(starts, prefix) - 1
    last = bisect_left(ends, old_end)
    if first < 0 or last >= len(ends):
        return None
    first = min(first, last)
    delta = len(new) - len(old)
    return Change(first, last, starts[first], ends[last] + delta, delta)


def parse_items(text: str, start: int, end: int) -> tuple[list[Any], list[int], list[int]]:
    """The items of ``text[start:end]`` (a comma-separated run, possibly empty), with their
    places in ``text``. Raises `NotWalkable` if that text is not such a run."""
    items: list[Any] = []
    starts: list[int] = []
    ends: list[int] = []
    index = _skip(text, start)
    while index < end:
        item, stop = _value(text, index)
        if stop > end:
            raise NotWalkable("an item runs past the changed text")
        items.append(item)
        starts.append(index)
        ends.append(stop)
        index = _skip(text, stop)
        if index >= end:
            break
        if text[index] != ",":
            raise NotWalkable("expected ',' between items")
        index = _skip(text, index + 1)
        if index >= end:
            raise NotWalkable("a ',' with no item after it")
    return items, starts, ends


def spliced(spans: Spans, change: Change, starts: Sequence[int], ends: Sequence[int]) -> Spans:
    """The places of the new text's items: those before the run as they were, the run's
    new ones, those after it moved by ``delta``."""
    delta = change.delta
    after = change.last + 1
    return Spans(
        spans.key,
        [*spans.starts[: change.first], *starts, *(s + delta for s in spans.starts[after:])],
        [*spans.ends[: change.first], *ends, *(e + delta for e in spans.ends[after:])],
    )
