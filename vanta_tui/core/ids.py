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


def ulid_bits(order_id: str) -> int:
    """The 128 bits of a ULID (Crockford base32, case-insensitive)."""
    value = 0
    for char in order_id.upper():
        digit = _ALPHABET.find(char)
        if digit < 0:
            raise ValueError(f"not a ULID: {order_id!r}")
        value = (value << 5) | digit
    return value & ((1 << 128) - 1)


CLIENT_ID_FORMS = ("vanta", "hex", "uuid", "ulid", "digits")
"""How a client order id can be written (each venue accepts some of them):
``vanta``: ``vanta-<ULID>`` (32 characters; paper, Alpaca); ``hex``: the ULID's 128 bits as
32 lower-case hex digits; ``uuid``: the same bits as a UUID (8-4-4-4-12, 36 characters);
``ulid``: the ULID itself (26 letters and digits); ``digits``: the ULID's low 45 bits as a
decimal number (for venues that want an integer)."""


def client_order_id_of(order_id: str, form: str = "vanta", prefix: str = "") -> str:
    """The client order id of ``order_id`` in ``form`` (`CLIENT_ID_FORMS`), after ``prefix``:
    derived from the order id alone, so a restart reproduces it."""
    if form == "vanta":
        return prefix + client_order_id(order_id)
    bits = ulid_bits(order_id)
    if form == "hex":
        text = f"{bits:032x}"
    elif form == "uuid":
        raw = f"{bits:032x}"
        text = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    elif form == "ulid":
        text = order_id.upper()
    elif form == "digits":
        text = str(bits & ((1 << 45) - 1))
    else:
        raise ValueError(f"unknown client order id form {form!r}")
    return prefix + text
