"""Fee cycles: close each ended fee period of a vault and of each of its followers, once.

A cycle is one UTC calendar period (`core/fees.py`). Closing takes, per account, every
period that has ended (by ``as_of``) since the last one its fee ledger covers, oldest
first; charges the flat fee of each (pro rata for a follower that joined during it) and the
performance fee on realized profit above the high-water mark (attributed to the last of
them: the realized PnL is known only as it is now); adds the fees to ``fees_accrued`` and
sets ``fees_through`` in ``pnl_summary.json``; and writes one ``fee.charged`` event per
account and period, kept in the journal's ``fee_ledger`` with the period's start and end.
A period the ledger already covers is never charged again: when no account has a period to
close, the close is refused, naming the period and the ledger seq that closed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.projections import FeeLedgerRow, fee_ledger, in_fee_ledger
from vanta_tui.actions.reading import read_context
from vanta_tui.core.codec import parse_json
from vanta_tui.core.enums import FeePeriod
from vanta_tui.core.fees import (
    FeeAccount,
    close_cycle,
    fee_accounts,
    fee_window,
    flat_share,
    label_through,
    opening_balance,
    period_label,
    periods_to_close,
)
from vanta_tui.core.models import FollowersFile, PnlFile, StateFileModel, VaultFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc, parse_utc
from vanta_tui.store.errors import StoreError
from vanta_tui.store.journal import ActResult, EventDraft, Journal, Plan, queries
from vanta_tui.store.loader import load_model, parse_model


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    ts: str
    vault_id: str
    follower_id: str | None
    fee_type: str
    perf_share: Decimal
    flat_usd: Decimal
    realized_pnl: Decimal
    fee_due: Decimal
    period_start: datetime | None = None
    """None for an opening balance (it covers everything before ``period_end``)."""
    period_end: datetime | None = None
    period: str = FeePeriod.MONTHLY.value
    entry: str = "charged"
    """``charged`` (a closed period) or ``opening_balance`` (fees before the ledger)."""
    payload: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """``2026-11`` for a charged period; ``through 2026-10`` for an opening balance."""
        period = FeePeriod(self.period)
        if self.period_end is None:
            return "—"
        if self.entry == "opening_balance" or self.period_start is None:
            return f"through {label_through(self.period_end, period)}"
        return period_label(self.period_start, period)


def _entry(row: FeeLedgerRow) -> LedgerEntry:
    payload = dict(parse_json(row.payload)) if row.payload else {}
    period = str(payload.get("period") or FeePeriod.MONTHLY.value)
    entry = str(row.entry or "charged")
    start = parse_utc(row.period_start) if row.period_start else None
    end = parse_utc(row.period_end) if row.period_end else None
    if end is None and entry == "charged":
        # Written before fee periods: that close charged the period it was made in (its
        # flat fee was due per close), so that period counts as closed by it.
        window = fee_window(parse_utc(row.ts), FeePeriod(period))
        start, end = window.start, window.end
    return LedgerEntry(
        int(row.seq), str(row.ts), str(row.vault_id), row.follower_id, str(row.fee_type),
        Decimal(row.perf_share or 0), Decimal(row.flat_usd or 0),
        Decimal(row.realized_pnl or 0), Decimal(row.fee_due or 0),
        start, end, period, entry, payload,
    )  # fmt: skip


def ledger(
    journal: Journal, *, vault_id: str | None = None, follower_id: str | None = None
) -> list[LedgerEntry]:
    """The fee ledger (opening balances and charged periods), oldest first."""
    return [_entry(r) for r in fee_ledger(journal, vault_id=vault_id, follower_id=follower_id)]


def check_ledger_filter(
    journal: Journal, *, vault_id: str | None = None, follower_id: str | None = None
) -> None:
    """Refuse a ledger filter naming no account: a vault or follower neither registered
    now (vault.json, followers.json) nor in the ledger's history (a removed one keeps it)."""
    for column, wanted, what in (
        ("vault_id", vault_id, "vault"),
        ("follower_id", follower_id, "follower"),
    ):
        if wanted is None:
            continue
        if in_fee_ledger(journal, **{column: wanted}):
            continue
        known = (
            [v.vault_id for v in load_model(journal.state_dir, VaultFile).vaults]
            if what == "vault"
            else [f.follower_id for f in load_model(journal.state_dir, FollowersFile).followers]
        )
        if wanted not in known:
            listed = ", ".join(known) or "none"
            raise ActionRefused(f"unknown {what} {wanted} (known: {listed})")


def account_ledger(journal: Journal, vault_id: str, follower_id: str | None) -> list[LedgerEntry]:
    """One account's entries (a vault's own, without its followers')."""
    return [
        e for e in ledger(journal, vault_id=vault_id, follower_id=follower_id)
        if e.follower_id == follower_id
    ]  # fmt: skip


