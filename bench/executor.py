"""1,000 approved orders through the paper broker, against the durable commits they need.

Run: ``.venv/bin/python bench/executor.py [ORDERS]``. Prints orders/s through
`Executor.run_once`, and the baseline measured in the same run: the time of the durable
SQLite commits (WAL, synchronous=FULL, one small row each) the executor needs for those
orders, counted from the journal (each `Journal.act` is an intent commit plus an event
commit). Goal: at least half the speed those commits allow (ratio ≥ 0.5).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from report import emit

from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.routing import paper_brokers
from vanta_tui.core.enums import AssetClass, OrderStatus, Side
from vanta_tui.core.models import Order, QueueFile, VaultFile
from vanta_tui.demo.bundled import write_demo
from vanta_tui.executor.engine import Executor
from vanta_tui.store import update


def prepare(state_dir: Path, count: int) -> None:
    write_demo(state_dir)

    def room(vaults: VaultFile) -> None:
        vaults.vaults[0].risk.max_single_pos_pct = Decimal("0.9")

    update(state_dir, VaultFile, room)
    now = datetime(2026, 11, 24, 8, 6, tzinfo=UTC)

    def add(queue: QueueFile) -> None:
        for index in range(count):
            queue.orders.append(
                Order(
                    order_id=f"BENCH{index:06d}",
                    vault_id="V_CORE",
                    symbol="NVDA",
                    asset_class=AssetClass.EQUITY,
                    side=Side.BUY,
                    qty=Decimal(1),
                    status=OrderStatus.APPROVED,
                    approved_by="bench",
                    approved_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )

    update(state_dir, QueueFile, add)


def commit_time(directory: Path, commits: int) -> float:
    conn = sqlite3.connect(directory / "baseline.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    start = time.perf_counter()
    for index in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", [f"row {index}"])
        conn.execute("COMMIT")
    took = time.perf_counter() - start
    conn.close()
    return took


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        prepare(state, count)
        ctx = ActionContext.open(state, "executor")
        before = ctx.journal.count()
        executor = Executor(ctx, paper_brokers(state))
        start = time.perf_counter()
        executor.run_once()
        took = time.perf_counter() - start
        events = ctx.journal.count() - before
        acts = ctx.journal.db.execute(
            "SELECT COUNT(DISTINCT ts) FROM events WHERE seq > ?", [before]
        ).fetchone()[0]
        ctx.close()
        filled = sum(
            1
            for o in QueueFile.model_validate_json(
                (state / "autotrade_queue.json").read_bytes()
            ).orders
            if o.order_id.startswith("BENCH") and o.status is OrderStatus.FILLED
        )
        assert filled == count, filled
        commits = 2 * acts + count  # two per journal action, one paper-book fsync per order
        base = commit_time(Path(tmp), commits)
    print(
        f"executor, {count} orders: {count / took:,.0f} orders/s ({took:.2f} s, {events} events "
        f"in {acts} actions); {commits} durable commits alone {base:.2f} s; "
        f"ratio {base / took:.2f} (goal ≥ 0.5)"
    )
    emit(
        f"executor, {count} orders (orders/s)", count / took, "orders/s", commits / base,
        base / took, "ratio ≥ 0.5 (issue 6)", base / took >= 0.5,
    )  # fmt: skip


if __name__ == "__main__":
    main()
