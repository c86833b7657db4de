"""Audit events: their canonical text and hash chain.

An event's hash is sha256 of the canonical JSON (sorted keys, no spaces) of the event
without its ``hash`` key, ``prev_hash`` included. A line of ``trade_log.jsonl`` is the same
canonical text with ``"hash"`` in its sorted place, so a verifier can cut the hash out and
rehash the rest without parsing the line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from vanta_tui.core.codec import dumps_canonical, parse_json
from vanta_tui.core.secrets import contains_known, scrub

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""


def event_ts(moment: datetime) -> str:
    """Event timestamps: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class EventDraft:
    """An event before the journal gives it a place in the chain."""

    action: str
    vault_id: str | None = None
    order_id: str | None = None
    follower_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    parents: list[int] | None = None
    """Events this one follows from (seq numbers); None lets the journal derive them."""
    batch_parents: list[int] = field(default_factory=list)
    """Indexes of earlier drafts of the same action that this one follows from."""


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    actor: str
    action: str
    vault_id: str | None
    order_id: str | None
    follower_id: str | None
    payload: dict[str, Any]
    parents: list[int]
    prev_hash: str
    hash: str
    canonical: str | None = field(default=None, compare=False, repr=False)
    """The hashed text, when the event was just made (saves dumping it again)."""
    payload_text: str | None = field(default=None, compare=False, repr=False)
    parents_text: str | None = field(default=None, compare=False, repr=False)

    def body(self) -> dict[str, Any]:
        """Everything that is hashed: the event without its hash."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "vault_id": self.vault_id,
            "order_id": self.order_id,
            "follower_id": self.follower_id,
            "payload": self.payload,
            "parents": self.parents,
            "prev_hash": self.prev_hash,
        }

    def row(self) -> tuple[Any, ...]:
        """The event as a row of the ``events`` table (payload and parents as canonical JSON)."""
        return (
            self.seq,
            self.ts,
            self.actor,
            self.action,
            self.vault_id,
            self.order_id,
            self.follower_id,
            self.payload_text or dumps_canonical(self.payload),
            self.parents_text or parents_json(self.parents),
            self.prev_hash,
            self.hash,
        )

    def to_line(self) -> str:
        return line_with_hash(self.canonical or dumps_canonical(self.body()), self.hash)

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}


def hash_text(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def line_with_hash(canonical: str, digest: str) -> str:
    """Insert ``"hash"`` into canonical event text at its sorted place (before order_id)."""
    cut = canonical.index(',"order_id":')
    return f'{canonical[:cut]},"hash":"{digest}"{canonical[cut:]}'


def make_event(
    *,
    seq: int,
    ts: str,
    actor: str,
    draft: EventDraft,
    parents: list[int],
    payload: dict[str, Any],
    prev_hash: str,
) -> Event:
    payload_text = dumps_canonical(payload)
    if contains_known(payload_text):
        # A loaded key inside a part redaction passes as it is (a file's patch, an order's
        # snapshot): scrubbed from the text, which is what is hashed and stored.
        payload = parse_json(scrub(payload_text))
        payload_text = dumps_canonical(payload)
    parents_text = parents_json(parents)
    canonical = canonical_from_row(
        (
            seq, ts, actor, draft.action, draft.vault_id, draft.order_id, draft.follower_id,
            payload_text, parents_text, prev_hash,
        )
    )  # fmt: skip
    digest = hash_text(canonical)
    return Event(
        seq=seq,
        ts=ts,
        actor=actor,
        action=draft.action,
        vault_id=draft.vault_id,
        order_id=draft.order_id,
        follower_id=draft.follower_id,
        payload=payload,
        parents=parents,
        prev_hash=prev_hash,
        hash=digest,
        canonical=canonical,
        payload_text=payload_text,
        parents_text=parents_text,
    )


def parents_json(parents: list[int]) -> str:
    """Canonical JSON of a list of seq numbers (what `dumps_canonical` gives, without its
    per-call set-up: this runs for every event)."""
    return "[" + ",".join(str(int(p)) for p in parents) + "]"


def event_from_dict(data: dict[str, Any]) -> Event:
    return Event(
        seq=int(data["seq"]),
        ts=str(data["ts"]),
        actor=str(data["actor"]),
        action=str(data["action"]),
        vault_id=data.get("vault_id"),
        order_id=data.get("order_id"),
        follower_id=data.get("follower_id"),
        payload=dict(data.get("payload") or {}),
        parents=[int(p) for p in data.get("parents") or []],
        prev_hash=str(data["prev_hash"]),
        hash=str(data["hash"]),
    )


EVENT_COLUMNS = (
    "seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, prev_hash, hash"
)
"""The columns of the ``events`` table, in the order `event_from_row` takes them."""


def event_from_row(row: Sequence[Any]) -> Event:
    """An event read from the ``events`` table (the columns of `EVENT_COLUMNS`)."""
    seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, prev, digest = row
    return Event(
        seq=int(seq),
        ts=str(ts),
        actor=str(actor),
        action=str(action),
        vault_id=vault_id,
        order_id=order_id,
        follower_id=follower_id,
        payload=dict(parse_json(payload)),
        parents=[int(p) for p in parse_json(parents)],
        prev_hash=str(prev),
        hash=str(digest),
        payload_text=str(payload),
        parents_text=str(parents),
    )


def event_from_line(line: str) -> Event:
    return event_from_dict(parse_json(line))


def canonical_from_row(row: tuple[Any, ...]) -> str:
    """The hashed text of an event stored as an SQLite row, built without parsing JSON.

    ``row`` is (seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents,
    prev_hash) with payload and parents already canonical JSON text.
    """
    seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, prev = row
    dumps = _string
    return (
        f'{{"action":{dumps(action)},"actor":{dumps(actor)},'
        f'"follower_id":{dumps(follower_id)},"order_id":{dumps(order_id)},'
        f'"parents":{parents},"payload":{payload},"prev_hash":"{prev}",'
        f'"seq":{seq},"ts":"{ts}","vault_id":{dumps(vault_id)}}}'
    )


def _string(value: str | None) -> str:
    """``json.dumps(value, ensure_ascii=False)``: orjson writes the same text, faster (this
    runs five times per event); json for what orjson refuses (lone surrogates)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False)
