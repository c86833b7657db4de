"""`vanta-tui executor [--once]`: the headless executor, one per state directory."""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.routing import brokers_for, missing_credentials
from vanta_tui.executor.engine import RETRY_AFTER_S, Executor
from vanta_tui.executor.lease import Lease, LeaseHeld


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
        return 2
    lease = Lease(state_dir, "executor")
    try:
        lease.acquire()
    except LeaseHeld as exc:
        print(f"not starting: {exc}")
        return 3
    ctx = ActionContext.open(state_dir, "executor")
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
        executor = Executor(ctx, brokers, retry_after, reconcile_every_s=reconcile_every_s)
        if once:
            reports = executor.run_once()
            sent = sum(r.sent for r in reports)
            print(f"executor: {sent} order(s) sent in {len(reports)} cycle(s)")
            for note in reports[-1].held:
                print(f"held: {note}")
            for error in reports[-1].errors:
                print(f"error: {error}")
            return 0
        while True:  # pragma: no cover - the long-running mode, stopped by a signal
            executor.cycle()
            time.sleep(interval)
    finally:
        ctx.close()
        lease.release()
