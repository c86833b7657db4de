"""Dead letters: failed orders listed, retried (staged again) or dismissed; CLI and desk."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Label
from ui_helpers import loaded, make_app, settle, wait_for

from vanta_tui.actions.orders import dead_letters
from vanta_tui.cli.main import main
from vanta_tui.core.models import QueueFile
from vanta_tui.store import load_model
from vanta_tui.store.journal import Journal
from vanta_tui.ui.screens.dead_letters import DeadLetterScreen
from vanta_tui.ui.screens.modals import ConfirmScreen


def failed_id(state_dir: Path) -> str:
    return next(o.order_id for o in load_model(state_dir, QueueFile).orders if o.status == "failed")


def letters(state_dir: Path) -> list[str]:
    with Journal(state_dir) as journal:
        return [o.order_id for o in dead_letters(state_dir, journal)]


def test_cli_retry_and_dismiss(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    oid = failed_id(state_dir)
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "retry", oid, *args]) == 0
    new_id = capsys.readouterr().out.split()[1]
    again = load_model(state_dir, QueueFile).get(new_id)
    assert again is not None and again.status == "staged" and again.origin == "retry"
    assert again.reason_vector[0].startswith(f"retry of {oid} (failed: temporary: broker timed out")
    assert letters(state_dir) == []  # retried: it waits for nobody any more
    assert main(["orders", "retry", oid, *args]) == 65  # once
    assert f"was retried already as order {new_id}, now staged" in capsys.readouterr().out
    assert main(["orders", "dismiss", oid, "--reason", "handled by phone", *args]) == 0
    assert main(["orders", "dismiss", oid, *args]) == 65  # once
    assert "was dismissed already by dana" in capsys.readouterr().out
    assert main(["orders", "retry", oid, *args]) == 65  # not after a dismissal either
    assert f"retried already as order {new_id}" in capsys.readouterr().out
    assert main(["orders", "retry", new_id, *args]) == 65  # only failed orders
    assert "only failed orders can be retried" in capsys.readouterr().out
    assert len([o for o in load_model(state_dir, QueueFile).orders if o.origin == "retry"]) == 1


async def test_desk_dead_letter_view(state_dir: Path) -> None:
    oid = failed_id(state_dir)
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeadLetterScreen))
        screen = app.screen
        assert [o.order_id for o in screen.orders] == [oid]  # type: ignore[attr-defined]
        assert "1 failed order left" in str(screen.query_one("#dead-title", Label).render())
        await pilot.press("x")  # dismiss asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert letters(state_dir) == [oid]
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: letters(state_dir) == [], timeout=10)
        await wait_for(pilot, lambda: screen.orders == [], timeout=10)  # type: ignore[attr-defined]
        assert "0 failed orders left" in str(screen.query_one("#dead-title", Label).render())
        await pilot.press("escape")


async def test_desk_retry_pressed_twice_stages_one(state_dir: Path) -> None:
    oid = failed_id(state_dir)
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeadLetterScreen))
        await pilot.press("r", "r")
        await settle(pilot, app)
        await wait_for(
            pilot, lambda: any("retried already" in n.message for n in app._notifications)
        )
    retries = [o for o in load_model(state_dir, QueueFile).orders if o.origin == "retry"]
    assert len(retries) == 1
    assert letters(state_dir) == []
    refusal = next(n.message for n in app._notifications if "retried already" in n.message)
    assert f"order {oid} was retried already as order {retries[0].order_id}" in refusal


async def test_views_closed_before_a_late_refresh_ignore_it(state_dir: Path) -> None:
    """The dead-letter view is refreshed by a timer after retry/dismiss, the followers and
    status views by every load: a refresh that lands after the operator closed the view (or
    while the desk closes) must not raise (it used to: NoMatches, and the desk stopped)."""
    from vanta_tui.ui.screens.followers import FollowersScreen
    from vanta_tui.ui.screens.status import StatusScreen

    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status_report is not None)
        views: list[tuple[str, type]] = [
            ("d", DeadLetterScreen), ("w", FollowersScreen), ("S", StatusScreen)
        ]  # fmt: skip
        for key, kind in views:
            await pilot.press(key)

            def opened(kind: type = kind) -> bool:
                return isinstance(app.screen, kind)

            await wait_for(pilot, opened)
            screen = app.screen
            await pilot.press("escape")

            def gone(screen: object = screen) -> bool:
                return not getattr(screen, "is_attached", True)

            await wait_for(pilot, gone)
            if isinstance(screen, DeadLetterScreen):
                screen.show([])
            elif isinstance(screen, FollowersScreen):
                screen.show(app.snapshot)
            elif isinstance(screen, StatusScreen):
                assert app.status_report is not None
                screen.show(app.status_report)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeadLetterScreen))
