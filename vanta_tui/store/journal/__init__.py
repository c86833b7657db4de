"""The audit journal: hash-chained events in SQLite (`vanta.db`) and `trade_log.jsonl`."""

from vanta_tui.store.journal.events import Event, EventDraft
from vanta_tui.store.journal.journal import (
    ActionRefused,
    ActResult,
    Journal,
    Plan,
    RecoveryReport,
)

__all__ = ["ActResult", "ActionRefused", "Event", "EventDraft", "Journal", "Plan", "RecoveryReport"]
