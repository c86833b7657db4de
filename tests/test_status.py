"""System status and alarms: each alarm condition made on purpose, seen in
`vanta-tui status --json` (level and exit code) and in the desk's status view; a
reconciliation mismatch accepted from the desk."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import NOW, loaded, make_app, wait_for

from vanta_tui.actions.brokers import brokers_for
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.actions.status import acknowledge, collect
from vanta_tui.core.alarms import Level
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import PortfolioFile, QueueFile, VaultFile
from vanta_tui.store import load_model, update
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.verify import verify
from vanta_tui.ui.screens.modals import ConfirmScreen
from vanta_tui.ui.screens.status import StatusScreen
from vanta_tui.ui.table import KeyedTable


def status_json(state_dir: Path, at: Any = NOW) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "status", "--json",
         "--no-probe", "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


def alarm(report: dict[str, Any], prefix: str) -> dict[str, Any]:
    found = [a for a in report["alarms"] if a["id"].startswith(prefix)]
    assert found, [a["id"] for a in report["alarms"]]
    first: dict[str, Any] = found[0]
    return first


def materialize_paper_book(state_dir: Path, vault_id: str) -> None:
    """Open the vault's paper account (seeded from portfolio.json), as a first trade would."""
    vault = load_model(state_dir, VaultFile).get(vault_id)
    assert vault is not None
    venue = next(iter(vault.venues.values()))
    brokers_for(state_dir).for_venue(venue, vault_id).poll()


def test_the_demo_is_warn_with_its_drift_stuck_orders_and_dead_letter(state_dir: Path) -> None:
    code, report = status_json(state_dir)
    assert code == 1 and report["level"] == "WARN"
    assert alarm(report, "drift:V_CORE:AAPL")["level"] == "WARN"
    assert alarm(report, "stuck:")["level"] == "WARN"  # submitted 27 min ago
    assert alarm(report, "dead_letters")["level"] == "WARN"
    assert {c["component"] for c in report["components"]} >= {
        "file vault.json", "file portfolio.json", "watcher", "executor", "broker paper", "journal",
    }  # fmt: skip


def test_stale_portfolio_by_time_travel(state_dir: Path) -> None:
    code, report = status_json(state_dir, NOW + timedelta(hours=30))
    assert alarm(report, "stale:portfolio")["level"] == "WARN"
    files = {c["component"]: c for c in report["components"]}
    assert files["file portfolio.json"]["level"] == "WARN"
    assert "STALE" in files["file portfolio.json"]["detail"]
    assert code == 1


def test_a_broker_reporting_other_positions_is_a_fail(state_dir: Path) -> None:
    materialize_paper_book(state_dir, "V_CORE")

    def drop(portfolio: PortfolioFile) -> None:
        portfolio.accounts["V_CORE"].positions["AAPL"].qty = Decimal(40)

    update(state_dir, PortfolioFile, drop)
    assert main_reconcile(state_dir, "V_CORE") == 1  # the check finds and records it
    code, report = status_json(state_dir)
    found = alarm(report, "reconcile:V_CORE:AAPL")
    assert found["level"] == "FAIL" and code == 2 and report["level"] == "FAIL"
    assert found["details"]["file"] == "40" and found["details"]["broker"] == "60"


def main_reconcile(state_dir: Path, vault_id: str, *extra: str) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "reconcile", vault_id,
         *extra],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode


def test_tripped_vault_and_flip_expiring(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    # V_CRYPTO's flip mode (demo) ends 40 min after DEMO_NOW: 3 min before that, it warns.
    report = collect(ctx, NOW + timedelta(minutes=33), probe=False)
    flip = [a for a in report.alarms if a.kind == "flip_expiring"]
    assert flip and flip[0].level is Level.WARN and flip[0].vault_id == "V_CRYPTO"
    ctx.close()
    path = state_dir / "pnl_summary.json"
    path.write_text(path.read_text().replace('"drawdown": 0.2280', '"drawdown": 0.2600'))
    code, report_json = status_json(state_dir)
    assert alarm(report_json, "tripped:V_CRYPTO")["level"] == "FAIL" and code == 2


def test_follower_divergence_and_acknowledgement(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    staged = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=Decimal(20))
    approve_orders(ctx, [staged.result.order_id])

    def outcome(queue: QueueFile) -> None:
        for order in queue.orders:
            if order.order_id == staged.result.order_id:
                order.status = OrderStatus.FILLED
                order.filled_qty = order.qty
                order.avg_fill_price = Decimal("190.10")
            elif order.parent_id == staged.result.order_id and order.follower_id == "F_1042":
                order.status = OrderStatus.FAILED
                order.last_error = "insufficient buying power"

    update(state_dir, QueueFile, outcome)
    report = collect(ctx, NOW, probe=False)
    diverged = [a for a in report.alarms if a.kind == "follower_divergence"]
    assert [a.alarm_id for a in diverged] == [f"diverged:F_1042:{staged.result.order_id}"]
    assert diverged[0].acked_by is None
    acknowledge(ctx, diverged[0].alarm_id)
    again = collect(ctx, NOW + timedelta(minutes=1), probe=False)
    still = next(a for a in again.alarms if a.alarm_id == diverged[0].alarm_id)
    assert still.acked_by == "dana"  # acknowledged, and still open: its cause is there
    assert still.since == NOW  # first seen at the first collection
    rows = ctx.journal.db.execute(
        "SELECT actor FROM events WHERE action = 'alarm.acknowledged'"
    ).fetchall()
    assert rows == [("dana",)]
    ctx.close()


async def test_desk_status_view_lists_components_and_alarms(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status_count > 0)
        queue_badge = str(app.queue_pane.border_subtitle)
        assert "WARN" in queue_badge and "⚠" in queue_badge  # stuck orders, dead letter
        assert "⚠" in str(app.positions_pane.border_subtitle)  # drift
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen))
        screen = app.screen
        assert isinstance(screen, StatusScreen)
        await wait_for(pilot, lambda: screen.shown is not None)
        table = screen.query_one("#status-table", KeyedTable)
        assert table.get_row("executor")[0].plain == "WARN"
        assert table.get_row("file vault.json")[0].plain == "OK"
        alarms = screen.query_one("#alarms-table", KeyedTable)
        assert alarms.has_row("drift:V_CORE:AAPL") and alarms.has_row("dead_letters")


