"""Modal screens for operator actions: confirmation, a reason, and small forms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Says exactly what will happen; `y`/Enter confirms, `n`/Esc cancels."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Confirm", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="confirm_no"),
    ]

    def __init__(self, title: str, lines: Sequence[str], confirm: str = "Confirm") -> None:
        super().__init__(classes="modal")
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

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


Field = tuple[str, str, str]
"""(key, label, initial value)."""


class FormScreen(ModalScreen[dict[str, str] | None]):
    """A small form of text fields. ``check`` turns the values into a preview line or raises
    ValueError with the reason; Enter submits only when the values check out."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form_cancel"),
    ]

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        check: Callable[[dict[str, str]], str],
        submit: str = "OK",
    ) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.fields = list(fields)
        self.check = check
        self.submit_label = submit

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-body"):
            yield Label(self.title_text, classes="modal-title")
            for key, label, value in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(value=value, id=f"field-{key}", classes="form-input")
            yield Static("", id="form-preview", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button(self.submit_label, variant="warning", id="submit")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query(Input).first().focus()
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
            self.dismiss(None)

    def _submit(self) -> None:
        if self._refresh_preview():
            self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)


def reason_form(title: str, *, required: bool, prompt: str = "Reason") -> FormScreen:
    def check(values: dict[str, str]) -> str:
        if required and not values["reason"]:
            raise ValueError("a reason is required")
        return "Enter to confirm, Esc to cancel"

    return FormScreen(title, [("reason", prompt, "")], check, submit="Confirm")
