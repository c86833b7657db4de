"""`L`: the journal's events as they happen, newest first, each in an operator's words.

The feed is read a page (`PAGE` events) at a time: the newest first, older ones when the
cursor reaches the bottom (or `m`). `refresh_feed` (the app calls it when the state reloads
and on its clock tick) asks the journal for its newest seq and, when it grew, reads only the
events after the last one seen and puts them on top, the cursor staying on its event. Every
read runs in a thread, never in the event loop.

Also here: `DayScreen`, what the three views of the operator's day (activity, fills
blotter, profit) share: a title line, a key hint at the bottom, gains and losses in the
theme's colours, and a worker's error shown above the table.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from vanta_tui.actions.activity import ActivityFilter, ActivityItem
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.core.id_match import IdAmbiguous, IdNotFound, match_id
from vanta_tui.store.errors import StoreError
from vanta_tui.ui.format import money, qty, stamp
from vanta_tui.ui.table import Cell, KeyedTable

if TYPE_CHECKING:
    from vanta_tui.desk import Desk

PAGE = 200
"""Events read at a time (the first page, and each page of older ones)."""

CATCH_UP_LIMIT = 5000
"""More new events than this since the last read: read the newest page again instead."""

ULID_LENGTH = 26

_ERROR_ACTIONS = frozenset(
    {
        "order.failed",
        "order.broker_rejected",
        "order.send_error",
        "desk.panic",
        "alarm.raised",
        "journal.intent_abandoned",
    }
)
_WARNING_ACTIONS = frozenset(
    {
        "order.rejected",
        "order.cancelled",
        "overlay.maintenance_on",
        "follower.kill_switch",
        "state.external_change",
    }
)
_SUCCESS_ACTIONS = frozenset({"order.filled", "order.partially_filled"})
_MACHINES = frozenset({"executor", "system"})


# --------------------------------------------------------------------------- shared


class DayScreen(Screen[None]):
    """A view of what happened: a title line, tables, a one-line key hint at the bottom.

    Subclasses read the journal in workers; a worker that fails shows its error above the
    main table (the last good rows stay)."""

    DEFAULT_CSS = """
    DayScreen {
        layout: vertical;
        background: $background;
    }
    DayScreen .day-title {
        width: 1fr;
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $accent;
        text-style: bold;
    }
    DayScreen .day-section {
        width: 1fr;
        height: 1;
        padding: 0 1;
        color: $accent;
        text-style: bold;
    }
    DayScreen .day-hint {
        dock: bottom;
        width: 1fr;
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    DayScreen KeyedTable {
        height: 1fr;
        max-height: 100%;
    }
    DayScreen KeyedTable.day-totals {
        height: auto;
        max-height: 9;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reads = 0
        """Reads of the journal shown (tests wait on it)."""
        self._job: object | None = None
        self._refresh_wanted = False

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.render_rows())
        self.start_read(force=True)

    @property
    def busy(self) -> bool:
        """A read of the journal is under way."""
        return self._job is not None

    def refresh_feed(self) -> None:
        """Read the journal again if it recorded anything since the last read (one cheap
        read of its newest seq, in a thread); while a read runs, once it is done."""
        if not self.is_attached:
            return
        if self._job is not None:
            self._refresh_wanted = True
            return
        self.start_read(force=False)

    def start_read(self, force: bool) -> None:
        """Start a worker that reads the journal (``force``: even if nothing new)."""

    def _begin(self) -> object:
        """Mark a read as under way (before its worker starts: a read it cancels must not
        clear the mark as it ends)."""
        token = object()
        self._job = token
        return token

    def _end(self, token: object) -> None:
        if self._job is token:
            self._job = None
            if self._refresh_wanted:
                self._refresh_wanted = False
                self.call_later(self.refresh_feed)

    def read_done(self) -> None:
        self.reads += 1
        self.show_problem(None)

    def render_rows(self) -> None:
        """Draw the rows again from what was read last (the theme changed)."""

    def tone(self, value: Decimal) -> str:
        """The theme's success colour for a gain, its error colour for a loss."""
        if value > 0:
            return self.app.theme_variables.get("success", "green")
        if value < 0:
            return self.app.theme_variables.get("error", "red")
        return ""

    def theme_style(self, name: str, fallback: str) -> str:
        return self.app.theme_variables.get(name, fallback)

    def show_problem(self, text: str | None) -> None:
        """Say above the first table that the last read failed (None: it worked)."""
        for table in self.query(KeyedTable).results(KeyedTable):
            table.set_notices([(text, "problem")] if text else [])
            break

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.show_problem(f"could not read the journal: {event.worker.error}")

    def action_close(self) -> None:
        self.dismiss(None)


def signed_money(value: Decimal) -> str:
    """A gain or loss with its sign ("+76.00", "-12.50", "0.00"): the colour is not the only
    cue."""
    text = money(value)
    return f"+{text}" if value > 0 else text


def signed_qty(value: Decimal) -> str:
    text = qty(value)
    return f"+{text}" if value > 0 else text


def fee_text(fee: Decimal | None, currency: str | None = None) -> str:
    """A broker's fee: "—" when it did not say; a fraction of a cent as it is."""
    if fee is None:
        return "—"
    text = money(fee) if fee == 0 or abs(fee) >= Decimal("0.01") else f"{fee.normalize():f}"
    return f"{text} {currency}" if currency and currency != "USD" else text


class IdTable(KeyedTable):
    """A table whose row keys are not what the operator copies (an event's seq, a fill's):
    ``copy_of`` gives the whole id a row stands for (None: none), for the table's copy key."""

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        copy_of: Callable[[str], str | None],
        copy_what: str = "order id",
        **kwargs: Any,
    ) -> None:
        super().__init__(columns, **kwargs)
        self.copy_of = copy_of
        self.copy_what = copy_what

    def copy_value(self, key: str) -> str | None:
        return self.copy_of(key)


