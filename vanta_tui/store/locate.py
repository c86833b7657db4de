"""Find the line of a JSON path in JSON text, so errors can say where to look."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast

# Not in typeshed, but public in CPython's json.decoder since 2.x.
scanstring = cast(Callable[[str, int], tuple[str, int]], getattr(json.decoder, "scanstring"))  # noqa: B009

_WS = " \t\n\r"
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _find(text: str, pos: int, loc: tuple[int | str, ...]) -> int:
    pos = _skip_ws(text, pos)
    if not loc:
        return pos
    head, rest = loc[0], loc[1:]
    if text[pos] == "{" and isinstance(head, str):
        cursor = _skip_ws(text, pos + 1)
        while cursor < len(text) and text[cursor] == '"':
            key, cursor = scanstring(text, cursor + 1)
            cursor = _skip_ws(text, cursor) + 1  # the colon
            if key == head:
                return _find(text, cursor, rest)
            _, cursor = _DECODER.raw_decode(text, _skip_ws(text, cursor))
            cursor = _skip_ws(text, cursor)
            if text[cursor] == ",":
                cursor = _skip_ws(text, cursor + 1)
    elif text[pos] == "[" and isinstance(head, int):
        cursor = pos + 1
        for _ in range(head):
            _, cursor = _DECODER.raw_decode(text, _skip_ws(text, cursor))
            cursor = _skip_ws(text, cursor) + 1  # the comma
        return _find(text, cursor, rest)
    return pos


def locate(text: str, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the value at ``loc`` (or of the nearest enclosing value found)."""
    try:
        pos = _find(text, 0, loc)
    except (ValueError, IndexError):
        return None
    return text.count("\n", 0, pos) + 1
