"""One change costs what it changes (issue 24): another program changes one order and only the
queue pane is updated, and only that order's row redrawn; a change to a file a pane does not
show leaves that pane alone. Counted by spies on each pane's update, not by timings."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from ui_helpers import loaded, make_app, wait_for

from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.table import KeyedTable


class Spies:
    """Each pane's `show` calls and, for the tables, how many rows each `sync` redrew."""

    def __init__(self, app: VantaApp) -> None:
        self.shows: dict[str, int] = defaultdict(int)
        self.redrawn: dict[str, int] = defaultdict(int)
        for name, pane in app.panes.items():
            self._spy_show(name, pane)
            if isinstance(pane, KeyedTable):
                self._spy_sync(name, pane)

    def _spy_show(self, name: str, pane: Any) -> None:
        real = pane.show

        def show(*args: Any, **kwargs: Any) -> Any:
            self.shows[name] += 1
            return real(*args, **kwargs)

        pane.show = show

    def _spy_sync(self, name: str, pane: KeyedTable) -> None:
        real = pane.sync

        def sync(*args: Any, **kwargs: Any) -> int:
            touched = real(*args, **kwargs)
            self.redrawn[name] += touched
            return touched

        pane.sync = sync  # type: ignore[method-assign]

    def reset(self) -> None:
        self.shows.clear()
        self.redrawn.clear()


def _rewrite(path: Path, change: Any) -> None:
    """Another program's write: the whole file replaced (temp file + rename)."""
    data = json.loads(path.read_text())
    change(data)
    tmp = path.with_suffix(".other.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


async def _reloaded_after(pilot: Any, app: VantaApp, path: Path, change: Any) -> None:
    """Another program rewrites ``path`` with ``change``; returns once the desk has shown it."""
    loads = app.loads
    _rewrite(path, change)
    await wait_for(pilot, lambda: app.loads > loads)
    await pilot.pause()


def _set_qty(order_id: str, qty: int) -> Any:
    def change(data: dict[str, Any]) -> None:
        for order in data["orders"]:
            if order["order_id"] == order_id:
                order["qty"] = qty

    return change


def _quiet_clock(app: VantaApp) -> None:
    """The clock's tick redraws ages and countdowns every second; it is not a file change."""
    app._tick = lambda: None  # type: ignore[method-assign]


async def test_one_changed_order_redraws_its_row_and_no_other_pane(state_dir: Path) -> None:
    app = make_app(state_dir)
    _quiet_clock(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        spies = Spies(app)
        queue_path = state_dir / "autotrade_queue.json"
        staged = [
            o["order_id"]
            for o in json.loads(queue_path.read_text())["orders"]
            if o["status"] == "staged"
        ]
        target = staged[0]
        await _reloaded_after(pilot, app, queue_path, _set_qty(target, 4321))
        assert app.queue_pane.get_row(target)[4].plain == "4,321"
        assert dict(spies.shows) == {"queue": 1}
        # The first rewrite reformats the file (json.dumps' layout), so every order's text
        # changed once; the next one changes one order's text only.
        spies.reset()
        await _reloaded_after(pilot, app, queue_path, _set_qty(target, 1234))
        assert app.queue_pane.get_row(target)[4].plain == "1,234"
        assert dict(spies.shows) == {"queue": 1}
        assert dict(spies.redrawn) == {"queue": 1}  # that order's row, no other


async def test_a_file_a_pane_does_not_show_costs_that_pane_nothing(state_dir: Path) -> None:
    app = make_app(state_dir)
    _quiet_clock(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        spies = Spies(app)

        def position(data: dict[str, Any]) -> None:
            data["accounts"]["V_CORE"]["positions"]["AAPL"]["qty"] = 61

        await _reloaded_after(pilot, app, state_dir / "portfolio.json", position)
        # portfolio.json: the positions and the vaults (NAV) show it; the queue reads it
        # only for hold reasons, none of which changed: not a row of it is redrawn.
        assert spies.shows["positions"] == 1 and spies.redrawn["positions"] >= 1
        assert spies.redrawn["queue"] == 0
        assert spies.shows["overlays"] == 0 and spies.shows["pnl"] == 0

        spies.reset()

        def nav(data: dict[str, Any]) -> None:
            data["vaults"]["V_CORE"]["realized"] = 13426

        await _reloaded_after(pilot, app, state_dir / "pnl_summary.json", nav)
        assert spies.shows["pnl"] == 1
        assert spies.shows["positions"] == 0 and spies.shows["overlays"] == 0
        assert spies.redrawn["queue"] == 0


async def test_a_broken_then_mended_queue_still_updates_by_difference(state_dir: Path) -> None:
    """The last good queue stays on screen while the file is broken; once mended, the rows
    are those of the mended file (the difference is taken from what last loaded)."""
    app = make_app(state_dir)
    _quiet_clock(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        queue_path = state_dir / "autotrade_queue.json"
        good = queue_path.read_text()
        target = json.loads(good)["orders"][0]["order_id"]
        loads = app.loads
        queue_path.write_text(good.replace('"orders"', '"orders" "', 1))
        await wait_for(pilot, lambda: app.loads > loads)
        assert app.snapshot.stale(next(iter(k for k in app.snapshot.problems)))
        assert app.queue_pane.has_row(target)
        loads = app.loads
        data = json.loads(good)
        data["orders"][0]["qty"] = 77
        queue_path.write_text(json.dumps(data, indent=2) + "\n")
        await wait_for(pilot, lambda: app.loads > loads and not app.snapshot.problems)
        await pilot.pause()
        assert app.queue_pane.get_row(target)[4].plain == "77"


async def test_reloads_freeze_nothing_more_for_good(state_dir: Path) -> None:
    """The first load's state, and what drawing it made, are frozen for the garbage collector
    once (never walked again); later loads are not: each freeze kept the garbage cycles of
    its moment for good, some thousands of objects a reload, a desk that grew without end
    under an allocator rewriting the queue."""
    import gc

    app = make_app(state_dir)
    _quiet_clock(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, app.state_shown.is_set)
        await pilot.pause()
        frozen = gc.get_freeze_count()
        queue_path = state_dir / "autotrade_queue.json"
        target = next(
            o["order_id"]
            for o in json.loads(queue_path.read_text())["orders"]
            if o["status"] == "staged"
        )
        for qty in range(11, 16):
            await _reloaded_after(pilot, app, queue_path, _set_qty(target, qty))
        assert app.queue_pane.get_row(target)[4].plain == "15"
        assert gc.get_freeze_count() <= frozen
