"""The desk's keys for the operator's day (issue 21): vi moves in every table, `y` copies an
id through OSC 52, `:` goes to a view by name, `space` marks without moving, `x` lists what
it rejects, `t` says at once when there is no trip, quitting asks while orders are in
flight, and a keymap entry that takes another binding's key is reported, not applied."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from test_desk_actions import focus_order, order_id
from ui_helpers import NOW, loaded, make_app, settle, wait_for

from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import OrderStatus
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.flows import VIEWS
from vanta_tui.ui.flows.execution import in_flight
from vanta_tui.ui.screens.dead_letters import DeadLetterScreen
from vanta_tui.ui.screens.followers import FollowersScreen
from vanta_tui.ui.screens.jump import JumpScreen
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen, QuitScreen
from vanta_tui.ui.screens.order_detail import OrderDetailScreen
from vanta_tui.ui.settings import DeskSettings
from vanta_tui.ui.table import KeyedTable


def toasts(app: VantaApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def osc52_writes(app: VantaApp) -> list[str]:
    """What the app writes to its terminal from now on (the headless driver's writes)."""
    driver: Any = app._driver
    written: list[str] = []
    original = driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)

    driver.write = write
    return written


def osc52(text: str) -> str:
    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a"


# ------------------------------------------------------------------ 1. moving in tables


async def test_vi_keys_move_in_the_panes_and_the_views(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("j")  # the vaults pane: the next vault is selected
        await wait_for(pilot, lambda: app.selected_vault == "V_CRYPTO")
        await pilot.press("G")
        await wait_for(pilot, lambda: app.selected_vault == "V_INCOME")
        await pilot.press("k", "k")
        await wait_for(pilot, lambda: app.selected_vault == "V_CORE")
        queue = app.queue_pane
        await pilot.press("3", "G")
        assert queue.cursor_row == queue.row_count - 1
        await pilot.press("g")
        assert queue.cursor_row == 0
        half = queue.visible_rows // 2
        assert half >= 1
        await pilot.press("ctrl+d")
        assert queue.cursor_row == half
        await pilot.press("j", "ctrl+u")
        assert queue.cursor_row == 1
        # A view's table: the dead letters (`d` still closes it, `j`/`g` move).
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeadLetterScreen))
        table = app.screen.query_one(KeyedTable)
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_in_the_followers_view_j_moves_and_k_stays_the_kill_switch(
    state_dir: Path,
) -> None:
    """The followers view binds `k` itself (kill switch): there the table gives it way."""
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, FollowersScreen))
        table = app.screen.query_one(KeyedTable)
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert table.cursor_key in app.screen.title_text  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FollowersScreen))
        assert table.cursor_row == 2


# ------------------------------------------------------------------ 2. y copies


async def test_y_copies_the_full_order_id_through_osc52(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    oid = order_id(state_dir, "AAPL", "staged")
    failed = order_id(state_dir, "ETH/USD", "failed")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        written = osc52_writes(app)
        await focus_order(pilot, app, oid)
        await pilot.press("y")
        assert osc52(oid) in written
        assert f"Copied the order id: {oid}" in toasts(app)
        # The order detail (a modal screen) copies its order too.
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        shown = app.screen.order.order_id  # type: ignore[attr-defined]
        assert shown != oid
        await pilot.press("y")
        assert osc52(shown) in written
        await pilot.press("escape")
        # A view's table: the dead letters.
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeadLetterScreen))
        await wait_for(pilot, lambda: app.screen.query_one(KeyedTable).cursor_key == failed)
        await pilot.press("y")
        assert osc52(failed) in written


# ------------------------------------------------------------------ 3. `:` goes to a view


async def test_colon_goes_to_a_view_by_name_with_completion(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("colon", *"qu", "tab")
        await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen))
        assert app.screen.typed == "queue"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is app.queue_pane)
        # A unique start is enough; a name that is no view is said on the spot.
        await pilot.press("colon", *"nosuch", "enter")
        screen = app.screen
        assert isinstance(screen, JumpScreen)
        assert "no view named 'nosuch'" in screen.problem
        assert "dead-letters" in screen.problem
        await pilot.press(*["backspace"] * 6, *"dead", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DeadLetterScreen))
        await pilot.press("escape", "colon", *"p", "enter")
        screen = app.screen
        assert isinstance(screen, JumpScreen)
        assert "could be positions or pnl" in screen.problem
        await pilot.press("n", "l", "enter")
        await wait_for(pilot, lambda: app.focused is app.pnl_pane)


def test_every_view_name_leads_to_an_action_of_the_desk() -> None:
    for name, action in VIEWS.items():
        assert name == name.lower() and " " not in name
        assert hasattr(VantaApp, "action_" + action.split("(")[0]), name


# ------------------------------------------------------------------ 4. space, x, t


