"""One executor means one, a removed lock file lets nobody in, and a lock another program
holds makes the executor wait on that step only and the CLI give up cleanly."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import NOW

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.paper import book_path, read_book
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import PortfolioFile, QueueFile
from vanta_tui.executor.lease import LEASE_NAME, Lease, lease_held
from vanta_tui.store import load_model, update

FORK = multiprocessing.get_context("fork")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def _cli(state_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=120,
    )


def _roomy(state_dir: Path) -> None:
    vault = json.loads((state_dir / "vault.json").read_text())
    vault["vaults"][0]["risk"]["max_single_pos_pct"] = 0.5  # room for many small buys
    (state_dir / "vault.json").write_text(json.dumps(vault, indent=2))


def _approve(state_dir: Path, count: int, symbol: str = "MSFT") -> list[str]:
    ctx = ActionContext.open(state_dir, "dana")
    ids = [
        stage_order(
            ctx, vault_id="V_CORE", symbol=symbol, side=Side.BUY, qty=Decimal(1),
            allow_duplicate=True,
        ).result.order_id
        for _ in range(count)
    ]  # fmt: skip
    approve_orders(ctx, ids)
    ctx.close()
    return ids


def _wait_filled(state_dir: Path, ids: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        orders = {o.order_id: o for o in load_model(state_dir, QueueFile).orders}
        if all(orders[i].status is OrderStatus.FILLED for i in ids):
            return
        time.sleep(0.2)
    raise AssertionError(f"not filled in {timeout} s: {[orders[i].status for i in ids]}")


# --- one executor means one -------------------------------------------------------------


def test_a_second_executor_is_refused_after_the_lease_files_are_removed(state_dir: Path) -> None:
    _roomy(state_dir)
    first = _approve(state_dir, 4)
    executor = subprocess.Popen(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "executor",
         "--reconcile-minutes", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        _wait_filled(state_dir, first)
        removed = [p.name for p in state_dir.iterdir() if p.name.startswith("executor.lease")]
        for name in removed:
            (state_dir / name).unlink()
        assert removed  # there was something to remove (the lock file before, the info now)
        second = _cli(state_dir, "executor", "--once")
        assert second.returncode == 3, second.stdout + second.stderr
        assert "lease is held" in second.stdout
        more = _approve(state_dir, 4, "NVDA")
        _wait_filled(state_dir, more)  # the first executor keeps sending
        assert executor.poll() is None
    finally:
        executor.send_signal(signal.SIGTERM)
        executor.wait(timeout=30)
    queue = {o.order_id: o for o in load_model(state_dir, QueueFile).orders}
    ours = [queue[i] for i in first + more]
    book = read_book(book_path(state_dir))
    account = next(a for ref, a in book.items() if ref.endswith(":V_CORE"))
    # Each order reached the broker once: one broker order per client id, eight in all.
    sent = [account["orders"][o.client_order_id] for o in ours]
    assert len({s["broker_order_id"] for s in sent}) == len(ours) == 8
    broker_ids = [o["broker_order_id"] for o in account["orders"].values()]
    assert len(broker_ids) == len(set(broker_ids))


# --- a removed state-file lock lets nobody in -------------------------------------------


def _slow_cash_change(state_dir: str, inside: Any, release: Any) -> None:
    def change(portfolio: PortfolioFile) -> None:
        inside.set()
        release.wait(20)
        portfolio.accounts["V_CORE"].cash += Decimal(1)

    update(Path(state_dir), PortfolioFile, change)


def _quick_cash_change(state_dir: str, entered: str) -> None:
    def change(portfolio: PortfolioFile) -> None:
        Path(entered).write_text(str(time.monotonic()))
        portfolio.accounts["V_CORE"].cash += Decimal(10)

    update(Path(state_dir), PortfolioFile, change)


def test_removing_a_held_lock_file_does_not_let_a_second_writer_in(
    state_dir: Path, tmp_path: Path
) -> None:
    cash = load_model(state_dir, PortfolioFile).accounts["V_CORE"].cash
    inside, release = FORK.Event(), FORK.Event()
    slow = FORK.Process(target=_slow_cash_change, args=(str(state_dir), inside, release))
    slow.start()
    try:
        assert inside.wait(20)
        (state_dir / "portfolio.json.lock").unlink()  # mid-write
        entered = tmp_path / "entered"
        quick = FORK.Process(target=_quick_cash_change, args=(str(state_dir), str(entered)))
        quick.start()
        time.sleep(1.0)
        assert not entered.exists(), "a second writer came in while the first held the file"
    finally:
        release.set()
        slow.join(30)
    quick.join(30)
    assert slow.exitcode == 0 and quick.exitcode == 0 and entered.exists()
    # Both changes are there: nothing was lost to a writer that came in beside another.
    assert load_model(state_dir, PortfolioFile).accounts["V_CORE"].cash == cash + 11


# --- a lock held by another program ------------------------------------------------------


HOLDER = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_cli_action_waits_then_says_who_holds_the_file(state_dir: Path) -> None:
    ActionContext.open(state_dir, "dana").close()  # a journal exists
    overlay = (state_dir / "vault_overlay.json").read_bytes()
    holder = _hold(state_dir / "vault_overlay.json.lock", 30)
    try:
        started = time.monotonic()
        done = _cli(state_dir, "--wait", "0.5", "maintenance", "on", "V_CORE", "--reason", "x")
        took = time.monotonic() - started
        out = done.stdout + done.stderr
        assert done.returncode == 75, out
        assert f"waiting for vault_overlay.json, held by pid {holder.pid}" in out, out
        assert "nothing was changed" in out and "Traceback" not in out
        assert took < 20
        assert (state_dir / "vault_overlay.json").read_bytes() == overlay
        # An action on other files does not wait for it.
        staged = _cli(state_dir, "--wait", "0.5", "orders", "stage", "V_CORE", "KO", "buy", "1")
        assert staged.returncode == 0, staged.stdout + staged.stderr
        status = _cli(state_dir, "--wait", "0.5", "status", "--no-probe")
        assert "Traceback" not in status.stdout + status.stderr
    finally:
        holder.kill()
        holder.wait()
    done = _cli(state_dir, "maintenance", "on", "V_CORE", "--reason", "x")
    assert done.returncode == 0, done.stdout


def test_the_executor_keeps_sending_while_another_program_holds_the_overlay(
    state_dir: Path,
) -> None:
    _roomy(state_dir)
    ActionContext.open(state_dir, "dana").close()
    holder = _hold(state_dir / "vault_overlay.json.lock", 60)
    executor = None
    try:
        ids = _approve(state_dir, 3)
        executor = subprocess.Popen(
            [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "executor",
             "--reconcile-minutes", "600"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=_env(VANTA_LOCK_WAIT_S="0.3"),
        )  # fmt: skip
        _wait_filled(state_dir, ids, timeout=60)  # sent while the overlay stays locked
        assert executor.poll() is None, "the executor stopped"
        deadline = time.monotonic() + 20
        while True:
            status = _cli(state_dir, "--wait", "0.5", "status", "--no-probe")
            line = next(x for x in status.stdout.splitlines() if "executor" in x)
            if "waiting for vault_overlay.json" in line or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert f"waiting for vault_overlay.json, held by pid {holder.pid}" in line, line
    finally:
        holder.kill()
        holder.wait()
        if executor is not None:
            executor.send_signal(signal.SIGTERM)
            executor.wait(timeout=30)
            assert executor.stderr is not None
            assert "Traceback" not in executor.stderr.read()


# --- a lease that could not be taken is not held ----------------------------------------


def _block_lease_info(state_dir: Path) -> Path:
    """A directory where the lease's info file goes: writing it fails (like a full disk)."""
    blocker = state_dir / f".{LEASE_NAME}.{os.getpid()}.tmp"
    blocker.mkdir()
    return blocker


