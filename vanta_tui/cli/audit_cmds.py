"""`audit verify | replay | show | export`: proving afterwards what happened."""

from __future__ import annotations

import sys
from pathlib import Path

from vanta_tui.cli import exit_codes
from vanta_tui.cli.exit_codes import UsageError
from vanta_tui.cli.progress import Progress
from vanta_tui.core.clock import utc_now
from vanta_tui.core.codec import dumps_compact
from vanta_tui.core.id_match import match_id
from vanta_tui.core.types import format_utc, parse_utc
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.export import export, order_tree
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import parse_anchor, verify


def cmd_verify(state_dir: Path, expect_head: str | None = None, read_only: bool = False) -> int:
    """Verify the journal; its "last verified" note is kept only when the desk may write
    (not with ``--read-only``, not on a directory this user cannot write)."""
    try:
        expected = parse_anchor(expect_head) if expect_head else None
    except ValueError as exc:
        raise UsageError(f"--expect-head: {exc}") from None
    with Journal(state_dir, read_only=read_only) as journal:
        bar = Progress("verify", journal.count() * 2)
        result = verify(journal, bar, expect_head=expected)
        bar.finish()
        if not read_only:
            journal.set_meta(
                "verify.last",
                dumps_compact(
                    {"at": format_utc(utc_now()), "ok": result.ok, "result": str(result)}
                ),
            )
    print(f"{result}; {result.signing}" if result.ok and result.signing else result)
    return 0 if result.ok else 1


def cmd_anchor(state_dir: Path) -> int:
    """Print the head as SEQ:HASH for the operator to keep elsewhere (a ticket, an email)."""
    with Journal(state_dir, read_only=True) as journal:
        text = journal.anchor_text()
        problem = journal.integrity()
    print(text)
    print(
        "keep this outside the machine; later: vanta-tui audit verify --expect-head " + text,
        file=sys.stderr,
    )
    if problem is not None:
        print(f"warning: {problem}", file=sys.stderr)
        return exit_codes.DATA
    return exit_codes.OK


def cmd_repair(state_dir: Path, actor: str, reason: str) -> int:
    """Accept a journal that is behind or disagrees with its anchors (audited)."""
    with Journal(state_dir) as journal:
        problem = journal.integrity()
        event = journal.repair(actor, reason)
    if event is None:
        print("nothing to repair: the chain agrees with its head and checkpoints")
        return 0
    assert problem is not None
    kept = ", ".join(event.payload.get("kept") or []) or "nothing"
    print(f"repaired ({problem.kind}): {problem.message}")
    print(f"recorded as journal.repaired #{event.seq}; kept as evidence: {kept}")
    return 0


def cmd_replay(state_dir: Path) -> int:
    with Journal(state_dir, read_only=True) as journal:
        bar = Progress("replay", journal.count())
        result = replay(journal, bar)
        bar.finish()
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(f"problem: {problem}")
    for name, lines in result.differences.items():
        for line in lines:
            print(f"differs: {name}: {line}")
    if result.ok:
        print(f"OK replayed {result.events} events; every state file matches")
        return 0
    print(f"replay of {result.events} events does not match the state files")
    return 1


def cmd_show(state_dir: Path, order_id: str) -> int:
    with Journal(state_dir, read_only=True) as journal:
        known = [str(row[0]) for row in journal.db.execute("SELECT order_id FROM orders")]
        order_id = match_id(order_id, known)  # no such order: refused (65)
        lines = order_tree(journal, order_id)
    if not lines:
        print(f"no events for order {order_id}")
        return 1
    print("\n".join(lines))
    return 0


def cmd_export(state_dir: Path, fmt: str, since: str | None, vault: str | None) -> int:
    if since is not None:
        try:
            parse_utc(since)
        except ValueError as exc:
            raise UsageError(
                f"--since: {exc}; write a UTC time such as 2026-11-24T00:00:00Z"
            ) from None
    with Journal(state_dir, read_only=True) as journal:
        bar = Progress("export", journal.count())
        count = export(journal, sys.stdout, fmt, since=since, vault=vault, progress=bar)
        bar.finish()
    print(f"exported {count} events", file=sys.stderr)
    return 0
