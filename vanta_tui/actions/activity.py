"""What happened, read from the journal for an operator: the activity feed (each event in
words), the fills blotter, realized profit by period and symbol, the panic banner and when
each broker account was last reconciled and priced.

Everything here reads; only `acknowledge_panic` records (that the operator has read what a
panic could not cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.core.types import parse_utc
from vanta_tui.store.journal import Event, EventDraft, Journal, queries
from vanta_tui.store.snapshot import StateSnapshot

FOLDED = ("order.mirrored",)
"""Events the feed folds into another's line (an approval says how many follower copies it
made); shown on their own only when the feed is of one order."""

PANIC_ACK = "desk.panic_acknowledged"


# --------------------------------------------------------------------------- wording


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _num(value: Any) -> str:
    """A quantity or price as an operator writes it (no exponent, no trailing zeros)."""
    number = _dec(value)
    if number is None:
        return "?" if value is None else str(value)
    text = format(number.normalize(), "f")
    return text


def _what(event: Event) -> str:
    """ "AAPL buy 43" from the order the event carries (or its fill, or its id)."""
    order = event.payload.get("order")
    if isinstance(order, Mapping):
        text = f"{order.get('symbol')} {order.get('side')} {_num(order.get('qty'))}"
        follower = order.get("follower_id")
        return f"{text} for {follower}" if follower else text
    fill = event.payload.get("fill")
    if isinstance(fill, Mapping):
        return f"{fill.get('symbol')} {fill.get('side')} {_num(fill.get('qty'))}"
    return f"order {event.order_id}" if event.order_id else ""


def _scope(vault_id: str | None) -> str:
    return vault_id if vault_id else "the whole desk"


def _reason(payload: Mapping[str, Any], key: str = "reason") -> str:
    text = payload.get(key)
    return f": {text}" if text else ""


def _order_words(event: Event, copies: int) -> str | None:
    p, who, what = event.payload, event.actor, _what(event)
    name = event.action.removeprefix("order.")
    tries, error = p.get("attempts", "?"), _reason(p, "error")
    if name == "staged":
        retry = p.get("retry_of")
        return f"{who} staged {event.vault_id} {what}" + (f" (retry of {retry})" if retry else "")
    if name == "approved":
        tail = f" · {copies} follower cop{'y' if copies == 1 else 'ies'}" if copies else ""
        return f"{who} approved {what}{tail}"
    if name == "mirrored":
        return f"{who}: follower copy {what} ({p.get('sizing', 'mirrored')})"
    if name == "rejected":
        return f"{who} rejected {what}{_reason(p)}"
    if name == "unstaged":
        return f"{who} unstaged {what} (taken off the queue before approval)"
    if name == "flipped":
        return f"{who} flipped {what} ({p.get('from')} → {p.get('to')})"
    if name == "edited":
        return f"{who} edited {what}"
    if name == "submitting":
        return f"{who}: sending {what} (attempt {p.get('attempt', '?')})"
    if name == "submitted":
        if p.get("refused"):
            return f"{who}: {what} refused by the broker"
        return f"{who}: {what} at the broker ({p.get('broker_order_id')})"
    if name in {"filled", "partially_filled"}:
        fill = p.get("fill") if isinstance(p.get("fill"), Mapping) else {}
        assert isinstance(fill, Mapping)
        # A first answer that was already a fill says the broker's id too (one event).
        there = f" at the broker ({p.get('broker_order_id')})," if p.get("was") else ""
        if name == "filled":
            return f"{who}: {what}{there} filled at {_num(fill.get('price'))}"
        return (
            f"{who}: {what}{there} part-filled {_num(fill.get('qty'))} at {_num(fill.get('price'))}"
        )
    if name == "cancelled":
        return f"{who}: {what} cancelled{_reason(p)}"
    if name == "broker_rejected":
        return f"{who}: the broker rejected {what}{_reason(p)}"
    if name == "failed":
        return f"{who}: {what} failed after {tries} attempt(s){error}"
    if name == "send_error":
        return f"{who}: could not send {what} (attempt {tries}){error}"
    if name == "dead_letter_dismissed":
        return f"{who} dismissed dead letter {what}{_reason(p)}"
    return None


def _overlay_words(event: Event) -> str | None:
    p, who = event.payload, event.actor
    name = event.action.removeprefix("overlay.")
    scope = _scope(None if p.get("scope") == "global" else event.vault_id)
    if name == "maintenance_on":
        return f"{who} turned maintenance ON for {scope}{_reason(p)}"
    if name == "maintenance_off":
        return f"{who} turned maintenance off for {scope}{_reason(p)}"
    if name == "trip_cleared":
        return f"{who} cleared the trip of {event.vault_id}{_reason(p)}"
    if name == "flip_mode_on":
        return f"{who} turned flip mode on for {event.vault_id}{_reason(p)}"
    if name == "flip_mode_off":
        return f"{who} turned flip mode off for {event.vault_id}"
    if name == "flip_mode_expired":
        return f"{who}: flip mode of {event.vault_id} expired (reverted)"
    if name == "persona_set":
        return f"{who} set the persona of {event.vault_id}"
    return None


def _other_words(event: Event) -> str:
    p, who, action = event.payload, event.actor, event.action
    if action == "desk.panic":
        cancelled = len(p.get("cancelled") or [])
        missed = len(p.get("not_cancelled") or [])
        tail = f", {missed} NOT cancelled" if missed else ""
        return f"{who} PANIC{_reason(p)} · {cancelled} cancelled{tail}"
    if action == PANIC_ACK:
        return f"{who} acknowledged the panic report (#{p.get('panic_seq')})"
    if action in {"desk.opened", "desk.closed"}:
        verb = "opened" if action == "desk.opened" else "closed"
        served = f" (served to {p.get('remote')})" if p.get("served") else ""
        why = f": {p['why']}" if p.get("why") else ""
        text = f"{who} {verb} the desk" + (" (read-only)" if p.get("read_only") else "")
        return text + served + why
    if action.startswith("executor."):
        return f"{who}: executor {action.removeprefix('executor.').replace('_', ' ')}"
    if action == "follower.added":
        return f"{who} added follower {event.follower_id}"
    if action == "follower.removed":
        return f"{who} removed follower {event.follower_id}"
    if action == "follower.kill_switch":
        state = "ON" if p.get("on", p.get("kill_switch")) else "off"
        return f"{who} turned the kill switch {state} for {event.follower_id}"
    if action == "fee.charged":
        return f"{who}: fees charged to {event.follower_id}: {_num(p.get('fee_due'))}"
    if action == "fee.opening_balance":
        return f"{who}: fee opening balance for {event.follower_id}"
    if action == "alarm.raised":
        return f"{who}: ALARM {p.get('message', p.get('kind', ''))}"
    if action == "alarm.acknowledged":
        return f"{who} acknowledged alarm {p.get('alarm_id')}{_reason(p, 'note')}"
    if action == "reconcile.checked":
        found = len(p.get("mismatches") or [])
        return f"{who}: reconciled {event.vault_id}: " + (
            f"{found} difference(s) with the broker" if found else "matches the broker"
        )
    if action == "reconcile.accepted":
        return f"{who} adopted the broker's view for {event.vault_id}"
    if action == "prices.marked":
        return f"{who}: prices marked for {event.vault_id or event.follower_id}"
    if action == "rebalance.staged":
        return f"{who} staged a rebalance of {event.vault_id}"
    if action == "state.external_change":
        return f"{who}: {p.get('file', 'a state file')} changed outside the desk"
    if action == "journal.started":
        return "journal started"
    if action == "journal.repaired":
        return f"{who} repaired the journal{_reason(p)}"
    if action == "journal.intent_abandoned":
        return f"{who}: an unfinished action was abandoned at recovery"
    return f"{who}: {action}"


def describe(event: Event, copies: int = 0) -> str:
    """One event in an operator's words ("dana approved AAPL buy 43 · 3 follower copies",
    "executor: AAPL buy 43 filled at 190.1"); ``copies``: its follower copies (an approval)."""
    if event.action.startswith("order."):
        text = _order_words(event, copies)
        if text is not None:
            return text
    if event.action.startswith("overlay."):
        text = _overlay_words(event)
        if text is not None:
            return text
    return _other_words(event)


# --------------------------------------------------------------------------- the feed


@dataclass(frozen=True)
class ActivityItem:
    """One event of the feed."""

    seq: int
    at: datetime
    actor: str
    action: str
    vault_id: str | None
    order_id: str | None
    follower_id: str | None
    text: str


@dataclass(frozen=True)
class ActivityFilter:
    """Which events the feed shows (None: any)."""

    vault_id: str | None = None
    order_id: str | None = None
    actor: str | None = None

    @property
    def empty(self) -> bool:
        return self.vault_id is None and self.order_id is None and self.actor is None


def activity(
    journal: Journal,
    wanted: ActivityFilter = ActivityFilter(),
    *,
    after_seq: int = 0,
    before_seq: int | None = None,
    limit: int = 200,
) -> list[ActivityItem]:
    """The journal's events in words, newest first (after ``after_seq``: only the new ones;
    before ``before_seq``: older ones, a page at a time)."""
    events = queries.recent_events(
        journal,
        after_seq=after_seq,
        before_seq=before_seq,
        vault_id=wanted.vault_id,
        order_id=wanted.order_id,
        actor=wanted.actor,
        skip=() if wanted.order_id else FOLDED,
        limit=limit,
    )
    approved = [e.order_id for e in events if e.action == "order.approved" and e.order_id]
    copies = queries.mirrored_counts(journal, approved)
    return [
        ActivityItem(
            seq=e.seq,
            at=parse_utc(e.ts),
            actor=e.actor,
            action=e.action,
            vault_id=e.vault_id,
            order_id=e.order_id,
            follower_id=e.follower_id,
            text=describe(e, copies.get(e.order_id or "", 0)),
        )
        for e in events
    ]


# --------------------------------------------------------------------------- fills


@dataclass(frozen=True)
class Fill:
    """One fill as the blotter shows it. ``fee``: what the broker charged for this fill, in
    its ``fee_currency`` (None: the broker does not say)."""

    seq: int
    at: datetime
    order_id: str
    account: str
    vault_id: str
    follower_id: str | None
    parent_id: str | None
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal | None
    fee_currency: str | None
    realized: Decimal

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


@dataclass
class SymbolTotal:
    """A symbol's fills added up."""

    symbol: str
    fills: int = 0
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    bought_value: Decimal = Decimal(0)
    sold_value: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    fees_unknown: int = 0
    """Fills whose broker did not say what it charged (not in ``fees``)."""
    realized: Decimal = Decimal(0)

    @property
    def net_qty(self) -> Decimal:
        return self.bought - self.sold


