"""`vanta-tui status [--json]`, `vanta-tui reconcile VAULT [--accept-broker]`,
`vanta-tui alarm ack ID`."""

from __future__ import annotations

import json
from datetime import datetime

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.reconcile import accept_broker, check
from vanta_tui.actions.status import acknowledge, collect
from vanta_tui.brokers.errors import BrokerError
from vanta_tui.brokers.routing import brokers_for
from vanta_tui.cli import exit_codes

MARK = {"OK": "OK  ", "WARN": "WARN", "FAIL": "FAIL"}


def cmd_status(
    ctx: ActionContext, now: datetime, as_json: bool, probe: bool, live: bool = False
) -> int:
    report = collect(ctx, now, probe=probe, live=live)
    if as_json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
        return report.level.exit_code
    print(f"{MARK[report.level.value]} VANTA desk status at {report.as_json()['at']}")
    for line in report.lines:
        print(f"  {MARK[line.level.value]} {line.component:<32} {line.detail}")
    if report.held:
        print(f"  {len(report.held)} held order(s):")
    for held in report.held:
        o = held.order
        who = f" for {o.follower_id}" if o.follower_id else ""
        print(
            f"  HELD [{o.order_id}] {o.vault_id}{who} {o.side.value} {o.qty} {o.symbol}: "
            f"{held.reason.text}"
        )
    if report.alarms:
        print(f"  {len(report.alarms)} open alarm(s):")
    for alarm in report.alarms:
        age = int((report.at - alarm.since).total_seconds() // 60) if alarm.since else 0
        ack = f" (acknowledged by {alarm.acked_by})" if alarm.acked_by else ""
        print(f"  {MARK[alarm.level.value]} [{alarm.alarm_id}] {alarm.message} — {age} min{ack}")
    return report.level.exit_code


EXIT_BROKER_UNAVAILABLE = exit_codes.BROKER_UNAVAILABLE
"""The broker could not be asked (EX_UNAVAILABLE): nothing was compared or adopted."""


def cmd_reconcile(ctx: ActionContext, vault_id: str, accept: bool, live: bool) -> int:
    try:
        return _reconcile(ctx, vault_id, accept, live)
    except BrokerError as exc:
        print(f"cannot reconcile {vault_id}: {exc}")
        return EXIT_BROKER_UNAVAILABLE


def _reconcile(ctx: ActionContext, vault_id: str, accept: bool, live: bool) -> int:
    brokers = brokers_for(ctx.state_dir, live=live, read_only=ctx.read_only)
    if accept:
        differences = accept_broker(ctx, vault_id, brokers.for_venue).result
        for d in differences:
            print(f"adopted {d['symbol'] or 'cash'}: {d['file']} → {d['broker']}")
        return 0
    found = check(ctx, vault_id, brokers.for_venue)
    if not found:
        print(f"{vault_id}: portfolio.json matches the broker")
        return 0
    for d in found:
        print(
            f"{vault_id} {d['symbol'] or 'cash'}: portfolio.json {d['file']}, broker {d['broker']}"
        )
    print(f"adopt the broker's view: vanta-tui reconcile {vault_id} --accept-broker")
    return exit_codes.FOUND


def cmd_ack(ctx: ActionContext, alarm_id: str, note: str | None) -> int:
    acknowledge(ctx, alarm_id, note)
    print(f"acknowledged {alarm_id}")
    return 0
