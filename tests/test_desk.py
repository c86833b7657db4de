"""The desk through Textual's Pilot: panes, live updates, banners, navigation, journal."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.text import Text
from textual.widgets import Static
from ui_helpers import NOW, loaded, make_app, wait_for

from vanta_tui.store.journal import Journal
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.header import DeskHeader
from vanta_tui.ui.panes.pnl import PnlPane
from vanta_tui.ui.panes.positions import PositionsPane
from vanta_tui.ui.panes.queue import QueuePane
from vanta_tui.ui.screens.help import HelpScreen
from vanta_tui.ui.screens.order_detail import OrderDetailScreen
from vanta_tui.ui.settings import load_settings
from vanta_tui.ui.table import KeyedTable


def cells(app: VantaApp, table_id: str) -> dict[str, list[str]]:
    table = app.query_one(f"#{table_id}", KeyedTable)
    return {key: [c.plain for c in table.get_row(key)] for key in table.row_keys()}


def plain(renderable: object) -> str:
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def static_text(app: VantaApp, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    rendered = widget.render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


async def test_every_pane_shows_the_demo(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        vaults = cells(app, "vaults")
        assert list(vaults) == ["V_CORE", "V_CRYPTO", "V_INCOME"]
        assert vaults["V_CORE"][2:6] == ["active", "280,429.00", "280,429.00", "2.10% / 12%"]
        assert vaults["V_INCOME"][2] == "maintenance"
        assert vaults["V_CORE"][6] == "2"  # followers
        overlays = cells(app, "overlays")
        assert overlays["V_INCOME"][1].startswith("ON: dividend reinvestment review (sam")
        assert overlays["V_CRYPTO"][2] == "×1.35 · 36:00 left"  # counts down from the clock
        queue = cells(app, "queue")
        # Open orders only (15 with finished ones); the MSFT vault order's two follower
        # orders are folded under it.
        assert len(queue) == 8
        statuses = {row[6] for row in queue.values()}
        assert statuses == {"staged", "approved", "submitting", "submitted", "partially filled"}
        assert any("HELD" in row[9] for row in queue.values())
        parent = next(k for k, row in queue.items() if "2 follower orders" in row[9])
        assert queue[parent][2] == "MSFT" and queue[parent][9].startswith("▸")
        positions = cells(app, "positions")
        assert positions["AAPL"][4:8] == ["4.07%", "7.00%", "-2.93%", "◆ DRIFT"]
        assert positions["SOL/USD"][1] == "—" and positions["SOL/USD"][7] == "◆ DRIFT"
        assert positions["NVDA"][7] == ""
        table = app.query_one("#queue", KeyedTable)
        await pilot.press("3")
        table.move_to(parent)
        await pilot.press("right")  # → opens the follower orders under their parent
        await wait_for(pilot, lambda: len(cells(app, "queue")) == 10)
        order = table.row_keys()
        kids = order[order.index(parent) + 1 : order.index(parent) + 3]
        assert [cells(app, "queue")[k][9] for k in kids] == ["↳F_1042", "↳F_1043"]
        assert all(cells(app, "queue")[k][0].startswith("  ↳ ") for k in kids)
        await pilot.press("down", "left")  # ← on a child folds them back, cursor on parent
        await wait_for(pilot, lambda: len(cells(app, "queue")) == 8)
        assert table.cursor_key == parent
        figures = app.query_one(PnlPane).figures_text
        assert "NAV 280,429.00" in figures and "realized 13,425.00" in figures
        assert "fees 2,685.00" in figures
        header = app.query_one(DeskHeader)
        line = header.render().plain
        assert "PAPER" in line and str(state_dir.name) in line
        assert header.clock_text == "2026-11-24 08:09:00 UTC" and header.clock_text in line


async def test_selecting_a_vault_focuses_the_other_panes(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("down")  # V_CRYPTO
        await wait_for(pilot, lambda: app.selected_vault == "V_CRYPTO")
        assert set(cells(app, "positions")) == {"BTC/USD", "ETH/USD", "SOL/USD"}
        assert "NAV 179,153.50" in app.query_one(PnlPane).figures_text
        assert cells(app, "overlays")["V_CRYPTO"][0] == "▶ V_CRYPTO"


async def test_an_outside_rewrite_of_the_queue_shows_at_once(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("3")  # the queue
        table = app.query_one("#queue", KeyedTable)
        table.move_cursor(row=3)
        await pilot.pause()
        cursor_before = table.cursor_key
        path = state_dir / "autotrade_queue.json"
        data = json.loads(path.read_text())
        target = next(o for o in data["orders"] if o["symbol"] == "AAPL")
        target["qty"] = 44
        data["version"] += 1
        path.write_text(json.dumps(data, indent=2))
        await wait_for(pilot, lambda: cells(app, "queue")[target["order_id"]][4] == "44")
        assert table.cursor_key == cursor_before  # the cursor stayed on its row


async def test_a_corrupt_file_puts_a_banner_and_keeps_the_last_good_rows(
    state_dir: Path,
) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        rows_before = cells(app, "queue")
        path = state_dir / "autotrade_queue.json"
        good = path.read_bytes()
        path.write_bytes(good[: len(good) // 2])
        queue = app.query_one("#queue", QueuePane)
        await wait_for(pilot, lambda: queue.has_class("-problem"))
        banner = queue.banner_text
        assert (banner, "problem") in queue.notices  # drawn on the pane
        assert "autotrade_queue.json" in banner and "invalid JSON" in banner
        assert "last good" in banner
        assert queue.has_class("-stale") and "STALE · " in str(queue.border_subtitle)
        assert cells(app, "queue") == rows_before
        assert path.read_bytes() == good[: len(good) // 2]  # never overwritten
        path.write_bytes(good)
        await wait_for(pilot, lambda: not queue.has_class("-problem"))
        assert not queue.has_class("-stale")


async def test_a_deleted_file_is_reported_the_same_way(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        (state_dir / "pnl_summary.json").unlink()
        pane = app.query_one("#pnl")
        await wait_for(pilot, lambda: pane.has_class("-problem"))
        assert isinstance(pane, PnlPane)
        assert "pnl_summary.json" in pane.banner_text and "missing" in pane.banner_text
        assert "NAV 280,429.00" in app.query_one(PnlPane).figures_text


async def test_filter_sort_and_finished_toggle(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("3", "z")  # 15 orders with finished ones, 2 folded under a parent
        await wait_for(pilot, lambda: len(cells(app, "queue")) == 13)
        await pilot.press("slash", *"msft", "enter")
        await wait_for(pilot, lambda: len(cells(app, "queue")) == 1)  # the parent, folded
        assert {row[2] for row in cells(app, "queue").values()} == {"MSFT"}
        queue = app.query_one(QueuePane)
        assert not queue.filtering and queue.filter_text == "msft"
        await pilot.press("slash", "backspace", "escape")
        await wait_for(pilot, lambda: len(cells(app, "queue")) == 13)
        assert not queue.filtering and queue.filter_text == "" and not queue.notices
        await pilot.press("o")  # sort by vault
        table = app.query_one("#queue", KeyedTable)
        await pilot.pause()
        vault_column = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert vault_column == sorted(vault_column)


async def test_order_detail_shows_reasons_ids_and_audit_trail(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: (state_dir / "vanta.db").exists())
        await pilot.press("3")
        table = app.query_one("#queue", KeyedTable)
        index = next(i for i in range(table.row_count) if table.get_row_at(i)[2].plain == "AAPL")
        table.move_cursor(row=index)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        screen = app.screen
        reasons = static_text(app, "#detail-reasons")
        assert "rebalance: AAPL 4.1% → 7.0%" in reasons
        assert "SEC Form 4 insider buy" in reasons
        fields = plain(screen.order_table)  # type: ignore[attr-defined]
        assert "conviction  87%" in fields
        assert "approved    —" in fields and "flipped     no" in fields
        await wait_for(pilot, lambda: "loading" not in static_text(app, "#detail-audit"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, OrderDetailScreen))


async def test_order_detail_takes_its_audit_trail_before_mount_and_after_close(
    state_dir: Path,
) -> None:
    """The audit trail comes from a worker: it can land before the screen has its body or
    after the operator closed it (both used to raise NoMatches and stop the desk)."""
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.snapshot.queue is not None
        screen = OrderDetailScreen(app.snapshot.queue.orders[0])
        screen.show_audit(["#1 order.staged by someone"])  # not mounted yet
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.is_mounted)
        assert "order.staged by someone" in static_text(app, "#detail-audit")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.is_attached)
        screen.show_audit(["late"])


async def test_help_lists_every_key(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = str(app.screen.query_one(Static).render())
        rows = app.screen.rows  # type: ignore[attr-defined]
        described = {does for _, _, does in rows}
        assert {"Quit", "Help", "Filter", "Finished", "Sort", "Details"} <= described
        assert ("queue", "/", "Filter") in rows
        assert text
        await pilot.press("escape")


async def test_opening_and_closing_the_desk_are_journal_events(state_dir: Path) -> None:
    app = make_app(state_dir, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: (state_dir / "vanta.db").exists())
    with Journal(state_dir) as journal:
        rows = journal.db.execute(
            "SELECT actor, action, payload FROM events WHERE action LIKE 'desk.%' ORDER BY seq"
        ).fetchall()
    assert [(a, b) for a, b, _ in rows] == [("dana", "desk.opened"), ("dana", "desk.closed")]
    assert json.loads(rows[0][2]) == {"read_only": True}


async def test_theme_is_remembered(state_dir: Path, tmp_path: Path) -> None:
    settings_file = tmp_path / "desk.toml"
    app = make_app(state_dir, settings_file=settings_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.theme = "gruvbox"
        await wait_for(pilot, lambda: settings_file.exists())
    settings, warning = load_settings(settings_file)
    assert warning is None and settings.theme == "gruvbox"


async def test_stale_portfolio_is_flagged(state_dir: Path) -> None:
    app = make_app(state_dir, now=NOW + timedelta(hours=30))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pane = app.query_one(PositionsPane)
        assert (pane.stale_warning, "warning") in pane.notices
        assert "portfolio.json" in pane.stale_warning
        assert "older than 24 h" in pane.stale_warning


def test_the_desk_starts_without_importing_broker_sdks(state_dir: Path) -> None:
    script = f"""