@dataclass(frozen=True)
class Blotter:
    fills: list[Fill]
    """Newest first."""
    totals: list[SymbolTotal] = field(default_factory=list)
    """Per symbol, by symbol."""


def _fill_of(event: Event, fee_before: dict[str, Decimal]) -> Fill | None:
    fill = event.payload.get("fill")
    order = event.payload.get("order")
    if not isinstance(fill, Mapping) or not event.order_id or not event.vault_id:
        return None
    order = order if isinstance(order, Mapping) else {}
    qty, price = _dec(fill.get("qty")), _dec(fill.get("price"))
    if qty is None or price is None:
        return None
    fee: Decimal | None = None
    total = _dec(fill.get("fee_total"))
    if total is not None:
        # The broker's fee is cumulative per order: this fill's is what it added.
        fee = total - fee_before.get(event.order_id, Decimal(0))
        fee_before[event.order_id] = total
    else:
        fee = _dec(fill.get("fee"))
    return Fill(
        seq=event.seq,
        at=parse_utc(str(fill.get("ts") or event.ts)),
        order_id=event.order_id,
        account=event.follower_id or event.vault_id,
        vault_id=event.vault_id,
        follower_id=event.follower_id,
        parent_id=order.get("parent_id"),
        symbol=str(fill.get("symbol")),
        side=str(fill.get("side")),
        qty=qty,
        price=price,
        fee=fee,
        fee_currency=fill.get("fee_currency"),
        realized=_dec(event.payload.get("realized")) or Decimal(0),
    )


