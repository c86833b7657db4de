"""`vanta-tui executor [--once]`: the headless executor, one per state directory."""

from __future__ import annotations

import logging
import sys
import time
from decimal import Decimal
from pathlib import Path

from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.routing import brokers_for, missing_credentials, venue_problems
from vanta_tui.cli import exit_codes
from vanta_tui.core.logs import Lapse
from vanta_tui.executor.engine import RETRY_AFTER_S, Executor
from vanta_tui.executor.lease import Lease, LeaseHeld
from vanta_tui.store.errors import LockLost, LockTimeout, StoreError
from vanta_tui.store.writer import lock_wait_configured, set_lock_wait

log = logging.getLogger(__name__)

EXECUTOR_LOCK_WAIT_S = 2.0
"""How long the headless executor waits for a file another program holds before it skips
that step for this cycle (``--wait`` or ``$VANTA_LOCK_WAIT_S`` set it otherwise)."""


def cmd_executor(
    state_dir: Path,
    once: bool,
    interval: float = 1.0,
    *,
    retry_after: tuple[float, ...] = RETRY_AFTER_S,
    slippage_bps: Decimal = Decimal(0),
    partial_fill_ratio: Decimal | None = None,
    live: bool = False,
    timeout_s: float = 10.0,
    reconcile_every_s: float = 300.0,
) -> int:
    missing = missing_credentials(state_dir)
    if missing:
        for line in missing:
            print(f"not starting: {line}", file=sys.stderr)
        return exit_codes.BROKER_UNAVAILABLE
    if lock_wait_configured() is None:
        set_lock_wait(EXECUTOR_LOCK_WAIT_S)  # a held file skips a step, not the cycle
    lease = Lease(state_dir, "executor")
    try:
        lease.acquire()
    except LeaseHeld as exc:
        print(f"not starting: {exc}")
        return exit_codes.LEASE_HELD
    ctx = ActionContext.open(state_dir, "executor")
    if ctx.recovery is not None and ctx.recovery.problem is not None:
        print(f"not starting: {ctx.recovery.problem}", file=sys.stderr)
        ctx.close()
        lease.release()
        return exit_codes.DATA
    try:
        brokers = brokers_for(
            state_dir,
            live=live,
            timeout_s=timeout_s,
            slippage_bps=slippage_bps,
            partial_fill_ratio=partial_fill_ratio,
        )
        if live:
            print("executor: LIVE endpoints (real money)")
        for line in venue_problems(state_dir, live=live):
            print(f"venue refused: {line}", file=sys.stderr)  # the other venues trade
        executor = Executor(ctx, brokers, retry_after, reconcile_every_s=reconcile_every_s)
        if once:
            reports = executor.run_once()
            sent = sum(r.sent for r in reports)
            print(f"executor: {sent} order(s) sent in {len(reports)} cycle(s)")
            for note in reports[-1].held:
                print(f"held: {note}")
            for error in reports[-1].errors:
                print(f"error: {error}")
            for note in reports[-1].waiting:
                print(f"waiting: {note}")
            return 0
        lapse = Lapse(log, "executor cycle")
        while True:  # the long-running mode, stopped by a signal
            try:
                report = executor.cycle()
            except (LockTimeout, LockLost) as exc:  # a step outside the guarded ones
                print(f"executor: {exc}", file=sys.stderr, flush=True)
            except StoreError as exc:  # a broken state file: said once, and once when fixed
                if lapse.failed(str(exc)):
                    print(f"executor: waiting: {exc}", file=sys.stderr, flush=True)
            else:
                if lapse.ok():
                    print("executor: the state files load again", file=sys.stderr, flush=True)
                for note in report.waiting:
                    print(f"executor: {note}", file=sys.stderr, flush=True)
            time.sleep(interval)
    finally:
        ctx.close()
        lease.release()
