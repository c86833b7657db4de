"""What the operator sees fits the screen (issue 21): the panes share the space by what they
show, colours keep their meaning in every theme, and the palette's screenshot is saved
where the desk says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.color import Color
from textual.command import CommandList, CommandPalette
from textual.widget import Widget
from ui_helpers import loaded, make_app, region_lines, wait_for

from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.state_files import StateKind
from vanta_tui.ui.format import STATUS_STYLE
from vanta_tui.ui.panes.base import share_cells
from vanta_tui.ui.settings import DeskSettings


def inner(lines: list[str]) -> list[str]:
    """The lines inside a pane's border."""
    return [line[1:-1] for line in lines[1:-1]]


def queue_rows_shown(app: Any) -> list[str]:
    """The queue's lines inside its border and above a horizontal scroll bar, if any."""
    queue = app.queue_pane
    lines = inner(region_lines(app, queue.region))
    assert queue.scrollable_content_region.height <= queue.content_height()  # no room left
    return lines[: queue.scrollable_content_region.height]


async def test_at_120x40_the_queue_keeps_no_empty_rows_and_drift_is_whole(
    state_dir: Path,
) -> None:
    """Crypto quantities after fills carry decimals: the positions pane gets the columns
    its table needs; the queue gets the rows its orders need, no more."""
    path = state_dir / "portfolio.json"
    portfolio = json.loads(path.read_text())
    portfolio["accounts"]["V_CORE"]["positions"]["BTC/USD"]["qty"] = 0.22123456
    path.write_text(json.dumps(portfolio, indent=2))
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.pause()
        positions = inner(region_lines(app, app.positions_pane.region))
        aapl = next(line for line in positions if line.lstrip().startswith("AAPL"))
        assert aapl.rstrip().endswith("◆ DRIFT"), aapl
        assert any("0.22123456" in line for line in positions)
        queue = queue_rows_shown(app)
        assert queue[0].lstrip().startswith("Id")
        assert all(line.strip() for line in queue), queue
        assert app.queue_pane.row_count == 8
        # The PnL pane keeps its figures whole beside it.
        pnl = "\n".join(inner(region_lines(app, app.pnl_pane.region)))
        assert "realized 13,425.00  unrealized 5,338.00" in pnl
        # Finished orders too: the queue takes rows from the bottom row, which keeps what
        # its positions need (every symbol) while the queue scrolls.
        height = app.queue_pane.region.height
        await pilot.press("3", "z")
        await wait_for(pilot, lambda: app.queue_pane.row_count == 13)
        await wait_for(pilot, lambda: app.queue_pane.region.height > height)
        assert all(line.strip() for line in queue_rows_shown(app))
        positions = inner(region_lines(app, app.positions_pane.region))
        for symbol in ("AAPL", "BTC/USD", "ETH/USD", "MSFT", "NVDA", "SOL/USD"):
            assert any(line.lstrip().startswith(symbol) for line in positions), symbol


async def test_at_80x24_every_pane_shows_its_title_selected_row_and_badge(
    state_dir: Path,
) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status_count > 0)
        await pilot.press("down", "down")  # V_INCOME, the last vault
        await wait_for(pilot, lambda: app.selected_vault == "V_INCOME")
        await pilot.press("3", "end")  # the queue's last order
        await pilot.pause()
        titles = {
            "vaults": "Vaults",
            "overlays": "Overlays",
            "queue": "Order queue",
            "positions": "Positions vs targets",
            "pnl": "PnL · V_INCOME",
        }
        for pane_id, pane in app.panes.items():
            lines = region_lines(app, pane.region)
            assert titles[pane_id] in lines[0], (pane_id, lines[0])
            badge = pane.pane.badge
            if badge:
                plain = badge[badge.index("]") + 1 : badge.rindex("[")].strip()
                assert plain in lines[-1], (pane_id, lines[-1])
            if isinstance(pane, Widget) and hasattr(pane, "cursor_key"):
                key = pane.cursor_key
                shown = {
                    "vaults": "V_INCOME",
                    "overlays": "▶ V_INCOME",
                    "queue": (key or "")[-8:],
                    "positions": key or "",
                }[pane_id]
                assert any(shown in line for line in inner(lines)), (pane_id, shown, lines)
        assert app.queue_pane.pane.badge  # the demo's queue has alarms: one badge checked