def fills(journal: Journal, *, vault_id: str | None = None) -> list[Fill]:
    """Every fill the journal recorded, oldest first."""
    fee_before: dict[str, Decimal] = {}
    found = (_fill_of(e, fee_before) for e in queries.fill_events(journal, vault_id=vault_id))
    return [f for f in found if f is not None]


def totals(rows: Sequence[Fill]) -> list[SymbolTotal]:
    """The fills added up per symbol (sorted by symbol)."""
    by_symbol: dict[str, SymbolTotal] = {}
    for row in rows:
        total = by_symbol.setdefault(row.symbol, SymbolTotal(row.symbol))
        total.fills += 1
        if row.side == "buy":
            total.bought += row.qty
            total.bought_value += row.notional
        else:
            total.sold += row.qty
            total.sold_value += row.notional
        if row.fee is None:
            total.fees_unknown += 1
        else:
            total.fees += row.fee
        total.realized += row.realized
    return [by_symbol[s] for s in sorted(by_symbol)]


def blotter(journal: Journal, *, vault_id: str | None = None) -> Blotter:
    rows = fills(journal, vault_id=vault_id)
    return Blotter(list(reversed(rows)), totals(rows))


# --------------------------------------------------------------------------- profit

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")


def period_of(at: datetime, period: Period) -> tuple[str, datetime]:
    """The period ``at`` (UTC) falls in: its label and its first instant. Weeks are ISO weeks
    (Monday first): "2026-W49"; days "2026-12-01"; months "2026-12"."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day.strftime("%Y-%m-%d"), day
    if period == "week":
        start = day - timedelta(days=day.weekday())
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}", start
    start = day.replace(day=1)
    return start.strftime("%Y-%m"), start


@dataclass
class ProfitRow:
    """Realized PnL of one period and one account (or symbol)."""

    period: str
    start: datetime
    key: str
    """The account (vault or follower id), or the symbol."""
    realized: Decimal = Decimal(0)
    fills: int = 0
    closing: int = 0
    """Fills that reduced a position (the ones that realize)."""
    wins: int = 0
    fees: Decimal = Decimal(0)


@dataclass(frozen=True)
class Profit:
    period: Period
    by_account: list[ProfitRow]
    """Newest period first; in a period, by account."""
    by_symbol: list[ProfitRow]
    """Over every fill: per symbol, best first (freqtrade's /performance)."""


def _grouped(
    rows: Sequence[Fill], key: Callable[[Fill], str], period: Period | None
) -> list[ProfitRow]:
    out: dict[tuple[str, str], ProfitRow] = {}
    for fill in rows:
        label, start = period_of(fill.at, period) if period else ("all", fill.at)
        row = out.get((label, key(fill)))
        if row is None:
            row = out[(label, key(fill))] = ProfitRow(label, start, key(fill))
        row.fills += 1
        row.realized += fill.realized
        if fill.fee is not None:
            row.fees += fill.fee
        if fill.side == "sell" or fill.realized != 0:
            row.closing += 1
            row.wins += fill.realized > 0
    return list(out.values())


def profit(journal: Journal, period: Period = "day", *, vault_id: str | None = None) -> Profit:
    """Realized PnL per ``period`` per account (vault and follower), and per symbol over all
    fills: each fill's realized PnL (what it closed at against the position's average cost,
    as the executor recorded it)."""
    if period not in PERIODS:
        raise ActionRefused(f"period must be one of {', '.join(PERIODS)} (got {period!r})")
    rows = fills(journal, vault_id=vault_id)
    by_account = sorted(
        _grouped(rows, lambda f: f.account, period), key=lambda r: (-r.start.timestamp(), r.key)
    )
    by_symbol = sorted(_grouped(rows, lambda f: f.symbol, None), key=lambda r: (-r.realized, r.key))
    return Profit(period, by_account, by_symbol)


# --------------------------------------------------------------------------- the banner


@dataclass(frozen=True)
class Banner:
    """What the desk shows in red at the top while trading is stopped for everyone."""

    panic: bool
    """A panic (else global maintenance)."""
    by: str | None
    reason: str | None
    since: datetime | None
    not_cancelled: list[str]
    """What the last panic could not cancel (`order id: why`), until acknowledged."""
    panic_seq: int | None
    """The journal event of that panic (what acknowledging names)."""

    @property
    def text(self) -> str:
        head = "PANIC" if self.panic else "GLOBAL MAINTENANCE"
        parts = [f"{head}: nothing is sent"]
        if self.by:
            parts.append(f"by {self.by}")
        if self.since is not None:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M}Z")
        reason = (self.reason or "").removeprefix("PANIC: ")
        if reason:
            parts.append(f"why: {reason}")
        return " · ".join(parts)


