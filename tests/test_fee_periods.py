"""Fee cycles are calendar periods, each charged once (issue 15, "Fees").

Real state files (a temp copy of the demo) and a real journal; the clock is injected. The
demo describes 2026-11-24; its accounts' fees are accrued through October 2026.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.fees import close_fee_cycle, ledger
from vanta_tui.actions.followers import add_follower
from vanta_tui.cli.main import main
from vanta_tui.core.models import PnlFile, VaultFile
from vanta_tui.demo.bundled import write_demo
from vanta_tui.store import load_model, update

D = Decimal
DEC_1 = datetime(2026, 12, 1, 4, 16, 35, tzinfo=UTC)
"""A moment just after November 2026 ended (the issue's reproduction)."""


def at(moment: datetime) -> list[datetime]:
    return [moment]


def opened(state_dir: Path, now: list[datetime]) -> ActionContext:
    return ActionContext.open(state_dir, "dana", clock=lambda: now[0])


def charged(ctx: ActionContext, who: str | None = None) -> list[Any]:
    # (getattr: the ledger entries of the code before fee periods had no ``entry``.)
    return [
        e
        for e in ledger(ctx.journal)
        if getattr(e, "entry", "charged") == "charged"
        and (who is None or (e.follower_id or e.vault_id) == who)
    ]


def month_start(moment: datetime) -> datetime:
    """The test's own calendar (not the code's): the UTC month ``moment`` falls in."""
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def months_from(first: datetime, end: datetime) -> list[datetime]:
    """Starts of the months from ``first`` up to (not including) ``end``."""
    out = []
    while first < end:
        out.append(first)
        first = next_month(first)
    return out


def fees_accrued(state_dir: Path, account: str) -> Decimal:
    return load_model(state_dir, PnlFile).vaults[account].fees_accrued


# ------------------------------------------------------------------ the reproductions


def test_closing_v_core_twice_charges_november_once(state_dir: Path) -> None:
    now = at(DEC_1)
    ctx = opened(state_dir, now)
    close_fee_cycle(ctx, "V_CORE")
    now[0] += timedelta(seconds=1)
    with pytest.raises(ActionRefused) as refused:
        close_fee_cycle(ctx, "V_CORE")
    first = {(e.follower_id or e.vault_id): e for e in charged(ctx)}
    message = str(refused.value)
    assert "fee period 2026-11 is already closed" in message
    for who in ("V_CORE", "F_1042", "F_1043"):
        assert f"{who} by ledger seq {first[who].seq}" in message
    assert "the open period 2026-12 ends 2027-01-01T00:00:00Z" in message
    # One charge per account for November: V_CORE and F_1042 their flat 2,000, F_1043 100.
    assert {who: (e.label, e.fee_due) for who, e in first.items()} == {
        "V_CORE": ("2026-11", D("2000.00")),
        "F_1042": ("2026-11", D("2000.00")),
        "F_1043": ("2026-11", D("100.00")),
    }
    assert fees_accrued(state_dir, "V_CORE") == D("4685.00")  # 2,685 through October + 2,000
    assert fees_accrued(state_dir, "F_1042") == D("2000.00")
    ctx.close()


def test_the_demos_first_close_charges_nothing_already_accrued(state_dir: Path) -> None:
    ctx = opened(state_dir, at(DEC_1))
    result = close_fee_cycle(ctx).result
    lines = getattr(result, "lines", result)  # (before fee periods: a list of lines)
    by_account = {line["follower_id"] or line["vault_id"]: line for line in lines}
    # V_CORE's 13,425 realized was charged (2,685) through October: no performance fee now.
    assert by_account["V_CORE"]["performance_fee"] == D("0.00")
    assert by_account["V_CORE"]["fee_due"] == D("2000.00")
    assert by_account["V_CRYPTO"]["fee_due"] == D("0.00")  # still a loss
    assert by_account["V_INCOME"]["fee_due"] == D("1500.00")  # its flat, once
    # The opening balances are in the ledger, and the ledger adds up to the files.
    pnl = load_model(state_dir, PnlFile)
    for account in by_account:
        entries = [e for e in ledger(ctx.journal) if (e.follower_id or e.vault_id) == account]
        assert entries[0].entry == "opening_balance"
        assert entries[0].label == "through 2026-10"
        assert sum(e.fee_due for e in entries) == pnl.vaults[account].fees_accrued, account
    core = [e for e in ledger(ctx.journal, vault_id="V_CORE") if e.follower_id is None]
    assert [(e.entry, e.fee_due) for e in core] == [
        ("opening_balance", D("2685")),
        ("charged", D("2000.00")),
    ]
    ctx.close()


# ------------------------------------------------------------------ periods and refusals


def test_a_close_before_the_period_ends_is_refused(state_dir: Path) -> None:
    ctx = opened(state_dir, at(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)))
    with pytest.raises(ActionRefused, match="the open period 2026-11 ends 2026-12-01"):
        close_fee_cycle(ctx, "V_CORE")
    assert charged(ctx) == []
    ctx.close()