async def test_a_reconciliation_mismatch_is_accepted_from_the_desk(state_dir: Path) -> None:
    materialize_paper_book(state_dir, "V_CORE")

    def drop(portfolio: PortfolioFile) -> None:
        portfolio.accounts["V_CORE"].positions["AAPL"].qty = Decimal(40)

    update(state_dir, PortfolioFile, drop)
    assert main_reconcile(state_dir, "V_CORE") == 1
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)

        def has_mismatch() -> bool:
            report = app.status_report
            return report is not None and any(a.kind == "reconcile" for a in report.alarms)

        await wait_for(pilot, has_mismatch)
        assert "FAIL" in str(app.positions_pane.border_subtitle)
        await pilot.press("r")  # the selected vault is V_CORE
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                load_model(state_dir, PortfolioFile).accounts["V_CORE"].positions["AAPL"].qty
                == Decimal(60)
            ),
        )
        app.refresh_status(False)
        await wait_for(pilot, lambda: not has_mismatch(), timeout=10)
        assert "FAIL" not in str(app.positions_pane.border_subtitle)
    with Journal(state_dir) as journal:
        accepted = journal.db.execute(
            "SELECT payload FROM events WHERE action = 'reconcile.accepted'"
        ).fetchall()
        assert len(accepted) == 1
        assert json.loads(accepted[0][0])["differences"][0]["symbol"] == "AAPL"
        assert verify(journal).ok


def test_status_is_allowed_read_only(state_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "--read-only",
         "status", "--no-probe"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "open alarm(s)" in done.stdout


def test_a_fake_alpaca_reporting_other_positions(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_brokers import FakeAlpaca

    from vanta_tui.actions.reconcile import check
    from vanta_tui.brokers.credentials import env_names
    from vanta_tui.core.enums import AssetClass
    from vanta_tui.core.models import Venue

    def to_alpaca(vaults: VaultFile) -> None:
        income = vaults.get("V_INCOME")
        assert income is not None
        income.venues = {AssetClass.EQUITY: Venue(adapter="alpaca", account_ref="alpaca-inc")}

    update(state_dir, VaultFile, to_alpaca)
    key_var, secret_var = env_names("alpaca-inc")
    monkeypatch.setenv(key_var, "key-123")
    monkeypatch.setenv(secret_var, "secret-456")
    account = load_model(state_dir, PortfolioFile).accounts["V_INCOME"]
    with FakeAlpaca() as fake:
        monkeypatch.setenv("VANTA_ALPACA_URL", fake.url)
        # The broker holds what the file says, but 10 KO fewer and 500 USD more cash.
        fake.positions = {s: p.qty for s, p in account.positions.items()}
        fake.positions["KO"] -= 10
        fake.prices = {s: p.avg_price for s, p in account.positions.items()}
        fake.cash = account.cash + 500
        ctx = ActionContext.open(state_dir, "executor")
        found = check(ctx, "V_INCOME", brokers_for(state_dir).for_venue)
        assert {(m["symbol"], m["file"] - m["broker"]) for m in found} == {
            ("KO", Decimal(10)),
            (None, Decimal(-500)),
        }
        report = collect(ctx, NOW, probe=True)
        ctx.close()
    levels = {a.alarm_id: a.level for a in report.alarms}
    assert levels["reconcile:V_INCOME:KO"] is Level.FAIL
    assert levels["reconcile:V_INCOME:cash"] is Level.FAIL
    brokers = {line.component: line for line in report.lines}
    assert brokers["broker alpaca alpaca-inc"].level is Level.OK
    assert "reachable" in brokers["broker alpaca alpaca-inc"].detail
    assert report.level is Level.FAIL and report.level.exit_code == 2
