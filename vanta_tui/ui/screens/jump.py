"""`:`: go to a view by typing its name, as in k9s (`:queue`, `:held`, `:dead-letters`).

The names and what each opens are `vanta_tui.ui.flows.VIEWS`; this screen only asks which
one. The name is completed as it is typed (the rest shown dim, `Tab` or `→` takes it), the
views that match are listed under it, and `Enter` goes to the one named or the only one
that starts so; anything else is said on the spot and the screen stays for a correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from vanta_tui.ui.screens.modals import DeskModal


def match_view(text: str, names: Sequence[str]) -> tuple[str | None, list[str]]:
    """The view ``text`` names (None if it names none or several) and the names that match
    it: the name itself, else the names that start with it, else those that contain it."""
    typed = text.strip().lstrip(":").strip().casefold()
    if not typed:
        return None, list(names)
    if typed in names:
        return typed, [typed]
    starting = [n for n in names if n.startswith(typed)]
    candidates = starting or [n for n in names if typed in n]
    return (candidates[0] if len(candidates) == 1 else None), candidates


class JumpScreen(DeskModal[str]):
    """Asks for a view's name; answers it (or None: Esc)."""

    CSS_PATH = "views.tcss"
    AUTO_FOCUS = "Input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="jump_cancel"),
        Binding("tab", "complete", "Complete the name", id="jump_complete"),
    ]

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.problem = ""
        """What is wrong with the name submitted ("" when nothing was submitted)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="jump-body"):
            yield Label("Go to a view", id="jump-title")
            with Horizontal(id="jump-row"):
                yield Label(":", id="jump-colon")
                yield Input(
                    placeholder="view name (Tab completes)",
                    suggester=SuggestFromList(self.names, case_sensitive=False),
                    id="jump-input",
                )
            yield Static("", id="jump-matches", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_matches("")

    @property
    def typed(self) -> str:
        return self.query_one("#jump-input", Input).value

    def _show_matches(self, text: str) -> None:
        _, candidates = match_view(text, self.names)
        matches = self.query_one("#jump-matches", Static)
        if self.problem:
            matches.update(self.problem)
        elif candidates:
            matches.update("views: " + " · ".join(candidates))
        else:
            matches.update(f"no view named {text.strip()!r}; views: " + " · ".join(self.names))
        matches.set_class(bool(self.problem) or not candidates, "-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.problem = ""
        self._show_matches(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name, candidates = match_view(event.value, self.names)
        if name is not None:
            self.answer(name)
            return
        typed = event.value.strip()
        if not candidates:
            self.problem = f"no view named {typed!r}; views: " + " · ".join(self.names)
        else:
            self.problem = f"{typed!r} could be " + " or ".join(candidates) + ": type more"
        self._show_matches(event.value)

    def action_complete(self) -> None:
        """`Tab`: the name completed as far as the matching views agree."""
        _, candidates = match_view(self.typed, self.names)
        if not candidates:
            return
        common = candidates[0]
        for name in candidates[1:]:
            while not name.startswith(common):
                common = common[:-1]
        field = self.query_one("#jump-input", Input)
        if len(common) > len(field.value.strip()):
            field.value = common
            field.cursor_position = len(common)

    def action_cancel(self) -> None:
        self.answer(None)
