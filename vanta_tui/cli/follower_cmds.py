"""`vanta-tui followers ...` and `vanta-tui fees ...`."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from vanta_tui.cli.common import Subcommands, command, parse_time

if TYPE_CHECKING:
    from vanta_tui.desk import Desk


def _reads(_args: argparse.Namespace) -> bool:
    return True


def add_followers(sub: Subcommands) -> None:
    followers = command(
        sub, "followers", "mirror followers: add an API packet, list, kill switch, remove"
    )
    followers_sub = followers.add_subparsers(
        dest="followers_command", metavar="FOLLOWERS_COMMAND", required=True
    )
    p = command(
        followers_sub, "add", "validate an API packet and register the follower",
        handle_followers_add,
    )  # fmt: skip
    p.add_argument("packet", type=Path, metavar="PACKET.json")
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
