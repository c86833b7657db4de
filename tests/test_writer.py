"""The atomic writer and `update`: locks, versions, refusal, concurrency."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.core.models import FollowersFile, Order, QueueFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store import VersionConflict, WriteRefused, load, load_model, update, write
from vanta_tui.store.writer import lock_path


def test_write_bumps_version_and_leaves_no_temp_files(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    result = write(state_dir, queue)
    assert result.version == queue.version + 1
    assert load(state_dir, StateKind.QUEUE).version == queue.version + 1
    assert lock_path(state_dir, StateKind.QUEUE).name == "autotrade_queue.json.lock"
    assert not [p for p in state_dir.iterdir() if p.name.endswith(".tmp")]


def test_writer_refuses_a_model_that_would_not_load_back(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    before = (state_dir / "autotrade_queue.json").read_bytes()
    queue.orders[0].vault_id = "V_NOBODY"  # no such vault: a cross-file rule
    with pytest.raises(WriteRefused, match=r"would not load back.*unknown vault"):
        write(state_dir, queue)
    queue = load_model(state_dir, QueueFile)
    queue.orders[0].qty = Decimal("-1")  # assignment is not validated; the writer checks
    with pytest.raises(WriteRefused, match=r"\$\.orders\[0\]\.qty"):
        write(state_dir, queue)
    assert (state_dir / "autotrade_queue.json").read_bytes() == before


def test_expect_version_detects_a_concurrent_writer(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    update(state_dir, QueueFile, lambda q: None)
    with pytest.raises(VersionConflict):
        write(state_dir, queue, expect_version=queue.version)


def test_update_creates_a_missing_file_that_has_defaults(state_dir: Path) -> None:
    (state_dir / "followers.json").unlink()
    result = update(state_dir, FollowersFile, lambda f: None)
    assert result.version == 1 and result.model.followers == []


def _new_order(index: int, tag: str) -> Order:
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    return Order(
        order_id=f"{tag}{index:05d}",
        vault_id="V_CORE",
        symbol="AAPL",
        asset_class="equity",
        side="buy",
        qty=Decimal(index + 1),
        created_at=now,
        updated_at=now,
    )


def _append_orders(state_dir: str, tag: str, count: int) -> None:
    for index in range(count):
        order = _new_order(index, tag)
        update(Path(state_dir), QueueFile, lambda q, o=order: q.orders.append(o))  # type: ignore[misc]


def test_two_processes_updating_concurrently_lose_nothing(state_dir: Path) -> None:
    (state_dir / "autotrade_queue.json").write_text(json.dumps({"version": 1, "orders": []}))
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_append_orders, args=(str(state_dir), tag, 500)) for tag in ("A", "B")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    queue = load_model(state_dir, QueueFile)
    ids = {o.order_id for o in queue.orders}
    assert len(queue.orders) == 1000 and len(ids) == 1000
    assert {f"A{i:05d}" for i in range(500)} | {f"B{i:05d}" for i in range(500)} == ids
    assert queue.version == 1001
