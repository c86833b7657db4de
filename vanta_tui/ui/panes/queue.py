"""`#queue`: the orders that still need someone, coloured by status; sortable and filterable."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from vanta_tui.core.enums import OrderStatus, OrderType, Side
from vanta_tui.core.models import Order
from vanta_tui.core.order_states import OPEN
from vanta_tui.core.risk import HoldReason
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import STATUS_STYLE, age, age_changes_in, pct, price, qty
from vanta_tui.ui.panes.base import Pane
from vanta_tui.ui.table import Cell, KeyedTable, sortable

SORTS: list[tuple[str, str, bool]] = [
    # (column, label, newest/largest first)
    ("age", "age", False),
    ("vault", "vault", False),
    ("symbol", "symbol", False),
    ("status", "status", False),
    ("conviction", "conviction", True),
]

_STATUS_RANK = {status: index for index, status in enumerate(OrderStatus)}

# The cells most orders share (their vault, symbol, side, status, an empty flag), made once:
# the first load of 10,000 orders builds 110,000 cells.
_STATUS_CELLS = {
    status: Cell(status.value.replace("_", " "), STATUS_STYLE[status], _STATUS_RANK[status])
    for status in OrderStatus
}
_SIDE_CELLS = {side: Cell(side.value, "green" if side is Side.BUY else "red") for side in Side}
_MARKET = Cell("market")
_NO_FLAGS = Cell("", "cyan")
_NO_REASON = Cell("", "yellow")


@functools.lru_cache(maxsize=4096)
def _shared(text: str, style: str = "") -> Cell:
    return Cell(text, style)


@functools.lru_cache(maxsize=1024)
def _conviction_cell(conviction: Decimal | None) -> Cell:
    if conviction is None:
        return Cell("—", sort_key=-1)
    return Cell(pct(conviction, 0), sort_key=conviction)


def order_flags(order: Order, held: bool) -> str:
    """``held``: the order is approved and held, or staged in a vault under maintenance (it
    would be held once approved)."""
    flags = []
    if order.flipped:
        flags.append("⇄flip")
    if held and order.status in {OrderStatus.STAGED, OrderStatus.APPROVED}:
        flags.append("HELD")
    if order.follower_id:
        flags.append(f"↳{order.follower_id}")
    return " ".join(flags)


def order_matches(order: Order, needle: str) -> bool:
    """Case-insensitive match of any shown or identifying text of the order."""
    if not needle:
        return True
    haystack = " ".join(
        str(v)
        for v in (
            order.order_id,
            order.vault_id,
            order.symbol,
            order.side.value,
            order.status.value,
            order.order_type.value,
            order.origin,
            order.follower_id or "",
            order.parent_id or "",
            order.client_order_id or "",
            order.broker_order_id or "",
            order.last_error or "",
            " ".join(order.reason_vector),
        )
    )
    return needle.lower() in haystack.lower()


class QueuePane(Pane):
    TITLE = "Order queue"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_order", "Details", id="order_details"),
        Binding("slash", "filter", "Filter", id="queue_filter"),
        Binding("z", "toggle_finished", "Finished", id="queue_finished"),
        Binding("o", "cycle_sort", "Sort", id="queue_sort"),
        Binding("v", "toggle_scope", "This vault", id="queue_scope"),
        Binding("h", "toggle_held", "Held only", id="queue_held"),
        Binding("space", "mark", "Mark", id="mark"),
        Binding("right", "expand", "Open children", id="queue_expand", show=False),
        Binding("left", "collapse", "Fold children", id="queue_collapse", show=False),
    ]

    class OrderOpened(Message):
        def __init__(self, order_id: str) -> None:
            super().__init__()
            self.order_id = order_id

    class ViewChanged(Message):
        """Filter, sort or scope changed: the app re-renders the queue."""

    def __init__(self, *, id: str) -> None:
        super().__init__(
            [
                ("id", "Id"),
                ("vault", "Vault"),
                ("symbol", "Symbol"),
                ("side", "Side"),
                ("qty", "Qty"),
                ("type", "Type / limit"),
                ("status", "Status"),
                ("conviction", "Conv."),
                ("age", "Age"),
                ("flags", "Flags"),
                ("why", "Why"),
            ],
            id=id,
            copy_what="order id",
        )
        self.filtering = False
        self.parents: set[str] = set()
        """Orders shown with follower orders folded under them."""
        self.expanded: set[str] = set()
        """Parents whose follower orders are open (→)."""
        """The operator is typing a filter (after `/`); keys go to the filter text."""
        self.show_finished = False
        self.filter_text = ""
        self.sort_index = 0
        self.this_vault_only = False
        self.held_only = False
        """Only approved orders the executor holds, with their reasons (`h`, or the header's
        "N held")."""
        self.marked: set[str] = set()
        """Orders marked (space) for a batch action."""
        self.next_change: datetime | None = None
        """When an age shown in the queue next changes; the clock tick redraws only then."""
        self._rows: dict[str, tuple[Order, tuple[bool, HoldReason | None], list[Cell]]] = {}
        """Rows built for the orders seen last time: an unchanged order reuses its cells."""

    def _subtitle(self, shown: int, total: int) -> str:
        parts = [f"{shown} of {total}", f"sort: {SORTS[self.sort_index][1]}"]
        if self.show_finished:
            parts.append("with finished")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text!r}")
        if self.this_vault_only:
            parts.append("selected vault")
        if self.held_only:
            parts.append("held only")
        return " · ".join(parts)

    def show(self, state: StateSnapshot, now: datetime, selected: str | None) -> None:
        queue = state.queue
        if queue is None:
            return
        rows: dict[str, list[Cell]] = {}
        maintenance: dict[str, HoldReason | None] = {}
        soonest = 3600.0
        for order in queue.orders:
            if not self.show_finished and order.status not in OPEN:
                continue
            if self.this_vault_only and order.vault_id != selected:
                continue
            if not order_matches(order, self.filter_text.strip()):
                continue
            if order.status is OrderStatus.STAGED:
                # Not held yet: an approval would be, and the operator should know before.
                if order.vault_id not in maintenance:
                    maintenance[order.vault_id] = state.hold_reason(order)
                reason = maintenance[order.vault_id]
            elif order.status is OrderStatus.APPROVED:
                reason = state.hold_reason(order)
            else:
                reason = None
            if self.held_only and (reason is None or order.status is not OrderStatus.APPROVED):
                continue
            held = (reason is not None, reason)
            seconds = order.age(now)
            age_text = age(seconds)
            soonest = min(soonest, age_changes_in(seconds))
            cached = self._rows.get(order.order_id)
            if cached is not None and cached[0] is order and cached[1] == held:
                cells = cached[2]
                if cells[8].plain != age_text:
                    cells = [*cells[:8], Cell(age_text, sort_key=seconds), *cells[9:]]
                    self._rows[order.order_id] = (order, held, cells)
            else:
                cells = self._order_cells(order, held, age_text, seconds)
                self._rows[order.order_id] = (order, held, cells)
            if order.order_id in self.marked:
                cells = [Cell("● " + cells[0].plain, "bold reverse", cells[0].sort_key), *cells[1:]]
            rows[order.order_id] = cells
        for gone in [k for k in self._rows if k not in rows]:
            del self._rows[gone]
        self.next_change = now + timedelta(seconds=soonest)
        shown, display_order = self._fold(queue.orders, rows)
        self.sync(shown, display_order)
        self.set_info(self._subtitle(len(rows), len(queue.orders)))

    def _fold(
        self, orders: list[Order], rows: dict[str, list[Cell]]
    ) -> tuple[dict[str, list[Cell]], list[str]]:
        """Follower child orders folded under their parent (expanded with →): the parents and
        lone orders in the chosen sort, each parent's children right after it when open."""
        children: dict[str, list[str]] = {}
        for o in orders:
            if o.parent_id is not None and o.order_id in rows and o.parent_id in rows:
                children.setdefault(o.parent_id, []).append(o.order_id)
        nested = {kid for kids in children.values() for kid in kids}
        column, _, reverse = SORTS[self.sort_index]
        index = self.column_keys.index(column)
        top = sorted(
            (k for k in rows if k not in nested),
            key=lambda k: (sortable(rows[k][index].sort_value), k),
            reverse=reverse,
        )
        self.parents = set(children)
        self.expanded &= self.parents
        shown: dict[str, list[Cell]] = {}
        order: list[str] = []
        for key in top:
            cells = rows[key]
            kids = children.get(key)
            if kids:
                mark = "▾" if key in self.expanded else "▸"
                flag = f"{mark} {len(kids)} follower order{'s' if len(kids) > 1 else ''}"
                flags = cells[9].plain
                cells = [*cells[:9], Cell(f"{flags} {flag}".strip(), "bold cyan"), *cells[10:]]
            shown[key] = cells
            order.append(key)
            if kids and key in self.expanded:
                for kid in sorted(kids, key=lambda k: str(rows[k][9].plain)):
                    first = rows[kid][0]
                    shown[kid] = [Cell("  ↳ " + first.plain, "dim", first.sort_key), *rows[kid][1:]]
                    order.append(kid)
        return shown, order

    def parent_of(self, key: str) -> str | None:
        queue_rows = self._rows.get(key)
        return queue_rows[0].parent_id if queue_rows else None

    def action_expand(self) -> None:
        """→ on a parent opens its follower orders; elsewhere it scrolls right."""
        key = self.cursor_key
        if key in self.parents and key not in self.expanded:
            self.expanded.add(key)
            self.post_message(self.ViewChanged())
        else:
            self.action_scroll_right()

    def action_collapse(self) -> None:
        """← folds the follower orders back under their parent; elsewhere it scrolls left."""
        key = self.cursor_key
        parent = self.parent_of(key) if key else None
        if key in self.expanded:
            self.expanded.discard(key)
            self.post_message(self.ViewChanged())
        elif parent in self.expanded:
            assert parent is not None
            self.expanded.discard(parent)
            self.move_to(parent)
            self.post_message(self.ViewChanged())
        else:
            self.action_scroll_left()

    @staticmethod
    def _order_cells(
        order: Order, held: tuple[bool, HoldReason | None], age_text: str, seconds: float
    ) -> list[Cell]:
        type_cell = (
            Cell(f"limit {price(order.limit_price)}")
            if order.order_type is OrderType.LIMIT
            else _MARKET
        )
        flags = order_flags(order, held[0])
        return [
            Cell(order.order_id[-8:], "dim", sort_key=order.order_id),
            _shared(order.vault_id),
            _shared(order.symbol, "bold"),
            _SIDE_CELLS[order.side],
            Cell(qty(order.qty), sort_key=order.qty),
            type_cell,
            _STATUS_CELLS[order.status],
            _conviction_cell(order.conviction),
            Cell(age_text, sort_key=seconds),
            _shared(flags, "bold yellow" if held[0] else "cyan") if flags else _NO_FLAGS,
            _shared(held[1].short, "yellow") if held[1] else _NO_REASON,
        ]

    # ------------------------------------------------------------- actions

    def action_open_order(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.OrderOpened(key))

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.OrderOpened(event.key))

    def on_keyed_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        event.stop()

    def action_filter(self) -> None:
        self.filtering = True
        self.update_notices()

    def extra_notices(self) -> list[tuple[str, str]]:
        if not self.filtering:
            return []
        return [(f"/{self.filter_text}▏  filter: any text · Enter keeps · Esc clears", "prompt")]

    def on_key(self, event: events.Key) -> None:
        """While filtering, keys edit the filter text instead of running commands.

        `/` starts filtering here, not only through its binding: bindings run when the key
        has bubbled up to the app, after this pane has already seen the keys typed next."""
        if not self.filtering:
            if event.key == "slash":
                event.stop()
                event.prevent_default()
                self.action_filter()
            return
        event.stop()
        event.prevent_default()
        if event.key == "escape":
            self.filtering = False
            self._set_filter("")
        elif event.key == "enter":
            self.filtering = False
            self.update_notices()
        elif event.key == "backspace":
            self._set_filter(self.filter_text[:-1])
        elif event.key == "ctrl+u":
            self._set_filter("")
        elif event.character is not None and event.is_printable:
            self._set_filter(self.filter_text + event.character)

    def _set_filter(self, text: str) -> None:
        self.filter_text = text
        self.update_notices()
        self.post_message(self.ViewChanged())

    def on_blur(self, _event: events.Blur) -> None:
        if self.filtering:
            self.filtering = False
            self.update_notices()

    def action_mark(self) -> None:
        """`space`: mark or unmark the order under the cursor; the cursor stays on it (so a
        second space unmarks the same order, and `a`/`x` act on what the operator sees)."""
        key = self.cursor_key
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self.post_message(self.ViewChanged())

    def clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self.post_message(self.ViewChanged())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark" and getattr(self.app, "read_only", False):
            return False
        return super().check_action(action, parameters)

    def action_toggle_finished(self) -> None:
        self.show_finished = not self.show_finished
        self.post_message(self.ViewChanged())

    def action_cycle_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.post_message(self.ViewChanged())

    def action_toggle_scope(self) -> None:
        self.this_vault_only = not self.this_vault_only
        self.post_message(self.ViewChanged())

    def action_toggle_held(self) -> None:
        self.show_held(not self.held_only)

    def show_held(self, on: bool = True) -> None:
        """Only the held orders, each with why (on), or every order again (off)."""
        self.held_only = on
        self.post_message(self.ViewChanged())
