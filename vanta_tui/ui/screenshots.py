"""The desk's screenshot scenarios, shared by `make screenshots` and the snapshot tests.

Every scenario opens the real app on the same state and clock (`shot_state`, `SHOT_NOW`): a
fresh copy of the demo with V_CRYPTO past its max drawdown (tripped, a FAIL alarm), so that
the main screen, the status view and the others show one moment of one desk. Only the size
and what the operator has opened differ.
Run: ``python -m vanta_tui.ui.screenshots screenshots/``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot

from vanta_tui.core.clock import fixed_clock
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.settings import DeskSettings

SHOT_NOW = DEMO_NOW + timedelta(minutes=4)
"""The clock every screenshot shows."""
TRIPPED_DRAWDOWN = '"drawdown": 0.2600'
"""V_CRYPTO's drawdown in the screenshots: past its 25 % max, so it shows tripped."""

Prepare = Callable[[Pilot[int]], Awaitable[None]]


async def wait_until(pilot: Pilot[int], condition: Callable[[], bool], timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise TimeoutError("screen did not reach the expected state")


def _app(pilot: Pilot[int]) -> VantaApp:
    app = pilot.app
    assert isinstance(app, VantaApp)
    return app


async def main_screen(pilot: Pilot[int]) -> None:
    app = _app(pilot)
    await wait_until(pilot, lambda: app.loads > 0 and app.status_count > 0)
    await pilot.pause()


def journal_has(app: VantaApp, action: str) -> bool:
    """Whether the desk's journal records ``action`` yet (a journal being made: not yet)."""
    try:
        return app.desk.has_event(action)
    except Exception:  # the journal is being created by the desk's own thread
        return False


async def status_screen(pilot: Pilot[int]) -> None:
    """The status view: V_CRYPTO tripped (a FAIL alarm) beside the demo's WARN ones."""
    from vanta_tui.ui.screens.status import StatusScreen

    app = _app(pilot)
    await main_screen(pilot)
    await wait_until(pilot, lambda: journal_has(app, "desk.opened"))
    assert app.status_report is not None
    assert any(a.kind == "tripped" for a in app.status_report.alarms)
    seen = app.status_count
    await pilot.press("S")
    await wait_until(pilot, lambda: isinstance(app.screen, StatusScreen))
    await wait_until(pilot, lambda: app.status_count > seen)
    screen = app.screen
    assert isinstance(screen, StatusScreen)
    await wait_until(pilot, lambda: screen.shown is app.status_report)
    app.clear_notifications()
    await pilot.pause()


async def help_screen(pilot: Pilot[int]) -> None:
    await main_screen(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def order_detail(pilot: Pilot[int]) -> None:
    from vanta_tui.ui.screens.order_detail import OrderDetailScreen
    from vanta_tui.ui.table import KeyedTable

    app = _app(pilot)
    await main_screen(pilot)
    await pilot.press("3")
    table = app.query_one("#queue", KeyedTable)
    for index in range(table.row_count):
        if table.get_row_at(index)[2].plain == "AAPL":
            table.move_cursor(row=index)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
    await wait_until(
        pilot, lambda: "loading" not in str(app.screen.query_one("#detail-audit").render())
    )
    await pilot.pause()


async def error_banner(pilot: Pilot[int]) -> None:
    app = _app(pilot)
    await main_screen(pilot)
    path = app.state_dir / "autotrade_queue.json"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    loads, seen = app.loads, app.status_count
    app.load_state(None)
    await wait_until(pilot, lambda: app.loads > loads and app.status_count > seen)
    await pilot.pause()


async def _approve_and_fill(pilot: Pilot[int]) -> None:
    """The operator approves AAPL buy 43 (V_CORE), then one executor cycle (its own
    session, on the screenshots' clock) sends it to the paper broker, which fills it."""
    import threading

    from vanta_tui.desk import Desk
    from vanta_tui.ui.screens.modals import ConfirmScreen
    from vanta_tui.ui.table import KeyedTable

    app = _app(pilot)
    await main_screen(pilot)
    await wait_until(pilot, lambda: journal_has(app, "desk.opened"))
    await pilot.press("3")
    table = app.query_one("#queue", KeyedTable)
    for index in range(table.row_count):
        if table.get_row_at(index)[2].plain == "AAPL":
            table.move_cursor(row=index)
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    loads = app.loads
    await pilot.press("y")
    await wait_until(pilot, lambda: app.loads > loads and not isinstance(app.screen, ConfirmScreen))

    def cycle() -> None:
        with Desk(app.state_dir, operator="executor", clock=fixed_clock(SHOT_NOW)) as desk:
            desk.run_executor(threading.Event(), once=True, price_every_s=None)

    await asyncio.to_thread(cycle)
    loads = app.loads
    app.load_state(None)
    await wait_until(pilot, lambda: app.loads > loads)
    app.clear_notifications()


async def _day_view(pilot: Pilot[int], key: str) -> None:
    from vanta_tui.ui.screens.activity import DayScreen

    app = _app(pilot)
    await _approve_and_fill(pilot)
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, DayScreen))
    screen = app.screen
    assert isinstance(screen, DayScreen)
    await wait_until(pilot, lambda: screen.reads > 0 and not screen.busy)
    app.clear_notifications()
    await pilot.pause()


