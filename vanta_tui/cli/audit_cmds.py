"""`audit verify | anchor | repair | replay | show | export | datasette-metadata`: proving
afterwards what happened, and reading the journal with an analyst's tools."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command, parse_time
from vanta_tui.cli.exit_codes import UsageError
from vanta_tui.cli.progress import Bars

if TYPE_CHECKING:
    from vanta_tui.desk import Desk


def add_audit(sub: Subcommands) -> None:
    audit = command(sub, "audit", "verify, replay, show and export the audit journal")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND", required=True)
    p = command(
        audit_sub, "verify", "check the hash chain in vanta.db and trade_log.jsonl", handle_verify
    )
    p.add_argument(
        "--expect-head", metavar="SEQ:HASH",
        help="also check that the chain holds this head (what 'audit anchor' printed earlier)",
    )  # fmt: skip
    command(
        audit_sub, "anchor", "print the journal's head (SEQ:HASH) to keep outside the machine",
        handle_anchor,
    )  # fmt: skip
    p = command(
        audit_sub, "repair",
        "accept a journal behind or unlike its recorded head (audited; keeps the evidence)",
        handle_repair,
    )  # fmt: skip
    p.add_argument("--reason", required=True)
    command(
        audit_sub, "replay", "rebuild the state files from the journal and diff them",
        handle_replay,
    )  # fmt: skip
    p = command(
        audit_sub, "show", "an order's audit trail as a tree", handle_show,
        desk_options=lambda _args: {"read_only": True},  # it only reads the journal
    )  # fmt: skip
    p.add_argument("order_id")
    p = command(
        audit_sub, "export", "write events as JSONL or CSV to standard output", handle_export
    )
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--since", metavar="TS", help="only events at or after this UTC time")
    p.add_argument("--vault", metavar="ID", help="only events of this vault")
    p = command(
        audit_sub, "migrate",
        "copy the journal from vanta.db into a PostgreSQL database and verify it there",
        handle_migrate,
    )  # fmt: skip
    p.add_argument(
        "--to", required=True, metavar="URL",
        help="the empty PostgreSQL database (postgresql://…; a password in PGPASSWORD or "
        "~/.pgpass)",
    )  # fmt: skip
    command(
        audit_sub, "datasette-metadata",
        "print Datasette metadata describing every table, view and column of vanta.db "
        "(datasette state/vanta.db --metadata FILE)",
        handle_datasette_metadata, stateless=True,
    )  # fmt: skip


def handle_verify(args: argparse.Namespace, desk: Desk) -> int:
    """Verify the journal; its "last verified" note is kept only when the desk may write
    (not with ``--read-only``, not on a directory this user cannot write)."""
    if args.expect_head:
        try:
            desk.check_anchor(args.expect_head)
        except ValueError as exc:
            raise UsageError(f"--expect-head: {exc}") from None
    bars = Bars()
    try:
        result = desk.verify_journal(args.expect_head, progress=bars)
    finally:
        bars.finish()
    print(f"{result}; {result.signing}" if result.ok and result.signing else result)
    return 0 if result.ok else 1


def handle_anchor(args: argparse.Namespace, desk: Desk) -> int:
    """Print the head as SEQ:HASH for the operator to keep elsewhere (a ticket, an email)."""
    anchor = desk.anchor()
    print(anchor.text)
    print(
        "keep this outside the machine; later: vanta-tui audit verify --expect-head " + anchor.text,
        file=sys.stderr,
    )
    if anchor.problem is not None:
        print(f"warning: {anchor.problem}", file=sys.stderr)
        return exit_codes.DATA
    return exit_codes.OK


def handle_repair(args: argparse.Namespace, desk: Desk) -> int:
    """Accept a journal that is behind or disagrees with its anchors (audited)."""
    if desk.read_only:
        print("read-only mode: 'audit repair' changes state and is refused")
        return exit_codes.READ_ONLY
    done = desk.repair_journal(args.reason)
    if done.event is None:
        print("nothing to repair: the chain agrees with its head and checkpoints")
        return 0
    assert done.problem is not None
    kept = ", ".join(done.event.payload.get("kept") or []) or "nothing"
    print(f"repaired ({done.problem.kind}): {done.problem.message}")
    print(f"recorded as journal.repaired #{done.event.seq}; kept as evidence: {kept}")
    return 0


def handle_replay(args: argparse.Namespace, desk: Desk) -> int:
    bars = Bars()
    try:
        result = desk.replay(progress=bars)
    finally:
        bars.finish()
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


def handle_show(args: argparse.Namespace, desk: Desk) -> int:
    lines = desk.audit_trail(args.order_id)  # no such order: refused (65)
    if not lines:
        print(f"no events for order {args.order_id}")
        return 1
    print("\n".join(lines))
    return 0


def handle_export(args: argparse.Namespace, desk: Desk) -> int:
    if args.since is not None:
        try:
            parse_time(args.since, "--since")
        except UsageError as exc:
            raise UsageError(f"{exc}; write a UTC time such as 2026-11-24T00:00:00Z") from None
    bars = Bars()
    try:
        count = desk.export(
            sys.stdout, args.format, since=args.since, vault=args.vault, progress=bars
        )
    finally:
        bars.finish()
    print(f"exported {count} events", file=sys.stderr)
    return 0


DATASETTE_METADATA = ("store", "journal", "datasette-metadata.yml")
"""Where the journal's Datasette metadata is shipped, inside the ``vanta_tui`` package."""


def handle_datasette_metadata(args: argparse.Namespace) -> int:
    """Print the Datasette metadata shipped with the package, as it is (YAML): a document,
    so it is read as package data, without opening (or importing) the journal."""
    from importlib import resources

    document = resources.files("vanta_tui")
    for part in DATASETTE_METADATA:
        document = document.joinpath(part)
    sys.stdout.write(document.read_text(encoding="utf-8"))
    return exit_codes.OK


def handle_migrate(args: argparse.Namespace, desk: Desk) -> int:
    """Copy the SQLite journal into PostgreSQL, verified there; then every process of this
    directory runs with ``--journal URL`` (or $VANTA_JOURNAL_URL)."""
    from vanta_tui.store.errors import StoreError
    from vanta_tui.store.postgres.feed import url_password

    if desk.read_only:
        print("read-only mode: 'audit migrate' changes state and is refused")
        return exit_codes.READ_ONLY
    if url_password(args.to):
        raise UsageError(
            "--to: a password in the URL would show in the process list; give it in "
            "PGPASSWORD or ~/.pgpass"
        )
    bars = Bars()
    try:
        done = desk.migrate_journal(args.to, progress=bars)
    except StoreError as exc:
        bars.finish()
        print(f"audit migrate: {exc}", file=sys.stderr)
        return exit_codes.DATA
    bars.finish()
    rows = ", ".join(f"{table} {count}" for table, count in done.rows.items() if count)
    print(
        f"OK copied to {done.url} and verified: {done.head[0]} events, head "
        f"{done.head[1]}; rows: {rows}"
    )
    print(f"vanta.db kept as {done.kept_as.name}; from now on run every process of this "
          f"directory with --journal {done.url} (or VANTA_JOURNAL_URL)")  # fmt: skip
    return exit_codes.OK
