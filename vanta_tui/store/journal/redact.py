"""Secrets never reach the journal: credential-like keys are replaced before anything is hashed,
stored or logged."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

from vanta_tui.core.models.base import SECRET_KEY_RE
from vanta_tui.core.secrets import known, looks_secret_value, scrub
from vanta_tui.core.types import PlainDecimal, format_utc

REDACTED = "[redacted]"
_AS_IS = frozenset({str, int, bool, type(None), PlainDecimal})
"""Types that pass through unchanged (checked first: most values are these)."""


class Clean(dict[str, Any]):
    """A payload part already in the journal's form (plain values, no credential-like keys),
    made by code that knows its shape: `redact` passes it through as it is."""


@lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    return SECRET_KEY_RE.search(key) is not None


def _clean_text(value: str) -> str:
    """A string value: loaded keys scrubbed out, and one that looks like a credential
    replaced whatever its key is called."""
    if known() or looks_secret_value(value):
        return scrub(value)
    return value


def redact(value: Any) -> Any:
    """A copy of ``value`` with the value of every credential-like key replaced.

    Numbers become `PlainDecimal` on the way, so the journal writes them without exponents
    (the text must read back to the same text for the hashes to hold); timestamps become
    UTC strings with a ``Z``; enums their values.
    """
    if type(value) is str:
        return _clean_text(value)
    if type(value) in _AS_IS or type(value) is Clean:
        return value
    if isinstance(value, dict):
        return {
            key: (REDACTED if isinstance(key, str) and _is_secret(key) else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, Decimal) and not isinstance(value, PlainDecimal):
        return PlainDecimal(value)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Enum):
        return value.value
    return value


def redact_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """`redact` for an event payload, passing its ``changes`` through as they are: those are
    patches of state files, whose loader already refuses credential-like keys, and whose
    numbers are already exact (parsed from the written files)."""
    out = redact({k: v for k, v in payload.items() if k != "changes"})
    if "changes" in payload:
        out["changes"] = payload["changes"]
    return dict(out)