async def activity_view(pilot: Pilot[int]) -> None:
    """`L` after an approval and its fill: the journal's events in words, newest first."""
    await _day_view(pilot, "L")


async def blotter_view(pilot: Pilot[int]) -> None:
    """`B` after that fill: the fills and their totals per symbol."""
    await _day_view(pilot, "B")


async def panic_banner(pilot: Pilot[int]) -> None:
    """A panic (ctrl+k) while V_INCOME's PG order works at an Alpaca account whose keys are
    not on this machine: the red banner says who, why and since, and lists that order as not
    cancelled until an operator acknowledges it (`A`)."""
    import json

    from textual.widgets import Input

    from vanta_tui.ui.screens.modals import FormScreen

    app = _app(pilot)
    await main_screen(pilot)
    await wait_until(pilot, lambda: journal_has(app, "desk.opened"))
    path = app.state_dir / "vault.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    income = next(v for v in data["vaults"] if v["vault_id"] == "V_INCOME")
    income["venues"]["equity"] = {"adapter": "alpaca", "account_ref": "alpaca_income"}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    loads = app.loads
    app.load_state(None)
    await wait_until(pilot, lambda: app.loads > loads)
    await pilot.press("ctrl+k")
    await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
    app.screen.query_one("#field-reason", Input).value = "fat finger on SOL"
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.banner.awaiting_ack)
    await wait_until(
        pilot,
        lambda: (
            not app.workers or all(w.is_finished for w in app.workers if w.group != "state-watcher")
        ),
    )
    app.clear_notifications()
    await pilot.pause()


@dataclass(frozen=True)
class Scenario:
    name: str
    size: tuple[int, int]
    prepare: Prepare


SCENARIOS = [
    Scenario("main", (120, 40), main_screen),
    Scenario("main-80x24", (80, 24), main_screen),
    Scenario("main-160x50", (160, 50), main_screen),
    Scenario("help", (120, 40), help_screen),
    Scenario("order-detail", (120, 40), order_detail),
    Scenario("error-banner", (120, 40), error_banner),
    Scenario("status", (120, 40), status_screen),
    Scenario("activity", (120, 40), activity_view),
    Scenario("blotter", (120, 40), blotter_view),
    Scenario("panic-banner", (120, 40), panic_banner),
    Scenario("panic-banner-80x24", (80, 24), panic_banner),
    Scenario("panic-banner-160x50", (160, 50), panic_banner),
]


def shot_state(state_dir: Path) -> None:
    """Make ``state_dir`` (a fresh copy of the demo) the screenshots' state: V_CRYPTO
    tripped, and every file last written four minutes before the clock (the status view
    shows the files' ages)."""
    path = state_dir / "pnl_summary.json"
    text = path.read_text()
    if TRIPPED_DRAWDOWN not in text:
        assert '"drawdown": 0.2280' in text, "the demo's V_CRYPTO drawdown changed"
        path.write_text(text.replace('"drawdown": 0.2280', TRIPPED_DRAWDOWN))
    stamp = (SHOT_NOW - timedelta(minutes=4)).timestamp()
    for file in state_dir.glob("*.json"):
        os.utime(file, (stamp, stamp))


def shot_app(state_dir: Path) -> VantaApp:
    """The app as every screenshot shows it, on ``state_dir`` (a fresh copy of the demo)
    made the screenshots' state (`shot_state`): fixed clock, default settings."""
    shot_state(state_dir)
    return VantaApp(
        state_dir,
        operator="demo",
        clock=fixed_clock(SHOT_NOW),
        settings=DeskSettings(),
        settings_file=state_dir.parent / "settings.toml",
        watch=False,
        state_label="state/",
    )


async def _shoot(out: Path, scenario: Scenario) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        write_demo(state)
        app = shot_app(state)
        async with app.run_test(size=scenario.size) as pilot:
            await scenario.prepare(pilot)
            path = out / f"{scenario.name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
            return path


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        print(asyncio.run(_shoot(out, scenario)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