class NumberColumns:
    """Right-aligns a table's number columns, so that numbers line up on their last digit.
    A column is padded to the widest cell it has shown (a `KeyedTable` column never
    narrows)."""

    def __init__(self, columns: Sequence[tuple[str, str]], numbers: Iterable[int]) -> None:
        self.widths = {index: cell_len(columns[index][1]) for index in numbers}

    def align(self, rows: Mapping[str, Sequence[Cell]]) -> dict[str, list[Cell]]:
        out = {key: list(cells) for key, cells in rows.items()}
        for index, width in self.widths.items():
            width = max([width, *(cell_len(cells[index].plain) for cells in out.values())])
            self.widths[index] = width
            for cells in out.values():
                cell = cells[index]
                pad = " " * (width - cell_len(cell.plain))
                cells[index] = cell._replace(plain=pad + cell.plain)
        return out


# --------------------------------------------------------------------------- the filter


@dataclass(frozen=True)
class FeedQuery:
    """The filter line taken apart: ``vault:V_CORE actor:dana order:6DR82CJK`` and bare words
    (every word must appear in the event's line, its actor, vault, action or ids)."""

    vault_id: str | None = None
    actor: str | None = None
    order: str | None = None
    """As typed: a whole id, or a unique prefix or suffix of at least six characters."""
    words: tuple[str, ...] = ()

    KEYS: ClassVar[dict[str, str]] = {
        "vault": "vault_id",
        "v": "vault_id",
        "actor": "actor",
        "a": "actor",
        "order": "order",
        "o": "order",
    }

    @classmethod
    def parse(cls, text: str) -> FeedQuery:
        found: dict[str, str] = {}
        words: list[str] = []
        for token in text.split():
            name, sep, value = token.partition(":")
            field = cls.KEYS.get(name.lower()) if sep else None
            if field is None or not value:
                words.append(token.lower())
                continue
            found[field] = value.upper() if field == "vault_id" else value
        return cls(
            vault_id=found.get("vault_id"),
            actor=found.get("actor"),
            order=found.get("order"),
            words=tuple(words),
        )

    @property
    def text(self) -> str:
        parts = [
            f"{label}:{value}"
            for label, value in (
                ("vault", self.vault_id),
                ("actor", self.actor),
                ("order", self.order),
            )
            if value
        ]
        return " ".join([*parts, *self.words])

    def matches(self, item: ActivityItem) -> bool:
        """Whether the event has every bare word (the journal applies the rest)."""
        if not self.words:
            return True
        fields = (item.text, item.actor, item.action, item.vault_id, item.order_id)
        haystack = " ".join(f for f in (*fields, item.follower_id) if f).lower()
        return all(word in haystack for word in self.words)


# --------------------------------------------------------------------------- one event


