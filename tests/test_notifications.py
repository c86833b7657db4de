"""Toasts the operator can read again (`N`), errors that stay until dismissed, and toasts that
never cover the PnL pane's figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._toast import Toast
from ui_helpers import NOW, loaded, make_app, screen_lines, wait_for

from vanta_tui.ui.app import ERROR_TOAST_S
from vanta_tui.ui.screens.notifications import NotificationsScreen

SIZES = [(80, 24), (120, 40), (160, 50)]


async def test_every_toast_is_kept_newest_first_and_n_shows_them(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        app.notify("AAPL filled at [b]190.10[/b]", title="Filled")
        app.notify(
            "order 01X: broker refused: insufficient funds", title="failed", severity="error"
        )
        await pilot.pause()
        newest = app.notes[0]
        assert (newest.at, newest.severity, newest.title) == (NOW, "error", "failed")
        assert app.notes[1].message == "AAPL filled at 190.10"  # markup as it reads
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, NotificationsScreen))
        text = "\n".join(screen_lines(app))
        assert text.index("ERROR") < text.index("info")  # newest first
        assert "2026-11-24 08:09:00Z   ERROR   failed" in text
        assert not app._notifications  # read here: the toasts went
        assert "insufficient funds" in text and "AAPL filled at 190.10" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, NotificationsScreen))


async def test_an_error_toast_stays_until_dismissed(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        app.notify("the journal is behind its head", title="Journal", severity="error", timeout=5)
        app.notify("saved", title="Settings")
        await pilot.pause()
        error = next(n for n in app._notifications if n.severity == "error")
        info = next(n for n in app._notifications if n.severity == "information")
        assert error.timeout >= ERROR_TOAST_S and info.timeout < 60
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 2)
        await pilot.press("escape")  # Esc on the desk dismisses the toasts
        await wait_for(pilot, lambda: len(app._notifications) == 0)
        assert app.notes[1].message == "the journal is behind its head"  # N still has it


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_toasts_never_cover_the_pnl_figures(state_dir: Path, size: tuple[int, int]) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        await loaded(pilot)
        for number in range(8):
            app.notify(
                f"V_CORE buy 43 AAPL: broker refused order number {number}: " + "why " * 20,
                title="failed",
                severity="error",
            )

        def newest() -> Toast | None:
            return next(
                (t for t in app.screen.query(Toast) if "number 7" in t._notification.message),
                None,
            )

        await wait_for(pilot, lambda: newest() is not None)
        await pilot.pause()
        pnl = app.pnl_pane.region
        shown = {t: app.screen.find_widget(t).visible_region for t in app.screen.query(Toast)}
        assert shown[newest()].area  # type: ignore[index]
        assert sum(1 for r in shown.values() if r.area) >= 2
        assert not any(r.area and r.overlaps(pnl) for r in shown.values()), (shown, pnl)
        assert len(app.notes) >= 8  # the ones that made room are still in `N`
