"""A keyed, virtual table: rows replaced in place by key; only the visible lines are drawn.

Textual's DataTable measures every cell of every new row (about 1.4 s for 10,000 rows here)
and re-measures a whole column when an updated cell gets narrower. textual-fastdatatable
mounts 10,000 rows in about 0.3 s but keeps plain Arrow values, with no per-cell style, and
pulls in pyarrow. The desk needs per-cell colours, updates by key that keep the cursor, and
10,000 rows: this widget keeps rows as plain tuples and renders lines on demand (Textual's
Line API), so mounting and updating cost nothing per row that is not on screen.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vanta_tui.ui.keys import class_bindings

MAX_COLUMN_WIDTH = 48
MAX_NOTICE_LINES = 3


class _ByText:
    """Marker: the cell sorts by its text."""

    def __repr__(self) -> str:
        return "BY_TEXT"


BY_TEXT: Any = _ByText()


class Cell(NamedTuple):
    """A table cell: its text, a Rich style, and how it sorts (ages by seconds, not text).

    A plain tuple: ten thousand rows of these cost milliseconds to build and compare.
    """

    plain: str
    style: str = ""
    sort_key: Any = BY_TEXT

    @property
    def sort_value(self) -> Any:
        return self.plain if self.sort_key is BY_TEXT else self.sort_key


Signature = tuple[Cell, ...]


def _signature(cells: Sequence[Cell]) -> Signature:
    return tuple(cells)


LETTER_BINDINGS = [
    # vi's keys, as in k9s and less: the same moves without leaving the home row.
    Binding("j", "vi_down", "Down", id="table_down", show=False),
    Binding("k", "vi_up", "Up", id="table_up", show=False),
    Binding("g", "vi_first", "First row", id="table_first", show=False),
    Binding("G", "vi_last", "Last row", id="table_last", show=False),
    Binding("ctrl+d", "half_page_down", "Half a page down", id="table_half_down", show=False),
    Binding("ctrl+u", "half_page_up", "Half a page up", id="table_half_up", show=False),
    Binding("y", "copy_key", "Copy the id under the cursor", id="copy_id", show=False),
]
"""The table's keys that a screen may bind too: there the screen's binding wins
(`KeyedTable.check_action`)."""
YIELDING_ACTIONS: dict[str, str] = {b.action: b.key for b in Binding.make_bindings(LETTER_BINDINGS)}


class KeyedTable(ScrollView, can_focus=True):
    """Rows identified by key; `sync` adds, removes and changes rows without moving the cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keyed-table--header",
        "keyed-table--cursor",
        "keyed-table--even",
        "keyed-table--odd",
        "keyed-table--problem",
        "keyed-table--warning",
        "keyed-table--prompt",
    }
    DEFAULT_CSS = """
    KeyedTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        scrollbar-gutter: auto;
    }
    KeyedTable > .keyed-table--header {
        background: $panel;
        color: $foreground;
        text-style: bold;
    }
    KeyedTable > .keyed-table--even {
        background: $surface;
    }
    KeyedTable > .keyed-table--odd {
        background: $surface-lighten-1;
    }
    KeyedTable > .keyed-table--cursor {
        background: $secondary 35%;
    }
    KeyedTable:focus > .keyed-table--cursor {
        background: $accent 60%;
        text-style: bold;
    }
    KeyedTable > .keyed-table--problem {
        background: $error 30%;
        color: $text;
    }
    KeyedTable > .keyed-table--warning {
        background: $warning 30%;
        color: $text;
        text-style: bold;
    }
    KeyedTable > .keyed-table--prompt {
        background: $boost;
        color: $text;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        *LETTER_BINDINGS,
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False)

    class RowHighlighted(Message):
        """The cursor moved onto the row with this key."""

        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class RowSelected(Message):
        """The operator pressed Enter (or clicked) on the row with this key."""

        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        max_column_width: int = MAX_COLUMN_WIDTH,
        copy_what: str = "id",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_column_width = max_column_width
        self.copy_what = copy_what
        """What `y` copies, as the toast names it ("order id", "vault id", …)."""
        self._column_spec = list(columns)
        self._widths = [cell_len(label) for _, label in columns]
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, Sequence[Cell]] = {}
        self._signatures: dict[str, Signature] = {}
        self._styles: dict[str, Style] = {}
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._sorted_by: tuple[str | None, bool] = (None, False)
        self._highlighted: str | None = None
        self._notices: list[tuple[str, str]] = []
        self._notice_cache: tuple[int, list[tuple[str, str]]] | None = None

    # ------------------------------------------------------------------ data

    @property
    def column_keys(self) -> list[str]:
        return [key for key, _ in self._column_spec]

    @property
    def row_count(self) -> int:
        return len(self._order)

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    def has_row(self, key: str) -> bool:
        return key in self._cells

    def get_row(self, key: str) -> Sequence[Cell]:
        return self._cells[key]

    def get_row_at(self, index: int) -> Sequence[Cell]:
        return self._cells[self._order[index]]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    @property
    def cursor_key(self) -> str | None:
        if not self._order:
            return None
        return self._order[min(self.cursor_row, len(self._order) - 1)]

    def sync(self, rows: Mapping[str, Sequence[Cell]], order: Sequence[str] | None = None) -> int:
        """Make the table hold exactly ``rows``; returns how many rows were added, removed or
        changed. New rows go to the end (or their sorted place); the cursor stays on its row.
        ``order`` (every key of ``rows``) fixes the display order instead of the sort."""
        keep = self.cursor_key
        touched = 0
        removed = [k for k in self._signatures if k not in rows]
        for key in removed:
            del self._signatures[key]
            del self._cells[key]
        if removed:
            gone = set(removed)
            self._order = [k for k in self._order if k not in gone]
            touched += len(removed)
        added = False
        widths = self._widths
        for key, cells in rows.items():
            signature = _signature(cells)
            old = self._signatures.get(key)
            if old == signature:
                continue
            if old is None:
                self._order.append(key)
                added = True
            self._signatures[key] = signature
            self._cells[key] = cells
            for index, (text, _, _) in enumerate(cells):
                width = cell_len(text)
                if width > widths[index]:
                    widths[index] = min(width, self.max_column_width)
            touched += 1
        resort = self._sorted_by != (self.sort_column, self.sort_reverse)
        if order is not None:
            wanted = list(order)
            resort = wanted != self._order
            if resort or removed or added:
                self._order = wanted
                self._reindex()
                self.refresh()
        elif resort or (touched and self.sort_column is not None):
            self.apply_sort()
        elif removed or added:
            self._reindex()
        if touched or resort:
            self._resize()
            if keep is not None and keep in self._index:
                self._set_cursor(self._index[keep], scroll=False)
            else:
                self._set_cursor(min(self.cursor_row, max(len(self._order) - 1, 0)), scroll=False)
            self.refresh()
        return touched

    def apply_sort(self) -> None:
        self._sorted_by = (self.sort_column, self.sort_reverse)
        if self.sort_column is not None:
            column = self.column_keys.index(self.sort_column)
            cells = self._cells
            self._order.sort(
                key=lambda k: (sortable(cells[k][column].sort_value), k),
                reverse=self.sort_reverse,
            )
        self._reindex()
        self.refresh()

    def _reindex(self) -> None:
        self._index = {key: index for index, key in enumerate(self._order)}

    def _resize(self) -> None:
        self.virtual_size = Size(self.content_width(), self.content_height())

    def content_width(self, columns: int | None = None) -> int:
        """Cells the columns (the first ``columns`` of them, or all) take side by side."""
        return sum(w + 2 for w in self._widths[:columns])

    def content_height(self) -> int:
        """Lines the whole table takes: its notices, the header and every row."""
        return len(self._order) + 1 + len(self._notice_lines())

    # ------------------------------------------------------------------ notices

    def set_notices(self, notices: Sequence[tuple[str, str]]) -> None:
        """Lines kept above the column headers (they do not scroll): a file problem, a stale
        warning, the filter being typed. Each is (text, kind); kind is ``problem``, ``warning``
        or ``prompt``. Long texts wrap to at most three lines."""
        notices = list(notices)
        if notices == self._notices:
            return
        self._notices = notices
        self._notice_cache = None
        self._resize()
        self.refresh(layout=True)

    @property
    def notices(self) -> list[tuple[str, str]]:
        return list(self._notices)

    def _notice_lines(self) -> list[tuple[str, str]]:
        if not self._notices:
            return []
        width = max(self.size.width, 20)
        if self._notice_cache is None or self._notice_cache[0] != width:
            lines: list[tuple[str, str]] = []
            for text, kind in self._notices:
                wrapped = textwrap.wrap(text, width - 2) or [""]
                if len(wrapped) > MAX_NOTICE_LINES:
                    wrapped = wrapped[:MAX_NOTICE_LINES]
                    wrapped[-1] = set_cell_size(wrapped[-1], width - 3) + "…"
                lines.extend((line, kind) for line in wrapped)
            self._notice_cache = (width, lines)
        return self._notice_cache[1]

    def on_resize(self, _event: events.Resize) -> None:
        if self._notices:
            self._resize()

    # ------------------------------------------------------------------ cursor

    def move_cursor(self, *, row: int, scroll: bool = True, **_: Any) -> None:
        self._set_cursor(row, scroll=scroll)

    def move_to(self, key: str) -> None:
        if key in self._index:
            self._set_cursor(self._index[key], scroll=True)

    def _set_cursor(self, row: int, *, scroll: bool = True) -> None:
        row = max(0, min(row, len(self._order) - 1)) if self._order else 0
        self.cursor_row = row
        if scroll:
            self._scroll_to_cursor()
        key = self.cursor_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        visible = self.visible_rows
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self.cursor_row - max(self.size.height - 2, 1))

    def action_page_down(self) -> None:
        self._set_cursor(self.cursor_row + max(self.size.height - 2, 1))

    @property
    def visible_rows(self) -> int:
        """How many data rows the table shows at once (under its notices and header)."""
        return max(self.size.height - 1 - len(self._notice_lines()), 1)

    def action_half_page_down(self) -> None:
        self._set_cursor(self.cursor_row + max(self.visible_rows // 2, 1))

    def action_half_page_up(self) -> None:
        self._set_cursor(self.cursor_row - max(self.visible_rows // 2, 1))

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(len(self._order) - 1)

    action_vi_down = action_cursor_down
    action_vi_up = action_cursor_up
    action_vi_first = action_first
    action_vi_last = action_last

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The table's letter keys (`j`, `k`, `g`, `G`, `y`, `ctrl+d`, `ctrl+u`) give way to
        the same key bound by the table's screen (the followers view's `k`, kill switch):
        the focused table sees a key first and would take it from its screen."""
        if action in YIELDING_ACTIONS and self.is_attached:
            return YIELDING_ACTIONS[action] not in screen_keys(type(self.screen))
        return True

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def copy_value(self, key: str) -> str | None:
        """The text `y` copies for the row ``key`` (None: nothing to copy on that row)."""
        return key

    def action_copy_key(self) -> None:
        """`y`: the full id of the row under the cursor to the clipboard (OSC 52, which the
        terminal passes to the system clipboard, over SSH too), with a toast naming it."""
        key = self.cursor_key
        value = self.copy_value(key) if key is not None else None
        if value is None:
            self.app.notify(f"no {self.copy_what} under the cursor", severity="warning")
            return
        self.app.copy_to_clipboard(value)
        self.app.notify(value, title=f"Copied the {self.copy_what}", markup=False)

    def on_click(self, event: events.Click) -> None:
        top = len(self._notice_lines()) + 1
        if event.y < top:
            return
        row = int(self.scroll_offset.y) + event.y - top
        if 0 <= row < len(self._order):
            already = row == self.cursor_row
            self._set_cursor(row)
            if already or event.chain > 1:
                self.action_select()

    # ------------------------------------------------------------------ drawing

    def _style(self, text: str) -> Style:
        style = self._styles.get(text)
        if style is None:
            style = Style.parse(text) if text else Style()
            self._styles[text] = style
        return style

    def _line(self, texts: Iterable[tuple[str, Style]], base: Style) -> Strip:
        segments: list[Segment] = []
        for (text, style), width in zip(texts, self._widths, strict=False):
            shown = text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"
            segments.append(Segment(" ", base))
            segments.append(Segment(set_cell_size(shown, width), base + style))
            segments.append(Segment(" ", base))
        return Strip(segments)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        notices = self._notice_lines()
        if y < len(notices):
            text, kind = notices[y]
            style = self.get_component_rich_style(f"keyed-table--{kind}")
            return Strip([Segment(" " + set_cell_size(text, max(width - 1, 0)), style)], width)
        y -= len(notices)
        if y == 0:
            base = self.get_component_rich_style("keyed-table--header")
            strip = self._line(((label, Style()) for _, label in self._column_spec), base)
        else:
            index = int(scroll_y) + y - 1
            if index >= len(self._order):
                return Strip.blank(width, self.rich_style)
            key = self._order[index]
            name = "keyed-table--even" if index % 2 == 0 else "keyed-table--odd"
            base = self.get_component_rich_style(name)
            cells = self._cells[key]
            if index == self.cursor_row:
                over = self.get_component_rich_style("keyed-table--cursor")
                base = base + over
                texts = ((c.plain, self._style(c.style) + over) for c in cells)
            else:
                texts = ((c.plain, self._style(c.style)) for c in cells)
            strip = self._line(texts, base)
        strip = strip.extend_cell_length(int(scroll_x) + width, base)
        return strip.crop(int(scroll_x), int(scroll_x) + width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.content_height()


@functools.cache
def screen_keys(screen: type[Any]) -> frozenset[str]:
    """Every key a screen class binds itself (its own and inherited `BINDINGS`)."""
    return frozenset(binding.key for binding in class_bindings(screen))


def sortable(value: Any) -> Any:
    """None sorts first; mixed types sort by type name, then value."""
    if value is None:
        return (0, "", 0)
    numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    return (1, "num" if numeric else type(value).__name__, value)
