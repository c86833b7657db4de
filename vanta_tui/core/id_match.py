"""Order ids as the desk shows them: an operator may type any unique prefix or suffix of at
least `MIN_ID_PART` characters (the desk shows the last 8), as in `orders approve 6DR82CJK`."""

from __future__ import annotations

from collections.abc import Iterable

MIN_ID_PART = 6


class IdNotFound(ValueError):
    """No order id matches what was typed."""


class IdAmbiguous(ValueError):
    """More than one order id matches what was typed; the message lists them."""


def match_id(typed: str, ids: Iterable[str]) -> str:
    """The one id equal to ``typed``, or starting or ending with it (case-insensitive, at
    least `MIN_ID_PART` characters, a trailing `…` ignored)."""
    token = typed.strip().rstrip("…").rstrip(".").upper()
    known = list(ids)
    if token in known:
        return token
    if len(token) < MIN_ID_PART:
        raise IdNotFound(
            f"no order {typed!r}: give the whole id or at least {MIN_ID_PART} of its first "
            "or last characters"
        )
    found = sorted({i for i in known if i.upper().startswith(token) or i.upper().endswith(token)})
    if not found:
        raise IdNotFound(f"no order matches {typed!r}")
    if len(found) > 1:
        shown = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        raise IdAmbiguous(f"{typed!r} matches {len(found)} orders: {shown}; give more of the id")
    return found[0]
