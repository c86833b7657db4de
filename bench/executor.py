"""1,000 approved orders through the paper broker, against the durable commits they need.

Run: ``.venv/bin/python bench/executor.py [ORDERS] [ROUNDS]``. Prints orders/s through
`Desk.run_executor(once=True)`, and the baseline measured in the same round: the time of
the durable SQLite commits (WAL, synchronous=FULL, one small row each) the executor needs for those
orders, counted from the journal (each `Journal.act` is an intent commit plus an event
commit) plus one paper-book commit per order. The median round of three is reported (the
machines are noisy). These figures are information: their former goal (ratio ≥ 0.5, issue 6)
is retired, replaced by the fan-out issue's goals on real broker latency (`bench/fanout.py`:
the last of 1,000 children accepted ≤ 1.5 s and every answer recorded ≤ 2.5 s after
approval), which is what an operator waits for.

A second figure runs the same orders through a broker that answers at once from memory
(no disk, no book): the executor's own work (risk checks, the journal's audited actions,
the files), against the same commits. It bounds what any broker-side change can reach
(it showed the retired goal out of the broker side's reach: that work alone cost more than
twice the commits).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from report import emit

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.brokers.base import (
    Broker,
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Brokers,
    BrokerStatus,
    OrderRequest,
)
from vanta_tui.brokers.errors import OrderNotFound
from vanta_tui.core.enums import AssetClass, OrderStatus, Side
from vanta_tui.core.ids import client_order_id as vanta_client_id
from vanta_tui.core.models import Order, QueueFile, VaultFile, Venue
from vanta_tui.demo.bundled import write_demo
from vanta_tui.desk import Desk
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


class InstantBrokers:
    """Every order to one `InstantBroker`; accounts asked by venue (reconciliation) are the
    paper ones."""

    live = False

    def __init__(self, paper: Brokers) -> None:
        self.paper = paper
        self.broker = InstantBroker()

    def for_order(self, order: Order) -> Broker:
        return self.broker

    def for_venue(self, venue: Venue | None, account_id: str) -> Broker:
        return self.paper.for_venue(venue, account_id)


class InstantBroker:
    """Fills every order at once at a fixed price, in memory: no cost of its own."""

    name = "instant"
    mode = "instant"
    parallel = False
    """Served from the executor's own thread, as a local book is."""

    def __init__(self) -> None:
        self.orders: dict[str, BrokerOrder] = {}

    def poll(self) -> list[BrokerOrder]:
        return []  # every order filled when it was sent

    def submit(self, request: OrderRequest) -> BrokerOrder:
        order = BrokerOrder(
            broker_order_id=f"instant-{len(self.orders) + 1}",
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
            status=BrokerStatus.FILLED,
            filled_qty=request.qty,
            avg_fill_price=Decimal("100"),
        )
        self.orders[request.client_order_id] = order
        return order

    def client_order_id_for(self, order_id: str) -> str:
        return vanta_client_id(order_id)

    def get_by_client_id(
        self,
        client_order_id: str,
        symbol: str | None = None,
        broker_order_id: str | None = None,
    ) -> BrokerOrder | None:
        return self.orders.get(client_order_id)

    def prepare(self) -> None:
        return None

    def open_orders(self, symbols: Sequence[str] | None = None) -> list[BrokerOrder]:
        return []

    def cancel(self, broker_order_id: str, symbol: str | None = None) -> BrokerOrder:
        raise OrderNotFound(broker_order_id)

    def positions(self) -> list[BrokerPosition]:
        return []

    def quotes(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        return {}

    def account(self) -> BrokerAccount:
        return BrokerAccount(cash=Decimal(0))


def one_round(count: int, instant: bool) -> tuple[float, float, int, int]:
    """(seconds through the executor, seconds of the commits it needs, events, actions)."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        prepare(state, count)
        paper = paper_brokers(state)
        brokers: Brokers = InstantBrokers(paper) if instant else paper
        desk = Desk(state, operator="bench", brokers=brokers)
        before = desk.journal_seq()
        start = time.perf_counter()
        desk.run_executor(threading.Event(), once=True, holder="bench")
        took = time.perf_counter() - start
        events = desk.journal_seq() - before
        acts = desk.journal_actions_after(before)
        desk.close()
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
    return took, base, events, acts


def median_round(count: int, rounds: int, instant: bool) -> tuple[float, float, int, int]:
    results = sorted((one_round(count, instant) for _ in range(rounds)), key=lambda r: r[1] / r[0])
    return results[len(results) // 2]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    took, base, events, acts = median_round(count, rounds, instant=False)
    commits = 2 * acts + count
    print(
        f"executor, {count} orders: {count / took:,.0f} orders/s ({took:.2f} s, {events} events "
        f"in {acts} actions); {commits} durable commits alone {base:.2f} s; "
        f"ratio {base / took:.2f} (median of {rounds} rounds)"
    )
    emit(
        f"executor, {count} orders (orders/s)", count / took, "orders/s", commits / base,
        base / took, "— (retired; see fan-out)",
    )  # fmt: skip
    took, base, events, acts = median_round(count, rounds, instant=True)
    commits = 2 * acts + count
    print(
        f"executor alone (instant in-memory broker), {count} orders: {took:.2f} s; the same "
        f"{commits} commits {base:.2f} s; ratio {base / took:.2f} (the most any broker-side "
        "change could reach)"
    )
    emit(
        f"executor alone, instant broker, {count} orders (orders/s)", count / took, "orders/s",
        commits / base, base / took, "—",
    )  # fmt: skip


if __name__ == "__main__":
    main()
