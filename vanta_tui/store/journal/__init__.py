"""The audit journal: hash-chained events in SQLite (`vanta.db`) and `trade_log.jsonl`."""

from __future__ import annotations

from vanta_tui.store.errors import PlanRefused
from vanta_tui.store.journal.events import Event, EventDraft
from vanta_tui.store.journal.journal import (
    ActResult,
    Journal,
    Plan,
    RecoveryReport,
    own_order,
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
    "own_order",
    "register",
]
