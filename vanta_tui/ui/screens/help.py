"""`?`: every key of the desk, by where it works."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_rows(
    sections: Iterable[tuple[str, Iterable[BindingType]]],
    keymap: dict[str, str],
    display: Callable[[Binding], str],
) -> list[tuple[str, str, str]]:
    """(where, keys as shown, what) for every described binding, remaps applied."""
    rows: list[tuple[str, str, str]] = []
    for where, bindings in sections:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            remapped = keymap.get(binding.id or "")
            shown = [
                display(replace(binding, key=key.strip()))
                for key in (remapped or binding.key).split(",")
            ]
            rows.append((where, " / ".join(shown), binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "screens.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help_close"),
    ]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__(id="help")
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(title="VANTA desk — keys", expand=True, show_lines=False)
        table.add_column("Where", style="dim")
        table.add_column("Key", style="bold cyan")
        table.add_column("Does")
        for where, key, does in self.rows:
            table.add_row(where, key, does)
        with VerticalScroll(id="help-body"):
            yield Static(table)
            yield Static(
                "Tab / Shift+Tab move between panes · Ctrl+P opens the command palette · "
                "keys can be remapped in the settings file (see README)",
                id="help-foot",
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
