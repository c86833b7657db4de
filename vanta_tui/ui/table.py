"""DataTable rows updated in place by key, so cursor, selection and scroll stay put."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


class Cell(Text):
    """A table cell: rich text that also knows how it sorts (ages by seconds, not by text)."""

    def __init__(self, text: str, style: str = "", sort_key: Any = None) -> None:
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis")
        self.sort_key: Any = text if sort_key is None else sort_key


Signature = tuple[tuple[str, str, Any], ...]


def _signature(cells: Sequence[Cell]) -> Signature:
    return tuple((c.plain, str(c.style), c.sort_key) for c in cells)


class KeyedTable(DataTable[Cell]):
    """A DataTable whose rows are replaced by key: unchanged rows are not touched."""

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._column_spec = list(columns)
        self._signatures: dict[str, Signature] = {}
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._sorted_by: tuple[str | None, bool] = (None, False)

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    @property
    def column_keys(self) -> list[str]:
        return [key for key, _ in self._column_spec]

    @property
    def cursor_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return str(row_key.value) if row_key.value is not None else None

    def sync(self, rows: Mapping[str, Sequence[Cell]]) -> int:
        """Make the table hold exactly ``rows`` (in their order for new rows); returns how many
        rows were added, removed or changed."""
        keep = self.cursor_key
        touched = 0
        for key in [k for k in self._signatures if k not in rows]:
            self.remove_row(key)
            del self._signatures[key]
            touched += 1
        columns = self.column_keys
        added = False
        for key, cells in rows.items():
            signature = _signature(cells)
            old = self._signatures.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                added = True
            elif old != signature:
                for index, (before, after) in enumerate(zip(old, signature, strict=True)):
                    if before != after:
                        self.update_cell(key, columns[index], cells[index], update_width=True)
            else:
                continue
            self._signatures[key] = signature
            touched += 1
        resort = self._sorted_by != (self.sort_column, self.sort_reverse)
        if resort or (touched and (added or self.sort_column is not None)):
            self.apply_sort()
        if keep is not None:
            self.move_to(keep)
        return touched

    def apply_sort(self) -> None:
        self._sorted_by = (self.sort_column, self.sort_reverse)
        if self.sort_column is None:
            return
        first = self.column_keys[0]
        columns = [self.sort_column] if self.sort_column == first else [self.sort_column, first]

        def sort_key(cells: Any) -> Any:
            if isinstance(cells, Cell):
                return (cells.sort_key,)
            return tuple(c.sort_key for c in cells)

        self.sort(*columns, key=sort_key, reverse=self.sort_reverse)

    def move_to(self, key: str) -> None:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=False)

    def keys(self) -> Iterable[str]:
        return self._signatures.keys()
