"""The first five minutes (issue 16): a demo dated now, a clean clone that stays clean, an
executor that waits for the newcomer, and a hint of the keys to try."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.widgets import Input
from ui_helpers import loaded, settle, wait_for

from vanta_tui.cli.main import main
from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.models import OverlayFile, PnlFile, QueueFile
from vanta_tui.demo.bundled import DEMO_MARKER, build
from vanta_tui.store import load_model
from vanta_tui.store.journal import Journal
from vanta_tui.ui.app import FIRST_RUN_HINT, PAUSED_TEXT, VantaApp
from vanta_tui.ui.panes.positions import PositionsPane
from vanta_tui.ui.settings import DeskSettings, load_settings
from vanta_tui.ui.table import KeyedTable

REPO = Path(__file__).resolve().parent.parent


def desk(state_dir: Path, now: datetime, **kwargs: object) -> VantaApp:
    return VantaApp(
        state_dir,
        operator="dana",
        clock=fixed_clock(now),
        settings=DeskSettings(),
        settings_file=state_dir.parent / "settings.toml",
        state_label="demo/",
        **kwargs,  # type: ignore[arg-type]
    )


def test_init_at_a_fixed_time_gives_the_tracked_demo(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "demo"), "--at", "2026-11-24T08:05:00Z"]) == 0
    for name in build():
        assert (tmp_path / "demo" / name).read_bytes() == (REPO / "state" / name).read_bytes()
    assert (tmp_path / "demo" / DEMO_MARKER).is_file()  # a working copy, not the pristine one


async def test_init_without_at_is_dated_now(tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    assert main(["init", str(tmp_path / "demo")]) == 0
    state_dir = tmp_path / "demo"
    overlays = load_model(state_dir, OverlayFile)
    expires = overlays.vaults["V_CRYPTO"].flip_mode.expires_at
    assert expires is not None and timedelta(minutes=39) < expires - before <= timedelta(minutes=41)
    pnl = load_model(state_dir, PnlFile)
    assert pnl.vaults["V_CORE"].nav_history[-1][0].date() == before.date()
    ages = [before - o.created_at for o in load_model(state_dir, QueueFile).orders]
    assert all(timedelta(0) <= age <= timedelta(hours=3) for age in ages)
    now = datetime.now(UTC) + timedelta(minutes=1)
    app = desk(state_dir, now)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        positions = app.query_one(PositionsPane)
        assert positions.stale_warning == ""
        overlays_table = app.query_one("#overlays", KeyedTable)
        crypto = " ".join(c.plain for c in overlays_table.get_row("V_CRYPTO"))
        assert re.search(r"3[89]:\d\d left", crypto), crypto
        queue = app.query_one("#queue", KeyedTable)
        shown = [queue.get_row(key)[8].plain for key in queue.row_keys()]
        assert all(a.endswith(("m", "h")) and "d" not in a for a in shown), shown


async def test_demo_opens_paused_then_E_sends(tmp_path: Path) -> None:
    state_dir = tmp_path / "demo"
    at = datetime(2026, 11, 24, 8, 5, tzinfo=UTC)
    assert main(["init", str(state_dir), "--at", "2026-11-24T08:05:00Z"]) == 0
    app = desk(state_dir, at + timedelta(minutes=1), executor=True)
    aapl = next(
        o.order_id
        for o in load_model(state_dir, QueueFile).orders
        if o.symbol == "AAPL" and o.status == "staged"
    )
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        assert app.header.executor_text == PAUSED_TEXT
        await pilot.press("3")
        app.query_one("#queue", KeyedTable).move_to(aapl)
        await pilot.press("a", "y")
        await settle(pilot, app)
        assert not [w for w in app.workers if w.group == "executor" and not w.is_finished]
        assert not (state_dir / "executor.lease").exists()
        assert load_model(state_dir, QueueFile).get(aapl).status == "approved"  # type: ignore[union-attr]
        await pilot.press("E")
        await wait_for(
            pilot,
            lambda: load_model(state_dir, QueueFile).get(aapl).status == "filled",  # type: ignore[union-attr]
            timeout=15,
        )
        await pilot.press("E")  # and pause again
        await wait_for(pilot, lambda: app.header.executor_text == PAUSED_TEXT)
        await settle(pilot, app)
    with Journal(state_dir) as journal:
        actions = [
            (row[0], row[1])
            for row in journal.db.execute(
                "SELECT actor, action FROM events WHERE action LIKE 'executor.%' ORDER BY seq"
            )
        ]
    assert actions == [("dana", "executor.started"), ("dana", "executor.paused")]


async def test_other_directories_start_the_executor_as_before(state_dir: Path) -> None:
    app = desk(state_dir, datetime(2026, 11, 24, 8, 9, tzinfo=UTC), executor=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        await wait_for(
            pilot, lambda: app.header.executor_text.startswith("executor: running"), timeout=15
        )


async def test_first_run_hint_once(tmp_path: Path, state_dir: Path) -> None:
    settings_file = tmp_path / "settings.toml"
    app = VantaApp(
        state_dir,
        operator="dana",
        clock=fixed_clock(datetime(2026, 11, 24, 8, 9, tzinfo=UTC)),
        settings=DeskSettings(),
        settings_file=settings_file,
        first_run_hint=True,
    )
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        assert any(n.message == FIRST_RUN_HINT for n in app._notifications)
        await settle(pilot, app)
    settings, warning = load_settings(settings_file)
    assert warning is None and settings.first_run_done  # remembered: never again
    for key in ("Enter", " a ", " n ", " ? ", "ctrl+p"):
        assert key in FIRST_RUN_HINT


async def test_make_run_demo_path_leaves_git_status_empty(tmp_path: Path) -> None:
    """A clone with the repository's .gitignore and pristine state/; `make run`'s working copy
    (.demo, made by `vanta-tui init`) used by the desk: approve, start the executor, fill,
    quit. Nothing git tracks changes and nothing new shows."""
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(REPO / ".gitignore", clone / ".gitignore")
    shutil.copytree(REPO / "state", clone / "state", ignore=shutil.ignore_patterns("*.db*"))
    makefile = (REPO / "Makefile").read_text()
    assert "DEMO_DIR ?= .demo" in makefile and "STATE_DIR ?= $(DEMO_DIR)" in makefile

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(clone), *args], check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    assert main(["init", str(clone / ".demo")]) == 0
    now = datetime.now(UTC)
    app = desk(clone / ".demo", now, executor=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        await pilot.press("3", "a", "y")
        await settle(pilot, app)
        await pilot.press("E")
        await pilot.pause(1.5)
        await pilot.press("n")
        await wait_for(pilot, lambda: bool(app.screen.query(Input)))
        await pilot.press("escape", "q")
    assert (clone / ".demo" / "vanta.db").exists()  # the desk did write, in the working copy
    assert git("status", "--porcelain") == ""


async def test_E_pressed_twice_fast_keeps_one_running_executor(state_dir: Path) -> None:
    """Pause and start in one burst: the new loop waits for the old one to give up the lease
    (it does not report the desk's own lease as held by someone else)."""
    app = desk(state_dir, datetime(2026, 11, 24, 8, 9, tzinfo=UTC), executor=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot)
        await wait_for(
            pilot, lambda: app.header.executor_text.startswith("executor: running"), timeout=15
        )
        await pilot.press("E", "E")
        await wait_for(
            pilot, lambda: app.header.executor_text.startswith("executor: running"), timeout=15
        )
        await pilot.pause(1.5)
        assert app.header.executor_text.startswith("executor: running"), app.header.executor_text
        running = [w for w in app.workers if w.group == "executor" and not w.is_finished]
        assert len(running) == 1


def test_init_force_starts_a_demo_copy_over_but_keeps_another_journal(
    tmp_path: Path, state_dir: Path
) -> None:
    demo = tmp_path / "demo"
    assert main(["init", str(demo)]) == 0
    assert main(["--state-dir", str(demo), "orders", "stage", "V_CORE", "JNJ", "buy", "1"]) == 0
    assert (demo / "vanta.db").exists()
    assert main(["init", str(demo), "--force"]) == 0
    assert not (demo / "vanta.db").exists()  # the old demo's journal went with it
    assert (
        main(["--state-dir", str(state_dir), "orders", "stage", "V_CORE", "JNJ", "buy", "1"]) == 0
    )
    before = (state_dir / "vanta.db").read_bytes()
    assert main(["init", str(state_dir), "--force"]) == 65  # not a demo copy: refused
    assert (state_dir / "vanta.db").read_bytes() == before
