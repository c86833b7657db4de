"""`make bench`: run every bench script in turn; each prints its figures and baselines.

Run: ``.venv/bin/python bench/run_all.py``. (One combined table with goals per figure is
issue 9's; for now each script prints its own lines.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = [
    "store_update.py",
    "audit.py",
    "live_update.py",
    "desk.py",
    "executor.py",
    "mirror.py",
]


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = 0
    for name in SCRIPTS:
        print(f"== {name}", flush=True)
        done = subprocess.run([sys.executable, str(here / name)], check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
