"""One machine-readable line per figure, for `make bench`'s table (`bench/run_all.py`)."""

from __future__ import annotations

import json

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
