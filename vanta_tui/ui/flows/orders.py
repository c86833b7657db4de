"""The order keys: approve (`a`), reject (`x`), flip (`f`), edit (`e`), the new order ticket
(`n`), the rebalance (`s`), and the dead letters (`d`: retry `r`, dismiss `x`)."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

from vanta_tui.core.enums import OrderStatus, OrderType, TimeInForce
from vanta_tui.core.intents import describe_open
from vanta_tui.core.models import Order
from vanta_tui.core.models.queue import edited_order, new_order
from vanta_tui.core.wording import first_problem
from vanta_tui.store.errors import StoreError
from vanta_tui.ui.flows.base import (
    DeskUI,
    act,
    ask,
    decimal_of,
    describe,
    need_vault,
    price_of,
    selected_orders,
)
from vanta_tui.ui.format import money, qty
from vanta_tui.ui.screens.dead_letters import DeadLetterScreen
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen, reason_form

log = logging.getLogger(__name__)

KEEP_ROW_S = 0.5
"""After a retry or a dismissal, the dead-letter view keeps the order's row this long (from
the key) before it shows the list again: a key pressed twice lands on the same order, and
is refused ("retried already"), not on the one that moves up under the cursor."""


async def approve(ui: DeskUI) -> None:
    """`a`: approve the marked staged orders (or the one under the cursor), once the
    operator has seen what each costs and where it goes."""
    orders = [o for o in selected_orders(ui) if o.status is OrderStatus.STAGED]
    if not orders:
        ui.notify("no staged order selected (space marks orders)", severity="warning")
        return
    ids = [o.order_id for o in orders]
    try:  # from the models on screen; the approval checks again under the queue's lock
        summary = ui.desk.preview_approval(ids, ui.snapshot)
    except (StoreError, ValueError) as exc:
        ui.notify(str(exc), title="Approve: refused", severity="error", timeout=10)
        return
    prices = [price_of(ui, o) for o in orders]
    total = sum((o.qty * p for o, p in zip(orders, prices, strict=True) if p), Decimal(0))
    lines = [describe(o, p) for o, p in zip(orders, prices, strict=True)]
    lines.append(
        f"total notional ≈ {money(total)} across {len({o.vault_id for o in orders})} vault(s)"
    )
    if not await ask(ui, ConfirmScreen(f"Approve {summary.text()}?", lines, "Approve")):
        return
    ui.queue_pane.clear_marks()
    await act(ui, "Approve", lambda: "approved " + ui.desk.approve(ids).text())


async def reject(ui: DeskUI) -> None:
    """`x`: reject the marked staged orders (or the one under the cursor), with a reason;
    the form lists each order it rejects."""
    chosen = selected_orders(ui)
    orders = [o for o in chosen if o.status is OrderStatus.STAGED]
    if not orders:
        ui.notify("no staged order selected", severity="warning")
        return
    ids = [o.order_id for o in orders]
    lines = [f"{o.order_id[-8:]}  {describe(o, price_of(ui, o))}" for o in orders]
    if len(chosen) > len(orders):
        lines.append(
            f"({len(chosen) - len(orders)} marked order(s) past staging are left as they are)"
        )
    form = reason_form(f"Reject {len(ids)} order(s)?", required=False, lines=lines)
    values = await ask(ui, form)
    if values is None:
        return
    ui.queue_pane.clear_marks()
    reason = values["reason"] or None
    await act(ui, "Reject", lambda: f"rejected {ui.desk.reject(ids, reason)} order(s)")


async def flip(ui: DeskUI) -> None:
    """`f`: reverse the side of the staged order under the cursor."""
    orders = selected_orders(ui)
    if len(orders) != 1:
        ui.notify("put the cursor on one staged order to flip", severity="warning")
        return
    order_id = orders[0].order_id

    def body() -> str:
        flipped = ui.desk.flip(order_id)
        return f"{flipped.symbol} is now a {flipped.side.value}"

    await act(ui, "Flip", body)


async def edit(ui: DeskUI) -> None:
    """`e`: change the quantity, type, limit or time in force of the staged order under the
    cursor; the form shows the order as it would be."""
    orders = selected_orders(ui)
    if len(orders) != 1 or orders[0].status is not OrderStatus.STAGED:
        ui.notify("put the cursor on one staged order to edit", severity="warning")
        return
    order = orders[0]
    price = price_of(ui, order)

    def changes(values: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {"qty": decimal_of(values["qty"], "qty")}
        if values["type"] not in {"market", "limit"}:
            raise ValueError("type is market or limit")
        out["order_type"] = OrderType(values["type"])
        out["limit_price"] = decimal_of(values["limit"], "limit") if values["limit"] else None
        if values["tif"] not in {t.value for t in TimeInForce}:
            raise ValueError("time in force is day, gtc, ioc or fok")
        out["time_in_force"] = TimeInForce(values["tif"])
        return out

    def check(values: dict[str, str]) -> str:
        try:
            edited = edited_order(order, changes(values), ui.clock())
        except ValueError as exc:
            raise ValueError(first_problem(exc)) from None
        return "→ " + describe(edited, edited.limit_price or price)

    fields = [
        ("qty", "Quantity", str(order.qty)),
        ("type", "Type (market/limit)", order.order_type.value),
        ("limit", "Limit price", str(order.limit_price or "")),
        ("tif", "Time in force", order.time_in_force.value),
    ]
    values = await ask(ui, FormScreen(f"Edit order {order.order_id[-8:]}", fields, check, "Save"))
    if values is None:
        return
    change = changes(values)
    await act(ui, "Edit", lambda: f"edited {ui.desk.edit(order.order_id, change).order_id[-8:]}")


async def new_order_ticket(ui: DeskUI) -> None:
    """`n`: stage an order by hand: a ticket, then a confirmation (which names an identical
    order staged moments ago, if there is one)."""
    vaults = ui.snapshot.vaults

    def ticket(values: dict[str, str]) -> Order:
        if vaults is None or vaults.get(values["vault"]) is None:
            raise ValueError(f"unknown vault {values['vault']!r}")
        if values["side"] not in {"buy", "sell"}:
            raise ValueError("side is buy or sell")
        limit = decimal_of(values["limit"], "limit") if values["limit"] else None
        try:
            return new_order(
                order_id="TICKET",
                vault_id=values["vault"],
                symbol=values["symbol"].upper(),
                side=values["side"],
                qty=decimal_of(values["qty"], "qty"),
                now=ui.clock(),
                limit_price=limit,
                time_in_force=values["tif"],
            )
        except ValueError as exc:
            raise ValueError(first_problem(exc)) from None

    def check(values: dict[str, str]) -> str:
        order = ticket(values)
        return "→ " + describe(order, price_of(ui, order))

    fields = [
        ("vault", "Vault", ui.selected_vault or ""),
        ("symbol", "Symbol", ""),
        ("side", "Side (buy/sell)", "buy"),
        ("qty", "Quantity", ""),
        ("limit", "Limit (empty: market)", ""),
        ("tif", "Time in force", "day"),
    ]
    values = await ask(ui, FormScreen("New order ticket", fields, check, "Next"))
    if values is None:
        return
    order = ticket(values)
    lines = [describe(order, price_of(ui, order))]
    twin = ui.desk.duplicate_of(order, ui.snapshot)
    if twin is None:
        confirm = ConfirmScreen("Stage this order?", lines, "Stage")
    else:
        open_twin = describe_open(twin).removeprefix("already ")
        age = int(twin.age(ui.clock()))
        lines += [
            "",
            f"An identical order is open: {open_twin},",
            f"staged {age} s ago. Stage it again?",
        ]
        confirm = ConfirmScreen("Stage it again?", lines, "Stage again")
    if not await ask(ui, confirm):
        return
    again = twin is not None

    def body() -> str:
        staged = ui.desk.stage(order.vault_id, **order.ticket(), allow_duplicate=again)
        return "staged " + staged.order_id

    await act(ui, "Stage", body)


async def rebalance(ui: DeskUI) -> None:
    """`s`: preview the selected vault's rebalance (the files are read while the next keys
    wait), then stage it once confirmed."""
    vault_id = need_vault(ui)
    if vault_id is None:
        return
    try:
        plan = await asyncio.to_thread(ui.desk.preview_rebalance, vault_id)
    except (StoreError, ValueError) as exc:
        ui.notify(str(exc), title="Rebalance", severity="error")
        return
    if not plan.orders:
        notes = "; ".join(plan.skipped) or "every position is within tolerance"
        ui.notify(f"nothing to stage for {vault_id}: {notes}", title="Rebalance")
        return
    lines = [
        f"{o.side.value} {qty(o.qty)} {o.symbol} ≈ {money(o.notional)}  ({o.reason})"
        for o in plan.orders
    ]
    lines.append(f"buys ≈ {money(plan.buy_notional)}, sells ≈ {money(plan.sell_notional)}")
    lines += [f"skipped: {note}" for note in plan.skipped]
    if not await ask(ui, ConfirmScreen(f"Stage a rebalance of {vault_id}?", lines, "Stage")):
        return

    def body() -> str:
        done = ui.desk.rebalance(vault_id)
        if not done.orders:
            notes = "; ".join(done.plan.skipped) or "within tolerance"
            return f"nothing staged for {vault_id}: {notes}"
        return f"staged {len(done.orders)} order(s) for {vault_id}"

    await act(ui, "Rebalance", body)


# ------------------------------------------------------------------ dead letters


async def dead_letters(ui: DeskUI) -> None:
    """`d`: the failed orders nobody has retried or dismissed (read while the next keys
    wait, so that `d x` dismisses in the view)."""
    letters = await asyncio.to_thread(ui.desk.dead_letters)
    screen = DeadLetterScreen(
        letters,
        lambda order_id: ui.start_flow(retry, screen, order_id),
        lambda order: ui.start_flow(dismiss, screen, order),
        ui.read_only,
    )
    ui.push_screen(screen)


async def retry(ui: DeskUI, screen: DeadLetterScreen, order_id: str) -> None:
    """`r` in the dead letters: stage the failed order again (once), for approval."""
    pressed = time.monotonic()

    def body() -> str:
        again = ui.desk.retry(order_id)
        return f"staged {again.order_id[-8:]} again; approve it to send"

    await act(ui, "Retry", body)
    await show_dead_letters(ui, screen, pressed)


async def dismiss(ui: DeskUI, screen: DeadLetterScreen, order: Order) -> None:
    """`x` in the dead letters: take one off the list for good, once confirmed."""
    lines = [
        f"{order.vault_id} {order.side.value} {qty(order.qty)} {order.symbol}: "
        f"{order.last_error or 'failed'}",
        "It stays failed and leaves the dead-letter list; it cannot be retried after.",
    ]
    if not await ask(ui, ConfirmScreen("Dismiss this dead letter?", lines, "Dismiss")):
        return
    confirmed = time.monotonic()

    def body() -> str:
        ui.desk.dismiss(order.order_id)
        return f"dismissed {order.order_id[-8:]}"

    await act(ui, "Dismiss", body)
    await show_dead_letters(ui, screen, confirmed)


async def show_dead_letters(ui: DeskUI, screen: DeadLetterScreen, pressed: float) -> None:
    """The dead-letter view again, after a retry or a dismissal (its action done, and the
    row kept `KEEP_ROW_S` from the key ``pressed``); it may be closed by now."""
    await asyncio.sleep(max(pressed + KEEP_ROW_S - time.monotonic(), 0))
    try:
        letters = await asyncio.to_thread(ui.desk.dead_letters)
    except Exception:
        log.exception("dead letters: could not read them again")
        return
    screen.show(letters)
