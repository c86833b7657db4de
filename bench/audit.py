"""Verify speed over a large journal, as a ratio to reading and hashing the same bytes.

Run: ``.venv/bin/python bench/audit.py [EVENTS]`` (default 1,000,000). Builds a synthetic
journal of order events in a temp directory with the journal's own event code, then times
`verify` (both sinks, cross-check, head) against a baseline measured in the same run: read
every JSONL line and every SQLite row of the same query, and sha256 each. Goal: ratio ≥ 0.5.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from report import emit

from vanta_tui.store.journal import EventDraft, Journal
from vanta_tui.store.journal.events import GENESIS_HASH, event_ts, make_event
from vanta_tui.store.journal.verify import verify

ACTIONS = ("order.staged", "order.approved", "order.submitting", "order.submitted", "order.filled")


def build(state_dir: Path, count: int) -> Journal:
    journal = Journal(state_dir)
    prev = GENESIS_HASH
    rows = []
    lines = []
    stamp = event_ts(journal.clock())
    for seq in range(1, count + 1):
        order_no = seq // 5
        draft = EventDraft(
            ACTIONS[seq % 5],
            vault_id="V_CORE",
            order_id=f"01JDX4W2M8Q0F3Z{order_no:011d}",
            payload={
                "order": {
                    "symbol": "AAPL",
                    "side": "buy",
                    "qty": Decimal(order_no % 97 + 1),
                    "status": ACTIONS[seq % 5].split(".")[1],
                    "limit_price": Decimal("190.10"),
                    "reason_vector": ["rebalance: AAPL 4.1% → 7.0%"],
                },
                "changes": [{"file": "autotrade_queue.json", "after": "ab" * 32, "version": seq}],
            },
        )
        event = make_event(
            seq=seq,
            ts=stamp,
            actor="bench",
            draft=draft,
            parents=[seq - 1] if seq > 1 else [],
            payload=draft.payload,
            prev_hash=prev,
        )
        prev = event.hash
        rows.append(event.row())
        lines.append(event.to_line() + "\n")
        if len(rows) == 50_000 or seq == count:
            with journal.db.conn:
                journal.db.conn.executemany(
                    "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
                )
            with journal.log_path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)
            rows.clear()
            lines.clear()
    journal._write_head(count, prev)
    return journal


def baseline(journal: Journal) -> float:
    start = time.perf_counter()
    sha256 = hashlib.sha256
    with journal.log_path.open("rb") as handle:
        for line in handle:
            sha256(line).hexdigest()
    cursor = journal.db.execute(
        "SELECT seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, "
        "prev_hash, hash FROM events ORDER BY seq"
    )
    for row in cursor:
        sha256(row[7].encode("utf-8")).hexdigest()
    return time.perf_counter() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        journal = build(Path(tmp), count)
        base = baseline(journal)
        start = time.perf_counter()
        result = verify(journal)
        took = time.perf_counter() - start
        assert result.ok, str(result)
        journal.close()
    ratio = base / took
    print(
        f"audit verify, {count:,} events: {count / took:,.0f} events/s ({took:.2f} s); "
        f"raw read+hash {count / base:,.0f} events/s ({base:.2f} s); ratio {ratio:.2f} "
        "(goal ≥ 0.5)"
    )
    emit(
        f"audit verify, {count:,} events (events/s)", count / took, "events/s",
        count / base, ratio, "ratio ≥ 0.5 (issue 3)", ratio >= 0.5,
    )  # fmt: skip


if __name__ == "__main__":
    main()
