"""The operator's day in the real desk: unstage (`u`), the panic banner and its
acknowledgement (`A`), the header's reconcile and price times, and the views of what
happened (`L` activity, `B` blotter, `P` profit) opened from the main screen."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from test_desk_actions import chain_ok, confirm, events, fill, focus_order, order_id
from ui_helpers import NOW, loaded, make_app, settle, wait_for

from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.models import QueueFile
from vanta_tui.desk import Desk
from vanta_tui.store import load_model
from vanta_tui.ui.banner import PanicBanner
from vanta_tui.ui.screens.modals import ConfirmScreen


def _toasts(app: Any) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_unstage_takes_a_staged_order_off_audited_and_is_refused_once_approved(
    state_dir: Path,
) -> None:
    app = make_app(state_dir)
    staged = order_id(state_dir, "AAPL", "staged")
    approved = order_id(state_dir, "MSFT", "approved")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, staged)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "V_CORE buy 43 AAPL" in "\n".join(app.screen.lines)  # type: ignore[attr-defined]
        await pilot.press("y")
        await settle(pilot, app)
        assert load_model(state_dir, QueueFile).get(staged) is None
        await focus_order(pilot, app, approved)
        before = (state_dir / "autotrade_queue.json").read_bytes()
        await pilot.press("u")
        await settle(pilot, app)
        assert not isinstance(app.screen, ConfirmScreen)  # refused at once, nothing asked
        assert any(t.startswith("Unstage: refused") for t in _toasts(app))
        assert (state_dir / "autotrade_queue.json").read_bytes() == before
    unstaged = events(state_dir, "order.unstaged")
    assert [(e["actor"], e["order_id"]) for e in unstaged] == [("dana", staged)]
    chain_ok(state_dir)


def _income_at_alpaca_without_keys(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """V_INCOME trades at Alpaca with no keys: its working PG order cannot be cancelled."""
    for name in ("VANTA_ALPACA_INCOME_API_KEY", "VANTA_ALPACA_INCOME_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    path = state_dir / "vault.json"
    data = json.loads(path.read_text())
    income = next(v for v in data["vaults"] if v["vault_id"] == "V_INCOME")
    income["venues"]["equity"] = {"adapter": "alpaca", "account_ref": "alpaca_income"}
    path.write_text(json.dumps(data, indent=2))
    return order_id(state_dir, "PG", "submitted")


async def test_the_panic_banner_stays_until_acknowledged(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = _income_at_alpaca_without_keys(state_dir, monkeypatch)
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        banner = app.query_one(PanicBanner)
        assert not banner.display
        await pilot.press("ctrl+k")
        await fill(pilot, app, {"reason": "fat finger"})
        await wait_for(pilot, lambda: banner.awaiting_ack, timeout=10)
        await settle(pilot, app)
        text = str(banner.render())
        assert banner.display and "PANIC: nothing is sent · by dana" in text
        assert "why: fat finger" in text and stuck in text and "NOT CANCELLED (1)" in text
        # Files change, toasts time out: the list stays.
        app.load_state(None)
        await settle(pilot, app)
        assert banner.awaiting_ack and stuck in str(banner.render())
        await pilot.press("A")
        await confirm(pilot, app)
        await wait_for(pilot, lambda: not banner.awaiting_ack, timeout=10)
        # Global maintenance is still on: the banner says so, without the list.
        assert banner.display and stuck not in str(banner.render())
    acks = events(state_dir, "desk.panic_acknowledged")
    assert [a["actor"] for a in acks] == ["dana"]


async def test_the_header_shows_when_the_accounts_were_reconciled(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await settle(pilot, app)
        assert "rec — px paper" in str(app.header.render())
        with Desk(state_dir, operator="executor", clock=fixed_clock(NOW)) as desk:
            desk.run_executor(threading.Event(), once=True, price_every_s=None, reconcile_every_s=0)
        app.refresh_status(False)
        await wait_for(pilot, lambda: "rec 08:" in str(app.header.render()), timeout=10)
        assert "V_CORE: rec" in str(app.header.tooltip)


@pytest.mark.parametrize(("key", "title"), [("L", "Activity"), ("B", "Blotter"), ("P", "Profit")])
async def test_each_view_of_what_happened_opens_from_the_main_screen(
    state_dir: Path, key: str, title: str
) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press(key)
        await wait_for(pilot, lambda: type(app.screen).__name__.startswith(title))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0])


async def test_the_queue_keys_wait_while_a_view_of_what_happened_is_shown(state_dir: Path) -> None:
    """In the activity view the queue's cursor is out of sight: `x`, `u`, `f` do nothing
    to it; `:queue` goes back to the main screen."""
    app = make_app(state_dir, watch=False)
    staged = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, staged)
        await pilot.press("L")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ActivityScreen")
        before = (state_dir / "autotrade_queue.json").read_bytes()
        await pilot.press("x", "u", "f")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ActivityScreen"
        assert (state_dir / "autotrade_queue.json").read_bytes() == before
        await pilot.press("B")  # one view in place of the other
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BlotterScreen")
        assert len(app.screen_stack) == 2
        await pilot.press("colon", *"queue", "enter")
        await wait_for(pilot, lambda: app.focused is app.queue_pane)
        assert len(app.screen_stack) == 1


async def test_unstage_and_acknowledge_typed_in_a_burst_act_once(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`u y y` in one burst unstages one order (the second `y` answers nothing); `A y A y`
    acknowledges once (the second `A` finds nothing waiting)."""
    stuck = _income_at_alpaca_without_keys(state_dir, monkeypatch)
    app = make_app(state_dir, watch=False)
    staged = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, staged)
        await pilot.press("u", "y", "y")
        await settle(pilot, app)
        await pilot.press("ctrl+k")
        await fill(pilot, app, {"reason": "drill"})
        await wait_for(pilot, lambda: app.banner.awaiting_ack, timeout=10)
        await pilot.press("A", "y", "A", "y")
        await settle(pilot, app)
        await wait_for(pilot, lambda: not app.banner.awaiting_ack, timeout=10)
    assert [e["order_id"] for e in events(state_dir, "order.unstaged")] == [staged]
    assert len(events(state_dir, "desk.panic_acknowledged")) == 1
    assert stuck not in [e["order_id"] for e in events(state_dir, "order.unstaged")]
    chain_ok(state_dir)