import asyncio, sys
from pathlib import Path
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.settings import DeskSettings

async def main():
    app = VantaApp(Path({str(state_dir)!r}), settings=DeskSettings(), watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            if app.loads:
                break
            await pilot.pause(0.02)
    assert app.loads
    print(sorted(m for m in sys.modules if m.split('.')[0] in {{'ccxt', 'alpaca'}}))

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


async def test_ten_thousand_orders_scroll_and_update_in_place(tmp_path: Path) -> None:
    from vanta_tui.demo.generate import write_generated

    state = tmp_path / "big"
    write_generated(state, 200, 10_000, 5_000)
    app = make_app(state, now=NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        table = app.query_one("#queue", KeyedTable)
        assert table.row_count > 5000
        await pilot.press("pagedown", "pagedown", "pagedown")
        await pilot.pause()
        scroll_before, cursor_before = table.scroll_offset.y, table.cursor_key
        assert scroll_before > 0 and cursor_before is not None
        path = state / "autotrade_queue.json"
        data = json.loads(path.read_text())
        target = next(o for o in data["orders"] if o["status"] == "staged")
        target["qty"] = 4321
        data["version"] += 1
        path.write_text(json.dumps(data, indent=2))
        await wait_for(pilot, lambda: table.get_row(target["order_id"])[4].plain == "4,321")
        assert table.scroll_offset.y == scroll_before and table.cursor_key == cursor_before
