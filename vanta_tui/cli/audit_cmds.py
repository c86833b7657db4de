"""`audit verify | replay | show | export`: proving afterwards what happened."""

from __future__ import annotations

import sys
from pathlib import Path

from vanta_tui.cli.progress import Progress
from vanta_tui.core.clock import utc_now
from vanta_tui.core.types import format_utc
from vanta_tui.store.codec import dumps_compact
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.export import export, order_tree
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify


def cmd_verify(state_dir: Path) -> int:
    with Journal(state_dir) as journal:
        bar = Progress("verify", journal.count() * 2)
        result = verify(journal, bar)
        bar.finish()
        journal.set_meta(
            "verify.last",
            dumps_compact({"at": format_utc(utc_now()), "ok": result.ok, "result": str(result)}),
        )
    print(result)
    return 0 if result.ok else 1


def cmd_replay(state_dir: Path) -> int:
    with Journal(state_dir) as journal:
        bar = Progress("replay", journal.count())
        result = replay(journal, bar)
        bar.finish()
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
    with Journal(state_dir) as journal:
        lines = order_tree(journal, order_id)
    if not lines:
        print(f"no events for order {order_id}")
        return 1
    print("\n".join(lines))
    return 0


def cmd_export(state_dir: Path, fmt: str, since: str | None, vault: str | None) -> int:
    with Journal(state_dir) as journal:
        bar = Progress("export", journal.count())
        count = export(journal, sys.stdout, fmt, since=since, vault=vault, progress=bar)
        bar.finish()
    print(f"exported {count} events", file=sys.stderr)
    return 0
