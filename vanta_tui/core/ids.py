"""Order ids: ULIDs (time-ordered, 26 Crockford base32 characters)."""

from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(moment: datetime, randomness: int | None = None) -> str:
    """A ULID for ``moment``; ``randomness`` (80 bits) makes it deterministic for tests."""
    millis = int(moment.timestamp() * 1000)
    rand = secrets.randbits(80) if randomness is None else randomness & ((1 << 80) - 1)
    value = (millis << 80) | rand
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def client_order_id(order_id: str) -> str:
    """The broker-side id of an order, derived once from its order id and never changed."""
    return f"vanta-{order_id}"
