"""`audit export` and `audit show`: the journal for people and other tools."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO

from vanta_tui.core.codec import parse_json
from vanta_tui.core.types import parse_utc
from vanta_tui.store.journal.events import canonical_from_row, line_with_hash
from vanta_tui.store.journal.journal import Journal
from vanta_tui.store.journal.queries import paged_events

_COLUMNS = (
    "seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, prev_hash, hash"
)


def _rows(journal: Journal, since: datetime | None, vault: str | None) -> Iterator[tuple[Any, ...]]:
    where, args = [], []
    if since is not None:
        where.append("ts >= ?")
        args.append(since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if vault is not None:
        where.append("vault_id = ?")
        args.append(vault)
    yield from paged_events(journal, _COLUMNS, " AND ".join(where), args)


def export(
    journal: Journal,
    out: TextIO,
    fmt: str,
    *,
    since: str | None = None,
    vault: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write events as JSONL (the very lines of the log) or CSV; returns how many."""
    moment = parse_utc(since) if since else None
    count = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow([c.strip() for c in _COLUMNS.split(",")])
    for row in _rows(journal, moment, vault):
        if writer is not None:
            writer.writerow(row)
        else:
            out.write(line_with_hash(canonical_from_row(tuple(row[:10])), row[10]) + "\n")
        count += 1
        if progress is not None and count % 10000 == 0:
            progress(count)
    return count


def _summary(action: str, payload: dict[str, Any]) -> str:
    order = payload.get("order") or {}
    fill = payload.get("fill") or {}
    parts: list[str] = []
    if action == "order.staged" and order:
        parts.append(f"{order.get('side')} {order.get('qty')} {order.get('symbol')}")
        if order.get("follower_id"):
            parts.append(f"for follower {order['follower_id']}")
    if fill:
        parts.append(f"{fill.get('qty')} @ {fill.get('price')}")
    if payload.get("reason"):
        parts.append(f"reason: {payload['reason']}")
    if order.get("broker_order_id") and (
        action == "order.submitted" or payload.get("was") == "submitting"
    ):
        parts.append(f"broker id {order['broker_order_id']}")
    if payload.get("error"):
        parts.append(str(payload["error"]))
    return " · ".join(parts)


MIRRORED_AWAY = ("mirror.skipped", "mirror.shadow")
"""Followers a vault order gave no child order (a skip, a shadow), each with the reason."""


def child_orders(journal: Journal, order_id: str) -> list[str]:
    """The orders whose events name ``order_id`` as their parent (a vault order's children),
    from the chain itself."""
    return [
        str(r[0])
        for r in journal.db.execute(
            "SELECT DISTINCT order_id FROM events WHERE order_id IS NOT NULL "
            "AND json_extract(payload, '$.order.parent_id') = ? ORDER BY order_id",
            [order_id],
        )
    ]


def order_tree(journal: Journal, order_id: str, children: Sequence[str] | None = None) -> list[str]:
    """The order's DAG (its events, its children's events) drawn as a tree; a vault order's
    followers that got no child (skipped, shadow) appear in its own chain with the reason.
    ``children``: the order's child orders, when the caller knows them (a derived table
    has them by parent; else `child_orders` finds them in the chain)."""
    ids = [order_id, *(child_orders(journal, order_id) if children is None else children)]
    marks = ",".join("?" for _ in ids)
    rows = journal.db.execute(
        f"SELECT seq, ts, actor, action, coalesce(order_id, ?), payload, parents, follower_id "
        f"FROM events WHERE order_id IN ({marks}) OR (order_id IS NULL AND action IN (?, ?) "
        f"AND json_extract(payload, '$.parent.order_id') = ?) ORDER BY seq",
        [order_id, *ids, *MIRRORED_AWAY, order_id],
    ).fetchall()
    if not rows:
        return []
    nodes = {r[0]: r for r in rows}
    chains: dict[str, list[int]] = {}
    hanging: dict[int, list[str]] = {}
    for seq, _ts, _actor, _action, oid, _payload, parents_text, _follower in rows:
        chain = chains.setdefault(oid, [])
        if not chain and oid != order_id:
            links = [p for p in parse_json(parents_text) if p in nodes]
            hanging.setdefault(max(links) if links else -1, []).append(oid)
        chain.append(seq)
    lines: list[str] = []

    def text(seq: int) -> str:
        _, ts, actor, action, _oid, payload_text, _, follower_id = nodes[seq]
        payload = parse_json(payload_text)
        detail = _summary(action, payload)
        if action in MIRRORED_AWAY:
            child = payload.get("child") or {}
            would = f"{child['side']} {child['qty']} {child['symbol']} · " if child else ""
            detail = f"follower {follower_id} · {would}{detail}"
        return f"#{seq} {action}  {ts[:19]}Z by {actor}" + (f"  {detail}" if detail else "")

    def draw(oid: str, prefix: str) -> None:
        seqs = chains.get(oid, [])
        for index, seq in enumerate(seqs):
            last = index == len(seqs) - 1
            lines.append(prefix + ("└─ " if last else "├─ ") + text(seq))
            for child in hanging.get(seq, []):
                lines.append(prefix + ("   " if last else "│  ") + f"child order {child}")
                draw(child, prefix + ("   " if last else "│  ") + "  ")

    lines.append(f"order {order_id}")
    draw(order_id, "")
    for orphan in hanging.get(-1, []):
        lines.append(f"child order {orphan} (no link to its parent's events)")
        draw(orphan, "  ")
    return lines
