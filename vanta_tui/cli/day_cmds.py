"""`activity`, `fills` and `profit`: what happened, read from the journal (the desk's
activity view, fills blotter and profit view, as text)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from vanta_tui.cli.common import Subcommands, command

if TYPE_CHECKING:
    from vanta_tui.desk import Desk


def _reads(_args: argparse.Namespace) -> bool:
    return True


def add_activity(sub: Subcommands) -> None:
    p = command(
        sub, "activity", "the journal's events in words, newest first",
        handle_activity, read_only_ok=_reads,
    )  # fmt: skip
    p.add_argument("--vault", help="only this vault's events")
    p.add_argument("--order", help="only this order's (and its follower copies') events")
    p.add_argument("--actor", help="only what this operator (or 'executor') did")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")


def add_fills(sub: Subcommands) -> None:
    p = command(
        sub, "fills", "every fill with its account, parent and fee; totals per symbol",
        handle_fills, read_only_ok=_reads,
    )  # fmt: skip
    p.add_argument("--vault", help="only this vault's fills (its followers' included)")


def add_profit(sub: Subcommands) -> None:
    p = command(
        sub, "profit", "realized PnL per day, week or month per account, and per symbol",
        handle_profit, read_only_ok=_reads,
    )  # fmt: skip
    p.add_argument("--period", choices=["day", "week", "month"], default="day")
    p.add_argument("--vault", help="only this vault's fills (its followers' included)")


def handle_activity(args: argparse.Namespace, desk: Desk) -> int:
    from vanta_tui.actions.activity import ActivityFilter

    order = desk.match_orders([args.order])[0].order_id if args.order else None
    wanted = ActivityFilter(vault_id=args.vault, order_id=order, actor=args.actor)
    for item in desk.activity(wanted, limit=max(1, args.limit)):
        print(f"#{item.seq:<6} {item.at:%Y-%m-%d %H:%M:%S}Z  {item.text}")
    return 0


def handle_fills(args: argparse.Namespace, desk: Desk) -> int:
    blotter = desk.blotter(args.vault)
    print(
        f"{'time (UTC)':<19} {'account':<9} {'symbol':<9} {'side':<4} {'qty':>12} "
        f"{'price':>12} {'fee':>8}  parent"
    )
    for f in blotter.fills:
        fee = "—" if f.fee is None else f"{f.fee.normalize():f}"
        print(
            f"{f.at:%Y-%m-%d %H:%M:%S} {f.account:<9} {f.symbol:<9} {f.side:<4} "
            f"{f.qty.normalize():>12f} {f.price.normalize():>12f} {fee:>8}  {f.parent_id or ''}"
        )
    print()
    print(f"{'symbol':<9} {'fills':>5} {'bought':>12} {'sold':>12} {'fees':>10} {'realized':>12}")
    for t in blotter.totals:
        fees = f"{t.fees.normalize():f}" + ("+?" if t.fees_unknown else "")
        print(
            f"{t.symbol:<9} {t.fills:>5} {t.bought.normalize():>12f} {t.sold.normalize():>12f} "
            f"{fees:>10} {t.realized:>12}"
        )
    return 0


def handle_profit(args: argparse.Namespace, desk: Desk) -> int:
    profit = desk.profit(args.period, args.vault)
    print(f"{args.period:<10} {'account':<9} {'realized':>12} {'fills':>5} {'closing':>7} wins")
    for r in profit.by_account:
        print(f"{r.period:<10} {r.key:<9} {r.realized:>12} {r.fills:>5} {r.closing:>7} {r.wins}")
    print()
    print(f"{'symbol':<10} {'realized':>12} {'fills':>5} {'closing':>7} wins")
    for r in profit.by_symbol:
        print(f"{r.key:<10} {r.realized:>12} {r.fills:>5} {r.closing:>7} {r.wins}")
    return 0