def test_as_of_in_the_future_is_refused_and_a_late_close_takes_each_missed_period(
    state_dir: Path,
) -> None:
    now = at(datetime(2027, 2, 10, tzinfo=UTC))
    ctx = opened(state_dir, now)
    with pytest.raises(ActionRefused, match="later than now"):
        close_fee_cycle(ctx, "V_INCOME", as_of=datetime(2027, 3, 1, tzinfo=UTC))
    # Late: only the periods ended by 2027-01-01 (November, December), each once.
    close_fee_cycle(ctx, "V_INCOME", as_of=datetime(2027, 1, 1, tzinfo=UTC))
    assert [(e.label, e.fee_due) for e in charged(ctx, "V_INCOME")] == [
        ("2026-11", D("1500.00")),
        ("2026-12", D("1500.00")),
    ]
    with pytest.raises(ActionRefused, match="fee period 2026-12 is already closed"):
        close_fee_cycle(ctx, "V_INCOME", as_of=datetime(2027, 1, 1, tzinfo=UTC))
    close_fee_cycle(ctx, "V_INCOME")  # January; February is open
    assert [e.label for e in charged(ctx, "V_INCOME")][-1] == "2027-01"
    assert fees_accrued(state_dir, "V_INCOME") == D("1500") + 3 * D("1500.00")
    assert load_model(state_dir, PnlFile).vaults["V_INCOME"].fees_through == datetime(
        2027, 2, 1, tzinfo=UTC
    )
    ctx.close()


def test_a_follower_that_joined_mid_period_pays_the_flat_fee_pro_rata(state_dir: Path) -> None:
    now = at(datetime(2026, 11, 21, 10, tzinfo=UTC))
    ctx = opened(state_dir, now)
    add_follower(
        ctx,
        {
            "follower_id": "F_9100", "vault_id": "V_INCOME", "max_pos_usd": 1000,
            "equity": 9000, "fee_model": {"type": "flat", "flat_usd": 300},
            "brokers": {"equity": {"adapter": "paper", "account_ref": "p9100"}},
        },
    )  # fmt: skip
    now[0] = DEC_1
    close_fee_cycle(ctx, "V_INCOME")
    (entry,) = charged(ctx, "F_9100")
    # Joined on 21 November: 10 of November's 30 days (the day of joining counts).
    assert (entry.label, entry.fee_due) == ("2026-11", D("100.00"))
    assert entry.payload["flat_share"] == D("0.333333")
    now[0] = datetime(2027, 1, 3, tzinfo=UTC)
    close_fee_cycle(ctx, "V_INCOME")
    assert [e.fee_due for e in charged(ctx, "F_9100")] == [D("100.00"), D("300.00")]
    ctx.close()


