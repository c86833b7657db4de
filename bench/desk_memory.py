"""The desk at 10,000 orders: its resident memory, and its executor's start → first order sent.

Run: ``.venv/bin/python bench/desk_memory.py [ROUNDS]`` (default 3). Each measurement is a
fresh Python process on a fresh copy of the state (as after `vanta-tui demo --vaults 200
--orders 10000 --positions 5000`, with a few orders approved so the executor has work):

(a) Resident memory (VmRSS from /proc, MB) of the real desk (headless, 160×50) once its panes
    are shown, read-only (no executor, no journal writes) and writing with its executor
    running (read 3 s after its executor's first cycle ended: every account reconciled),
    and of a bare process that
    only loaded the same files (`Desk.reload`: the data's own size). Goal (issue 24): the
    desk with its executor ≤ 300 MB.
(b) The desk's executor: `Desk.run_executor` called → the paper broker's first `submit`, at
    10,000 orders against the bundled demo (with one order approved the same way). Goal
    (issue 24): within 2 ×.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from report import emit, measure_in_child

HERE = Path(__file__).resolve()
MEMORY_GOAL_MB = 300.0
START_GOAL = 2.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def approve_some(state_dir: Path, count: int) -> None:
    """Approve ``count`` staged orders the way the desk does (the journal records it)."""
    from vanta_tui.actions.errors import ActionRefused
    from vanta_tui.desk import Desk

    queue = json.loads((state_dir / "autotrade_queue.json").read_text())
    staged = [o["order_id"] for o in queue["orders"] if o["status"] == "staged"]
    approved = 0
    with Desk(state_dir, operator="bench") as desk:
        for order_id in staged:
            try:
                desk.approve([order_id])
            except ActionRefused:
                continue  # held by a rule (no price, maintenance): another one
            approved += 1
            if approved == count:
                return
    raise SystemExit(f"only {approved} of {count} orders could be approved in {state_dir}")


def bare_child(state_dir: Path) -> dict[str, float]:
    from vanta_tui.desk import Desk

    Desk(state_dir, operator="bench").reload()
    return {"rss": rss_mb()}


async def desk_child(state_dir: Path, writing: bool) -> dict[str, float]:
    from vanta_tui.brokers.paper import PaperBroker
    from vanta_tui.ui.app import VantaApp
    from vanta_tui.ui.settings import DeskSettings

    marks: dict[str, float] = {}
    submit = PaperBroker.submit

    def timed_submit(self: PaperBroker, request: Any) -> Any:
        marks.setdefault("sent", time.perf_counter())
        return submit(self, request)

    PaperBroker.submit = timed_submit  # type: ignore[method-assign]
    app = VantaApp(
        state_dir,
        operator="bench",
        # The real clock: the orders were approved just now (a fixed, earlier clock would
        # date the executor's changes before the approval).
        settings=DeskSettings(),
        settings_file=state_dir / "bench-settings.toml",
        watch=True,
        read_only=not writing,
        executor=writing,
        executor_paused=False if writing else None,
    )
    if writing:
        run = app.desk.run_executor

        def timed_run(*args: Any, **kwargs: Any) -> Any:
            marks.setdefault("executor", time.perf_counter())
            return run(*args, **kwargs)

        app.desk.run_executor = timed_run  # type: ignore[method-assign]
    async with app.run_test(size=(160, 50)) as pilot:
        deadline = time.perf_counter() + 300
        wanted = "sent" if writing else "loaded"
        while time.perf_counter() < deadline:
            if app.loads:
                marks.setdefault("loaded", time.perf_counter())
            if wanted in marks:
                break
            await pilot.pause(0.1)
        if writing:
            # The desk as it runs on: after its executor's first cycle (every account
            # reconciled, its fills recorded), not at its first send.
            while app.header.executor_text.startswith("executor: reconciling"):
                if time.perf_counter() > deadline:
                    raise SystemExit("the executor's first cycle did not end within 300 s")
                await pilot.pause(0.2)
        await pilot.pause(3.0)
        result = {"rss": rss_mb()}
    if writing:
        result["start_to_sent"] = marks["sent"] - marks["executor"]
    return result


def measure(mode: str, state_dir: Path, scratch: Path) -> dict[str, float]:
    """One measurement in a fresh process, on a fresh copy of ``state_dir``."""
    return measure_in_child(HERE, mode, state_dir, scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, where = args.child
        if mode == "bare":
            found = bare_child(Path(where))
        else:
            found = asyncio.run(desk_child(Path(where), writing=mode == "writing"))
        print(json.dumps(found))
        return

    from vanta_tui.demo.bundled import write_demo
    from vanta_tui.demo.generate import write_generated

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        scratch = Path(tmp)
        demo, big = scratch / "demo", scratch / "big"
        write_demo(demo)
        write_generated(big, 200, 10_000, 5_000)
        approve_some(big, 5)
        approve_some(demo, 1)
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "read": [], "big": [], "demo": []}
        for _ in range(args.rounds):
            runs["bare"].append(measure("bare", big, scratch))
            runs["read"].append(measure("read-only", big, scratch))
            runs["big"].append(measure("writing", big, scratch))
            runs["demo"].append(measure("writing", demo, scratch))

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    bare, read, writing = med("bare", "rss"), med("read", "rss"), med("big", "rss")
    print(f"{args.rounds} rounds, medians, 10,000 orders:")
    print(f"  resident memory: bare load {bare:.0f} MB, read-only desk {read:.0f} MB, ", end="")
    print(f"desk with its executor {writing:.0f} MB (goal ≤ {MEMORY_GOAL_MB:.0f} MB)")
    emit(
        "desk resident memory with executor, 10k orders (MB)", writing, "MB", bare,
        writing / bare, f"≤ {MEMORY_GOAL_MB:.0f} MB (issue 24)", writing <= MEMORY_GOAL_MB,
    )  # fmt: skip
    emit("read-only desk resident memory, 10k orders (MB)", read, "MB", bare, read / bare, "—")
    big_start, demo_start = med("big", "start_to_sent"), med("demo", "start_to_sent")
    ratio = big_start / demo_start
    print(
        f"  executor start → first order sent: {big_start * 1e3:,.0f} ms, demo "
        f"{demo_start * 1e3:,.0f} ms, ratio {ratio:.2f} (goal ≤ {START_GOAL:g})"
    )
    emit(
        "executor start → first order sent, 10k orders (s)", big_start, "s", demo_start, ratio,
        f"≤ {START_GOAL:g} × demo (issue 24)", ratio <= START_GOAL,
    )  # fmt: skip


if __name__ == "__main__":
    main()
