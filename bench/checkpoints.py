"""Per-action cost of signed checkpoints as the checkpoint file grows (issue 18 review).

Run: ``.venv/bin/python bench/checkpoints.py [LINES]`` (default 50,000). With a signing key,
times one recorded action in a fresh journal (as a CLI process makes: open, integrity check,
append, checkpoint at close) over a checkpoint file of 400 lines (the baseline) and of
LINES lines. The journal reads only the file's last line, so the ratio should be about 1.
Goal: ratio ≤ 1.5.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from report import emit

from vanta_tui.store.journal import EventDraft, Journal, anchor

os.environ[anchor.AUDIT_KEY_ENV] = "bench key, not a secret"
ROUNDS = 30


def grow(state_dir: Path, lines: int) -> None:
    """Pad the checkpoint file to ``lines`` lines before its real ones (the journal never
    reads them; `audit verify` would)."""
    path = state_dir / anchor.CHECKPOINTS_NAME
    data = path.read_bytes()
    first = data.splitlines(keepends=True)[0]
    count = data.count(b"\n")
    path.write_bytes(first * max(0, lines - count) + data)


def per_action(state_dir: Path) -> float:
    times = []
    for _ in range(ROUNDS):
        anchor._TAIL_CACHE.clear()  # a new process each time
        start = time.perf_counter()
        with Journal(state_dir) as journal:
            journal.record("bench", [EventDraft("note.added", payload={"text": "x"})])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        with Journal(state_dir) as journal:
            journal.record("bench", [EventDraft("note.added")])
        grow(state_dir, 400)
        small = per_action(state_dir)
        grow(state_dir, lines)
        large = per_action(state_dir)
    print(f"per action: {small:.2f} ms at 400 checkpoint lines, {large:.2f} ms at {lines:,}")
    ratio = large / small
    emit(f"action at {lines:,} checkpoint lines", large, "ms", small, ratio, "ratio ≤ 1.5",
         ratio <= 1.5)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