def test_share_cells_gives_each_its_need_then_its_floor_then_the_smallest_need_first() -> None:
    assert share_cells(25, (11, 10), (6, 6)) == [11, 14]  # all fit: the rest to the last
    assert share_cells(20, (30, 8), (6, 6)) == [12, 8]  # the small need is met in full
    assert share_cells(80, (69, 50), (30, 45)) == [33, 47]  # floors first, then the rest
    assert share_cells(50, (69, 50), (38, 45)) == [22, 28]  # floors too big: in proportion
    assert sum(share_cells(7, (100, 100, 100), (0, 0, 0))) == 7


# ------------------------------------------------------------------ colours


def test_a_partial_fill_shows_in_the_working_colour_not_the_error_colour() -> None:
    working = STATUS_STYLE[OrderStatus.SUBMITTED]
    assert STATUS_STYLE[OrderStatus.PARTIALLY_FILLED] == working
    assert "red" not in STATUS_STYLE[OrderStatus.PARTIALLY_FILLED]
    assert STATUS_STYLE[OrderStatus.FAILED] != working


async def test_the_queue_paints_a_partial_fill_as_working(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        rows = [app.queue_pane.get_row(k) for k in app.queue_pane.row_keys()]
        partial = next(r for r in rows if r[6].plain == "partially filled")
        submitted = next(r for r in rows if r[6].plain == "submitted")
        assert partial[6].style == submitted[6].style


def distance(a: Color, b: Color) -> float:
    if a.ansi is not None or b.ansi is not None:
        return 0.0 if a.ansi == b.ansi else 255.0
    return float(sum((x - y) ** 2 for x, y in zip(a.rgb, b.rgb, strict=True)) ** 0.5)


def border_colour(widget: Widget) -> Color:
    """The colour the widget's top border is painted in (blended over what is beneath)."""
    base, _ = widget.background_colors
    return base + widget.styles.border_top[1]


async def test_the_focus_border_stands_out_from_the_others_in_every_offered_theme(
    state_dir: Path,
) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        # A file that breaks after it loaded: the positions pane shows its last good data.
        (state_dir / "vault_allocation.json").write_text("{")
        loads = app.loads
        app.load_state(frozenset({StateKind.ALLOCATION}))
        await wait_for(pilot, lambda: app.loads > loads)
        assert app.positions_pane.has_class("-stale")
        await pilot.press("3")
        assert app.focused is app.queue_pane
        weak = []
        for name in sorted(app.available_themes):
            app.theme = name
            await pilot.pause()
            focus = border_colour(app.queue_pane)
            rest = border_colour(app.vaults_pane)
            error = border_colour(app.positions_pane)
            base, _ = app.queue_pane.background_colors
            gaps = (distance(focus, rest), distance(focus, error), distance(focus, base))
            if min(gaps) < 60:
                weak.append((name, focus.hex, rest.hex, error.hex, gaps))
            assert app.positions_pane.styles.border_top[0] != app.queue_pane.styles.border_top[0]
        assert weak == []


# ------------------------------------------------------------------ the palette's screenshot


async def test_the_palettes_screenshot_is_saved_and_says_where(
    state_dir: Path, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    app = make_app(state_dir, watch=False, settings=DeskSettings(screenshot_dir=str(shots)))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"screenshot")
        hits = app.screen.query_one(CommandList)
        await wait_for(
            pilot,
            lambda: (
                hits.option_count > 0 and "Screenshot" in str(hits.get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(shots.glob("*.svg")), timeout=10)
        await wait_for(pilot, lambda: any(n.title == "Screenshot" for n in app._notifications))
    [saved] = shots.glob("*.svg")
    assert saved.name == "vanta-desk 2026-11-24 08-09-00Z.svg"  # named by the desk's clock
    assert "Order queue" in saved.read_text(encoding="utf-8").replace("&#160;", " ")
    toast = next(n for n in app._notifications if n.title == "Screenshot")
    assert toast.message == f"saved to {saved.resolve()}" and toast.severity == "information"
    assert "CommandPalette" not in saved.read_text(encoding="utf-8")