def banner(journal: Journal | None, state: StateSnapshot) -> Banner | None:
    """The banner while global maintenance is on (a panic turns it on), with what the last
    panic could not cancel until an operator acknowledges it; None when trading is on and
    nothing awaits acknowledgement."""
    overlays = state.overlays
    maintenance = overlays.global_.maintenance if overlays is not None else None
    on = maintenance is not None and maintenance.enabled
    last = queries.first_event(journal, "desk.panic", latest=True) if journal else None
    missed: list[str] = []
    panic_seq: int | None = None
    if journal is not None and last is not None:
        ack = queries.first_event(journal, PANIC_ACK, latest=True)
        if ack is None or ack.seq < last.seq or ack.payload.get("panic_seq") != last.seq:
            missed = [str(m) for m in last.payload.get("not_cancelled") or []]
            panic_seq = last.seq if missed else None
    if not on and not missed:
        return None
    reason = maintenance.reason if maintenance is not None and on else None
    is_panic = bool(reason and reason.startswith("PANIC")) or (not on and bool(missed))
    if not on and last is not None:
        reason = f"PANIC: {last.payload.get('reason')}" if last.payload.get("reason") else None
    return Banner(
        panic=is_panic,
        by=(maintenance.by if on and maintenance is not None else last.actor if last else None),
        reason=reason,
        since=(
            maintenance.since if on and maintenance is not None
            else parse_utc(last.ts) if last is not None else None
        ),
        not_cancelled=missed,
        panic_seq=panic_seq,
    )  # fmt: skip