def test_a_quarterly_agreement_closes_quarters(state_dir: Path) -> None:
    from vanta_tui.core.enums import FeePeriod

    def quarterly(vaults: VaultFile) -> None:
        for vault in vaults.vaults:
            if vault.vault_id == "V_INCOME":
                vault.mirroring.fee.period = FeePeriod.QUARTERLY

    update(state_dir, VaultFile, quarterly)
    now = at(DEC_1)
    ctx = opened(state_dir, now)
    with pytest.raises(ActionRefused, match=r"2026-Q4 ends 2027-01-01"):
        close_fee_cycle(ctx, "V_INCOME")
    now[0] = datetime(2027, 1, 2, tzinfo=UTC)
    close_fee_cycle(ctx, "V_INCOME")
    fees = {e.follower_id or e.vault_id: e for e in charged(ctx)}
    # Fees ran through October (monthly): the rest of Q4 is 61 of its 92 days.
    assert (fees["V_INCOME"].label, fees["V_INCOME"].fee_due) == ("2026-Q4", D("994.57"))
    assert (fees["F_3001"].label, fees["F_3001"].fee_due) == ("2026-Q4", D("16.58"))
    ctx.close()


def test_cli_close_twice_dry_run_and_ledger_show_the_period(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--state-dir", str(state_dir)]
    as_of = ["--as-of", "2026-12-01T00:00:00Z"]  # November has just ended
    pnl_before = (state_dir / "pnl_summary.json").read_bytes()
    assert main(["fees", "close-cycle", "--vault", "V_CORE", *as_of, "--dry-run", *base]) == 0
    dry = capsys.readouterr().out
    assert (state_dir / "pnl_summary.json").read_bytes() == pnl_before
    assert main(["fees", "ledger", *base]) == 0
    assert "0 entries" in capsys.readouterr().out
    assert main(["fees", "close-cycle", "--vault", "V_CORE", *as_of, *base]) == 0
    done = capsys.readouterr().out
    assert dry.splitlines()[1:] == done.splitlines()  # the same table, after its header
    assert "V_CORE     2026-11" in done and "2000.00" in done
    assert main(["fees", "close-cycle", "--vault", "V_CORE", *as_of, *base]) == 65
    refusal = capsys.readouterr().out
    assert "refused: nothing to close" in refusal and "2026-11 is already closed" in refusal
    assert main(["fees", "ledger", "--vault", "V_CORE", *base]) == 0
    printed = capsys.readouterr().out
    assert "through 2026-10" in printed and "2026-11" in printed
    assert "6 entries, fees due 6785.00" in printed  # 2,685 + 100 opening; 2,000+2,000+100
    assert main(["audit", "verify", *base]) == 0
    assert main(["audit", "replay", *base]) == 0


# ------------------------------------------------------------------ pure period arithmetic


def test_period_arithmetic() -> None:
    from vanta_tui.core.enums import FeePeriod
    from vanta_tui.core.fees import fee_window, flat_share, label_through, periods_to_close

    nov = fee_window(datetime(2026, 11, 24, 8, 5, tzinfo=UTC), FeePeriod.MONTHLY)
    assert (nov.label, nov.start.day, nov.end.month, nov.days) == ("2026-11", 1, 12, 30)
    assert fee_window(nov.end, FeePeriod.MONTHLY).label == "2026-12"  # a boundary opens
    assert fee_window(nov.start, FeePeriod.QUARTERLY).label == "2026-Q4"
    assert fee_window(nov.start, FeePeriod.YEARLY).label == "2026"
    assert label_through(nov.start, FeePeriod.MONTHLY) == "2026-10"
    assert label_through(datetime(2027, 1, 1, tzinfo=UTC), FeePeriod.QUARTERLY) == "2026-Q4"
    assert periods_to_close(nov.start, nov.end - timedelta(microseconds=1), FeePeriod.MONTHLY) == []
    assert [w.label for w in periods_to_close(nov.start, nov.end, FeePeriod.MONTHLY)] == ["2026-11"]
    assert flat_share(nov, nov.start) == 1
    assert flat_share(nov, datetime(2026, 11, 30, 23, tzinfo=UTC)) == D(1) / D(30)


# ------------------------------------------------------------------ property


ACCOUNTS = ("V_CORE", "F_1042", "F_1043", "V_CRYPTO", "F_2002", "V_INCOME", "F_3001")
START = datetime(2026, 11, 24, 9, tzinfo=UTC)
OPENING_THROUGH = datetime(2026, 11, 1, tzinfo=UTC)

steps = st.lists(
    st.tuples(
        st.integers(0, 24 * 50),  # hours the clock moves on (0: twice in a row)
        st.one_of(st.none(), st.integers(0, 24 * 70), st.just(-5)),  # as-of hours back
        st.one_of(st.none(), st.integers(-20000, 40000)),  # V_CORE's and V_CRYPTO's realized
    ),
    min_size=1,
    max_size=7,
)


def expected_fees(
    terms: tuple[str, Decimal, Decimal], periods: int, marks: list[Decimal], mark0: Decimal
) -> tuple[Decimal, Decimal]:
    """(least, most) the agreement allows over ``periods`` closed periods, given the
    realized PnL at each charging close (``marks``): flat × periods, the performance share
    of the high-water mark's rise, or for the greater-of-the-two between those bounds."""
    kind, share, flat = terms
    top = max([mark0, *marks])
    perf = (share * (top - mark0)).quantize(D("0.01"))
    flat_total = flat * periods
    if kind == "flat":
        return flat_total, flat_total
    if kind == "performance":
        return perf, perf
    return max(flat_total, perf), flat_total + perf


TERMS = {
    "V_CORE": ("performance_or_flat", D("0.20"), D(2000)),
    "F_1042": ("performance_or_flat", D("0.20"), D(2000)),
    "F_1043": ("performance_or_flat", D("0.20"), D(100)),
    "V_CRYPTO": ("performance", D("0.25"), D(0)),
    "F_2002": ("performance", D("0.25"), D(0)),
    "V_INCOME": ("flat", D(0), D(1500)),
    "F_3001": ("flat", D(0), D(25)),
}
OPENING_MARK = {"V_CORE": D(13425), "V_INCOME": D(6240)}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
def test_closes_at_any_time_never_charge_a_period_twice(
    plan: list[tuple[int, int | None, int | None]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        write_demo(state_dir)
        now = at(START)
        ctx = opened(state_dir, now)
        realized_at_close: dict[str, list[Decimal]] = {a: [] for a in ACCOUNTS}
        current = {"V_CORE": D(13425), "V_CRYPTO": D(-8210), "V_INCOME": D(6240)}
        covered = OPENING_THROUGH  # the test's own account of what is closed
        for hours, back, realized in plan:
            now[0] += timedelta(hours=hours)
            if realized is not None:
                set_realized(state_dir, D(realized), ("V_CORE", "V_CRYPTO"))
                current.update({"V_CORE": D(realized), "V_CRYPTO": D(realized)})
            as_of = None if back is None else now[0] - timedelta(hours=back)
            due = as_of or now[0]
            should_charge = due <= now[0] and month_start(due) > covered
            if check_close(ctx, as_of, should_charge):
                covered = month_start(due)
                for account in ACCOUNTS:
                    realized_at_close[account].append(current.get(account, D(0)))
            # One charge per account for each month that ended by the latest close, so far.
            months = months_from(OPENING_THROUGH, covered)
            for account in ACCOUNTS:
                assert len(charged(ctx, account)) == len(months), (account, now[0], as_of)
        entries = charged(ctx)
        # Never twice: one entry per account and period, periods back to back from November.
        keys = [(e.follower_id or e.vault_id, e.period_start) for e in entries]
        assert len(keys) == len(set(keys))
        pnl = load_model(state_dir, PnlFile)
        months = months_from(OPENING_THROUGH, covered)
        for account in ACCOUNTS:
            mine = [e for e in entries if (e.follower_id or e.vault_id) == account]
            assert [e.period_start for e in mine] == months
            # Never the open period: each was over by the time it was closed.
            assert all(e.period_end <= datetime.fromisoformat(e.ts) for e in mine)
            total = sum((e.fee_due for e in mine), start=D(0))
            mark0 = OPENING_MARK.get(account, D(0))
            least, most = expected_fees(
                TERMS[account], len(months), realized_at_close[account], mark0
            )
            assert least <= total <= most, (account, total, least, most)
            # The file agrees with the ledger (opening balance included).
            everything = [
                e for e in ledger(ctx.journal) if (e.follower_id or e.vault_id) == account
            ]
            if everything:
                assert sum(e.fee_due for e in everything) == pnl.vaults[account].fees_accrued
        ctx.close()


def set_realized(state_dir: Path, value: Decimal, accounts: tuple[str, ...]) -> None:
    """Another program (the executor's fills) changes realized PnL between closes."""

    def change(pnl: PnlFile) -> None:
        for account in accounts:
            pnl.vaults[account].realized = value

    update(state_dir, PnlFile, change)


def check_close(ctx: ActionContext, as_of: datetime | None, should_charge: bool) -> bool:
    try:
        # (as_of only when set: the same test runs against the code before fee periods.)
        extra: dict[str, Any] = {"as_of": as_of} if as_of else {}
        close_fee_cycle(ctx, **extra)
    except ActionRefused as exc:
        assert not should_charge, f"refused although a period had ended: {exc}"
        return False
    assert should_charge, "charged although no period had ended since the last close"
    return True


async def test_the_pnl_pane_shows_the_fee_period(state_dir: Path) -> None:
    from ui_helpers import loaded, make_app

    ctx = opened(state_dir, at(DEC_1))
    close_fee_cycle(ctx, "V_CORE")
    ctx.close()
    app = make_app(state_dir, now=DEC_1, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pane = app.pnl_pane
        assert "fees 4,685.00" in pane.figures_text
        assert "fees through 2026-11" in str(pane.border_subtitle)
        app.pnl_pane.show(app.snapshot, "V_CRYPTO")  # not closed since the demo's October
        assert "fees through 2026-10" in str(pane.border_subtitle)


def test_shadow_months_are_never_charged_after_leaving_shadow_mode(state_dir: Path) -> None:
    """A shadow follower pays nothing: its periods close at zero, so when it starts trading
    in December, January's close charges December only (not November, its shadow month)."""
    from vanta_tui.core.enums import MirrorMode
    from vanta_tui.core.models import FollowersFile

    def mode(to: MirrorMode) -> None:
        def change(registry: FollowersFile) -> None:
            follower = registry.get("F_1042")
            assert follower is not None
            follower.mode = to

        update(state_dir, FollowersFile, change)

    mode(MirrorMode.SHADOW)
    now = at(DEC_1)
    ctx = opened(state_dir, now)
    close_fee_cycle(ctx, "V_CORE")
    november = [e for e in charged(ctx, "F_1042")]
    assert [(e.label, e.fee_due) for e in november] == [("2026-11", D("0.00"))]
    mode(MirrorMode.PROPORTIONAL)
    now[0] = datetime(2027, 1, 2, tzinfo=UTC)
    close_fee_cycle(ctx, "V_CORE")
    assert [(e.label, e.fee_due) for e in charged(ctx, "F_1042")] == [
        ("2026-11", D("0.00")),
        ("2026-12", D("2000.00")),
    ]
    assert fees_accrued(state_dir, "F_1042") == D("2000.00")
    ctx.close()
