"""`make bench`: run every bench script, then print one table of every figure.

Run: ``.venv/bin/python bench/run_all.py``. Each script prints its own lines and one
``BENCH {...}`` line per figure (`bench/report.py`); the table shows each figure, its
baseline measured in the same run, the ratio, and the goal its issue states.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from report import PREFIX

SCRIPTS = [
    "store_update.py",
    "audit.py",
    "checkpoints.py",
    "live_update.py",
    "desk.py",
    "desk_scale.py",
    "executor.py",
    "mirror.py",
    "fanout.py",
    "cli_start.py",
    "desk_changes.py",
]


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def table(rows: list[dict[str, Any]]) -> str:
    head = ("figure", "value", "baseline", "ratio", "goal", "met")
    lines = [
        (
            r["figure"],
            _num(r["value"], r["unit"]),
            _num(r["baseline"], r["unit"] if r["unit"] != "events/s" else "events/s"),
            _num(r["ratio"]),
            r["goal"],
            {True: "yes", False: "NO", None: "—"}[r["met"]],
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    out = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [
        " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    ]
    return "\n".join(out)


def main() -> int:
    here = Path(__file__).resolve().parent
    rows: list[dict[str, Any]] = []
    failed = 0
    for name in SCRIPTS:
        print(f"== {name}", flush=True)
        done = subprocess.run(
            [sys.executable, str(here / name)], check=False, capture_output=True, text=True,
            cwd=here,
        )  # fmt: skip
        for line in done.stdout.splitlines():
            if line.startswith(PREFIX):
                rows.append(json.loads(line[len(PREFIX) :]))
            else:
                print(line)
        if done.returncode != 0:
            failed += 1
            print(done.stderr[-2000:], file=sys.stderr)
    print()
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
