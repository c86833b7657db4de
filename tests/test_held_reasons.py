"""Say why, everywhere (issue 15): every held order shows why, the same words from the one
rule (`core.risk.hold_reason`), in the executor, the queue, the order detail, `S` and
`vanta-tui status [--json]`; a follower left out of a vault order appears in the parent's
audit trail; the demo's working orders can be cancelled; equity = NAV after a price mark."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from test_desk_actions import confirm, focus_order
from ui_helpers import NOW, loaded, make_app, settle, wait_for

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.marks import mark_prices
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.cli.main import main
from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import OrderType, Side
from vanta_tui.core.models import FollowersFile, PnlFile, PortfolioFile, QueueFile
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.verify import verify
from vanta_tui.ui.format import money
from vanta_tui.ui.screens.order_detail import OrderDetailScreen
from vanta_tui.ui.screens.status import StatusScreen
from vanta_tui.ui.table import KeyedTable

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "--operator", "dana",
         *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def demo_order(state_dir: Path, **match: Any) -> str:
    queue = load_model(state_dir, QueueFile)
    return next(
        o.order_id
        for o in queue.orders
        if all(str(getattr(o, k)) == str(v) for k, v in match.items())
    )


def hold_everything(state_dir: Path) -> dict[str, tuple[str, str]]:
    """Approved orders held for every kind of reason, made through the real actions and
    files; order id → (code, words the reason must contain)."""
    ctx = ActionContext.open(state_dir, "dana", clock=fixed_clock(NOW))
    ko = demo_order(state_dir, symbol="KO", status="staged")  # V_INCOME: maintenance (sam)
    btc = stage_order(
        ctx, vault_id="V_CRYPTO", symbol="BTC/USD", side=Side.BUY, qty=Decimal("0.01"),
        order_type=OrderType.LIMIT, limit_price=Decimal("64000"),
    ).result.order_id  # fmt: skip
    approve_orders(ctx, [ko, btc])
    ctx.close()
    # The crypto vault trips after the approval (its drawdown passes the 25 % max); F_1042
    # has spent its cash; F_1043's cap drops below its MSFT child.

    def trip(pnl: PnlFile) -> None:
        pnl.vaults["V_CRYPTO"].drawdown = Decimal("0.26")

    def drain(portfolio: PortfolioFile) -> None:
        portfolio.accounts["F_1042"].cash = Decimal(100)

    def lower_cap(registry: FollowersFile) -> None:
        follower = registry.get("F_1043")
        assert follower is not None
        follower.max_pos_usd = Decimal(300)

    update(state_dir, PnlFile, trip)
    update(state_dir, PortfolioFile, drain)
    update(state_dir, FollowersFile, lower_cap)
    return {
        ko: ("maintenance", "maintenance: sam since 2026-11-24 06:05Z — dividend reinvestment"),
        btc: ("tripped", "V_CRYPTO is tripped (drawdown 26.00% ≥ max 25%)"),
        demo_order(state_dir, follower_id="F_1043"): (
            "max_pos",
            "MSFT would be 415.50 USD, above the follower's max_pos_usd 300.00",
        ),
        demo_order(state_dir, follower_id="F_1042"): (
            "cash",
            "not enough cash: 1,246.50 needed, 100.00 available",
        ),
    }


def test_status_json_and_text_and_the_executor_say_the_same_why(state_dir: Path) -> None:
    expected = hold_everything(state_dir)
    done = cli(state_dir, "status", "--json", "--no-probe", "--at", AT)
    report = json.loads(done.stdout)
    held = {h["order_id"]: h for h in report["held"]}
    assert set(held) == set(expected), held
    for order_id, (code, words) in expected.items():
        assert held[order_id]["code"] == code and words in held[order_id]["reason"]
    line = next(c for c in report["components"] if c["component"] == "held orders")
    assert line["level"] == "WARN" and line["detail"].startswith("4 held")
    text = cli(state_dir, "status", "--no-probe", "--at", AT).stdout
    for order_id, (_, words) in expected.items():
        assert f"HELD [{order_id}]" in text and words in text
    # The executor holds by the same rule, in the same words; the MSFT parent goes out.
    ctx = ActionContext.open(state_dir, "executor", clock=fixed_clock(NOW))
    cycle = Executor(ctx, paper_brokers(state_dir), price_every_s=None).cycle()
    ctx.close()
    assert sorted(cycle.held) == sorted(f"{i}: {h['reason']}" for i, h in held.items())
    assert cycle.sent >= 1


async def test_the_desk_shows_why_in_queue_header_detail_and_status(state_dir: Path) -> None:
    expected = hold_everything(state_dir)
    ko = next(i for i, (code, _) in expected.items() if code == "maintenance")
    app = make_app(state_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        queue = app.queue_pane
        why = queue.column_keys.index("why")
        assert queue.get_row(ko)[why].plain == "maintenance (sam)"
        # The header counts the held orders; clicking "4 held" lists just them, each with why
        # (the follower orders, folded under their parent otherwise, stand alone here).
        assert app.header.held == 4
        assert " 4 held " in app.header.render().plain
        span = app.header._held_span
        assert span is not None
        await pilot.click("#header", offset=(span[0] + 1, 0))
        await wait_for(pilot, lambda: queue.held_only)
        await pilot.pause()
        assert set(queue.row_keys()) == set(expected) and app.focused is queue
        shown = {key: queue.get_row(key)[why].plain for key in expected}
        assert shown == {
            key: {
                "maintenance": "maintenance (sam)",
                "tripped": "tripped 26.0%≥25%",
                "max_pos": "cap MSFT 416>300",
                "cash": "cash 1,246>100",
            }[code]
            for key, (code, _) in expected.items()
        }
        await pilot.press("h")  # the whole queue again
        await wait_for(pilot, lambda: len(queue.row_keys()) > len(expected))
        await pilot.press("H")
        await wait_for(pilot, lambda: set(queue.row_keys()) == set(expected))
        # The detail says why, with whose and since when.
        await focus_order(pilot, app, ko)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen) and detail.held is not None
        fields = Text()
        for row in detail.order_table.columns[1].cells:
            fields.append_text(row if isinstance(row, Text) else Text(str(row)))
            fields.append("\n")
        assert expected[ko][1] in fields.plain
        await pilot.press("escape")
        # S lists them too, from the same report as `status --json`.
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen))
        status = app.screen
        assert isinstance(status, StatusScreen)
        await wait_for(pilot, lambda: status.shown is not None)
        table = status.query_one("#held-table", KeyedTable)
        for order_id, (_, words) in expected.items():
            assert words in table.get_row(order_id)[2].plain


def test_followers_gone_and_no_price_when_the_files_do_not_load(state_dir: Path) -> None:
    """followers.json unreadable: the follower orders wait; the vault's own MSFT order does
    not (portfolio.json still loads: its follower accounts are not judged while the
    registry is unreadable, so it has its price)."""
    (state_dir / "followers.json").write_text('{"version": 1, "followers": [')
    report = json.loads(cli(state_dir, "status", "--json", "--no-probe", "--at", AT).stdout)
    held = {h["order_id"]: h for h in report["held"]}
    for follower in ("F_1042", "F_1043"):
        child = held[demo_order(state_dir, follower_id=follower)]
        assert child["code"] == "follower_gone"
        assert child["reason"] == f"follower {follower} gone (followers.json unread)"
    assert demo_order(state_dir, symbol="MSFT", follower_id="None") not in held


def test_a_follower_left_out_shows_in_the_parents_audit_trail(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana", clock=fixed_clock(NOW))
    btc = stage_order(
        ctx, vault_id="V_CRYPTO", symbol="BTC/USD", side=Side.BUY, qty=Decimal("0.01"),
    ).result.order_id  # fmt: skip
    approve_orders(ctx, [btc])
    ctx.close()
    out = cli(state_dir, "audit", "show", btc).stdout
    shadow = next(line for line in out.splitlines() if "mirror.shadow" in line)
    assert "follower F_2001" in shadow and "buy 0.0050 BTC/USD" in shadow
    assert "reason: shadow: computed, never sent" in shadow
    skipped = next(line for line in out.splitlines() if "mirror.skipped" in line)
    assert "follower F_2002" in skipped and "reason: kill switch is on" in skipped


async def test_the_order_detail_shows_the_followers_left_out(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana", clock=fixed_clock(NOW))
    btc = stage_order(
        ctx, vault_id="V_CRYPTO", symbol="BTC/USD", side=Side.BUY, qty=Decimal("0.01"),
    ).result.order_id  # fmt: skip
    approve_orders(ctx, [btc])
    ctx.close()
    app = make_app(state_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.queue_pane.has_row(btc))
        await focus_order(pilot, app, btc)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        screen = app.screen
        assert isinstance(screen, OrderDetailScreen)
        await wait_for(pilot, lambda: screen.audit is not None)
        trail = "\n".join(screen.audit or [])
    assert "mirror.skipped" in trail and "follower F_2002" in trail and "kill switch is on" in trail
    assert "mirror.shadow" in trail and "follower F_2001" in trail


# ------------------------------------------------------------------ the demo's working orders


async def test_c_cancels_a_demo_working_order_at_the_real_paper_broker(state_dir: Path) -> None:
    pg = demo_order(state_dir, symbol="PG", status="submitted")  # paper-000041
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, pg)
        await pilot.press("c")
        await confirm(pilot, app)
        await settle(pilot, app)
        messages = [n.message for n in app._notifications]
    order = load_model(state_dir, QueueFile).get(pg)
    assert order is not None and order.status == "cancelled", messages
    assert "cancelled 1 order(s)" in messages
    with Journal(state_dir) as journal:
        assert verify(journal).ok
        (actor,) = journal.db.execute(
            "SELECT actor FROM events WHERE action = 'order.cancelled' AND order_id = ?", [pg]
        ).fetchone()
    assert actor == "dana"


def test_orders_cancel_cancels_the_demo_working_orders_and_clears_their_alarm(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pg = demo_order(state_dir, symbol="PG", status="submitted")
    nvda = demo_order(state_dir, symbol="NVDA", status="partially_filled")
    before = json.loads(cli(state_dir, "status", "--json", "--no-probe", "--at", AT).stdout)
    assert f"stuck:{pg}" in {a["id"] for a in before["alarms"]}
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "cancel", pg, nvda, *args]) == 0
    out = capsys.readouterr().out
    assert f"cancelled {pg}" in out and f"cancelled {nvda}" in out
    queue = load_model(state_dir, QueueFile)
    assert queue.get(pg).status == "cancelled"  # type: ignore[union-attr]
    nvda_now = queue.get(nvda)
    assert nvda_now is not None and nvda_now.status == "cancelled" and nvda_now.filled_qty == 12
    after = json.loads(cli(state_dir, "status", "--json", "--no-probe", "--at", AT).stdout)
    assert f"stuck:{pg}" not in {a["id"] for a in after["alarms"]}


def test_the_executor_leaves_a_known_working_order_alone(state_dir: Path) -> None:
    """The book knows the demo's working orders: a cycle neither resends nor re-records them,
    so `executor --once` settles (a broker's "accepted" is the queue's "submitted")."""
    ctx = ActionContext.open(state_dir, "executor", clock=fixed_clock(NOW))
    executor = Executor(ctx, paper_brokers(state_dir), price_every_s=None, reconcile_every_s=None)
    reports = executor.run_once()
    ctx.close()
    assert len(reports) < 10 and reports[-1].idle
    queue = load_model(state_dir, QueueFile)
    assert queue.get(demo_order(state_dir, symbol="PG")).status == "submitted"  # type: ignore[union-attr]
    nvda = queue.get(demo_order(state_dir, symbol="NVDA"))
    assert nvda is not None and nvda.status == "partially_filled"  # its limit waits


# ------------------------------------------------------------------ equity = NAV


async def test_equity_and_nav_agree_after_a_price_mark(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        ctx = ActionContext.open(state_dir, "executor", clock=fixed_clock(NOW))
        prices = {"AAPL": Decimal("195.555"), "BTC/USD": Decimal("65000.123")}
        mark_prices(ctx, "V_CORE", prices, "test")
        ctx.close()
        nav = load_model(state_dir, PnlFile).vaults["V_CORE"].nav
        await wait_for(pilot, lambda: f"NAV {money(nav)}" in app.pnl_pane.figures_text)
        row = app.vaults_pane.get_row("V_CORE")
        columns = app.vaults_pane.column_keys
        equity_cell = row[columns.index("equity")].plain
        nav_cell = row[columns.index("nav")].plain
    account = load_model(state_dir, PortfolioFile).accounts["V_CORE"]
    history = load_model(state_dir, PnlFile).vaults["V_CORE"].nav_history
    assert equity_cell == nav_cell == money(nav) == money(account.equity)
    assert history[-1] == (NOW, nav)  # the chart ends at the NAV the figures show
    assert len(history) == 60  # the day's point moved; no second point for the same day
