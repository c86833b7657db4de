"""Modal screens for operator actions: confirmation, a reason, and small forms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

Answer = TypeVar("Answer")


class DeskModal(ModalScreen[Answer]):
    """A dialog of the desk: its first field (``AUTO_FOCUS``) has the focus as soon as the
    dialog is composed, and it answers once.

    The app hands keys on only once a pushed dialog is mounted and focused (`OrderedKeys`);
    the focus is set synchronously here, not through ``Widget.focus()`` (which goes round the
    App's queue). A second answer (a second `y`, Enter, or a click before the dialog is gone)
    is ignored: it would otherwise dismiss the screen below.
    """

    CSS_PATH = "screens.tcss"
    AUTO_FOCUS = "Input, Button"

    def __init__(self) -> None:
        super().__init__(classes="modal")
        self.answered = False

    def on_mount(self) -> None:
        # Textual's auto-focus at compose needs the app to have the terminal's focus.
        if self.focused is None and self.AUTO_FOCUS:
            first = next((w for w in self.query(self.AUTO_FOCUS) if w.focusable), None)
            if isinstance(first, Widget):
                self.set_focus(first)

    def answer(self, result: Answer | None) -> None:
        if not self.answered and self.is_active:
            self.answered = True
            self.dismiss(result)


class ConfirmScreen(DeskModal[bool]):
    """Says exactly what will happen; `y`/Enter confirms, `n`/Esc cancels."""

    AUTO_FOCUS = "#yes"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Confirm", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="confirm_no"),
    ]

    def __init__(self, title: str, lines: Sequence[str], confirm: str = "Confirm") -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.confirm_label = confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-body"):
            yield Label(self.title_text, classes="modal-title")
            yield Static("\n".join(self.lines), classes="modal-text", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="warning", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.answer(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.answer(answer)


class QuitScreen(ConfirmScreen):
    """Quitting while the desk's executor has orders in flight: what becomes of them. It
    takes the keys while it is up: `y` (or Enter) quits, `n`/Esc stays; another `q` or
    `ctrl+q` does nothing (a quick second `q` neither quits nor closes the question)."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("Quit the desk?", lines, "Quit")


Field = tuple[str, str, str]
"""(key, label, initial value)."""


class FormScreen(DeskModal[dict[str, str] | None]):
    """A small form of text fields. ``check`` turns the values into a preview line or raises
    ValueError with the reason; Enter submits only when the values check out. ``lines``, if
    any, say above the fields what the form acts on (each order a batch rejects)."""

    AUTO_FOCUS = "Input"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form_cancel"),
    ]

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        check: Callable[[dict[str, str]], str],
        submit: str = "OK",
        lines: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.fields = list(fields)
        self.check = check
        self.submit_label = submit

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-body"):
            yield Label(self.title_text, classes="modal-title")
            if self.lines:
                yield Static("\n".join(self.lines), classes="modal-text", markup=False)
            for key, label, value in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(value=value, id=f"field-{key}", classes="form-input")
            yield Static("", id="form-preview", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button(self.submit_label, variant="warning", id="submit")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        super().on_mount()
        self._refresh_preview()

    def values(self) -> dict[str, str]:
        return {
            key: self.query_one(f"#field-{key}", Input).value.strip() for key, _, _ in self.fields
        }

    def _refresh_preview(self) -> bool:
        preview = self.query_one("#form-preview", Static)
        try:
            text = self.check(self.values())
        except ValueError as exc:
            preview.update(f"✗ {exc}")
            preview.set_class(True, "-error")
            return False
        preview.update(text)
        preview.set_class(False, "-error")
        return True

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._refresh_preview()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self._submit()
        else:
            self.answer(None)

    def _submit(self) -> None:
        if not self.answered and self._refresh_preview():
            self.answer(self.values())

    def action_cancel(self) -> None:
        self.answer(None)


def reason_form(
    title: str, *, required: bool, prompt: str = "Reason", lines: Sequence[str] = ()
) -> FormScreen:
    """A form asking for a reason (``required`` or not), ``lines`` saying what it is for."""

    def check(values: dict[str, str]) -> str:
        if required and not values["reason"]:
            raise ValueError("a reason is required")
        return "Enter to confirm, Esc to cancel"

    return FormScreen(title, [("reason", prompt, "")], check, submit="Confirm", lines=lines)
