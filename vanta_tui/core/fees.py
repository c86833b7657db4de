"""Capital-aligned fees: a performance share of realized profit above the high-water mark, a
flat fee, or the greater of the two, per fee cycle.

The high-water mark is on cumulative realized PnL: no fee on a loss, and a loss must be
earned back before the next performance fee. Flat fees are due once per period.

A fee cycle is one UTC calendar period (month, quarter or year: `FeePeriod`). The period
arithmetic lives here, without I/O: which periods have ended since an account was last
charged (`periods_to_close`), what share of a period's flat fee an account that joined
during it owes (`flat_share`), and what an account's fees before the journal began were
(`opening_balance`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from vanta_tui.core.enums import FeePeriod, FeeType, MirrorMode
from vanta_tui.core.models import FeeAgreement, FeeSpec, Follower, PnlFile, Vault, VaultPnl
from vanta_tui.core.types import format_utc

CENTS = Decimal("0.01")

_MONTHS = {FeePeriod.MONTHLY: 1, FeePeriod.QUARTERLY: 3, FeePeriod.YEARLY: 12}


@dataclass(frozen=True)
class FeeTerms:
    fee_type: FeeType
    perf_share: Decimal
    flat_usd: Decimal
    """Per period."""
    period: FeePeriod = FeePeriod.MONTHLY


def terms_for(vault_fee: FeeSpec, agreement: FeeAgreement | None = None) -> FeeTerms:
    """A follower's terms: its own agreement where set, the vault's fee spec for the rest."""
    agreement = agreement or FeeAgreement()
    return FeeTerms(
        fee_type=agreement.type or vault_fee.type,
        perf_share=(
            agreement.perf_share if agreement.perf_share is not None else vault_fee.perf_share
        ),
        flat_usd=agreement.flat_usd if agreement.flat_usd is not None else vault_fee.flat_usd,
        period=agreement.period or vault_fee.period,
    )


@dataclass(frozen=True)
class FeeAccount:
    """An account that pays fees: a vault (``follower_id`` None) or one of its followers."""

    vault_id: str
    follower_id: str | None
    terms: FeeTerms
    pnl: VaultPnl

    @property
    def name(self) -> str:
        return self.follower_id or self.vault_id


def fee_accounts(
    vaults: Iterable[Vault], followers: Iterable[Follower], pnl: PnlFile
) -> list[FeeAccount]:
    """Every account of ``vaults`` with a fee cycle, vault first, then its followers with
    PnL kept (one that never traded has none). A follower in shadow mode trades nothing and
    pays nothing: its periods close at zero, so that leaving shadow mode later charges only
    the periods after it (not the shadow months)."""
    followers = list(followers)
    out: list[FeeAccount] = []
    for vault in vaults:
        own = pnl.vaults.get(vault.vault_id)
        if own is not None:
            out.append(FeeAccount(vault.vault_id, None, terms_for(vault.mirroring.fee), own))
        for follower in followers:
            if follower.vault_id != vault.vault_id:
                continue
            account = pnl.vaults.get(follower.follower_id)
            if account is not None:
                terms = terms_for(vault.mirroring.fee, follower.fee_model)
                if follower.mode is MirrorMode.SHADOW:
                    terms = dataclasses.replace(
                        terms, fee_type=FeeType.FLAT, perf_share=Decimal(0), flat_usd=Decimal(0)
                    )
                out.append(FeeAccount(vault.vault_id, follower.follower_id, terms, account))
    return out


# ------------------------------------------------------------------ periods


@dataclass(frozen=True)
class FeeWindow:
    """One fee period: ``start`` ≤ t < ``end``, both UTC midnights on a calendar boundary."""

    start: datetime
    end: datetime
    period: FeePeriod

    @property
    def label(self) -> str:
        """``2026-11`` (monthly), ``2026-Q4`` (quarterly), ``2026`` (yearly)."""
        return period_label(self.start, self.period)

    @property
    def days(self) -> int:
        return (self.end.date() - self.start.date()).days


def period_label(start: datetime, period: FeePeriod) -> str:
    if period is FeePeriod.MONTHLY:
        return f"{start:%Y-%m}"
    if period is FeePeriod.QUARTERLY:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def fee_window(moment: datetime, period: FeePeriod) -> FeeWindow:
    """The period ``moment`` falls in (a moment on a boundary starts the next period)."""
    moment = moment.astimezone(UTC)
    step = _MONTHS[period]
    month = (moment.month - 1) // step * step + 1
    start = datetime(moment.year, month, 1, tzinfo=UTC)
    year, next_month = _add_months(moment.year, month, step)
    return FeeWindow(start, datetime(year, next_month, 1, tzinfo=UTC), period)


def label_through(end: datetime, period: FeePeriod) -> str:
    """The label of the period that ends at ``end``: fees "through 2026-10" for
    ``end`` = 2026-11-01 (monthly)."""
    previous = fee_window(end, period)
    year, month = _add_months(previous.start.year, previous.start.month, -_MONTHS[period])
    return period_label(datetime(year, month, 1, tzinfo=UTC), period)


def periods_to_close(
    covered_until: datetime, as_of: datetime, period: FeePeriod
) -> list[FeeWindow]:
    """Every period that begins at or after ``covered_until`` (the end of what an account
    was last charged for), or contains it, and has ended by ``as_of``; oldest first.
    The open period (the one ``as_of`` falls in) is never among them."""
    out: list[FeeWindow] = []
    window = fee_window(covered_until, period)
    while window.end <= as_of:
        out.append(window)
        window = fee_window(window.end, period)
    return out


def flat_share(window: FeeWindow, charged_from: datetime) -> Decimal:
    """The share of ``window``'s flat fee owed by an account charged from ``charged_from``
    (its join, or the end of what it was charged before): days of the period from that day
    on (the day of joining counts) / days in the period; 1 for the whole period."""
    if charged_from <= window.start:
        return Decimal(1)
    if charged_from >= window.end:
        return Decimal(0)
    days = (window.end.date() - charged_from.astimezone(UTC).date()).days
    return Decimal(days) / Decimal(window.days)


@dataclass(frozen=True)
class FeeCycle:
    """One closed cycle: what was earned, what is due, and the mark carried forward."""

    realized_pnl: Decimal
    """Realized PnL during the cycle (end − start)."""
    profit_above_hwm: Decimal
    performance_fee: Decimal
    flat_fee: Decimal
    fee_due: Decimal
    high_water_mark: Decimal
    """Cumulative realized PnL up to which performance fees have been taken (after)."""


def close_cycle(
    terms: FeeTerms,
    realized_start: Decimal,
    realized_end: Decimal,
    high_water_mark: Decimal,
    flat_fraction: Decimal = Decimal(1),
) -> FeeCycle:
    """The fee of a cycle from cumulative realized PnL at its start and end.

    ``high_water_mark`` is the cumulative realized PnL already charged for (start a new
    account at its realized PnL when it joins). ``flat_fraction``: the share of the period
    the account owes the flat fee for (`flat_share`).
    """
    base = max(high_water_mark, realized_start)
    above = max(realized_end - base, Decimal(0))
    # A loss within the cycle lowers realized_end; the mark does not move down with it.
    performance = (terms.perf_share * above).quantize(CENTS)
    flat = (terms.flat_usd * flat_fraction).quantize(CENTS)
    if terms.fee_type is FeeType.PERFORMANCE:
        due = performance
    elif terms.fee_type is FeeType.FLAT:
        due = flat
    else:
        due = max(performance, flat)
    return FeeCycle(
        realized_pnl=(realized_end - realized_start).quantize(CENTS),
        profit_above_hwm=above.quantize(CENTS),
        performance_fee=performance,
        flat_fee=flat,
        fee_due=due,
        high_water_mark=max(base, realized_end),
    )


# ------------------------------------------------------------------ opening balance


@dataclass(frozen=True)
class OpeningBalance:
    """What an account's files say it was charged before the journal kept a fee ledger:
    ``fees_accrued`` for every period that ended by ``period_end``, with its realized PnL
    then as the high-water mark (that profit was charged for, or its periods are closed)."""

    period_end: datetime
    fees_accrued: Decimal
    realized: Decimal
    high_water_mark: Decimal

    def payload(self, terms: FeeTerms, nav: Decimal) -> dict[str, Any]:
        """The ``fee.opening_balance`` event's payload (the fee ledger's first row)."""
        return {
            "fee_type": terms.fee_type.value,
            "perf_share": terms.perf_share,
            "flat_usd": terms.flat_usd,
            "period": terms.period.value,
            "period_start": None,
            "period_end": format_utc(self.period_end),
            "period_label": f"through {label_through(self.period_end, terms.period)}",
            "realized_pnl": self.realized,
            "fee_due": self.fees_accrued,
            "high_water_mark": self.high_water_mark,
            "realized_end": self.realized,
            "nav_end": nav,
        }


def opening_balance(account: VaultPnl, period: FeePeriod, ledger_began: datetime) -> OpeningBalance:
    """An account's fees before its fee ledger: through its ``fees_through`` if the PnL file
    says, else through the last period that ended before ``ledger_began`` (the earlier of
    the journal's start and the PnL file's ``asof`` then: the period the files describe is
    the first one the desk charges). Every profit realized so far counts as charged (its
    periods are closed); a realized loss is carried with the mark at 0: it is earned back
    before any performance fee."""
    end = account.fees_through or fee_window(ledger_began, period).start
    return OpeningBalance(
        period_end=end,
        fees_accrued=account.fees_accrued,
        realized=account.realized,
        high_water_mark=max(account.realized, Decimal(0)),
    )