def event_table(item: ActivityItem) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for label, value in (
        ("seq", f"#{item.seq}"),
        ("time", stamp(item.at)),
        ("actor", item.actor),
        ("action", item.action),
        ("vault", item.vault_id or "—"),
        ("order", item.order_id or "—"),
        ("follower", item.follower_id or "—"),
        ("what", item.text),
    ):
        table.add_row(label, Text(value))
    return table


class ActivityEventScreen(ModalScreen[None]):
    """One event of the feed in full (an event without an order, or `i` on any)."""

    DEFAULT_CSS = """
    ActivityEventScreen {
        align: center middle;
        background: $background 60%;
    }
    ActivityEventScreen > VerticalScroll {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    ActivityEventScreen .event-title {
        text-style: bold;
        color: $accent;
        margin-bottom: 1;
    }
    ActivityEventScreen .event-hint {
        color: $text-muted;
        margin-top: 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter,i", "close", "Close", id="activity_event_close"),
    ]

    def __init__(self, item: ActivityItem) -> None:
        super().__init__(id="activity-event")
        self.item = item

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(f"Event #{self.item.seq}", classes="event-title")
            yield Static(event_table(self.item), id="activity-event-fields")
            yield Label("Esc close", classes="event-hint")

    def action_close(self) -> None:
        self.dismiss(None)


# --------------------------------------------------------------------------- the feed


class ActivityScreen(DayScreen):
    """The activity feed: time (UTC), actor, vault and the event in words, newest first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="activity_filter"),
        Binding("v", "only_this('vault_id')", "This vault", id="activity_vault"),
        Binding("o", "only_this('order')", "This order", id="activity_order"),
        Binding("a", "only_this('actor')", "This actor", id="activity_actor"),
        Binding("c", "clear_filter", "Clear filter", id="activity_clear"),
        Binding("i", "show_event", "Event in full", id="activity_event"),
        Binding("m", "load_older", "Older events", id="activity_older"),
        Binding("escape,q", "close", "Close", id="activity_close"),
    ]
    HINT = (
        "/ filter · v vault · o order · a actor · c clear · Enter open · i event · m older"
        " · Esc close"
    )
    HINT_NARROW = "/ filter · v vault · o order · a actor · Enter open · Esc close"
    """For a terminal under `WIDE` columns (c, i and m work all the same)."""
    WIDE = 100

    DEFAULT_CSS = """
    ActivityScreen #activity-filter {
        padding: 0 1;
    }
    """

    class OrderOpened(Message):
        """The operator pressed Enter on an event of this order (the whole id)."""

        def __init__(self, order_id: str) -> None:
            super().__init__()
            self.order_id = order_id

    def __init__(self, desk: Desk, *, query: str = "") -> None:
        """``query``: the filter to start with (``vault:V_CORE``, ``order:6DR82CJK``, …)."""
        super().__init__(id="activity")
        self.desk = desk
        self.query_text = query
        self.wanted_query = FeedQuery.parse(query)
        """The filter the feed shows (its order as typed)."""
        self.wanted = ActivityFilter()
        """The same filter as the journal reads it (its order resolved to the whole id)."""
        self.items: dict[int, ActivityItem] = {}
        """Every event read for this filter, by seq (the bare words are applied on top)."""
        self.last_seq = 0
        """The journal's newest seq when it was last read: the next read starts after it."""
        self.exhausted = False
        """No older event is left to read."""
        self.loaded = False
        """The first page is on screen."""
        self.fetched = 0
        """Events read from the journal so far (each read once)."""

    def compose(self) -> ComposeResult:
        yield Label("Activity", classes="day-title", id="activity-title")
        yield Input(
            self.query_text,
            placeholder="/ filter: vault:V_CORE actor:dana order:6DR82CJK words…",
            compact=True,
            id="activity-filter",
        )
        yield IdTable(
            [("time", "Time"), ("actor", "Actor"), ("vault", "Vault"), ("what", "What")],
            copy_of=self.order_of,
            id="activity-table",
            max_column_width=200,
        )
        yield Label(self.HINT, classes="day-hint", id="activity-hint")

    @property
    def table(self) -> IdTable:
        return self.query_one("#activity-table", IdTable)

    def on_resize(self, event: events.Resize) -> None:
        hint = self.HINT if event.size.width >= self.WIDE else self.HINT_NARROW
        self.query_one("#activity-hint", Label).update(hint)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#activity-filter", Input)

    def on_mount(self) -> None:
        # DayScreen's on_mount runs too (Textual calls each class's handler): it starts the
        # first read.
        self.table.focus()
        self._update_title()

    def start_read(self, force: bool) -> None:
        if force:
            self._load(self.wanted_query, self._begin())
        else:
            self._fetch_new(self._begin())

    # ------------------------------------------------------------------ public

    def refresh_feed(self) -> None:
        """Read the events the journal recorded since the last read (if any) and put them
        on top. Cheap when nothing happened: one read of the journal's newest seq, in a
        thread. While another read runs, it runs once that one is done."""
        if not self.is_attached:
            return
        if self._job is not None or not self.loaded:
            self._refresh_wanted = True
            return
        self.start_read(force=False)

    def set_filter(self, text: str) -> None:
        """Show the feed for ``text`` (the filter line's syntax), read from the top."""
        self.filter_input.value = text
        self._load(FeedQuery.parse(text), self._begin())

    def order_of(self, key: str) -> str | None:
        """The whole order id of the event of row ``key`` (None: the event has none)."""
        item = self.items.get(int(key))
        return item.order_id if item is not None else None

    def item_at_cursor(self) -> ActivityItem | None:
        key = self.table.cursor_key
        return self.items.get(int(key)) if key is not None else None

    # ------------------------------------------------------------------ reading

    def _match_order(self, typed: str, seen: Sequence[str]) -> str:
        """The whole order id for what was typed: the queue's orders first, else the orders
        of the events read so far (an order that left the queue). In a thread."""
        token = typed.strip().rstrip("…").upper()
        if len(token) == ULID_LENGTH:
            return token
        try:
            return self.desk.match_orders([typed])[0].order_id
        except IdAmbiguous:
            raise
        except (IdNotFound, StoreError, ActionRefused):
            return match_id(typed, seen)

    def _read_newest(self, wanted: ActivityFilter) -> tuple[int, list[ActivityItem]]:
        head = self.desk.head_seq()
        return head, self.desk.activity(wanted, before_seq=head + 1, limit=PAGE)

    @work(group="activity-feed", exclusive=True, exit_on_error=False)
    async def _load(self, query: FeedQuery, token: object) -> None:
        """Read the newest page for ``query`` (a new filter: the feed starts over)."""
        try:
            order_id: str | None = None
            if query.order:
                seen = sorted({i.order_id for i in self.items.values() if i.order_id})
                try:
                    order_id = await asyncio.to_thread(self._match_order, query.order, seen)
                except (IdNotFound, IdAmbiguous) as exc:
                    self.show_problem(f"order: {exc}")
                    return
            wanted = ActivityFilter(vault_id=query.vault_id, order_id=order_id, actor=query.actor)
            head, items = await asyncio.to_thread(self._read_newest, wanted)
            self.wanted_query, self.wanted = query, wanted
            self.items = {i.seq: i for i in items}
            self.last_seq = head
            self.exhausted = len(items) < PAGE
            self._applied(len(items))
            self.render_rows(new_filter=True)
        finally:
            self._end(token)

    @work(group="activity-feed", exclusive=True, exit_on_error=False)
    async def _fetch_new(self, token: object) -> None:
        try:
            wanted, since = self.wanted, self.last_seq
            head = await asyncio.to_thread(self.desk.head_seq)
            if head <= since:
                return
            if head - since > CATCH_UP_LIMIT:
                head, items = await asyncio.to_thread(self._read_newest, wanted)
                self.items = {}
                self.exhausted = len(items) < PAGE
            else:
                # Bounded above too: an event recorded after `head` is read next time (a
                # newest-first page would otherwise leave a gap below it).
                items = await asyncio.to_thread(
                    self.desk.activity,
                    wanted,
                    after_seq=since,
                    before_seq=head + 1,
                    limit=head - since,
                )
            if wanted is not self.wanted:
                return  # the filter changed meanwhile
            self.items.update((i.seq, i) for i in items)
            self.last_seq = head
            self._applied(len(items))
            self.render_rows()
        finally:
            self._end(token)

    @work(group="activity-feed", exclusive=True, exit_on_error=False)
    async def _fetch_older(self, token: object) -> None:
        try:
            wanted = self.wanted
            oldest = min(self.items, default=self.last_seq + 1)
            items = await asyncio.to_thread(
                self.desk.activity, wanted, before_seq=oldest, limit=PAGE
            )
            if wanted is not self.wanted:
                return
            self.items.update((i.seq, i) for i in items)
            self.exhausted = len(items) < PAGE
            self._applied(len(items))
            self.render_rows()
        finally:
            self._end(token)

    def _applied(self, count: int) -> None:
        self.fetched += count
        self.loaded = True
        self.read_done()

    # ------------------------------------------------------------------ drawing

    def _cells(self, item: ActivityItem) -> list[Cell]:
        if item.action in _ERROR_ACTIONS:
            what = f"bold {self.theme_style('error', 'red')}"
        elif item.action in _WARNING_ACTIONS:
            what = self.theme_style("warning", "yellow")
        elif item.action in _SUCCESS_ACTIONS:
            what = self.theme_style("success", "green")
        else:
            what = ""
        return [
            Cell(item.at.strftime("%H:%M:%S"), "dim"),
            Cell(item.actor, "" if item.actor in _MACHINES else "bold"),
            Cell(item.vault_id or "—", "" if item.vault_id else "dim"),
            Cell(item.text, what),
        ]

    def render_rows(self, new_filter: bool = False) -> None:
        """Show the events read so far, newest first; the cursor stays on its event (and
        what the operator looks at stays put when events come in above it)."""
        if not self.is_attached:
            return
        table = self.table
        query = self.wanted_query
        shown = sorted((i for i in self.items.values() if query.matches(i)), key=lambda i: -i.seq)
        rows = {str(i.seq): self._cells(i) for i in shown}
        keep = table.cursor_key
        before = table.get_row_index(keep) if keep is not None and table.has_row(keep) else None
        top = int(table.scroll_offset.y)
        table.sync(rows, list(rows))
        if keep is not None and keep in rows and before is not None:
            moved = table.get_row_index(keep) - before
            if moved and top > 0:
                table.scroll_to(y=top + moved, animate=False, immediate=True)
            table.move_to(keep)
        elif new_filter:
            table.move_cursor(row=0)
            table.scroll_to(y=0, animate=False, immediate=True)
        self._update_title()

    def _update_title(self) -> None:
        count = self.table.row_count if self.is_attached else 0
        if not self.loaded:
            head = "Activity: reading the journal…"
        else:
            more = "" if self.exhausted else "+"
            head = f"Activity: {count}{more} event{'' if count == 1 else 's'}"
        text = self.wanted_query.text
        tail = f" · filter {text}" if text else ""
        self.query_one("#activity-title", Label).update(f"{head}{tail} · newest first · UTC")

    # ------------------------------------------------------------------ keys

    def on_keyed_table_row_selected(self, message: KeyedTable.RowSelected) -> None:
        message.stop()
        item = self.items.get(int(message.key))
        if item is None:
            return
        if item.order_id:
            self.post_message(self.OrderOpened(item.order_id))
        else:
            self.app.push_screen(ActivityEventScreen(item))

    def on_keyed_table_row_highlighted(self, message: KeyedTable.RowHighlighted) -> None:
        message.stop()
        keys = message.table.row_keys()
        if keys and message.key == keys[-1]:
            self.action_load_older()

    @on(Input.Submitted, "#activity-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
        self._load(FeedQuery.parse(event.value), self._begin())

    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def action_only_this(self, field: str) -> None:
        """Show only the events of the cursor's vault, order or actor (again: all)."""
        item = self.item_at_cursor()
        if item is None:
            return
        value = {"vault_id": item.vault_id, "order": item.order_id, "actor": item.actor}[field]
        query = self.wanted_query
        current = getattr(query, field)
        if field == "order" and current and self.wanted.order_id:
            current = self.wanted.order_id
        if value is None and current is None:
            self.notify(f"this event has no {field.removesuffix('_id')}", severity="warning")
            return
        chosen = None if current else value
        if field == "vault_id":
            query = dataclasses.replace(query, vault_id=chosen)
        elif field == "order":
            query = dataclasses.replace(query, order=chosen)
        else:
            query = dataclasses.replace(query, actor=chosen)
        self.set_filter(query.text)

    def action_clear_filter(self) -> None:
        self.set_filter("")

    def action_show_event(self) -> None:
        item = self.item_at_cursor()
        if item is not None:
            self.app.push_screen(ActivityEventScreen(item))

    def action_load_older(self) -> None:
        if self.loaded and not self.exhausted and self._job is None:
            self._fetch_older(self._begin())

    def action_close(self) -> None:
        if self.filter_input.has_focus:
            # Leave the filter line as the feed shows it.
            self.filter_input.value = self.wanted_query.text
            self.table.focus()
            return
        self.dismiss(None)