def acknowledge_panic(ctx: ActionContext, panic_seq: int) -> None:
    """Record that the operator has read what panic ``panic_seq`` could not cancel (the
    banner then stops listing it)."""
    ctx.require_writable("acknowledging a panic")
    event = queries.first_event(ctx.journal, "desk.panic", latest=True)
    if event is None or event.seq != panic_seq:
        raise ActionRefused(f"#{panic_seq} is not the last panic")
    ctx.journal.record(ctx.actor, [EventDraft(PANIC_ACK, payload={"panic_seq": panic_seq})])


# --------------------------------------------------------------------------- broker times


@dataclass(frozen=True)
class AccountTimes:
    """When the executor last reconciled a broker account with the portfolio and last
    priced its positions from its broker (None: not yet; paper accounts are priced by the
    portfolio itself)."""

    account: str
    reconciled: datetime | None
    priced: datetime | None
    paper: bool = False
    """Every venue of the account is the paper broker (its prices are the portfolio's)."""


RECONCILED_META = "reconciled."
PRICED_META = "priced."


def broker_times(journal: Journal | None, accounts: Mapping[str, bool]) -> list[AccountTimes]:
    """Each account's last reconcile and price times (the notes the executor keeps);
    ``accounts``: each account and whether it is paper only."""
    reconciled = queries.meta_with_prefix(journal, RECONCILED_META) if journal else {}
    priced = queries.meta_with_prefix(journal, PRICED_META) if journal else {}

    def at(notes: dict[str, str], account: str) -> datetime | None:
        text = notes.get(account)
        try:
            return parse_utc(text) if text else None
        except ValueError:
            return None

    return [
        AccountTimes(a, at(reconciled, a), at(priced, a), paper) for a, paper in accounts.items()
    ]
