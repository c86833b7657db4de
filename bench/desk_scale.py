"""The desk at 10,000 orders: how soon it shows a loading sign, then its panes, and how soon
its executor's first cycle begins, as ratios to baselines measured in the same run.

Run: ``.venv/bin/python bench/desk_scale.py [ROUNDS] [--load N]`` (default 5 rounds). Each
measurement is a fresh Python process, as when an operator opens the desk, on a fresh copy
of its state directory (no journal yet, as after `vanta-tui demo`), timed from after the
imports; the rounds interleave the measurements, so each sees the same machine load, and
the medians are reported. The states: 200 vaults / 10,000 orders / 5,000 positions
(`vanta-tui demo`), and the bundled demo.

(a) The desk on 10,000 orders (headless, 160×50, its executor on): app created → the first
    frame that shows the loading sign, and → the first frame that shows the loaded panes;
    against the bare load of the same files (`Desk.reload` in a fresh process). Goals: the
    panes within 2 × the bare load; the loading sign within 2 × the demo desk's first
    frame (at once: as soon as a small desk paints).
(b) The desk's executor: its start (`Desk.run_executor` called) → its first cycle begun
    (`Executor.cycle` entered: the bench stops there, nothing is sent), at 10,000 orders
    against the bundled demo. Goal: within 2 ×. Also printed, without a goal: app created
    → first cycle begun (the desk's executor starts once the first load is on screen).

``--load N`` keeps N busy Python loops running beside the measurements (a loaded machine,
as the operator who reported it had); they are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import emit, measure_in_child

GOAL = 2.0
HERE = Path(__file__).resolve()
BUSY = "while True: pass"


# ---------------------------------------------------------------------- child processes


def bare_child(state_dir: Path) -> dict[str, float]:
    """The baseline: every state file loaded (`Desk.reload`), as the desk's loader does."""
    import vanta_tui.store.snapshot  # noqa: F401  (imported by the desk before it loads too)
    from vanta_tui.desk import Desk

    start = time.perf_counter()
    Desk(state_dir, operator="bench").reload()
    return {"load": time.perf_counter() - start}


async def desk_child(state_dir: Path) -> dict[str, float]:
    """The desk with its executor: when the loading sign, the panes and the first cycle
    began, in seconds from the app's creation."""
    from textual.screen import Screen

    from vanta_tui.core.clock import fixed_clock
    from vanta_tui.demo.bundled import DEMO_NOW
    from vanta_tui.executor import engine
    from vanta_tui.ui.app import VantaApp
    from vanta_tui.ui.settings import DeskSettings

    marks: dict[str, float] = {}

    def first_cycle(_executor: engine.Executor) -> engine.CycleReport:
        marks.setdefault("cycle", time.perf_counter())
        return engine.CycleReport()  # measured up to here: nothing is sent

    engine.Executor.cycle = first_cycle  # type: ignore[method-assign, assignment]
    start = time.perf_counter()
    app = VantaApp(
        state_dir,
        operator="bench",
        clock=fixed_clock(DEMO_NOW),
        settings=DeskSettings(),
        settings_file=state_dir / "bench-settings.toml",
        watch=False,
        executor=True,
        executor_paused=False,
    )
    run = app.desk.run_executor

    def timed_run(*args: Any, **kwargs: Any) -> Any:
        marks.setdefault("executor", time.perf_counter())
        return run(*args, **kwargs)

    app.desk.run_executor = timed_run  # type: ignore[method-assign]
    display = app._display

    def _display(screen: Screen[Any], renderable: Any) -> None:
        # Every frame goes through here (headless too: the bytes are not written).
        display(screen, renderable)
        if renderable is None:
            return
        now = time.perf_counter()
        marks.setdefault("frame", now)
        if getattr(app.queue_pane.pane, "loading", ""):  # (a desk from before it had one)
            marks.setdefault("loading", now)
        if app.loads:
            marks.setdefault("panes", now)

    app._display = _display  # type: ignore[method-assign]
    async with app.run_test(size=(160, 50)) as pilot:
        deadline = time.perf_counter() + 300
        while not {"panes", "cycle"} <= marks.keys() and time.perf_counter() < deadline:
            await pilot.pause(0.1)  # seldom: the desk's event loop is what is measured
    return {name: at - start for name, at in marks.items()}


