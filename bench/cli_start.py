"""CLI start-up: `vanta-tui --help`, `check` and `status --no-probe`, against starting Python.

Run: ``.venv/bin/python bench/cli_start.py [RUNS]`` (default 15). On a temp copy of the demo
(``vanta-tui init DIR``), times RUNS runs each, interleaved, of ``python -c "import
pydantic"`` (the baseline, measured in the same run) and of each command as a subprocess
(``sys.executable -m vanta_tui``), and prints each median as milliseconds and as a ratio to
the baseline. The goal compares each command with the job itself done by the smallest
program (`MINIMAL`: Python, pydantic, the modules the job needs and the job, in a fresh
process, measured in the same run): each command within 1.5 × of it, so the front door
(the parser, the Desk) costs next to nothing. The in-process work once imported is
printed too. Then ``python -X importtime`` says which
heavy packages each command imports: pandas, numpy, ccxt, alpaca, sqlite_utils and textual
must not be (textual is the desk's alone).
"""

from __future__ import annotations

import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from report import emit

HEAVY = ("pandas", "numpy", "ccxt", "alpaca", "sqlite_utils", "textual")
"""Packages no command line may import (broker SDKs inside their adapters only, Textual in
the desk only, the data-frame stack nowhere)."""
GOAL = 1.5
BASELINE = ("-c", "import pydantic")
COMMANDS: dict[str, tuple[str, ...]] = {
    "--help": ("--help",),
    "check": ("check",),
    "status --no-probe": ("status", "--no-probe"),
}
OK_CODES = {0, 1, 2}  # status WARN (1) or FAIL (2) still ran
MINIMAL: dict[str, str] = {
    "--help": "import pydantic",
    "check": (
        "import sys; from pathlib import Path; from vanta_tui.store.snapshot import load_all; "
        "load_all(Path(sys.argv[1]))"
    ),
    "status --no-probe": (
        "import sys; from pathlib import Path; "
        "from vanta_tui.actions.context import ActionContext; "
        "from vanta_tui.actions.status import collect; from vanta_tui.core.clock import utc_now; "
        "ctx = ActionContext.open(Path(sys.argv[1]), 'bench'); "
        "collect(ctx, utc_now(), probe=False); ctx.close()"
    ),
}
"""The job itself as the smallest program that does it: import only what it needs (the
models, the loader, the status) and do it, in a fresh Python. A command within 1.5 × of
this adds no start-up of its own worth the name (the CLI's parser, the Desk, imports it
does not need)."""


def argv_of(state_dir: Path, args: Sequence[str]) -> list[str]:
    if args == ("--help",):
        return [sys.executable, "-m", "vanta_tui", "--help"]
    return [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), *args]


def wall(argv: Sequence[str]) -> float:
    """Seconds from start to exit of one subprocess."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode not in OK_CODES:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    return took


def work(state_dir: Path, args: Sequence[str], runs: int) -> float:
    """The median seconds of the command once everything is imported (this process)."""
    from vanta_tui.cli.main import main

    argv = list(args) if args == ("--help",) else ["--state-dir", str(state_dir), *args]
    times = []
    for _ in range(runs + 1):  # the first run imports; it is not counted
        sink = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            main(argv)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def heavy_imports(argv: Sequence[str]) -> list[str]:
    """Which `HEAVY` packages the command imports (``python -X importtime``)."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=False
    )
    found = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            found.add(name.split(".")[0])
    return sorted(found & set(HEAVY))


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "demo"
        subprocess.run(
            [sys.executable, "-m", "vanta_tui", "init", str(state_dir)],
            check=True, capture_output=True,
        )  # fmt: skip
        argvs = {name: argv_of(state_dir, args) for name, args in COMMANDS.items()}
        minimal = {
            name: [sys.executable, "-c", code, str(state_dir)] for name, code in MINIMAL.items()
        }
        baseline_argv = [sys.executable, *BASELINE]
        for argv in [baseline_argv, *argvs.values(), *minimal.values()]:
            wall(argv)  # warm the disk cache; status opens the journal the first time
        times: dict[str, list[float]] = {name: [] for name in ["baseline", *argvs]}
        least: dict[str, list[float]] = {name: [] for name in minimal}
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits them all
            times["baseline"].append(wall(baseline_argv))
            for name, argv in argvs.items():
                times[name].append(wall(argv))
                least[name].append(wall(minimal[name]))
        base = statistics.median(times["baseline"])
        print(f"baseline: python -c 'import pydantic': {base * 1000:.0f} ms (median of {runs})")
        for name, args in COMMANDS.items():
            took = statistics.median(times[name])
            own = work(state_dir, args, runs)
            job = statistics.median(least[name])
            limit = GOAL * job
            heavy = heavy_imports(argvs[name])
            met = took <= limit
            print(
                f"vanta-tui {name}: {took * 1000:.0f} ms, ratio {took / base:.2f} to the "
                f"baseline; the job alone (the smallest program doing it) {job * 1000:.0f} ms, "
                f"ratio {took / job:.2f}: goal ≤ {GOAL}: {'met' if met else 'NOT met'} "
                f"(in-process work once imported {own * 1000:.0f} ms); heavy imports: "
                f"{', '.join(heavy) or 'none'}"
            )
            emit(
                f"cli start, vanta-tui {name} (ms)", took * 1000, "ms", job * 1000, took / job,
                f"≤ {GOAL}× the job alone (pydantic + what it imports and does) (issue 20)",
                met,
            )  # fmt: skip
            emit(
                f"cli start, vanta-tui {name}: heavy imports", len(heavy), "modules", None, None,
                "none of " + ", ".join(HEAVY) + " (issue 20)", not heavy,
            )  # fmt: skip
            failed += bool(heavy)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
