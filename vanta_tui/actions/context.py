"""Who acts, where, and when: what every action needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vanta_tui.actions.errors import ActionRefused
from vanta_tui.core.clock import Clock, utc_now
from vanta_tui.store.journal import Journal, RecoveryReport


class ReadOnlyRefused(ActionRefused):
    """The desk or CLI runs read-only; nothing that changes state is allowed."""


@dataclass
class ActionContext:
    state_dir: Path
    journal: Journal
    actor: str
    clock: Clock = field(default=utc_now)
    read_only: bool = False
    recovery: RecoveryReport | None = None
    """What start-up recovery repaired, if anything."""
    live: bool = False
    """The brokers' live endpoints (``--live``), else their sandboxes: which venue limits
    staging checks against."""

    def require_writable(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyRefused(f"read-only mode: {what} is not allowed")

    @classmethod
    def open(
        cls,
        state_dir: Path,
        actor: str,
        *,
        clock: Clock = utc_now,
        read_only: bool = False,
        live: bool = False,
    ) -> ActionContext:
        """Open the journal of ``state_dir`` (recovering from any crash when writable;
        ``read_only``: SQLite's ``mode=ro``, nothing in the directory created or changed)."""
        journal = Journal(state_dir, clock=clock, read_only=read_only)
        report = None if read_only else journal.start()
        return cls(state_dir, journal, actor, clock, read_only, report, live)

    def close(self) -> None:
        self.journal.close()
