"""Every operator action through the desk: keys → modal → JSON file and SQLite → chain verifies."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from ui_helpers import NOW, loaded, make_app, settle, wait_for

from vanta_tui.core.enums import TimeInForce
from vanta_tui.core.models import OverlayFile, QueueFile
from vanta_tui.store import load_model
from vanta_tui.store.journal import Journal
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.header import DeskHeader
from vanta_tui.ui.panes.pnl import PnlPane
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen
from vanta_tui.ui.table import KeyedTable


def order_id(state_dir: Path, symbol: str, status: str) -> str:
    queue = load_model(state_dir, QueueFile)
    return next(o.order_id for o in queue.orders if o.symbol == symbol and o.status == status)


def events(state_dir: Path, action: str) -> list[dict[str, Any]]:
    with Journal(state_dir) as journal:
        rows = journal.db.execute(
            "SELECT actor, order_id, vault_id, payload FROM events WHERE action = ? ORDER BY seq",
            [action],
        ).fetchall()
    return [
        {"actor": a, "order_id": o, "vault_id": v, "payload": json.loads(p)} for a, o, v, p in rows
    ]


def chain_ok(state_dir: Path) -> None:
    with Journal(state_dir) as journal:
        assert verify(journal).ok
        result = replay(journal)
        assert result.ok, (result.problems, result.differences)


async def focus_order(pilot: Any, app: VantaApp, key: str) -> None:
    await pilot.press("3")
    table = app.query_one("#queue", KeyedTable)
    table.move_to(key)
    await pilot.pause()
    assert table.cursor_key == key


async def fill(pilot: Any, app: VantaApp, values: dict[str, str]) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
    for key, value in values.items():
        app.screen.query_one(f"#field-{key}", Input).value = value
    await pilot.pause()
    await pilot.press("enter")


async def confirm(pilot: Any, app: VantaApp) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")


async def test_approve(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = "\n".join(app.screen.lines)  # type: ignore[attr-defined]
        assert "V_CORE buy 43 AAPL market ≈ 8,174.30" in text and "total notional" in text
        await pilot.press("y")
        await settle(pilot, app)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "approved" and order.approved_by == "dana"
    assert events(state_dir, "order.approved")[0]["order_id"] == oid
    chain_ok(state_dir)


async def test_cancelled_confirmation_changes_nothing(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "AAPL", "staged")
    before = (state_dir / "autotrade_queue.json").read_bytes()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, app)
    assert (state_dir / "autotrade_queue.json").read_bytes() == before


async def test_mark_and_approve_a_batch(state_dir: Path) -> None:
    app = make_app(state_dir)
    first = order_id(state_dir, "AAPL", "staged")
    second = order_id(state_dir, "BTC/USD", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, first)
        await pilot.press("space")
        await focus_order(pilot, app, second)
        await pilot.press("space")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert len(app.screen.lines) == 3  # type: ignore[attr-defined]
        await pilot.press("y")
        await settle(pilot, app)
    queue = load_model(state_dir, QueueFile)
    assert {queue.get(first).status, queue.get(second).status} == {"approved"}  # type: ignore[union-attr]
    chain_ok(state_dir)


async def test_reject_with_reason(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "SOL/USD", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("x")
        await fill(pilot, app, {"reason": "funding flipped"})
        await settle(pilot, app)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.status == "rejected"
    assert order.last_error == "rejected by dana: funding flipped"
    assert events(state_dir, "order.rejected")[0]["payload"]["reason"] == "funding flipped"
    chain_ok(state_dir)


async def test_flip(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "SOL/USD", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("f")
        await settle(pilot, app)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None and order.side == "buy" and order.flipped
    payload = events(state_dir, "order.flipped")[0]["payload"]
    assert (payload["from"], payload["to"]) == ("sell", "buy")
    chain_ok(state_dir)


async def test_edit_with_validation(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "KO", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#field-qty", Input).value = "-3"
        await pilot.pause()
        preview = str(app.screen.query_one("#form-preview").render())
        assert preview.startswith("✗") and "qty" in preview
        await pilot.press("enter")  # refused: the form stays
        assert isinstance(app.screen, FormScreen)
        await fill(pilot, app, {"qty": "60", "limit": "61.90", "tif": "day"})
        await settle(pilot, app)
    order = load_model(state_dir, QueueFile).get(oid)
    assert order is not None
    assert order.qty == Decimal(60) and order.limit_price == Decimal("61.90")
    assert order.time_in_force is TimeInForce.DAY
    changed = events(state_dir, "order.edited")[0]["payload"]["changed"]
    assert changed["qty"] == ["50", "60"]
    chain_ok(state_dir)


async def test_new_order_ticket(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        await fill(pilot, app, {"vault": "V_CORE", "symbol": "msft", "side": "buy", "qty": "5"})
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "V_CORE buy 5 MSFT market ≈ 2,077.50" in app.screen.lines[0]  # type: ignore[attr-defined]
        await pilot.press("y")
        await settle(pilot, app)
    queue = load_model(state_dir, QueueFile)
    staged = [o for o in queue.orders if o.symbol == "MSFT" and o.qty == 5 and o.status == "staged"]
    assert len(staged) == 1 and staged[0].origin == "operator"
    assert events(state_dir, "order.staged")[0]["actor"] == "dana"
    chain_ok(state_dir)


async def test_stage_rebalance_with_preview(state_dir: Path) -> None:
    from vanta_tui.actions.context import ActionContext
    from vanta_tui.actions.orders import reject_orders

    # The demo ships the rebalance's AAPL buy staged; without it, `s` stages it again.
    ctx = ActionContext.open(state_dir, "dana")
    reject_orders(ctx, [order_id(state_dir, "AAPL", "staged")], "test")
    ctx.close()
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        lines = app.screen.lines  # type: ignore[attr-defined]
        assert lines[0].startswith("buy 43 AAPL ≈ 8,174.30")
        assert any("SOL/USD" in line for line in lines)
        await pilot.press("y")
        await settle(pilot, app)
    queue = load_model(state_dir, QueueFile)
    rebalance = [o for o in queue.orders if o.origin == "rebalance"]
    assert [(o.symbol, o.qty) for o in rebalance] == [("AAPL", Decimal(43))]
    assert rebalance[0].reason_vector == ("rebalance: AAPL 4.1% → 7.0%",)
    chain_ok(state_dir)


async def test_maintenance_on_then_off_with_confirmation(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("m")
        await fill(pilot, app, {"reason": "earnings blackout"})
        await settle(pilot, app)
        overlay = load_model(state_dir, OverlayFile).for_vault("V_CORE")
        assert overlay.maintenance.enabled and overlay.maintenance.by == "dana"
        await wait_for(pilot, lambda: app.snapshot.overlays.for_vault("V_CORE").maintenance.enabled)  # type: ignore[union-attr]
        await pilot.press("m")
        await confirm(pilot, app)
        await settle(pilot, app)
    assert not load_model(state_dir, OverlayFile).for_vault("V_CORE").maintenance.enabled
    assert [e["vault_id"] for e in events(state_dir, "overlay.maintenance_on")] == ["V_CORE"]
    assert len(events(state_dir, "overlay.maintenance_off")) == 1
    chain_ok(state_dir)


async def test_global_maintenance(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("M")
        await fill(pilot, app, {"reason": "broker outage"})
        await settle(pilot, app)
    overlays = load_model(state_dir, OverlayFile)
    assert (
        overlays.global_.maintenance.enabled
        and overlays.global_.maintenance.reason == "broker outage"
    )
    chain_ok(state_dir)


async def test_flip_mode_on_and_off(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("F")
        await fill(pilot, app, {"amplify": "0.25", "ttl": "30"})
        await settle(pilot, app)
        flip = load_model(state_dir, OverlayFile).for_vault("V_CORE").flip_mode
        assert flip.enabled and flip.amplify == Decimal("0.25")
        assert flip.expires_at is not None and (flip.expires_at - NOW).total_seconds() == 1800
        await wait_for(pilot, lambda: app.snapshot.overlays.for_vault("V_CORE").flip_mode.enabled)  # type: ignore[union-attr]
        await pilot.press("F")
        await settle(pilot, app)
    assert not load_model(state_dir, OverlayFile).for_vault("V_CORE").flip_mode.enabled
    chain_ok(state_dir)


async def test_flip_mode_reverts_by_itself_at_expiry(state_dir: Path) -> None:
    from datetime import timedelta

    app = make_app(state_dir, now=NOW + timedelta(hours=1))  # V_CRYPTO's TTL has passed
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(
            pilot,
            lambda: not load_model(state_dir, OverlayFile).for_vault("V_CRYPTO").flip_mode.enabled,
            timeout=10,
        )
        await settle(pilot, app)
    expired = events(state_dir, "overlay.flip_mode_expired")
    assert [(e["actor"], e["vault_id"]) for e in expired] == [("system", "V_CRYPTO")]
    chain_ok(state_dir)


async def test_persona(state_dir: Path) -> None:
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("p")
        await fill(pilot, app, {"persona": "aggressive", "boosts": "aggressive=0.15"})
        await settle(pilot, app)
    overlay = load_model(state_dir, OverlayFile).for_vault("V_CORE")
    assert overlay.persona == "aggressive" and overlay.persona_boosts["aggressive"] == Decimal(
        "0.15"
    )
    assert overlay.persona_boosts["contrarian"] == Decimal("-0.05")  # merged, not replaced
    chain_ok(state_dir)


async def test_trip_clear(state_dir: Path) -> None:
    path = state_dir / "pnl_summary.json"
    pnl = json.loads(path.read_text())
    pnl["vaults"]["V_CRYPTO"]["drawdown"] = 0.26
    path.write_text(json.dumps(pnl, indent=2))
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("down")  # V_CRYPTO
        await wait_for(pilot, lambda: app.selected_vault == "V_CRYPTO")
        await wait_for(
            pilot,
            lambda: app.query_one("#vaults", KeyedTable).get_row("V_CRYPTO")[2].plain == "tripped",
        )
        await pilot.press("t")
        await fill(pilot, app, {"reason": "reviewed with risk"})
        await settle(pilot, app)
    overlay = load_model(state_dir, OverlayFile).for_vault("V_CRYPTO")
    assert overlay.trip_clearance is not None and overlay.trip_clearance.by == "dana"
    assert overlay.trip_clearance.drawdown == Decimal("0.26")
    chain_ok(state_dir)


async def test_a_refused_action_says_why(state_dir: Path) -> None:
    app = make_app(state_dir)
    oid = order_id(state_dir, "NVDA", "partially_filled")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("f")
        await settle(pilot, app)
        messages = [n.message for n in app._notifications]
    assert any("is partially_filled; only staged orders can be flipped" in m for m in messages)


MUTATING_KEYS = ["a", "x", "f", "e", "n", "s", "m", "M", "t", "F", "p", "space", "c", "ctrl+k"]


@pytest.mark.parametrize("key", MUTATING_KEYS)
async def test_read_only_refuses_every_mutating_key(state_dir: Path, key: str) -> None:
    app = make_app(state_dir, read_only=True)
    before = {p.name: p.read_bytes() for p in state_dir.glob("*.json")}
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("3", key)
        await settle(pilot, app)
        assert not isinstance(app.screen, (ConfirmScreen, FormScreen))
        shown = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
        assert not shown & set(MUTATING_KEYS)
    assert {p.name: p.read_bytes() for p in state_dir.glob("*.json")} == before


async def test_palette_hides_mutating_commands_in_read_only(state_dir: Path) -> None:
    from vanta_tui.ui.commands import DeskCommands

    for read_only, expect in ((False, True), (True, False)):
        app = make_app(state_dir, read_only=read_only)
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            provider = DeskCommands(app.screen)
            names = [name for name, *_ in provider._visible()]
            assert ("Orders: approve selected or marked" in names) is expect
            assert "Queue: filter" in names


async def test_approve_in_the_desk_then_the_executor_worker_fills_it(state_dir: Path) -> None:
    from vanta_tui.core.clock import fixed_clock
    from vanta_tui.ui.settings import DeskSettings

    app = VantaApp(
        state_dir, operator="dana", clock=fixed_clock(NOW), settings=DeskSettings(),
        settings_file=state_dir.parent / "s.toml", executor=True, state_label="state/",
    )  # fmt: skip
    oid = order_id(state_dir, "AAPL", "staged")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await focus_order(pilot, app, oid)
        await pilot.press("a")
        await confirm(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                (o := load_model(state_dir, QueueFile).get(oid)) is not None
                and o.status == "filled"
            ),
            timeout=15,
        )
        await wait_for(
            pilot,
            lambda: app.query_one("#positions", KeyedTable).get_row("AAPL")[1].plain == "103",
            timeout=10,
        )
        # One action writes portfolio.json, pnl_summary.json, then the queue; the desk may
        # load between two of those writes, so each pane is waited for on its own.
        await wait_for(
            pilot, lambda: not app.query_one("#queue", KeyedTable).has_row(oid), timeout=10
        )  # no longer open
        figures = app.query_one(PnlPane).figures_text
        assert "NAV 280,429.00" in figures  # fills at the last price leave NAV unchanged
        await wait_for(
            pilot, lambda: any(n.title == "Filled" for n in app._notifications), timeout=5
        )
        assert "executor: running" in app.query_one(DeskHeader).executor_text
    chain_ok(state_dir)
