"""Capital-aligned fees: a performance share of realized profit above the high-water mark, a
flat fee, or the greater of the two, per fee cycle.

The high-water mark is on cumulative realized PnL: no fee on a loss, and a loss must be
earned back before the next performance fee. Flat fees are due every cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from vanta_tui.core.enums import FeeType
from vanta_tui.core.models import FeeAgreement, FeeSpec

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class FeeTerms:
    fee_type: FeeType
    perf_share: Decimal
    flat_usd: Decimal


def terms_for(vault_fee: FeeSpec, agreement: FeeAgreement | None = None) -> FeeTerms:
    """A follower's terms: its own agreement where set, the vault's fee spec for the rest."""
    agreement = agreement or FeeAgreement()
    return FeeTerms(
        fee_type=agreement.type or vault_fee.type,
        perf_share=(
            agreement.perf_share if agreement.perf_share is not None else vault_fee.perf_share
        ),
        flat_usd=agreement.flat_usd if agreement.flat_usd is not None else vault_fee.flat_usd,
    )


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
    terms: FeeTerms, realized_start: Decimal, realized_end: Decimal, high_water_mark: Decimal
) -> FeeCycle:
    """The fee of a cycle from cumulative realized PnL at its start and end.

    ``high_water_mark`` is the cumulative realized PnL already charged for (start a new
    account at its realized PnL when it joins).
    """
    base = max(high_water_mark, realized_start)
    above = max(realized_end - base, Decimal(0))
    # A loss within the cycle lowers realized_end; the mark does not move down with it.
    performance = (terms.perf_share * above).quantize(CENTS)
    flat = terms.flat_usd.quantize(CENTS)
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
