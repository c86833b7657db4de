"""SIGKILL the headless executor at random points: every order reaches the broker once."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.paper import book_path, read_book
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import Order, PortfolioFile, QueueFile
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_all, load_model
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify

pytestmark = pytest.mark.usefixtures("journal_backend")


RUNS = 50
BATCH = 10
SYMBOLS = ["AAPL", "MSFT", "NVDA"]


def _run_executor(state_dir: str) -> None:
    cmd_executor(Path(state_dir), once=True)


WARM_RUNS = 3
"""Whole runs first, to time a run (`kill_window`)."""


def kill_window(
    state_dir: Path,
    approve: Callable[[int], Iterable[str]],
    target: Callable[[str], None],
    sent: set[str],
) -> float:
    """Seconds a whole run takes on this machine now: the fastest of `WARM_RUNS` runs of
    ``target`` (forked, on ``state_dir``), each after ``approve`` staged a batch (its ids
    join ``sent``). SIGKILLs fall within it: a run slowed down by a busy moment does not
    stretch the window past what most runs take (kills after the end prove nothing)."""
    fork = multiprocessing.get_context("fork")
    spans = []
    for index in range(WARM_RUNS):
        sent.update(approve(index))
        started = time.perf_counter()
        whole = fork.Process(target=target, args=(str(state_dir),))
        whole.start()
        whole.join()
        spans.append(time.perf_counter() - started)
    return min(spans)


def kill_mid_run(
    state_dir: Path,
    target: Callable[[str], None],
    delay: float,
    sent: set[str],
    window: list[float] | None = None,
) -> tuple[bool, bool]:
    """Fork ``target`` on ``state_dir`` and SIGKILL it ``delay`` seconds later: whether it
    died of the kill (not done already), and whether it left one of ``sent`` in
    ``submitting`` (killed in the middle of sending). ``window`` (the span the delays are
    drawn from, `kill_window`'s): a run that ends before its kill shrinks it to how long
    that run took, so that a window measured on a busier moment does not let most later
    kills come after the end (they would prove nothing)."""
    child = multiprocessing.get_context("fork").Process(target=target, args=(str(state_dir),))
    started = time.perf_counter()
    child.start()
    child.join(timeout=delay)
    if child.exitcode is not None and window is not None:
        window[0] = min(window[0], time.perf_counter() - started)
    assert child.pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)
    child.join()
    before = load_model(state_dir, QueueFile)
    interrupted = any(
        o.status is OrderStatus.SUBMITTING for o in before.orders if o.order_id in sent
    )
    return child.exitcode == -signal.SIGKILL, interrupted


def recover_and_check(
    state_dir: Path,
    recover: Callable[[ActionContext], None],
    sent: set[str],
    created: Sequence[str],
    *,
    chain: bool = True,
) -> list[Order]:
    """After a kill: a new executor (``recover``, on the journal's recovery) finishes the
    work; the chain verifies and replays (``chain``), the files load, every order of
    ``sent`` is filled, and each is at its broker once (``created``: the broker's client
    order ids, in the order it took them). The orders of ``sent``."""
    ctx = ActionContext.open(state_dir, "executor")  # journal recovery
    recover(ctx)
    if chain:
        assert verify(ctx.journal).ok
        result = replay(ctx.journal)
        assert result.ok, (result.problems, result.differences)
    ctx.close()
    assert load_all(state_dir).ok
    mine = [o for o in load_model(state_dir, QueueFile).orders if o.order_id in sent]
    assert all(o.status is OrderStatus.FILLED for o in mine), [
        (o.order_id, o.status, o.last_error) for o in mine if o.status is not OrderStatus.FILLED
    ]
    # Exactly once at the broker: one order per client order id, each of ours there.
    assert len(created) == len(set(created))
    assert {o.client_order_id for o in mine} <= set(created)
    return mine


def _approve_batch(state_dir: Path, run: int) -> list[str]:
    ctx = ActionContext.open(state_dir, "dana")
    ids = []
    for index in range(BATCH):
        side = Side.BUY if (run + index) % 3 else Side.SELL
        order = stage_order(
            ctx, vault_id="V_CORE", symbol=SYMBOLS[index % 3], side=side, qty=Decimal(1),
            allow_duplicate=True,  # the same one-share orders, on purpose
        ).result  # fmt: skip
        ids.append(order.order_id)
    approve_orders(ctx, ids)
    ctx.close()
    return ids


def _restart_and_check(state_dir: Path, sent: set[str]) -> None:
    ctx = ActionContext.open(state_dir, "executor")  # journal recovery
    Executor(ctx, paper_brokers(state_dir)).run_once()  # reconcile, then send the rest
    assert verify(ctx.journal).ok
    result = replay(ctx.journal)
    assert result.ok, (result.problems, result.differences)
    ctx.close()
    assert load_all(state_dir).ok
    queue = load_model(state_dir, QueueFile)
    book = read_book(book_path(state_dir))
    account = next(a for ref, a in book.items() if ref.endswith(":V_CORE"))
    mine = [o for o in queue.orders if o.order_id in sent]
    assert all(o.status is OrderStatus.FILLED for o in mine), [
        (o.status, o.last_error, o.attempts) for o in mine if o.status is not OrderStatus.FILLED
    ]
    # Exactly once: one broker order per client id, and the fills the broker made are the
    # fills the portfolio holds (a double send or a double fill would break one or the other).
    assert {o.client_order_id for o in mine} <= set(account["orders"])
    broker_ids = [o["broker_order_id"] for o in account["orders"].values()]
    assert len(broker_ids) == len(set(broker_ids))
    positions = load_model(state_dir, PortfolioFile).accounts["V_CORE"].positions
    for symbol in SYMBOLS:
        assert Decimal(str(account["positions"][symbol]["qty"])) == positions[symbol].qty, symbol
    assert (
        Decimal(str(account["cash"]))
        == load_model(state_dir, PortfolioFile).accounts["V_CORE"].cash
    )


@pytest.mark.xdist_group("kills")  # timed kill windows: never beside another such test
def test_sigkill_while_sending_leaves_every_order_sent_exactly_once(state_dir: Path) -> None:
    vault = json.loads((state_dir / "vault.json").read_text())
    vault["vaults"][0]["risk"]["max_single_pos_pct"] = 0.5  # room for many small buys
    (state_dir / "vault.json").write_text(json.dumps(vault, indent=2))
    rng = random.Random(4242)
    killed = 0
    sent: set[str] = set()
    for run in range(RUNS):
        sent.update(_approve_batch(state_dir, run))
        died, _ = kill_mid_run(state_dir, _run_executor, rng.uniform(0.0, 0.12), sent)
        killed += died
        _restart_and_check(state_dir, sent)
    assert killed > RUNS // 2  # most runs really died mid-way
