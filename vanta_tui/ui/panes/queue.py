"""`#queue`: the orders that still need someone, coloured by status; sortable and filterable."""

from __future__ import annotations

import functools
from bisect import bisect_left, insort
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from vanta_tui.core.enums import OrderStatus, OrderType, Side
from vanta_tui.core.models import Order
from vanta_tui.core.order_states import OPEN
from vanta_tui.core.risk import HoldReason
from vanta_tui.store.snapshot import HOLD_INPUTS, StateSnapshot
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


def _marked(cells: list[Cell]) -> list[Cell]:
    return [Cell("● " + cells[0].plain, "bold reverse", cells[0].sort_key), *cells[1:]]


_RESORT_AFTER = 64
"""Up to this many rows whose sort key changed are moved into place; more: a full sort."""

_HOLDABLE = frozenset({OrderStatus.STAGED, OrderStatus.APPROVED})
"""The orders a hold reason is shown for."""


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
        self._excluded: dict[str, Order] = {}
        """The orders the view left out last time (the very objects)."""
        self._view: tuple[Any, ...] | None = None
        self._inputs: tuple[Any, ...] = ()
        """The view and the files hold reasons read, as of the last `show`."""
        self._sort_keys: dict[str, tuple[Cell, tuple[Any, str]]] = {}
        self._sort_keys_of = -1
        self._ascending: list[tuple[Any, str]] = []
        """Each shown row's sort key (for the sort column ``_sort_keys_of``), by its cell."""

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
        """Show the queue's orders as the view asks (filter, scope, finished, held only).

        The cost is that of what changed: an order that is the very object shown last time
        keeps its row (its cells, its place in the sort) without being looked at again, as
        long as the view, the hold reasons' inputs (every other file) and the ages shown
        (until `next_change`) are as they were; the table then redraws the changed rows
        only (`KeyedTable.sync`)."""
        queue = state.queue
        if queue is None:
            return
        view = (
            self.show_finished,
            self.filter_text.strip(),
            self.this_vault_only,
            selected if self.this_vault_only else None,
            self.held_only,
        )
        inputs = tuple(state.files.get(kind) for kind in HOLD_INPUTS)
        unchanged = view == self._view and self.next_change is not None and now < self.next_change
        # Hold reasons (of staged and approved orders only) read every other file.
        reasons_kept = all(a is b for a, b in zip(inputs, self._inputs, strict=False)) and len(
            inputs
        ) == len(self._inputs)
        self._view, self._inputs = view, inputs
        rows: dict[str, list[Cell]] = {}
        excluded: dict[str, Order] = {}
        soonest = (
            (self.next_change - now).total_seconds() if unchanged and self.next_change else 3600.0
        )
        cache, out = self._rows, self._excluded
        marked = self.marked
        for order in queue.orders:
            key = order.order_id
            if unchanged and (reasons_kept or order.status not in _HOLDABLE):
                cached = cache.get(key)
                if cached is not None and cached[0] is order:
                    cells = cached[2]
                    if marked and key in marked:
                        cells = _marked(cells)
                    rows[key] = cells
                    continue
                if out.get(key) is order:
                    excluded[key] = order
                    continue
            built = self._row(order, state, now, selected)
            if built is None:
                excluded[key] = order
                continue
            cells, changes_in = built
            soonest = min(soonest, changes_in)
            if marked and key in marked:
                cells = _marked(cells)
            rows[key] = cells
        for gone in [k for k in cache if k not in rows]:
            del cache[gone]
        self._excluded = excluded
        self.next_change = now + timedelta(seconds=soonest)
        shown, display_order = self._fold(queue.orders, rows)
        self.sync(shown, display_order)
        self.set_info(self._subtitle(len(rows), len(queue.orders)))

    def _row(
        self, order: Order, state: StateSnapshot, now: datetime, selected: str | None
    ) -> tuple[list[Cell], float] | None:
        """The order's cells (from the last ones when only its age moved) and in how many
        seconds its age shown next changes; None when the view leaves it out."""
        if not self.show_finished and order.status not in OPEN:
            return None
        if self.this_vault_only and order.vault_id != selected:
            return None
        if not order_matches(order, self.filter_text.strip()):
            return None
        # A staged order is not held yet: an approval would be, and the operator should know
        # before (the reason of the maintenance that would hold it).
        reason = state.hold_reason(order) if order.status in _HOLDABLE else None
        if self.held_only and (reason is None or order.status is not OrderStatus.APPROVED):
            return None
        held = (reason is not None, reason)
        seconds = order.age(now)
        age_text = age(seconds)
        cached = self._rows.get(order.order_id)
        if cached is not None and cached[0] is order and cached[1] == held:
            cells = cached[2]
            if cells[8].plain != age_text:
                cells = [*cells[:8], Cell(age_text, sort_key=seconds), *cells[9:]]
                self._rows[order.order_id] = (order, held, cells)
        else:
            cells = self._order_cells(order, held, age_text, seconds)
            self._rows[order.order_id] = (order, held, cells)
        return cells, age_changes_in(seconds)

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
        if self._sort_keys_of != index:
            self._sort_keys, self._sort_keys_of, self._ascending = {}, index, []
        known = self._sort_keys
        keys: dict[str, tuple[Any, str]] = {}
        added: list[tuple[Any, str]] = []
        dropped: list[tuple[Any, str]] = []
        for k, cells in rows.items():
            if k in nested:
                continue
            cell = cells[index]
            hit = known.get(k)
            if hit is None or hit[0] is not cell:
                fresh = (cell, (sortable(cell.sort_value), k))
                if hit is None or hit[1] != fresh[1]:
                    if hit is not None:
                        dropped.append(hit[1])
                    added.append(fresh[1])
                known[k] = hit = fresh
            keys[k] = hit[1]
        for gone in [k for k in known if k not in keys]:
            dropped.append(known.pop(gone)[1])
        ascending = self._ascending
        if len(added) + len(dropped) <= _RESORT_AFTER and len(ascending) + len(added) - len(
            dropped
        ) == len(keys):
            # A few rows moved: take them out and put them back in their places (the same
            # order a full sort gives: the keys are unique, the order id being the last part).
            for pair in dropped:
                at = bisect_left(ascending, pair)
                if at < len(ascending) and ascending[at] == pair:
                    del ascending[at]
            for pair in added:
                insort(ascending, pair)
        else:
            ascending = self._ascending = sorted(keys.values())
        top = [k for _, k in (reversed(ascending) if reverse else ascending)]
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
