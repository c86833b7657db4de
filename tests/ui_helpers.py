"""Building the desk for tests: a temp state dir, a fixed clock, no personal settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from textual.geometry import Region
from textual.pilot import Pilot

from vanta_tui.core.clock import fixed_clock
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.settings import DeskSettings

NOW = DEMO_NOW + timedelta(minutes=4)


def make_app(
    state_dir: Path,
    *,
    now: datetime = NOW,
    read_only: bool = False,
    settings: DeskSettings | None = None,
    settings_file: Path | None = None,
    watch: bool = True,
    executor: bool = False,
    executor_paused: bool | None = None,
) -> VantaApp:
    return VantaApp(
        state_dir,
        operator="dana",
        read_only=read_only,
        clock=fixed_clock(now),
        settings=settings or DeskSettings(),
        settings_file=settings_file or state_dir.parent / "settings.toml",
        watch=watch,
        state_label="state/",
        executor=executor,
        executor_paused=executor_paused,
    )


async def wait_for(pilot: Pilot[int], condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until ``condition`` holds (file watcher, workers); on a loaded
    machine as long as ``timeout`` seconds (a passing test returns as soon as it holds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def loaded(pilot: Pilot[int], at_least: int = 1) -> None:
    app = pilot.app
    assert isinstance(app, VantaApp)
    await wait_for(pilot, lambda: app.loads >= at_least)
    await pilot.pause()


async def settle(pilot: Pilot[int], app: VantaApp) -> None:
    """Wait for every worker but the endless file watcher."""
    from textual.worker import WorkerState

    def idle() -> bool:
        return not any(
            w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in app.workers
            if w.group != "state-watcher"
        )

    for _ in range(2):
        await pilot.pause(0.05)
        await wait_for(pilot, idle, timeout=10)


def screen_lines(app: VantaApp) -> list[str]:
    """The screen as the terminal shows it, as text: one string per line."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()


def region_lines(app: VantaApp, region: Region) -> list[str]:
    """The text shown inside ``region`` of the screen (a widget's, with its border)."""
    lines = screen_lines(app)
    return [
        line[region.x : region.right].ljust(region.width)
        for line in lines[region.y : region.bottom]
    ]