def previous_close(journal: Journal, vault_id: str, follower_id: str | None) -> dict[str, Any]:
    """The payload of the account's last ledger entry (empty: none yet)."""
    entries = account_ledger(journal, vault_id, follower_id)
    return entries[-1].payload if entries else {}


def _event_time(
    journal: Journal, action: str, follower_id: str | None = None, *, latest: bool = False
) -> datetime | None:
    """When the first (or ``latest``) ``action`` event (of ``follower_id``, if given) was."""
    event = queries.first_event(journal, action, follower_id=follower_id, latest=latest)
    return parse_utc(event.ts) if event is not None else None


def _pnl_at_journal_start(journal: Journal) -> PnlFile | None:
    """``pnl_summary.json`` in the journal's first snapshot (None if there was none, or it
    did not load then)."""
    started = queries.first_event(journal, "journal.started")
    info = (started.payload.get("files") or {}).get(StateKind.PNL.filename) if started else None
    data = journal.blob(info["sha256"]) if info and info.get("sha256") else None
    if data is None:
        return None
    try:
        model = parse_model(StateKind.PNL, data)
    except StoreError:
        return None
    return model if isinstance(model, PnlFile) else None


@dataclass
class CloseReport:
    """What a close charged (one line per account and period) and why other accounts had
    nothing to close."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    as_of: datetime | None = None
    dry_run: bool = False


@dataclass
class _Start:
    """Where an account's next charge starts."""

    covered_until: datetime
    """The end of the last period charged (or of the opening balance), or the join."""
    charged_from: datetime
    realized_start: Decimal
    high_water_mark: Decimal
    nav_start: Any
    entries: list[LedgerEntry]
    source: str = "ledger"
    """``ledger``, ``joined`` (`followers add`) or ``opening`` (recorded by this close)."""


def _start_of(
    journal: Journal, account: FeeAccount, pnl: PnlFile, opening: list[EventDraft]
) -> _Start:
    entries = account_ledger(journal, account.vault_id, account.follower_id)
    if entries:
        last = entries[-1]
        assert last.period_end is not None
        before = last.payload
        realized = Decimal(str(before.get("realized_end", 0)))
        return _Start(
            covered_until=max(e.period_end for e in entries if e.period_end is not None),
            charged_from=max(e.period_end for e in entries if e.period_end is not None),
            realized_start=realized,
            high_water_mark=Decimal(str(before.get("high_water_mark", realized))),
            nav_start=before.get("nav_end"),
            entries=entries,
        )
    joined = (
        _event_time(journal, "follower.added", account.follower_id, latest=True)
        if account.follower_id
        else None
    )
    if joined is not None:
        # Added through `followers add`: charged from the day it joined (pro rata).
        history = account.pnl.nav_history
        return _Start(joined, joined, Decimal(0), Decimal(0),
                      history[0][1] if history else None, [], "joined")  # fmt: skip
    # No ledger yet: this first close records the account's opening balance (what the files
    # said was charged before), in the same action, before it charges anything. It is taken
    # from pnl_summary.json as the journal first saw it (its `journal.started` snapshot):
    # profit realized since then is the desk's to charge, not part of the opening balance.
    # Periods from the one the files were last brought up to date in (``asof``) are open.
    began = _event_time(journal, "journal.started") or pnl.asof
    first = _pnl_at_journal_start(journal)
    at_start = first.vaults.get(account.name) if first else None
    seen = min(first.asof, began) if first and at_start else min(pnl.asof, began)
    balance = opening_balance(at_start or account.pnl, account.terms.period, seen)
    opening.append(
        EventDraft(
            "fee.opening_balance",
            vault_id=account.vault_id,
            follower_id=account.follower_id,
            payload=balance.payload(account.terms, account.pnl.nav),
        )
    )
    return _Start(balance.period_end, balance.period_end, balance.realized,
                  balance.high_water_mark, account.pnl.nav, [], "opening")  # fmt: skip


def _why_nothing(account: FeeAccount, start: _Start, as_of: datetime) -> tuple[str, str]:
    """(reason, account) for an account with no ended period left to close by ``as_of``:
    the last ended period and the ledger entry that closed it, or its open first period."""
    period = account.terms.period
    open_window = fee_window(as_of, period)
    ended = label_through(open_window.start, period)
    closer = next(
        (
            e
            for e in start.entries
            if e.period_end is not None and e.period_end >= open_window.start
        ),
        None,
    )
    if closer is not None:
        return f"fee period {ended} is already closed", f"{account.name} by ledger seq {closer.seq}"
    if start.source == "opening":
        return (
            f"fee period {ended} is already closed",
            f"{account.name} by its opening balance (fees_through "
            f"{format_utc(start.covered_until)} in pnl_summary.json)",
        )
    return (
        f"the open period {open_window.label} has not ended (it ends "
        f"{format_utc(open_window.end)})",
        f"{account.name} (joined {format_utc(start.covered_until)})",
    )