async def test_space_marks_without_moving_the_cursor(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    oid = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        row = app.queue_pane.cursor_row
        await pilot.press("space")
        await pilot.pause()
        assert app.queue_pane.marked == {oid}
        assert app.queue_pane.cursor_row == row and app.queue_pane.cursor_key == oid
        await pilot.press("space")  # the same order again: unmarked
        await pilot.pause()
        assert app.queue_pane.marked == set()


async def test_rejecting_several_orders_lists_each_in_the_confirmation(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    first = order_id(state_dir, "AAPL", "staged")
    second = order_id(state_dir, "SOL/USD", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, first)
        await pilot.press("space")
        await focus_order(pilot, app, second)
        await pilot.press("space", "x")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        screen = app.screen
        assert isinstance(screen, FormScreen)
        assert screen.title_text == "Reject 2 order(s)?"
        text = "\n".join(screen.lines)
        assert f"{first[-8:]}  V_CORE buy 43 AAPL market" in text
        assert f"{second[-8:]}  V_CRYPTO sell 20 SOL/USD limit 150.00" in text
        await pilot.press("escape")


async def test_t_on_a_vault_that_is_not_tripped_says_so_at_once(state_dir: Path) -> None:
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.selected_vault == "V_CORE"
        await pilot.press("t")
        await settle(pilot, app)
        assert not isinstance(app.screen, FormScreen)  # no reason asked for nothing
        assert (
            "Clear trip: V_CORE is not tripped (drawdown 2.10% of max 12%): there is no trip "
            "to clear" in toasts(app)
        )


# ------------------------------------------------------------------ 5. quitting


def executor_desk(state_dir: Path) -> VantaApp:
    """The desk with its own executor running (as `vanta-tui` on a real directory)."""
    return VantaApp(
        state_dir,
        operator="dana",
        clock=fixed_clock(NOW),
        settings=DeskSettings(),
        settings_file=state_dir.parent / "settings.toml",
        watch=False,
        state_label="state/",
        executor=True,
        executor_paused=False,
    )


async def test_quitting_with_orders_in_flight_asks_and_says_what_becomes_of_them(
    state_dir: Path,
) -> None:
    app = executor_desk(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.executor_running)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        screen = app.screen
        assert isinstance(screen, QuitScreen)
        text = "\n".join(screen.lines)
        assert "working at the broker (submitted, partially filled) stay working" in text
        assert "cancel them with c, or ctrl+k (panic)" in text
        # The question takes the keys: a second q (or ctrl+q) neither quits nor answers.
        await pilot.press("q", "ctrl+q")
        await pilot.pause()
        assert app.screen is screen and app.return_code is None
        assert sum(isinstance(s, QuitScreen) for s in app.screen_stack) == 1
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitScreen))
        assert app.return_code is None
        # ctrl+q, Textual's own quit key, asks the same; y quits.
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None)


def test_in_flight_names_each_kind_of_order_and_what_becomes_of_it(state_dir: Path) -> None:
    from vanta_tui.desk import Desk

    with Desk(state_dir, operator="dana", clock=fixed_clock(NOW), read_only=True) as desk:
        state = desk.reload()
    assert state.queue is not None
    statuses = {o.status for o in state.queue.orders}
    assert {OrderStatus.APPROVED, OrderStatus.SUBMITTING, OrderStatus.SUBMITTED} <= statuses
    lines = in_flight(state)
    assert lines[0].startswith("3 approved order(s) not yet sent wait for the next executor")
    assert "unless another executor runs" in lines[0]
    assert lines[1].startswith("1 order(s) being submitted complete their send first")
    assert lines[2].startswith("2 order(s) working at the broker")
    assert in_flight(StateSnapshot()) == []


async def test_quitting_a_desk_whose_executor_is_paused_closes_at_once(
    state_dir: Path,
) -> None:
    app = executor_desk(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.executor_running)
        await pilot.press("E")
        await wait_for(pilot, lambda: not app.executor_running)
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
        assert not any(isinstance(s, QuitScreen) for s in app.screen_stack)


# ------------------------------------------------------------------ 6. keymap conflicts


async def test_a_keymap_entry_that_takes_another_bindings_key_is_reported_and_skipped(
    state_dir: Path,
) -> None:
    keymap = {"approve": "x", "queue_sort": "O", "nonsense": "Z"}
    app = make_app(state_dir, watch=False, settings=DeskSettings(keymap=keymap))
    oid = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        warning = next(n for n in app._notifications if n.title == "Settings")
        assert warning.severity == "warning"
        assert "keymap: 'approve' → 'x' takes the key of 'reject' (Reject); not applied" in (
            warning.message
        )
        assert "keymap: 'nonsense' is no binding of the desk; not applied" in warning.message
        assert app.keymap == {"queue_sort": "O"}
        await focus_order(pilot, app, oid)
        sort = app.queue_pane.sort_index
        await pilot.press("O")
        assert app.queue_pane.sort_index == sort + 1  # the clean entry applies
        await pilot.press("x")  # still reject (a form), not approve (a confirmation)
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("escape")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))


def test_keymap_swaps_and_same_action_keys_are_no_conflict() -> None:
    from vanta_tui.ui.app import keymap_scopes
    from vanta_tui.ui.keys import checked_keymap

    swap = {"approve": "x", "reject": "a"}
    assert checked_keymap(swap, keymap_scopes()) == (swap, [])
    # Textual's own ctrl+q quits too: no clash for `quit = "ctrl+q"` (the README's example).
    assert checked_keymap({"quit": "ctrl+q"}, keymap_scopes()) == ({"quit": "ctrl+q"}, [])
    # A pane's key counts in that pane: `o` sorts the queue, so approve cannot have it.
    applied, problems = checked_keymap({"approve": "o"}, keymap_scopes())
    assert applied == {} and "takes the key of 'queue_sort' (Sort)" in problems[0]