# ---------------------------------------------------------------------- the run


def measure(mode: str, state_dir: Path, scratch: Path) -> dict[str, float]:
    """One measurement in a fresh process, on a fresh copy of ``state_dir``."""
    return measure_in_child(HERE, mode, state_dir, scratch)


def median(rounds: list[dict[str, float]], mark: str) -> float:
    return statistics.median(r[mark] for r in rounds)


def line(what: str, value: float, baseline: float, base_name: str) -> str:
    ratio = value / baseline
    met = "meets" if ratio <= GOAL else "MISSES"
    return (
        f"{what}: {value * 1e3:,.0f} ms, {base_name} {baseline * 1e3:,.0f} ms, "
        f"ratio {ratio:.2f} ({met} the goal ≤ {GOAL:g})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=5)
    parser.add_argument("--load", type=int, default=0, help="busy Python loops beside")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, where = args.child
        found = bare_child(Path(where)) if mode == "bare" else asyncio.run(desk_child(Path(where)))
        print(json.dumps(found))
        return

    from vanta_tui.demo.bundled import write_demo
    from vanta_tui.demo.generate import write_generated

    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.load)]
    try:
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
            scratch = Path(tmp)
            demo, big = scratch / "demo", scratch / "big"
            write_demo(demo)
            write_generated(big, 200, 10_000, 5_000)
            bares: list[dict[str, float]] = []
            bigs: list[dict[str, float]] = []
            demos: list[dict[str, float]] = []
            for n in range(args.rounds + 1):  # the first round warms the disk cache
                rounds = (
                    measure("bare", big, scratch),
                    measure("desk", big, scratch),
                    measure("desk", demo, scratch),
                )
                if n:
                    bares.append(rounds[0])
                    bigs.append(rounds[1])
                    demos.append(rounds[2])
    finally:
        for process in busy:
            process.kill()
            process.wait()
    load = f" beside {args.load} busy loop(s)" if args.load else ""
    print(f"{args.rounds} rounds{load}, medians:")
    bare = median(bares, "load")
    panes = median(bigs, "panes")
    # A desk that never showed the sign counts as showing it with the panes.
    loading = statistics.median(r.get("loading", r["panes"]) for r in bigs)
    frame = median(demos, "frame")
    executor = statistics.median(r["cycle"] - r["executor"] for r in bigs)
    executor_demo = statistics.median(r["cycle"] - r["executor"] for r in demos)
    cycle, cycle_demo = median(bigs, "cycle"), median(demos, "cycle")
    print(line("desk at 10,000 orders, loading sign", loading, frame, "demo desk's first frame"))
    print(line("desk at 10,000 orders, panes shown", panes, bare, "bare load"))
    print(line("executor start → first cycle, 10,000 orders", executor, executor_demo, "the demo"))
    print(
        f"desk start → first cycle, 10,000 orders: {cycle * 1e3:,.0f} ms, the demo "
        f"{cycle_demo * 1e3:,.0f} ms, ratio {cycle / cycle_demo:.2f} (no goal: the desk's "
        "executor starts once the first load is on screen)"
    )
    suffix = f", {args.load} busy" if args.load else ""
    figures = [
        ("loading sign", loading, frame, f"ratio ≤ {GOAL:g} (demo first frame)"),
        ("panes shown", panes, bare, f"ratio ≤ {GOAL:g} (bare load)"),
        ("executor start → 1st cycle", executor, executor_demo, f"ratio ≤ {GOAL:g} (demo)"),
    ]
    for what, value, baseline, goal in figures:
        ratio = value / baseline
        emit(
            f"desk {what}, 10k orders{suffix} (ms)", value * 1e3, "ms", baseline * 1e3, ratio,
            goal, ratio <= GOAL,
        )  # fmt: skip
    emit(
        f"desk start → 1st cycle, 10k orders{suffix} (ms)", cycle * 1e3, "ms", cycle_demo * 1e3,
        cycle / cycle_demo, "—", None,
    )  # fmt: skip


if __name__ == "__main__":
    main()
