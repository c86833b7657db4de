"""What every flow uses: the app as the flows see it (`DeskUI`), asking (`ask`), acting
through the Desk in a thread (`act`), and the orders and prices a dialog shows.

A flow is one key's work, an async function of the app run as a worker in the
`DIALOG_GROUP` (`DeskUI.start_flow`): it asks, awaits the answer, calls the `Desk` in a
thread, says what happened and refreshes what shows it. The next key waits for it until
its dialog is up or its action runs (`vanta_tui.ui.keys`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from textual.notifications import SeverityLevel
from textual.screen import Screen

from vanta_tui.actions.status import StatusReport
from vanta_tui.core.clock import Clock
from vanta_tui.core.enums import OrderType
from vanta_tui.core.models import Order
from vanta_tui.core.risk import order_price
from vanta_tui.core.state_files import StateKind
from vanta_tui.desk import Desk
from vanta_tui.store.errors import StoreError
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, qty
from vanta_tui.ui.keys import DIALOG_GROUP
from vanta_tui.ui.panes.queue import QueuePane
from vanta_tui.ui.screens.modals import DeskModal

log = logging.getLogger(__name__)

T = TypeVar("T")

Flow = Callable[..., Coroutine[Any, Any, None]]
"""A flow: an async function of the app (`DeskUI`) and the flow's own arguments."""


class DeskUI(Protocol):
    """What a flow uses of the desk's app (`vanta_tui.ui.app.VantaApp`): its Desk session,
    what it shows, and Textual's dialogs and toasts (named here: the flows do not import
    the app)."""

    desk: Desk
    snapshot: StateSnapshot
    selected_vault: str | None
    read_only: bool
    clock: Clock
    queue_pane: QueuePane
    status_report: StatusReport | None
    run_executor: bool
    executor_paused: bool
    expiring: bool

    @property
    def executor_running(self) -> bool:
        """The desk's own executor is sending (started, not paused, not stopped)."""
        ...

    @property
    def screen_stack(self) -> list[Screen[Any]]: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...

    def push_screen(self, screen: Screen[Any]) -> object: ...

    async def push_screen_wait(self, screen: Screen[T]) -> T: ...

    def let_keys_go(self, when: Callable[[], bool] | None) -> None: ...

    def start_flow(self, flow: Flow, *args: Any, group: str = DIALOG_GROUP) -> None: ...

    def load_state(self, kinds: frozenset[StateKind] | None) -> object: ...

    def refresh_status(self, probe: bool) -> None: ...

    def record_event(self, action: str) -> object: ...

    def set_executor_paused(self, paused: bool) -> None: ...

    async def run_action(self, action: str) -> bool: ...

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None: ...


def flow_action(flow: Flow) -> Callable[[DeskUI], None]:
    """An ``action_*`` method of the app that starts ``flow`` (a key's binding runs it)."""

    def action(ui: DeskUI) -> None:
        ui.start_flow(flow)

    action.__doc__ = flow.__doc__
    return action


async def guarded(ui: DeskUI, flow: Flow, *args: Any) -> None:
    """Run ``flow``; a bug in it is logged and shown, and does not take the desk down."""
    try:
        await flow(ui, *args)
    except Exception as exc:
        log.exception("%s failed", flow.__name__)
        ui.notify(
            f"{type(exc).__name__}: {exc} (see the log)",
            title="Desk: failed",
            severity="error",
            timeout=15,
        )


async def ask(ui: DeskUI, dialog: DeskModal[T]) -> T | None:
    """Put up ``dialog`` and wait for its answer (None: it was cancelled). The keys typed
    next go to it once it is up; once it is answered they wait for what the flow does next."""
    ui.let_keys_go(lambda: dialog in ui.screen_stack and not dialog.answered)
    try:
        return await ui.push_screen_wait(dialog)
    finally:
        ui.let_keys_go(None)


async def act(ui: DeskUI, label: str, body: Callable[[], str]) -> bool:
    """Run ``body`` (the Desk's action; it returns what to tell the operator) in a thread,
    keys going on meanwhile; then a toast titled ``label`` and a reload of the files. A
    refusal (`StoreError`, ValueError: a rule, read-only mode, a file that does not load)
    is an error toast "<label>: refused"; anything else "<label>: failed", logged. Whether
    the action went through."""
    ui.let_keys_go(lambda: True)
    try:
        message = await asyncio.to_thread(body)
    except (StoreError, ValueError) as exc:
        ui.notify(str(exc), title=f"{label}: refused", severity="error", timeout=10)
        return False
    except Exception as exc:  # a bug must not take the desk down with it
        log.exception("%s failed", label)
        ui.notify(
            f"{type(exc).__name__}: {exc} (see the log)",
            title=f"{label}: failed",
            severity="error",
            timeout=15,
        )
        return False
    ui.notify(message, title=label)
    ui.load_state(None)
    return True


# ------------------------------------------------------------------ what the dialogs show


def selected_orders(ui: DeskUI) -> list[Order]:
    """The marked orders, or the one under the queue's cursor."""
    pane = ui.queue_pane
    queue = ui.snapshot.queue
    if queue is None:
        return []
    ids = list(pane.marked) or ([pane.cursor_key] if pane.cursor_key else [])
    return [o for o in (queue.get(i) for i in ids) if o is not None]


def price_of(ui: DeskUI, order: Order) -> Decimal | None:
    """The order's price as the desk knows it (its limit, else the account's last price)."""
    portfolio = ui.snapshot.portfolio
    account = portfolio.accounts.get(order.follower_id or order.vault_id) if portfolio else None
    return order_price(order, account)


def describe(order: Order, price: Decimal | None) -> str:
    notional = f" ≈ {money(order.qty * price)}" if price is not None else ""
    kind = f"limit {order.limit_price}" if order.order_type is OrderType.LIMIT else "market"
    return f"{order.vault_id} {order.side.value} {qty(order.qty)} {order.symbol} {kind}{notional}"


def need_vault(ui: DeskUI) -> str | None:
    """The selected vault, or None with a word to the operator."""
    if ui.selected_vault is None:
        ui.notify("select a vault first", severity="warning")
    return ui.selected_vault


def decimal_of(text: str, what: str) -> Decimal:
    """A form field as a finite number, or ValueError saying which field is wrong."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} must be a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number")
    return value
