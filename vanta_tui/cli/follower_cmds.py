"""`vanta-tui followers ...` and `vanta-tui fees ...`."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command, parse_time

if TYPE_CHECKING:
    from vanta_tui.actions.followers import ImportReport
    from vanta_tui.desk import Desk

SHOWN_ACCOUNTS = 10
"""How many account refs a summary names before it counts the rest."""


def _reads(_args: argparse.Namespace) -> bool:
    return True


def add_followers(sub: Subcommands) -> None:
    followers = command(
        sub, "followers",
        "mirror followers: add an API packet, import many, list, kill switch, remove",
    )  # fmt: skip
    followers_sub = followers.add_subparsers(
        dest="followers_command", metavar="FOLLOWERS_COMMAND", required=True
    )
    p = command(
        followers_sub, "add", "validate an API packet and register the follower",
        handle_followers_add,
    )  # fmt: skip
    p.add_argument("packet", type=Path, metavar="PACKET.json")
    p = command(
        followers_sub, "import",
        "check many API packets, list every problem with its line, register them in one "
        "audited action",
        handle_followers_import,
    )  # fmt: skip
    p.add_argument(
        "source", type=Path, metavar="FILE",
        help="a JSON Lines file (one packet a line) or a directory of PACKET.json files",
    )  # fmt: skip
    p.add_argument(
        "--partial", action="store_true",
        help="add the valid packets and list the others as skipped (exit 1 if any)",
    )  # fmt: skip
    command(
        followers_sub, "list",
        "every follower with mode, caps, equity, kill switch, PnL and fees",
        handle_followers_list, read_only_ok=_reads,
    )  # fmt: skip
    p = command(
        followers_sub, "kill-switch", "stop (on) or resume (off) mirroring to a follower",
        handle_kill_switch,
    )  # fmt: skip
    p.add_argument("follower_id")
    p.add_argument("state", choices=["on", "off"])
    p = command(
        followers_sub, "remove", "remove a follower with no open orders or positions",
        handle_followers_remove,
    )  # fmt: skip
    p.add_argument("follower_id")


def handle_followers_add(args: argparse.Namespace, desk: Desk) -> int:
    follower, moved = desk.add_follower(args.packet)
    print(f"added {follower.follower_id} to {follower.vault_id} ({follower.mode.value})")
    if moved:
        print(f"keys moved to the keyring for: {', '.join(moved)}")
    return 0


def handle_followers_import(args: argparse.Namespace, desk: Desk) -> int:
    """Every problem one a line; then what was imported, or why nothing was. Exit 0 when
    every packet went in, 1 when ``--partial`` skipped some, 65 when nothing went in."""
    from vanta_tui.cli.progress import Bars

    bars = Bars()
    try:
        report = desk.import_followers(args.source, partial=args.partial, progress=bars)
    finally:
        bars.finish()
    for problem in report.problems:
        print(problem)
    if report.refused:
        valid = report.packets - report.skipped
        hint = (
            f"; --partial imports the {_count(valid, 'valid packet')}"
            if valid and not args.partial
            else ""
        )
        print(
            f"nothing imported: {report.skipped} of {_count(report.packets, 'packet')} "
            f"{'has' if report.skipped == 1 else 'have'} problems{hint}"
        )
        return exit_codes.DATA
    print(_imported(report))
    if report.keys_moved:
        shown = ", ".join(report.keys_moved[:SHOWN_ACCOUNTS])
        more = len(report.keys_moved) - SHOWN_ACCOUNTS
        print(f"keys moved to the keyring for: {shown}" + (f" and {more} more" if more > 0 else ""))
    if report.skipped:
        print(f"skipped {report.skipped} of {report.packets} packets (listed above)")
        return exit_codes.FOUND
    return exit_codes.OK


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _imported(report: ImportReport) -> str:
    """``imported 1000 followers into V_CORE from F (one audited action: follower.added
    #12–#1011)``; several vaults each with its count."""
    vaults = report.by_vault()
    into = (
        next(iter(vaults))
        if len(vaults) == 1
        else ", ".join(f"{vault} ({n})" for vault, n in sorted(vaults.items()))
    )
    first, last = report.events or (0, 0)
    seqs = f"#{first}" if first == last else f"#{first}–#{last}"
    return (
        f"imported {_count(len(report.imported), 'follower')} into {into} from "
        f"{report.source} (one audited action: follower.added {seqs})"
    )


def handle_followers_list(args: argparse.Namespace, desk: Desk) -> int:
    rows = desk.followers_overview()
    header = (
        f"{'follower':<10} {'vault':<9} {'mode':<12} {'scale':>6} {'max_pos_usd':>11} "
        f"{'equity':>10} {'kill':<4} {'nav':>11} {'realized':>10} {'fees':>9}"
    )
    print(header)
    for f, nav, realized, fees in rows:
        print(
            f"{f.follower_id:<10} {f.vault_id:<9} {f.mode.value:<12} {f.scale:>6} "
            f"{f.max_pos_usd:>11} {f.equity:>10} {'ON' if f.kill_switch else 'off':<4} "
            f"{nav if nav is not None else '—':>11} "
            f"{realized if realized is not None else '—':>10} "
            f"{fees if fees is not None else '—':>9}"
        )
    return 0


def handle_kill_switch(args: argparse.Namespace, desk: Desk) -> int:
    desk.kill_switch(args.follower_id, args.state == "on")
    print(f"{args.follower_id}: kill switch {args.state}")
    return 0


def handle_followers_remove(args: argparse.Namespace, desk: Desk) -> int:
    desk.remove_follower(args.follower_id)
    print(f"removed {args.follower_id}")
    return 0


def add_fees(sub: Subcommands) -> None:
    fees = command(sub, "fees", "fee cycles and the fee ledger")
    fees_sub = fees.add_subparsers(dest="fees_command", metavar="FEES_COMMAND", required=True)
    p = command(
        fees_sub, "close-cycle",
        "close each ended fee period of every vault (or one) and its followers, once",
        handle_close_cycle,
    )  # fmt: skip
    p.add_argument("--vault", metavar="ID")
    p.add_argument(
        "--as-of", metavar="TS", help="close the periods ended by this UTC time (a late close)"
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be charged")
    p = command(fees_sub, "ledger", "print the fee ledger", handle_ledger, read_only_ok=_reads)
    p.add_argument("--vault", metavar="ID")
    p.add_argument("--follower", metavar="ID")


def handle_close_cycle(args: argparse.Namespace, desk: Desk) -> int:
    from vanta_tui.core.types import format_utc

    when = parse_time(args.as_of, "--as-of") if args.as_of else None
    report = desk.close_fees(args.vault, as_of=when, dry_run=args.dry_run)
    if args.dry_run:
        print(f"dry run as of {format_utc(report.as_of or desk.clock())}: nothing is written")
    print(
        f"{'account':<10} {'period':<9} {'fee_type':<20} {'realized':>12} {'flat':>9} "
        f"{'performance':>11} {'fee due':>10}"
    )
    for line in report.lines:
        who = line["follower_id"] or line["vault_id"]
        print(
            f"{who:<10} {line['period_label']:<9} {line['fee_type']:<20} "
            f"{line['realized_pnl']:>12} {line['flat_fee']:>9} {line['performance_fee']:>11} "
            f"{line['fee_due']:>10}"
        )
    for reason in report.skipped:
        print(f"not charged: {reason}")
    return 0


def handle_ledger(args: argparse.Namespace, desk: Desk) -> int:
    entries = desk.fee_ledger(args.vault, args.follower)
    print(
        f"{'seq':>6} {'ts':<27} {'vault':<9} {'follower':<10} {'period':<15} {'fee_type':<20} "
        f"{'perf':>5} {'flat_usd':>9} {'realized_pnl':>13} {'fee_due':>10}"
    )
    for e in entries:
        print(
            f"{e.seq:>6} {e.ts:<27} {e.vault_id:<9} {e.follower_id or '—':<10} {e.label:<15} "
            f"{e.fee_type:<20} {e.perf_share:>5} {e.flat_usd:>9} {e.realized_pnl:>13} "
            f"{e.fee_due:>10}"
        )
    total = sum((e.fee_due for e in entries), start=Decimal(0))
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, fees due {total}")
    return 0