def close_fee_cycle(
    ctx: ActionContext,
    vault_id: str | None = None,
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
) -> ActResult:
    """Close every ended, not yet closed fee period of ``vault_id`` (default: every vault)
    and of its followers, as of ``as_of`` (default: now; a late close names an earlier
    moment, never a later one). ``dry_run``: compute and report, write nothing.

    Refused (`ActionRefused`) when no account has a period to close, with the period and
    the ledger seq that closed it, or the open period and when it ends."""
    # A dry run too: opening the action records outside changes to pnl_summary.json.
    ctx.require_writable("closing a fee cycle")
    state = read_context(ctx.state_dir)
    vaults = [state.vault(vault_id)] if vault_id else list(state.registry.vaults)
    try:
        followers = load_model(ctx.state_dir, FollowersFile).followers
    except StoreError:
        followers = []

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        pnl = models[StateKind.PNL]
        assert isinstance(pnl, PnlFile)
        now = ctx.clock()
        when = as_of or now
        if when > now:
            raise ActionRefused(
                f"--as-of {format_utc(when)} is later than now ({format_utc(now)}): a fee "
                "period is closed only after it has ended"
            )
        accounts = fee_accounts(vaults, followers, pnl)
        if not accounts:
            raise ActionRefused("no PnL to close a fee cycle on")
        report = CloseReport(as_of=when, dry_run=dry_run)
        opening: list[EventDraft] = []
        charged: list[EventDraft] = []
        nothing: dict[str, list[str]] = {}
        for account in accounts:
            start = _start_of(ctx.journal, account, pnl, opening)
            windows = periods_to_close(start.covered_until, when, account.terms.period)
            if not windows:
                group, who = _why_nothing(account, start, when)
                nothing.setdefault(group, []).append(who)
                continue
            realized_start, mark = start.realized_start, start.high_water_mark
            charged_from, nav_start = start.charged_from, start.nav_start
            for index, window in enumerate(windows):
                # The realized PnL is known as it is now: its profit goes to the last period.
                last = index == len(windows) - 1
                realized_end = account.pnl.realized if last else realized_start
                share = flat_share(window, charged_from)
                cycle = close_cycle(account.terms, realized_start, realized_end, mark, share)
                account.pnl.fees_accrued += cycle.fee_due
                account.pnl.fees_through = window.end
                terms = account.terms
                payload = {
                    "fee_type": terms.fee_type.value,
                    "perf_share": terms.perf_share,
                    "flat_usd": terms.flat_usd,
                    "period": terms.period.value,
                    "period_start": format_utc(window.start),
                    "period_end": format_utc(window.end),
                    "period_label": window.label,
                    "flat_share": share.quantize(Decimal("0.000001")),
                    "charged_from": format_utc(max(charged_from, window.start)),
                    "realized_pnl": cycle.realized_pnl,
                    "fee_due": cycle.fee_due,
                    "performance_fee": cycle.performance_fee,
                    "flat_fee": cycle.flat_fee,
                    "profit_above_hwm": cycle.profit_above_hwm,
                    "high_water_mark": cycle.high_water_mark,
                    "realized_start": realized_start,
                    "realized_end": realized_end,
                    "nav_start": nav_start,
                    "nav_end": account.pnl.nav,
                    "closed_at": format_utc(now),
                }
                charged.append(
                    EventDraft(
                        "fee.charged",
                        vault_id=account.vault_id,
                        follower_id=account.follower_id,
                        payload=payload,
                    )
                )
                report.lines.append(
                    {"vault_id": account.vault_id, "follower_id": account.follower_id, **payload}
                )
                realized_start, mark = realized_end, cycle.high_water_mark
                charged_from, nav_start = window.end, account.pnl.nav
        report.skipped = [f"{group}: {', '.join(who)}" for group, who in nothing.items()]
        if not charged:
            open_periods = sorted(
                {
                    f"{w.label} ends {format_utc(w.end)}"
                    for w in (fee_window(when, a.terms.period) for a in accounts)
                }
            )
            raise ActionRefused(
                f"nothing to close as of {format_utc(when)}: {'; '.join(report.skipped)} "
                f"(the open period {', '.join(open_periods)}; a period is closed once, after "
                "it ends)"
            )
        if dry_run:
            return Plan({}, [], report)
        pnl.asof = now
        return Plan({StateKind.PNL: pnl}, opening + charged, report)

    return ctx.journal.act(ctx.actor, [StateKind.PNL], plan)
