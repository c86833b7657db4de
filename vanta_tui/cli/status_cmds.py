"""`vanta-tui status [--json]`, `vanta-tui reconcile VAULT [--accept-broker]`,
`vanta-tui alarm ack ID`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from vanta_tui.cli import exit_codes
from vanta_tui.cli.color import paint
from vanta_tui.cli.common import Subcommands, command, parse_time

if TYPE_CHECKING:
    from vanta_tui.desk import Desk

MARK = {"OK": "OK  ", "WARN": "WARN", "FAIL": "FAIL"}
_STYLE = {"OK": "ok", "WARN": "warn", "FAIL": "fail"}


def _mark(level: str) -> str:
    """The level's word, coloured when colour is on (`cli.color`)."""
    return paint(MARK[level], _STYLE[level])


EXIT_BROKER_UNAVAILABLE = exit_codes.BROKER_UNAVAILABLE
"""The broker could not be asked (EX_UNAVAILABLE): nothing was compared or adopted."""


def _status_live(args: argparse.Namespace) -> dict[str, Any]:
    return {"live": args.live or args.status_live}


def add_status(sub: Subcommands) -> None:
    p = command(
        sub, "status", "one line per component (OK/WARN/FAIL) and every open alarm; exit 0/1/2",
        handle_status, desk_options=_status_live,
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="the same, for machines")
    p.add_argument("--no-probe", action="store_true", help="do not call the brokers")
    p.add_argument("--at", metavar="TS", help="evaluate as of this UTC time (what-if, tests)")
    p.add_argument(
        "--live", action="store_true", dest="status_live",
        help="report the brokers as --live would use them (default: sandbox)",
    )  # fmt: skip


def handle_status(args: argparse.Namespace, desk: Desk) -> int:
    from vanta_tui.core.clock import utc_now

    now = parse_time(args.at, "--at") if args.at else utc_now()
    report = desk.status(probe=not args.no_probe, now=now)
    if args.json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
        return report.level.exit_code
    print(f"{_mark(report.level.value)} VANTA desk status at {report.as_json()['at']}")
    for line in report.lines:
        print(f"  {_mark(line.level.value)} {line.component:<32} {line.detail}")
    if report.held:
        print(f"  {len(report.held)} held order(s):")
    for held in report.held:
        o = held.order
        who = f" for {o.follower_id}" if o.follower_id else ""
        print(
            f"  {paint('HELD', 'warn')} [{o.order_id}] {o.vault_id}{who} {o.side.value} {o.qty} "
            f"{o.symbol}: {held.reason.text}"
        )
    if report.alarms:
        print(f"  {len(report.alarms)} open alarm(s):")
    for alarm in report.alarms:
        age = int((report.at - alarm.since).total_seconds() // 60) if alarm.since else 0
        ack = f" (acknowledged by {alarm.acked_by})" if alarm.acked_by else ""
        print(f"  {_mark(alarm.level.value)} [{alarm.alarm_id}] {alarm.message} — {age} min{ack}")
    return report.level.exit_code


def add_reconcile(sub: Subcommands) -> None:
    p = command(
        sub, "reconcile", "compare a vault's portfolio with its brokers; adopt the broker's view",
        handle_reconcile, read_only_ok=lambda args: not args.accept_broker,
    )  # fmt: skip
    p.add_argument("vault")
    p.add_argument("--accept-broker", action="store_true", help="write the broker's view")


def handle_reconcile(args: argparse.Namespace, desk: Desk) -> int:
    from vanta_tui.desk import BrokerError

    vault_id = args.vault
    try:
        if args.accept_broker:
            for d in desk.adopt_broker(vault_id):
                print(f"adopted {d['symbol'] or 'cash'}: {d['file']} → {d['broker']}")
            return 0
        found = desk.reconcile(vault_id)
    except BrokerError as exc:
        print(f"cannot reconcile {vault_id}: {exc}")
        return EXIT_BROKER_UNAVAILABLE
    if not found:
        print(f"{vault_id}: portfolio.json matches the broker")
        return 0
    for d in found:
        print(
            f"{vault_id} {d['symbol'] or 'cash'}: portfolio.json {d['file']}, broker {d['broker']}"
        )
    print(f"adopt the broker's view: vanta-tui reconcile {vault_id} --accept-broker")
    return exit_codes.FOUND


def add_alarm(sub: Subcommands) -> None:
    alarm = command(sub, "alarm", "acknowledge an alarm (it stays until its cause is gone)")
    alarm_sub = alarm.add_subparsers(dest="alarm_command", metavar="ALARM_COMMAND", required=True)
    p = command(
        alarm_sub, "ack", "acknowledge an alarm by its id (see vanta-tui status)", handle_ack
    )
    p.add_argument("alarm_id")
    p.add_argument("--note")


def handle_ack(args: argparse.Namespace, desk: Desk) -> int:
    desk.acknowledge(args.alarm_id, args.note)
    print(f"acknowledged {args.alarm_id}")
    return 0
