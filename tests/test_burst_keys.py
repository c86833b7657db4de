"""Keys that arrive in one burst (a paste, a laggy SSH link, a macro) land where they would
typed one at a time: in the field that has focus when their turn comes, in order, none lost
and none doubled; a dialog takes keys only once it is mounted and focused (style point 12).

`pilot.press` is no burst: it waits for the app to go idle after every key. `burst` queues
every key on the App before the App handles the first, as the terminal driver does with the
bytes of one read.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from test_desk_actions import chain_ok, events, focus_order, order_id
from textual import events as tevents
from textual.keys import key_to_character
from textual.pilot import Pilot
from textual.widgets import Input
from ui_helpers import loaded, make_app, settle, wait_for

from vanta_tui.core.enums import OrderType
from vanta_tui.core.models import QueueFile
from vanta_tui.store import load_model
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen

NAMES = {".": "full_stop", "/": "slash", " ": "space"}

TICKET = ["tab", *"AAPL", "tab", "backspace", *"buy", "tab", "2"]
"""Vault stays (the selected one), symbol AAPL, side typed over, quantity 2."""
EDIT = [*"0.03", "tab", *"limit", "tab", *"61000"]
"""Quantity 0.03, type limit, limit price 61000."""


async def burst(pilot: Pilot[int], *keys: str) -> None:
    """Queue ``keys`` all at once, then wait until the desk has handled them."""
    app = pilot.app
    for key in keys:
        name = NAMES.get(key, key)
        event = tevents.Key(name, key_to_character(name))
        event.set_sender(app)
        app.post_message(event)
    # `keys_pending` counts the keys the desk holds back or is still handling; without it
    # (the code before the fix) the burst is handled once the screen's queues are empty.
    await wait_for(pilot, lambda: getattr(app, "keys_pending", 0) == 0)
    await pilot.pause()


def fields(app: VantaApp) -> dict[str, str]:
    assert isinstance(app.screen, FormScreen), app.screen
    return {i.id.removeprefix("field-"): i.value for i in app.screen.query(Input) if i.id}


def focused_field(app: VantaApp) -> str | None:
    focused = app.focused
    return focused.id if isinstance(focused, Input) else None


def queue_bytes(state_dir: Path) -> bytes:
    return (state_dir / "autotrade_queue.json").read_bytes()


async def test_ticket_opened_and_typed_in_one_burst(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await burst(pilot, "n", *TICKET)
        assert fields(app) == {
            "vault": "V_CORE",
            "symbol": "AAPL",
            "side": "buy",
            "qty": "2",
            "limit": "",
            "tif": "day",
        }
        assert focused_field(app) == "field-qty"


async def test_ticket_typed_in_one_burst_once_open(state_dir: Path) -> None:
    """The issue's case: the ticket is open, the rest comes in one burst (it put "AAPLbuy2"
    into the vault field and a Backspace into the side field)."""
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: focused_field(app) == "field-vault")
        await burst(pilot, *TICKET)
        assert fields(app)["vault"] == "V_CORE"
        assert (fields(app)["symbol"], fields(app)["side"], fields(app)["qty"]) == (
            "AAPL",
            "buy",
            "2",
        )
        assert focused_field(app) == "field-qty"


async def test_ticket_staged_from_one_burst(state_dir: Path) -> None:
    """Enter submits the ticket once its values are in; `y` confirms in the dialog that
    Enter opened. One order staged, as typed."""
    app = make_app(state_dir)
    before = load_model(state_dir, QueueFile)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await burst(pilot, "n", *TICKET, "enter", "y")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
    queue = load_model(state_dir, QueueFile)
    new = [o for o in queue.orders if before.get(o.order_id) is None]
    assert [(o.vault_id, o.symbol, o.side, o.qty, o.order_type, o.status) for o in new] == [
        ("V_CORE", "AAPL", "buy", Decimal(2), OrderType.MARKET, "staged")
    ]
    staged = events(state_dir, "order.staged")
    assert [(e["actor"], e["order_id"]) for e in staged] == [("dana", new[0].order_id)]
    chain_ok(state_dir)


async def test_enter_before_the_values_is_refused_and_later_keys_still_land(
    state_dir: Path,
) -> None:
    """An Enter in the burst sees exactly the keys typed before it: with no quantity yet the
    ticket refuses it and stays; the keys after it go on filling the ticket."""
    app = make_app(state_dir)
    before = queue_bytes(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await burst(pilot, "n", "tab", *"MSFT", "enter", "tab", "tab", *"5")
        assert isinstance(app.screen, FormScreen)
        assert (fields(app)["symbol"], fields(app)["side"], fields(app)["qty"]) == (
            "MSFT",
            "buy",
            "5",
        )
        assert focused_field(app) == "field-qty"
    assert queue_bytes(state_dir) == before


async def test_escape_in_a_burst_cancels_the_ticket(state_dir: Path) -> None:
    """Esc closes the ticket with nothing staged; a key after it reaches the desk (`3`
    focuses the queue), not the closed ticket."""
    app = make_app(state_dir)
    before = queue_bytes(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await burst(pilot, "n", *TICKET, "escape", "3")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
        assert app.focused is app.queue_pane
    assert queue_bytes(state_dir) == before
    assert events(state_dir, "order.staged") == []


async def test_edit_dialog_opened_and_typed_in_one_burst(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "BTC/USD", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await burst(pilot, "e", *EDIT)
        assert fields(app) == {"qty": "0.03", "type": "limit", "limit": "61000", "tif": "gtc"}
        assert focused_field(app) == "field-limit"


async def test_edit_saved_from_one_burst(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "BTC/USD", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await burst(pilot, "e", *EDIT, "enter")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "staged"
    assert (order.qty, order.order_type, order.limit_price) == (
        Decimal("0.03"),
        OrderType.LIMIT,
        Decimal(61000),
    )
    edited = events(state_dir, "order.edited")
    assert [e["order_id"] for e in edited] == [oid]
    assert edited[0]["payload"]["changed"]["qty"] == ["0.02", "0.03"]
    chain_ok(state_dir)


async def test_escape_in_a_burst_cancels_the_edit(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "BTC/USD", "staged")
    before = queue_bytes(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await burst(pilot, "e", *EDIT, "escape")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
    assert queue_bytes(state_dir) == before
    assert events(state_dir, "order.edited") == []


async def test_confirmation_answered_once_by_two_ys(state_dir: Path) -> None:
    """`a y y`: the first `y` approves; the second reaches the desk, where `y` does nothing
    (no second answer, which would dismiss the screen below)."""
    app = make_app(state_dir)
    oid = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await burst(pilot, "a", "y", "y")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
    assert [e["order_id"] for e in events(state_dir, "order.approved")] == [oid]
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "approved"
    chain_ok(state_dir)


async def test_approve_twice_in_one_burst_approves_once(state_dir: Path) -> None:
    """`a y a y`: the second `a` is a second request, taken after the first dialog closed;
    its dialog takes the second `y` and nothing else. The order is approved once."""
    app = make_app(state_dir)
    oid = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await burst(pilot, "a", "y", "a", "y")
        await settle(pilot, app)
        assert len(app.screen_stack) == 1
    assert [e["order_id"] for e in events(state_dir, "order.approved")] == [oid]
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "approved"
    chain_ok(state_dir)


async def test_dialog_answers_once(state_dir: Path) -> None:
    """A dialog asked twice (a second `y` or click before it is gone) answers once and leaves
    the screen below it alone."""
    app = make_app(state_dir)
    answers: list[bool | None] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.push_screen(FormScreen("below", [("x", "X", "")], lambda _v: "ok"))
        confirm = ConfirmScreen("Sure?", ["yes"])
        app.push_screen(confirm, answers.append)
        await wait_for(pilot, lambda: confirm.is_mounted and app.focused is not None)
        confirm.action_answer(True)
        confirm.action_answer(True)
        await pilot.pause()
        assert answers == [True]
        assert isinstance(app.screen, FormScreen)


async def test_keys_wait_for_a_dialog_a_worker_prepares(state_dir: Path) -> None:
    """`d x` in one burst: the dead-letter view (read by a worker) takes the `x` and asks to
    dismiss; it is not the queue's reject of the order beneath it. `s y` stages the preview."""
    from vanta_tui.actions.context import ActionContext
    from vanta_tui.actions.orders import reject_orders
    from vanta_tui.ui.screens.dead_letters import DeadLetterScreen

    ctx = ActionContext.open(state_dir, "dana")  # the demo ships its AAPL rebalance staged
    reject_orders(ctx, [order_id(state_dir, "AAPL", "staged")])
    ctx.close()
    app = make_app(state_dir)
    before = queue_bytes(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await burst(pilot, "d", "x")
        assert isinstance(app.screen, ConfirmScreen), app.screen
        assert app.screen.title_text == "Dismiss this dead letter?"
        await burst(pilot, "n", "escape")
        assert not isinstance(app.screen, DeadLetterScreen | ConfirmScreen | FormScreen)
        assert queue_bytes(state_dir) == before  # nothing rejected
        await burst(pilot, "s", "y")
        await settle(pilot, app)
    rebalance = [o for o in load_model(state_dir, QueueFile).orders if o.origin == "rebalance"]
    assert [(o.symbol, o.side.value, o.qty) for o in rebalance] == [("AAPL", "buy", 43)]
