"""`d`: failed orders (retries spent) that nobody has retried or dismissed yet. `r` stages a
retry for approval (once per dead letter), `x` dismisses one after a confirmation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from vanta_tui.core.models import Order
from vanta_tui.ui.format import qty
from vanta_tui.ui.table import Cell, KeyedTable


class DeadLetterScreen(ModalScreen[None]):
    CSS_PATH = "screens.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="dead_retry"),
        Binding("x", "dismiss_order", "Dismiss", id="dead_dismiss"),
        Binding("escape,q,d", "close", "Close", id="dead_close"),
    ]

    def __init__(
        self,
        orders: Sequence[Order],
        on_retry: Callable[[str], None],
        on_dismiss: Callable[[Order], None],
        read_only: bool,
    ) -> None:
        super().__init__(classes="modal")
        self.orders = list(orders)
        self.on_retry = on_retry
        self.on_dismiss = on_dismiss
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-body"):
            yield Label(self._title(), classes="modal-title", id="dead-title")
            yield KeyedTable(
                [
                    ("id", "Id"),
                    ("vault", "Vault"),
                    ("what", "Order"),
                    ("attempts", "Tries"),
                    ("error", "Last error"),
                ],
                id="dead-table",
            )
            yield Label("r retry (stages a copy for approval) · x dismiss · Esc close")

    def on_mount(self) -> None:
        self.show(self.orders)
        self.query_one(KeyedTable).focus()

    def _title(self) -> str:
        left = len(self.orders)
        return f"Dead letters: {left} failed order{'' if left == 1 else 's'} left"

    def show(self, orders: Sequence[Order]) -> None:
        self.orders = list(orders)
        for title in self.query("#dead-title").results(Label):
            title.update(self._title())
        rows = {
            o.order_id: [
                Cell(o.order_id[-8:], "dim"),
                Cell(o.vault_id),
                Cell(f"{o.side.value} {qty(o.qty)} {o.symbol}", "bold"),
                Cell(str(o.attempts)),
                Cell(o.last_error or "—", "red"),
            ]
            for o in orders
        }
        # Shown again after a retry or a dismissal: the screen may be closed by then.
        for table in self.query(KeyedTable).results(KeyedTable):
            table.sync(rows)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in {"retry", "dismiss_order"})

    def action_retry(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        if key is not None:
            self.on_retry(key)

    def action_dismiss_order(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        order = next((o for o in self.orders if o.order_id == key), None)
        if order is not None:
            self.on_dismiss(order)

    def action_close(self) -> None:
        self.dismiss(None)
