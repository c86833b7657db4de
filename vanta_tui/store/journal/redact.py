"""Secrets never reach the journal: credential-like keys are replaced before anything is hashed,
stored or logged."""

from __future__ import annotations

from typing import Any

from vanta_tui.core.models.base import SECRET_KEY_RE

REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """A copy of ``value`` with the value of every credential-like key replaced."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if isinstance(key, str) and SECRET_KEY_RE.search(key) else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
