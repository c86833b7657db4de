"""An order in full: reason vector, conviction, timestamps, broker ids and its audit trail."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import Order
from vanta_tui.core.risk import HoldReason
from vanta_tui.ui.format import STATUS_STYLE, pct, price, qty, stamp


def order_table(order: Order, held: HoldReason | None = None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    status = Text(order.status.value, style=STATUS_STYLE[order.status])
    approved = f"{order.approved_by} at {stamp(order.approved_at)}" if order.approved_by else "—"
    rows: list[tuple[str, str | Text]] = [
        ("order", order.order_id),
        ("vault", order.vault_id),
        ("what", f"{order.side.value} {qty(order.qty)} {order.symbol} ({order.asset_class.value})"),
        (
            "type",
            f"{order.order_type.value}"
            + (f" @ {price(order.limit_price)}" if order.limit_price is not None else "")
            + f" · {order.time_in_force.value}",
        ),
        ("status", status),
        ("origin", order.origin),
        ("conviction", pct(order.conviction, 0) if order.conviction is not None else "—"),
        ("created", stamp(order.created_at)),
        ("updated", stamp(order.updated_at)),
        ("approved", approved),
        ("flipped", "yes" if order.flipped else "no"),
        ("client id", order.client_order_id or "—"),
        ("broker id", order.broker_order_id or "—"),
        ("filled", f"{qty(order.filled_qty)} @ {price(order.avg_fill_price)}"),
        ("attempts", str(order.attempts)),
        ("last error", order.last_error or "—"),
        ("parent", order.parent_id or "—"),
        ("follower", order.follower_id or "—"),
    ]
    if held is not None:
        # An approved order is held now; a staged one would be, once approved.
        label = "held" if order.status is OrderStatus.APPROVED else "if approved"
        rows.insert(5, (label, Text(held.text, style="bold yellow")))
    for label, value in rows:
        table.add_row(label, value if isinstance(value, Text) else Text(value))
    return table


class OrderDetailScreen(ModalScreen[None]):
    CSS_PATH = "screens.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="detail_close"),
    ]

    def __init__(self, order: Order, held: HoldReason | None = None) -> None:
        super().__init__(id="order-detail")
        self.order = order
        self.held = held
        """Why the order is held (the executor's rule), if it is."""
        self.order_table = order_table(order, held)
        self.audit: list[str] | None = None
        """The audit trail once a worker has read it (it may come before or after mount)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(Text(f"Order {self.order.order_id}", style="bold"), id="detail-title")
            yield Static(self.order_table, id="detail-fields")
            reasons = "\n".join(f"• {r}" for r in self.order.reason_vector) or "—"
            yield Static(Text("Reason vector\n", style="bold") + Text(reasons), id="detail-reasons")
            yield Static(Text("Audit trail\n", style="bold") + Text("loading…"), id="detail-audit")

    def on_mount(self) -> None:
        if self.audit is not None:
            self.show_audit(self.audit)

    def show_audit(self, lines: list[str]) -> None:
        """Show the trail if the screen has its body (now, or at mount; not once closed)."""
        self.audit = lines
        body = "\n".join(lines) if lines else "no journal events for this order yet"
        for static in self.query("#detail-audit").results(Static):
            static.update(Text("Audit trail\n", style="bold") + Text(body))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
