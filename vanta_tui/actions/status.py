"""System status: one line per component with OK / WARN / FAIL, and every open alarm.

Used by `vanta-tui status [--json]` (exit 0 / 1 / 2) and the desk's status view (`S`).
Alarms get their age from the journal's ``alarm_seen`` table (first time seen, kept while
the alarm stays open) and their acknowledgement from ``alarm.acknowledged`` events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vanta_tui.actions.brokers import brokers_for, real_accounts
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.orders import handled_dead_letters, waiting_dead_letters
from vanta_tui.actions.reconcile import latest_mismatches
from vanta_tui.brokers.credentials import load_credentials
from vanta_tui.brokers.errors import BrokerError, CredentialsError
from vanta_tui.core.alarms import Alarm, Facts, Level, Thresholds, evaluate, worst
from vanta_tui.core.codec import parse_json
from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import Order, Venue
from vanta_tui.core.order_states import OPEN
from vanta_tui.core.positions import is_stale
from vanta_tui.core.risk import HoldReason
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc, parse_utc
from vanta_tui.store.journal import EventDraft, Journal, queries
from vanta_tui.store.lease_info import lease_held, lease_holder
from vanta_tui.store.snapshot import StateSnapshot, reload

EXECUTOR_SILENT_AFTER_S = 120
"""An executor holding the lease but silent this long is reported (WARN)."""


@dataclass
class StatusLine:
    component: str
    level: Level
    detail: str


@dataclass(frozen=True)
class HeldOrder:
    """An approved order the executor holds, and why (`core.risk.hold_reason`)."""

    order: Order
    reason: HoldReason

    def as_json(self) -> dict[str, Any]:
        o = self.order
        return {
            "order_id": o.order_id,
            "vault_id": o.vault_id,
            "follower_id": o.follower_id,
            "symbol": o.symbol,
            "side": o.side.value,
            "qty": str(o.qty),
            "code": self.reason.code,
            "reason": self.reason.text,
        }


@dataclass
class StatusReport:
    at: datetime
    lines: list[StatusLine] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    held: list[HeldOrder] = field(default_factory=list)
    """Approved orders the executor holds, each with why."""

    @property
    def level(self) -> Level:
        return worst([line.level for line in self.lines] + [a.level for a in self.alarms])

    def as_json(self) -> dict[str, Any]:
        return {
            "at": format_utc(self.at),
            "level": self.level.value,
            "components": [
                {"component": s.component, "level": s.level.value, "detail": s.detail}
                for s in self.lines
            ],
            "alarms": [
                {
                    "id": a.alarm_id,
                    "kind": a.kind,
                    "level": a.level.value,
                    "vault_id": a.vault_id,
                    "message": a.message,
                    "since": format_utc(a.since) if a.since else None,
                    "age_s": int((self.at - a.since).total_seconds()) if a.since else None,
                    "acknowledged_by": a.acked_by,
                    "details": {k: str(v) for k, v in a.details.items()},
                }
                for a in self.alarms
            ],
            "held": [h.as_json() for h in self.held],
        }


def _age(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def file_lines(state: StateSnapshot, state_dir: Path, now: datetime) -> list[StatusLine]:
    lines = []
    for kind in StateKind:
        name = kind.filename
        problems = state.problems.get(kind)
        if problems:
            lines.append(StatusLine(f"file {name}", Level.FAIL, str(problems[0])))
            continue
        loaded = state.files.get(kind)
        if loaded is None:
            lines.append(StatusLine(f"file {name}", Level.FAIL, "not loaded"))
            continue
        model = loaded.model
        try:
            modified = (state_dir / name).stat().st_mtime
            age = f", written {_age(now.timestamp() - modified)} ago"
        except OSError:
            age = ""
        level, note = Level.OK, ""
        asof = getattr(model, "asof", None)
        if kind in {StateKind.PORTFOLIO, StateKind.ALLOCATION} and asof and is_stale(asof, now):
            level, note = Level.WARN, f", STALE: asof {format_utc(asof)}"
        lines.append(StatusLine(f"file {name}", level, f"version {model.version}{age}{note}"))
    return lines


def executor_line(
    state_dir: Path, journal: Journal, state: StateSnapshot, now: datetime
) -> StatusLine:
    queue = state.queue
    depth = sum(1 for o in queue.orders if o.status in OPEN) if queue else 0
    approved = sum(1 for o in queue.orders if o.status is OrderStatus.APPROVED) if queue else 0
    if lease_held(state_dir):
        holder = lease_holder(state_dir) or "another process"
        cycle = queries.meta(journal, "executor.last_cycle")
        last = parse_utc(cycle) if cycle is not None else None
        since = f"last cycle {_age((now - last).total_seconds())} ago" if last else "no cycle yet"
        silent = last is None or (now - last).total_seconds() > EXECUTOR_SILENT_AFTER_S
        waiting = queries.meta(journal, "executor.waiting")
        note = f"; {waiting}" if waiting else ""
        return StatusLine(
            "executor",
            Level.WARN if silent or note else Level.OK,
            f"running: {holder}; {since}; queue depth {depth}{note}",
        )
    level = Level.WARN if approved else Level.OK
    return StatusLine(
        "executor",
        level,
        f"not running; queue depth {depth}"
        + (f", {approved} approved order(s) wait to be sent" if approved else ""),
    )


def broker_lines(
    state_dir: Path, probe: bool, timeout_s: float, live: bool = False
) -> list[StatusLine]:
    """One line per broker account: keys found, the mode (``--live`` or sandbox) and, when
    ``probe``, whether it answers. A venue that cannot be used in this mode is FAIL."""
    lines = []
    brokers = brokers_for(state_dir, timeout_s=timeout_s, live=live)
    accounts: list[tuple[str, str]] = [("paper", "paper book")]
    accounts += [(adapter, ref) for adapter, ref, _ in real_accounts(state_dir)]
    for adapter, ref in accounts:
        name = f"broker {adapter} {ref}" if adapter != "paper" else "broker paper"
        if adapter == "paper":
            book = state_dir / "paper_book.db"
            lines.append(
                StatusLine(name, Level.OK, "built in" + (", book present" if book.exists() else ""))
            )
            continue
        try:
            credentials = load_credentials(ref)
        except CredentialsError as exc:
            lines.append(StatusLine(name, Level.FAIL, str(exc)))
            continue
        mode = "live" if live else "sandbox"
        try:
            broker = brokers.for_venue(Venue(adapter=adapter, account_ref=ref), "status")
        except BrokerError as exc:  # refused in this mode, or a passphrase missing
            lines.append(StatusLine(name, Level.FAIL, f"{mode}: {exc}"))
            continue
        mode = broker.mode
        if not probe:
            lines.append(
                StatusLine(
                    name, Level.OK, f"{mode}; keys from the {credentials.source}; not probed"
                )
            )
            continue
        started = time.perf_counter()
        try:
            broker.account()
        except BrokerError as exc:
            level = (
                Level.FAIL if isinstance(exc, CredentialsError) or not exc.retryable else Level.WARN
            )
            lines.append(StatusLine(name, level, f"{mode}: unreachable: {exc}"))
            continue
        took = (time.perf_counter() - started) * 1000
        lines.append(
            StatusLine(
                name,
                Level.OK,
                f"{mode}: reachable, {took:.0f} ms; keys from the {credentials.source}",
            )
        )
    return lines


def journal_line(state_dir: Path, journal: Journal) -> StatusLine:
    seq, head = journal.head()
    log_path = state_dir / "trade_log.jsonl"
    size = log_path.stat().st_size if log_path.exists() else 0
    verify_last = queries.meta(journal, "verify.last")
    if verify_last:
        last = parse_json(verify_last)
        ok = bool(last.get("ok"))
        verified = f"last verify {last.get('at')}: {'OK' if ok else 'FAILED'}"
        level = Level.OK if ok else Level.FAIL
    else:
        verified, level = "not verified yet (vanta-tui audit verify)", Level.OK
    problem = journal.integrity()
    if problem is not None:
        return StatusLine("journal", Level.FAIL, f"head #{seq} {head[:12]}…; {problem}")
    return StatusLine(
        "journal",
        level,
        f"head #{seq} {head[:12]}…; {verified}; {seq} events, log {size / 1024:,.0f} KB",
    )


def held_orders(state: StateSnapshot) -> list[HeldOrder]:
    """Every approved order the executor holds now, with why."""
    held = []
    for order in state.queue.orders if state.queue else []:
        if order.status is OrderStatus.APPROVED:
            reason = state.hold_reason(order)
            if reason is not None:
                held.append(HeldOrder(order, reason))
    return held


def held_line(held: list[HeldOrder]) -> StatusLine:
    """OK while nothing is held or only maintenance holds (the operator's own stop); WARN
    when an order waits on something else (a trip, the cap, cash, a price, a follower)."""
    if not held:
        return StatusLine("held orders", Level.OK, "none")
    kinds: dict[str, int] = {}
    for h in held:
        kinds[h.reason.code] = kinds.get(h.reason.code, 0) + 1
    level = Level.OK if set(kinds) == {"maintenance"} else Level.WARN
    what = ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in sorted(kinds.items()))
    return StatusLine("held orders", level, f"{len(held)} held ({what}); see below")


def alarms_of(
    journal: Journal,
    state: StateSnapshot,
    state_dir: Path,
    now: datetime,
    *,
    record: bool,
    thresholds: Thresholds | None = None,
) -> list[Alarm]:
    """The open alarms, with their age (first seen, recorded when ``record``) and
    acknowledgement."""
    waiting = (
        waiting_dead_letters(state.queue, handled_dead_letters(journal)) if state.queue else []
    )
    facts = Facts(dead_letters=[o.order_id for o in waiting], mismatches=latest_mismatches(journal))
    found = evaluate(
        now,
        vaults=state.vaults,
        overlays=state.overlays,
        allocation=state.allocation,
        portfolio=state.portfolio,
        pnl=state.pnl,
        queue=state.queue,
        followers=state.followers,
        facts=facts,
        thresholds=thresholds or Thresholds(),
    )
    seen = queries.alarm_first_seen(journal)
    if record:
        queries.note_alarms_seen(journal, [a.alarm_id for a in found], now)
    acks: dict[str, tuple[datetime, str]] = {}
    for event in queries.events_of(journal, ["alarm.acknowledged"]):
        acks[str(event.payload.get("alarm_id"))] = (parse_utc(event.ts), event.actor)
    for alarm in found:
        alarm.since = seen.get(alarm.alarm_id, now)
        ack = acks.get(alarm.alarm_id)
        if ack is not None and ack[0] >= alarm.since:
            alarm.acked_by = ack[1]
    return found


def collect(
    ctx: ActionContext,
    now: datetime,
    *,
    probe: bool = True,
    record: bool = True,
    watcher: StatusLine | None = None,
    timeout_s: float = 5.0,
    state: StateSnapshot | None = None,
    live: bool = False,
    brokers: list[StatusLine] | None = None,
) -> StatusReport:
    """The status now; ``state`` is what the caller holds (the desk: the last good models
    and the current problems), else the files are read. ``live``: the brokers as the
    desk or executor would use them with ``--live``. ``brokers``: the brokers' lines when
    the caller asked them already (`broker_lines`, which needs no journal: a session
    asks the brokers before it takes its journal, so a slow broker holds no action)."""
    state_dir = ctx.state_dir
    state = state if state is not None else reload(state_dir, StateSnapshot())
    report = StatusReport(at=now)
    report.lines += file_lines(state, state_dir, now)
    report.lines.append(
        watcher or StatusLine("watcher", Level.OK, "part of the desk; not running in the CLI")
    )
    report.lines.append(executor_line(state_dir, ctx.journal, state, now))
    report.held = held_orders(state)
    report.lines.append(held_line(report.held))
    report.lines += (
        brokers if brokers is not None else broker_lines(state_dir, probe, timeout_s, live)
    )
    report.lines.append(journal_line(state_dir, ctx.journal))
    report.alarms = alarms_of(
        ctx.journal, state, state_dir, now, record=record and not ctx.read_only
    )
    return report


def acknowledge(ctx: ActionContext, alarm_id: str, note: str | None = None) -> None:
    """Record that the operator has seen ``alarm_id`` (it stays until its cause is gone).
    Only an open alarm can be acknowledged: one open now (without asking the brokers), or
    one the last status found (a broker's, in ``alarm_seen``); any other id is refused."""
    ctx.require_writable("acknowledging an alarm")
    now = ctx.clock()
    state = reload(ctx.state_dir, StateSnapshot())
    open_now = [a.alarm_id for a in alarms_of(ctx.journal, state, ctx.state_dir, now, record=False)]
    seen = list(queries.alarm_first_seen(ctx.journal))
    known = sorted(set(open_now) | set(seen))
    if alarm_id not in known:
        listed = ", ".join(known) if known else "none; see vanta-tui status"
        raise ActionRefused(f"no open alarm {alarm_id} (open: {listed})")
    ctx.journal.record(
        ctx.actor,
        [EventDraft("alarm.acknowledged", payload={"alarm_id": alarm_id, "note": note})],
    )
