"""The audit journal: hash-chained events in SQLite (`vanta.db`) and `trade_log.jsonl`."""

from __future__ import annotations

import importlib
from typing import Any

from vanta_tui.store.errors import PlanRefused
from vanta_tui.store.journal.events import Event, EventDraft
from vanta_tui.store.journal.journal import (
    ActResult,
    Journal,
    Plan,
    RecoveryReport,
)
from vanta_tui.store.journal.projection import Projection, register

__all__ = [
    "ActResult",
    "Event",
    "EventDraft",
    "Journal",
    "Plan",
    "PlanRefused",
    "Projection",
    "RecoveryReport",
    "register",
]


def __getattr__(name: str) -> Any:
    # TEMPORARY (issue 20): remove once callers import vanta_tui.actions.errors.
    # `ActionRefused` moved to the actions layer (the store must not import it: looked up
    # by name at run time, for the modules that still import it from here).
    if name == "ActionRefused":
        return importlib.import_module("vanta_tui.actions.errors").ActionRefused
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