def test_a_lease_whose_info_cannot_be_written_is_given_back(state_dir: Path) -> None:
    blocker = _block_lease_info(state_dir)
    with pytest.raises(OSError):
        Lease(state_dir, "first").acquire()
    assert not lease_held(state_dir), "the failed acquire kept the lock"
    blocker.rmdir()
    second = Lease(state_dir, "second")
    second.acquire()  # in this process too, at once
    try:
        assert lease_held(state_dir)
        assert "second" in (second.current() or "")
    finally:
        second.release()
    assert not lease_held(state_dir)


async def test_the_desk_executor_gives_the_lease_back_when_it_cannot_start(
    state_dir: Path,
) -> None:
    from ui_helpers import loaded, wait_for

    from vanta_tui.core.clock import fixed_clock
    from vanta_tui.ui.app import VantaApp
    from vanta_tui.ui.settings import DeskSettings

    _block_lease_info(state_dir)
    app = VantaApp(
        state_dir, operator="dana", clock=fixed_clock(NOW), settings=DeskSettings(),
        settings_file=state_dir.parent / "s.toml", executor=True, state_label="state/",
        watch=False,
    )  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "executor"),
            timeout=10,
        )
        assert not lease_held(state_dir), "the desk's failed start kept the lease"
        assert "executor: error" in app.header.executor_text
