"""SIGKILL at random points while audited actions run: nothing recorded twice or half."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from journal_helpers import run_actions

from vanta_tui.actions.context import ActionContext
from vanta_tui.core.models import QueueFile
from vanta_tui.store import load_all, load_model
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify

RUNS = 50


REPAIRS: Counter[str] = Counter()


def _check(state_dir: Path, demo_ids: set[str]) -> int:
    ctx = ActionContext.open(state_dir, "checker")  # start-up runs recovery
    report = ctx.recovery
    assert report is not None
    REPAIRS["completed"] += len(report.completed)
    REPAIRS["rolled_forward"] += len(report.rolled_forward)
    REPAIRS["abandoned"] += len(report.abandoned)
    REPAIRS["jsonl_restored"] += report.jsonl_lines_restored
    REPAIRS["torn"] += bool(report.jsonl_torn_bytes)
    try:
        result = verify(ctx.journal)
        assert result.ok, str(result)
        replayed = replay(ctx.journal)
        assert replayed.ok, (replayed.problems, replayed.differences)
        assert load_all(state_dir).ok
        debris = [p.name for p in state_dir.iterdir() if p.name.endswith(".tmp")]
        assert not debris, f"temp files of killed writes left behind: {debris}"
        rows = ctx.journal.db.execute(
            "SELECT order_id, action FROM events WHERE order_id IS NOT NULL"
        ).fetchall()
        twice = [key for key, n in Counter(rows).items() if n > 1]
        assert not twice, f"recorded twice: {twice}"
        journal_status = dict(
            ctx.journal.db.execute("SELECT order_id, status FROM orders").fetchall()
        )
        queue = load_model(state_dir, QueueFile)
        for order in queue.orders:
            if order.order_id not in demo_ids and order.order_id not in journal_status:
                raise AssertionError(f"order {order.order_id} is in the queue but not audited")
            if order.order_id in journal_status:
                assert journal_status[order.order_id] == order.status.value, order.order_id
        return result.events
    finally:
        ctx.close()


@pytest.mark.usefixtures("journal_backend")
def test_sigkill_at_random_points_leaves_a_consistent_journal(state_dir: Path) -> None:
    rng = random.Random(1729)
    ctx = multiprocessing.get_context("fork")
    demo_ids = {o.order_id for o in load_model(state_dir, QueueFile).orders}
    _check(state_dir, demo_ids)
    last_events = 0
    for _ in range(RUNS):
        child = ctx.Process(target=run_actions, args=(str(state_dir), 1000))
        child.start()
        time.sleep(rng.uniform(0.005, 0.25))
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        events = _check(state_dir, demo_ids)
        assert events >= last_events
        last_events = events
    assert last_events > RUNS  # the children did real work between the kills
    print(f"recoveries over {RUNS} kills: {dict(REPAIRS)}")
