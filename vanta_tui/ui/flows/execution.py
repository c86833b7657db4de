"""The execution keys: cancel working orders (`c`), PANIC (`ctrl+k`), reconcile the selected
vault with its brokers (`r`), the status view (`S`, `a` there acknowledges an alarm), the
desk's executor (`E`: pause or start), and quitting (`q`, `ctrl+q`, the palette's Quit),
which first says what becomes of the orders the executor has in flight."""

from __future__ import annotations

import asyncio

from vanta_tui.core.enums import OrderStatus
from vanta_tui.desk import BrokerError
from vanta_tui.store.errors import StoreError
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.flows.base import (
    DeskUI,
    act,
    ask,
    describe,
    need_vault,
    price_of,
    selected_orders,
)
from vanta_tui.ui.screens.modals import ConfirmScreen, QuitScreen, reason_form
from vanta_tui.ui.screens.status import StatusScreen

WORKING = frozenset({OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED})


async def cancel(ui: DeskUI) -> None:
    """`c`: cancel the marked working orders (or the one under the cursor) at their
    brokers, once confirmed."""
    orders = [o for o in selected_orders(ui) if o.status in WORKING]
    if not orders:
        ui.notify("no working order selected (submitted or partially filled)", severity="warning")
        return
    ids = [o.order_id for o in orders]
    lines = [describe(o, price_of(ui, o)) for o in orders]
    if not await ask(
        ui, ConfirmScreen(f"Cancel {len(ids)} working order(s)?", lines, "Cancel them")
    ):
        return
    ui.queue_pane.clear_marks()

    def body() -> str:
        report = ui.desk.cancel(ids)
        if report.failed:
            raise ValueError("; ".join(report.failed))
        return f"cancelled {len(report.cancelled)} order(s)"

    await act(ui, "Cancel", body)


async def panic(ui: DeskUI) -> None:
    """`ctrl+k`: global maintenance on and every working order cancelled at every broker,
    with a reason."""
    values = await ask(
        ui,
        reason_form(
            "PANIC: global maintenance ON and cancel every working order at every broker",
            required=True,
        ),
    )
    if values is None:
        return
    reason = values["reason"]

    def body() -> str:
        report = ui.desk.panic(reason)
        text = f"global maintenance on; {len(report.cancelled)} order(s) cancelled"
        if report.failed:
            text += "; NOT cancelled: " + "; ".join(report.failed)
        return text

    await act(ui, "PANIC", body)


async def reconcile(ui: DeskUI) -> None:
    """`r`: compare the selected vault with its brokers (while the next keys wait), then
    offer to adopt the brokers' view."""
    vault_id = need_vault(ui)
    if vault_id is None:
        return
    try:
        found = await asyncio.to_thread(ui.desk.reconcile, vault_id)
    except (StoreError, BrokerError, ValueError) as exc:
        ui.notify(str(exc), title="Reconcile", severity="error", timeout=10)
        return
    ui.refresh_status(False)
    if not found:
        ui.notify(f"{vault_id}: portfolio.json matches the broker", title="Reconcile")
        return
    lines = [
        f"{d['symbol'] or 'cash'}: portfolio.json {d['file']}, broker {d['broker']}" for d in found
    ]
    confirm = ConfirmScreen(
        f"{vault_id} differs from its broker: adopt the broker's view?",
        [*lines, "portfolio.json (and the vault's PnL) will take the broker's numbers."],
        "Adopt the broker's view",
    )
    if not await ask(ui, confirm):
        return

    def body() -> str:
        ui.desk.adopt_broker(vault_id)
        return f"{vault_id}: portfolio.json now holds the broker's view"

    await act(ui, "Reconcile", body)


async def status(ui: DeskUI) -> None:
    """`S`: the system status and the open alarms, worked out again with the brokers asked."""
    ui.push_screen(
        StatusScreen(
            ui.status_report,
            lambda alarm_id: ui.start_flow(acknowledge, alarm_id),
            ui.read_only,
        )
    )
    ui.refresh_status(True)


async def acknowledge(ui: DeskUI, alarm_id: str) -> None:
    """`a` in the status view: the operator has seen the alarm under the cursor (audited)."""

    def body() -> str:
        ui.desk.acknowledge(alarm_id)
        return f"acknowledged {alarm_id}"

    await act(ui, "Alarm", body)
    ui.refresh_status(False)


async def toggle_executor(ui: DeskUI) -> None:
    """`E`: pause the desk's executor (orders stay approved) or start it again; audited as
    ``executor.paused`` / ``executor.started``."""
    if not ui.run_executor:
        ui.notify("this desk runs no executor", severity="warning")
        return
    ui.set_executor_paused(not ui.executor_paused)
    paused = ui.executor_paused  # a start refused (a file that does not load) stays paused
    ui.record_event("executor.paused" if paused else "executor.started")
    ui.notify(
        "paused: approved orders wait (E to start)"
        if paused
        else "started: approved orders go to the brokers",
        title="Executor",
    )


def in_flight(state: StateSnapshot) -> list[str]:
    """What becomes of the orders in flight if the desk (and its executor) closes now, one
    line per kind present; empty when nothing is in flight."""
    orders = state.queue.orders if state.queue else []

    def count(*statuses: OrderStatus) -> int:
        return sum(1 for o in orders if o.status in statuses)

    approved = count(OrderStatus.APPROVED)
    sending = count(OrderStatus.SUBMITTING)
    working = count(*WORKING)
    lines = []
    if approved:
        lines.append(
            f"{approved} approved order(s) not yet sent wait for the next executor: nothing "
            "is sent while the desk is closed, unless another executor runs "
            "(vanta-tui executor)."
        )
    if sending:
        lines.append(
            f"{sending} order(s) being submitted complete their send first: the desk waits "
            "for the cycle in flight before it closes."
        )
    if working:
        lines.append(
            f"{working} order(s) working at the broker (submitted, partially filled) stay "
            "working there: cancel them with c, or ctrl+k (panic), if they should not."
        )
    return lines


async def quit_desk(ui: DeskUI) -> None:
    """`q` (and `ctrl+q`, the palette's Quit): close the desk. While the desk's own executor
    runs and has orders in flight, it first says what becomes of them and asks; otherwise
    it closes at once. Asked again while the question is up, it does nothing."""
    if any(isinstance(screen, QuitScreen) for screen in ui.screen_stack):
        return
    lines = in_flight(ui.snapshot) if ui.executor_running else []
    if lines and not await ask(ui, QuitScreen([*lines, "", "y quits · n or Esc stays"])):
        return
    ui.exit()
