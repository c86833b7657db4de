"""One machine-readable line per figure, for `make bench`'s table (`bench/run_all.py`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

PREFIX = "BENCH "


def emit(
    figure: str,
    value: float,
    unit: str,
    baseline: float | None,
    ratio: float | None,
    goal: str,
    met: bool | None = None,
) -> None:
    """``goal`` as the issue states it (e.g. "ratio ≥ 0.5"; "—" when it states none);
    ``met`` whether this run meets it (None: no goal)."""
    print(
        PREFIX
        + json.dumps(
            {
                "figure": figure,
                "value": round(value, 3),
                "unit": unit,
                "baseline": None if baseline is None else round(baseline, 3),
                "ratio": None if ratio is None else round(ratio, 3),
                "goal": goal,
                "met": met,
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def measure_in_child(script: Path, mode: str, state_dir: Path, scratch: Path) -> dict[str, float]:
    """One measurement by ``script --child MODE DIR`` in a fresh Python process, on a fresh
    copy of ``state_dir`` (removed after); its last line of output is the JSON result."""
    copy = scratch / f"{state_dir.name}-{time.monotonic_ns()}"
    shutil.copytree(state_dir, copy)
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--child", mode, str(copy)],
            capture_output=True, text=True, check=False, cwd=script.parent,
        )  # fmt: skip
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"{mode} on {state_dir.name} exited {done.returncode}: {done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
