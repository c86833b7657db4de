"""`S`: the system status: one line per component (OK / WARN / FAIL) and the open alarms.
`a` acknowledges the alarm under the cursor (audited; it stays until its cause is gone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from vanta_tui.actions.status import StatusReport
from vanta_tui.ui.table import Cell, KeyedTable

LEVEL_STYLE = {"OK": "bold green", "WARN": "bold yellow", "FAIL": "bold white on red"}


def _age(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d"


class StatusScreen(ModalScreen[None]):
    CSS_PATH = "screens.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge", id="alarm_ack"),
        Binding("escape,q,S", "close", "Close", id="status_close"),
    ]

    def __init__(
        self, report: StatusReport | None, on_ack: Callable[[str], None], read_only: bool
    ) -> None:
        super().__init__(classes="modal")
        self.report = report
        self.shown: StatusReport | None = None
        """The report on screen (tests wait on it)."""
        self.on_ack = on_ack
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-body", id="status-body"):
            yield Label("System status", classes="modal-title", id="status-title")
            yield KeyedTable(
                [("level", "Level"), ("component", "Component"), ("detail", "Detail")],
                id="status-table",
                max_column_width=110,
            )
            yield Label("Held orders", classes="modal-title", id="held-title")
            yield KeyedTable(
                [("order", "Order"), ("what", "What"), ("why", "Why held")],
                id="held-table",
                max_column_width=110,
            )
            yield Label("Open alarms", classes="modal-title", id="alarms-title")
            yield KeyedTable(
                [("level", "Level"), ("age", "Age"), ("alarm", "Alarm"), ("ack", "Ack")],
                id="alarms-table",
                max_column_width=110,
            )
            yield Label("a acknowledge the alarm under the cursor · Esc close")

    def on_mount(self) -> None:
        self.query_one("#alarms-table", KeyedTable).focus()
        if self.report is not None:
            self._render_report(self.report)

    def show(self, report: StatusReport) -> None:
        """Show ``report`` (now, or when the screen is mounted)."""
        self.report = report
        if self.is_mounted and self.is_attached:  # not while the desk tears it down
            self._render_report(report)

    def _render_report(self, report: StatusReport) -> None:
        self.shown = report
        title = self.query_one("#status-title", Label)
        title.update(f"System status: {report.level.value} at {report.at:%Y-%m-%d %H:%M:%S}Z")
        self.query_one("#status-table", KeyedTable).sync(
            {
                line.component: [
                    Cell(line.level.value, LEVEL_STYLE[line.level.value]),
                    Cell(line.component, "bold"),
                    Cell(line.detail),
                ]
                for line in report.lines
            },
            [line.component for line in report.lines],
        )
        held_rows: dict[str, list[Cell]] = {}
        for held in report.held:
            o = held.order
            who = f" ↳{o.follower_id}" if o.follower_id else ""
            held_rows[o.order_id] = [
                Cell(o.order_id[-8:], "dim"),
                Cell(f"{o.vault_id}{who} {o.side.value} {o.qty} {o.symbol}"),
                Cell(held.reason.text, "yellow"),
            ]
        self.query_one("#held-title", Label).update(f"Held orders: {len(report.held)}")
        self.query_one("#held-table", KeyedTable).sync(held_rows, list(held_rows))
        now: datetime = report.at
        alarms = sorted(report.alarms, key=lambda a: (-a.level.rank, a.alarm_id))
        self.query_one("#alarms-title", Label).update(f"Open alarms: {len(alarms)}")
        self.query_one("#alarms-table", KeyedTable).sync(
            {
                a.alarm_id: [
                    Cell(a.level.value, LEVEL_STYLE[a.level.value]),
                    Cell(_age((now - a.since).total_seconds()) if a.since else "—"),
                    Cell(a.message),
                    Cell(f"✓ {a.acked_by}" if a.acked_by else "—", "dim"),
                ]
                for a in alarms
            },
            [a.alarm_id for a in alarms],
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action == "acknowledge")

    def action_acknowledge(self) -> None:
        key = self.query_one("#alarms-table", KeyedTable).cursor_key
        if key is not None:
            self.on_ack(key)

    def action_close(self) -> None:
        self.dismiss(None)
