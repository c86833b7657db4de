"""Proving afterwards what happened: verify, anchor, repair, replay, export, an order's trail.

The journal's own functions (`store.journal.verify`, `replay`, `export`) opened the way
each needs: read-only to look, writable to note the last verification or to repair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vanta_tui.actions.projections import child_orders, order_ids
from vanta_tui.core.clock import Clock
from vanta_tui.core.codec import dumps_compact
from vanta_tui.core.id_match import match_id
from vanta_tui.core.types import format_utc
from vanta_tui.store.journal import Event, Journal
from vanta_tui.store.journal.anchor import IntegrityProblem
from vanta_tui.store.journal.export import export, order_tree
from vanta_tui.store.journal.replay import ReplayResult, replay
from vanta_tui.store.journal.verify import VerifyResult, parse_anchor, verify

if TYPE_CHECKING:
    from vanta_tui.store.postgres.migrate import Migrated

ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a label and a total, the callback told how many items are done (a progress bar)."""


def no_progress(_label: str, _total: int) -> Callable[[int], None]:
    return lambda _done: None


def trail(journal: Journal, order_id: str) -> list[str]:
    """An order's audit trail as the lines of a tree; ``order_id`` may be a unique prefix or
    suffix of six or more characters (an unknown or ambiguous one is refused)."""
    order_id = match_id(order_id, order_ids(journal))
    return order_tree(journal, order_id, children=child_orders(journal, order_id))


def verify_journal(
    state_dir: Path,
    clock: Clock,
    *,
    expect_head: str | None = None,
    note: bool = True,
    progress: ProgressFactory = no_progress,
) -> VerifyResult:
    """Check the hash chains of vanta.db and trade_log.jsonl (and ``expect_head``, a
    SEQ:HASH kept elsewhere; a malformed one raises ValueError). ``note``: keep the
    result as the journal's "last verified" (only where this user may write)."""
    expected = parse_anchor(expect_head) if expect_head else None
    with Journal(state_dir, read_only=not note) as journal:
        result = verify(journal, progress("verify", journal.count() * 2), expect_head=expected)
        if note:
            text = {"at": format_utc(clock()), "ok": result.ok, "result": str(result)}
            journal.set_meta("verify.last", dumps_compact(text))
    return result


@dataclass(frozen=True)
class Anchor:
    text: str
    """The head as SEQ:HASH, to keep outside the machine."""
    problem: IntegrityProblem | None


def anchor(state_dir: Path) -> Anchor:
    with Journal(state_dir, read_only=True) as journal:
        return Anchor(journal.anchor_text(), journal.integrity())


@dataclass(frozen=True)
class Repair:
    problem: IntegrityProblem | None
    event: Event | None
    """The ``journal.repaired`` event, or None when there was nothing to repair."""


def repair(state_dir: Path, actor: str, reason: str, clock: Clock) -> Repair:
    """Accept a journal behind or unlike its recorded head (audited; keeps the evidence)."""
    with Journal(state_dir, clock=clock) as journal:
        problem = journal.integrity()
        return Repair(problem, journal.repair(actor, reason))


def replay_journal(state_dir: Path, progress: ProgressFactory = no_progress) -> ReplayResult:
    """Rebuild the state files from the journal and compare them with the files."""
    with Journal(state_dir, read_only=True) as journal:
        return replay(journal, progress("replay", journal.count()))


def export_journal(
    state_dir: Path,
    out: TextIO,
    fmt: str,
    *,
    since: str | None = None,
    vault: str | None = None,
    progress: ProgressFactory = no_progress,
) -> int:
    """Write the events (JSONL or CSV) to ``out``; how many."""
    with Journal(state_dir, read_only=True) as journal:
        bar = progress("export", journal.count())
        return export(journal, out, fmt, since=since, vault=vault, progress=bar)


def migrate_journal(state_dir: Path, url: str, progress: ProgressFactory = no_progress) -> Migrated:
    """Copy the directory's SQLite journal into the empty PostgreSQL database at ``url``,
    make it the directory's journal and verify the copy (`store.postgres.migrate`)."""
    from vanta_tui.store.journal.journal import DB_NAME
    from vanta_tui.store.postgres.migrate import migrate

    total = 0
    if (state_dir / DB_NAME).exists():
        with Journal(state_dir, url=None, read_only=True) as journal:
            total = journal.count()
    return migrate(state_dir, url, progress("copy", total))
