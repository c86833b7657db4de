"""`N`: every toast the desk has shown, newest first, to read again after it went.

The app keeps them (`VantaApp.notify`): the time from the desk's clock, the level, the
title and the message. Levels are shown by word and colour (`ERROR` on red, `WARN` on
yellow, `info`), so a colour-blind operator or a monochrome terminal loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from vanta_tui.ui.format import stamp

LEVELS: dict[str, tuple[str, str]] = {
    "error": ("ERROR", "bold white on red"),
    "warning": ("WARN", "bold black on yellow"),
    "information": ("info", "green"),
}
"""A toast's severity → the word and the colour the history shows it in."""


@dataclass(frozen=True)
class Note:
    """One toast as the desk showed it."""

    at: datetime
    severity: str
    title: str
    message: str

    @classmethod
    def of(cls, at: datetime, severity: str, title: str, message: str, markup: bool) -> Note:
        """The toast's message as plain text (a toast's markup shows as what it says)."""
        if markup:
            # Markup Textual would not render either: the text as it is.
            with contextlib.suppress(Exception):
                message = Content.from_markup(message).plain
        return cls(at, severity, title, message)


def notes_table(notes: Sequence[Note]) -> Table:
    table = Table(expand=True, show_lines=False, box=None, padding=(0, 1))
    table.add_column("Time (UTC)", style="dim", no_wrap=True)
    table.add_column("Level", no_wrap=True)
    table.add_column("Title", style="bold", no_wrap=True, max_width=32)
    table.add_column("Message", ratio=1)
    for note in notes:
        word, style = LEVELS.get(note.severity, (note.severity, ""))
        table.add_row(stamp(note.at), Text(f" {word} ", style=style), note.title, note.message)
    return table


class NotificationsScreen(ModalScreen[None]):
    """The toasts shown so far, newest first; scrolls; Escape (or `N`, `q`) closes."""

    CSS_PATH = "views.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,N", "close", "Close", id="notifications_close"),
        Binding("j", "scroll('down')", "Down", id="notifications_down", show=False),
        Binding("k", "scroll('up')", "Up", id="notifications_up", show=False),
        Binding("g", "scroll('home')", "Top", id="notifications_top", show=False),
        Binding("G", "scroll('end')", "Bottom", id="notifications_bottom", show=False),
    ]

    def __init__(self, notes: Sequence[Note]) -> None:
        super().__init__(classes="modal")
        self.notes = list(notes)

    def compose(self) -> ComposeResult:
        count = len(self.notes)
        title = f"Notifications: {count}, newest first" if count else "Notifications: none yet"
        with VerticalScroll(id="notes-body"):
            yield Static(Text(title, style="bold"), id="notes-title")
            yield Static(notes_table(self.notes), id="notes-table")
            yield Static("↑/↓ j/k scroll · Esc close", id="notes-foot")

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#notes-body", VerticalScroll)
        if where == "down":
            body.scroll_down(animate=False)
        elif where == "up":
            body.scroll_up(animate=False)
        elif where == "home":
            body.scroll_home(animate=False)
        else:
            body.scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
