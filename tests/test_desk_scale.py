"""The desk on a large state (10,000 orders): a loading sign at once, not empty panes, then
the panes; the header says what the executor does while it starts, not a bare "starting".

The load is made slow on purpose (it waits for the test) instead of generating a large
state: what is checked is the order of what the operator sees, never how long it takes
(`bench/desk_scale.py` measures that).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from ui_helpers import loaded, make_app, screen_lines, wait_for

from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.order_states import WORKING
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.desk import Desk
from vanta_tui.executor.runner import EventKind, RunEvent, first_cycle_text
from vanta_tui.store.journal.journal import file_version
from vanta_tui.store.loader import count_statuses, queue_statuses
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui import app as app_module
from vanta_tui.ui.app import WAITING_TEXT, VantaApp, loading_text


def desk_app(state_dir: Path, *, executor: bool) -> VantaApp:
    return make_app(state_dir, now=DEMO_NOW, watch=False, executor=executor, executor_paused=False)


def held_load(app: VantaApp) -> threading.Event:
    """The app's first load waits until the returned event is set (a large state's load,
    as slow as the test wants)."""
    release = threading.Event()
    reload = app.desk.reload

    def slow_reload(kinds: object = None) -> StateSnapshot:
        assert release.wait(20), "the test never let the load finish"
        return reload(kinds)  # type: ignore[arg-type]

    app.desk.reload = slow_reload  # type: ignore[method-assign]
    return release


def lease_taken(state_dir: Path) -> bool:
    return (state_dir / "executor.lease").exists()


async def test_a_large_state_shows_a_loading_sign_then_the_panes(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SYNC_LOAD_BYTES", 0)  # the demo loads as a large state
    orders = sum((queue_statuses(state_dir) or {}).values())
    app = desk_app(state_dir, executor=True)
    release = held_load(app)
    async with app.run_test(size=(160, 50)) as pilot:
        queue = app.queue_pane
        await wait_for(pilot, lambda: loading_text(orders) in [t for t, _ in queue.notices])
        assert app.loads == 0 and queue.row_count == 0
        shown = "\n".join(screen_lines(app))
        assert f"loading {orders:,} orders…" in shown
        for pane in (app.vaults_pane, app.overlays_pane, app.positions_pane, app.pnl_pane):
            assert pane.pane.loading == "loading…"
        # The executor waits for the panes: no lease taken, and the header says why.
        assert app.header.executor_text == WAITING_TEXT
        assert not lease_taken(state_dir)

        release.set()
        await loaded(pilot)
        assert queue.row_count > 0 and app.vaults_pane.row_count > 0
        assert not any(pane.pane.loading for pane in app.panes.values())
        assert not [t for t, _ in queue.notices if t.startswith("loading")]
        assert "loading" not in "\n".join(screen_lines(app))
        await wait_for(pilot, lambda: app.header.executor_text == "executor: running", 15)


async def test_the_header_says_what_the_executor_does_as_it_starts(state_dir: Path) -> None:
    working = sum((queue_statuses(state_dir) or {}).get(s.value, 0) for s in WORKING)
    assert working > 0  # the demo has orders at its brokers, to look up first
    checking = f"executor: reconciling {working:,} working order{'' if working == 1 else 's'}"
    app = desk_app(state_dir, executor=True)
    said: list[str] = []
    set_executor = app.header.set_executor

    def heard(text: str, level: str = "ok") -> None:
        said.append(text)
        set_executor(text, level)

    app.header.set_executor = heard  # type: ignore[method-assign]
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "executor: running" in said, 15)
    start = said.index("executor: opening the journal")
    assert said[start : start + 3] == [
        "executor: opening the journal",
        checking,
        "executor: running",
    ]


def test_the_run_says_each_start_up_step_before_its_first_cycle(state_dir: Path) -> None:
    events: list[RunEvent] = []
    checking = first_cycle_text(state_dir)  # the queue as the run finds it
    from vanta_tui.core.models import QueueFile
    from vanta_tui.store.loader import load_model

    assert first_cycle_text(state_dir, load_model(state_dir, QueueFile)) == checking
    with Desk(state_dir, operator="dana", clock=fixed_clock(DEMO_NOW)) as desk:
        end = desk.run_executor(threading.Event(), once=True, on_news=events.append)
    assert end.why == "stopped"
    kinds = [e.kind for e in events]
    first_cycle = kinds.index(EventKind.CYCLE) if EventKind.CYCLE in kinds else len(kinds)
    starting = [e.text for e in events[:first_cycle] if e.kind is EventKind.STARTING]
    assert starting == ["executor: opening the journal", checking]
    assert checking.startswith("executor: reconciling ")


def test_statuses_are_counted_from_the_text_and_a_string_cannot_fake_one() -> None:
    text = (
        b'{"version": 3, "orders": [\n {"status": "approved", "reason_vector": '
        b'["\\"status\\": \\"submitted\\""]},\n {"status":"submitted"}]}'
    )
    assert count_statuses(text) == {"approved": 1, "submitted": 1}


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (b'{\n  "version": 12,\n  "orders": []\n}\n', 12),
        (b'{"version":0}', 0),
        (b'{"orders": [], "version": 7}', 7),  # not first: parsed
        (b'{"version": 1, "orders": [{"version": 2}]}', 1),  # two "version" keys: parsed
        (b'{"version": 1, "version": 2}', None),  # a duplicate key does not parse
        (b'{"version": 1.5}', None),
        (b'{"version": true}', True),  # as the parser reads it
        (b"[1, 2]", None),
        (b"not json", None),
    ],
)
def test_a_files_version_reads_as_the_parser_reads_it(text: bytes, version: object) -> None:
    assert file_version(text) == version
