"""Cost of one `update` of the queue, as a ratio to a raw durable file replace of the same bytes.

Run: ``.venv/bin/python bench/store_update.py [ORDERS]``. Prints orders, ms per update, ms per
raw replace (write + fsync + rename + fsync dir, no parsing) and their ratio.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from report import emit

from vanta_tui.core.enums import AssetClass, Side
from vanta_tui.core.models import Order, QueueFile
from vanta_tui.demo.bundled import write_demo
from vanta_tui.store import update, write
from vanta_tui.store.writer import atomic_replace, render


def _queue(count: int) -> QueueFile:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    orders = [
        Order(
            order_id=f"B{i:06d}",
            vault_id="V_CORE",
            symbol="AAPL",
            asset_class=AssetClass.EQUITY,
            side=Side.BUY,
            qty=Decimal(i + 1),
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    ]
    return QueueFile(orders=orders)


def measure(count: int, rounds: int = 10) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        write_demo(state)
        write(state, _queue(count))
        data = render(_queue(count))
        raw = state / "raw.json"
        start = time.perf_counter()
        for _ in range(rounds):
            atomic_replace(raw, data)
        baseline = (time.perf_counter() - start) / rounds
        start = time.perf_counter()
        for _ in range(rounds):
            update(state, QueueFile, lambda q: None)
        figure = (time.perf_counter() - start) / rounds
    return {"orders": count, "update_ms": figure * 1e3, "raw_ms": baseline * 1e3}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    result = measure(count)
    ratio = result["update_ms"] / result["raw_ms"]
    print(
        f"queue update, {count} orders: {result['update_ms']:.1f} ms; raw durable replace "
        f"{result['raw_ms']:.1f} ms; ratio {ratio:.1f}"
    )
    emit(
        f"queue update, {count} orders (ms)", result["update_ms"], "ms", result["raw_ms"],
        ratio, "—", None,
    )  # fmt: skip


if __name__ == "__main__":
    main()
