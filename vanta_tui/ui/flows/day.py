"""The keys of the operator's day: unstage (`u`, the undo of staging), acknowledging what a
panic could not cancel (`A`), and the views of what happened: activity (`L`), fills
blotter (`B`) and profit by period (`P`)."""

from __future__ import annotations

import asyncio

from vanta_tui.core.enums import OrderStatus
from vanta_tui.ui.flows.base import DeskUI, act, ask, describe, price_of, selected_orders
from vanta_tui.ui.screens.modals import ConfirmScreen


async def unstage(ui: DeskUI) -> None:
    """`u`: take the marked staged orders (or the one under the cursor) off the queue,
    once confirmed: the undo of staging, audited. An order anyone approved is not undone
    (cancel a working one with `c`)."""
    chosen = selected_orders(ui)
    orders = [o for o in chosen if o.status is OrderStatus.STAGED]
    if not orders:
        if chosen:
            first = chosen[0]
            ui.notify(
                f"{first.symbol} {first.side.value} is {first.status.value.replace('_', ' ')}: "
                "only a staged order nobody approved can be unstaged (nothing that may have "
                "reached a broker is undone; c cancels a working order)",
                title="Unstage: refused",
                severity="warning",
            )
        else:
            ui.notify("no staged order selected", severity="warning")
        return
    ids = [o.order_id for o in orders]
    lines = [describe(o, price_of(ui, o)) for o in orders]
    skipped = len(chosen) - len(orders)
    if skipped:
        lines.append(f"({skipped} marked order(s) past staging are left as they are)")
    lines.append("They leave the queue; the journal keeps them.")
    if not await ask(ui, ConfirmScreen(f"Unstage {len(ids)} order(s)?", lines, "Unstage")):
        return
    ui.queue_pane.clear_marks()
    await act(ui, "Unstage", lambda: f"unstaged {len(ui.desk.unstage(ids))} order(s)")


async def acknowledge_panic(ui: DeskUI) -> None:
    """`A`: the operator has read what the last panic could not cancel (every order is
    listed in the confirmation); the banner stops listing them."""
    banner = await asyncio.to_thread(ui.desk.banner, ui.snapshot)
    if banner is None or not banner.not_cancelled or banner.panic_seq is None:
        ui.notify("no panic report waits for acknowledgement", severity="information")
        return
    seq = banner.panic_seq
    lines = [*banner.not_cancelled, "", "They may still be working at their brokers."]
    title = f"Acknowledge: {len(banner.not_cancelled)} order(s) NOT cancelled by the panic"
    if not await ask(ui, ConfirmScreen(title, lines, "Acknowledge")):
        return

    def body() -> str:
        ui.desk.acknowledge_panic(seq)
        return "panic report acknowledged"

    await act(ui, "Acknowledge", body)
