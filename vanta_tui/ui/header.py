"""The desk's header: state directory, broker mode (PAPER or LIVE), read-only, executor, clock."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class DeskHeader(Horizontal):
    """One line that says where the desk points and whether money can move."""

    def __init__(self, state_dir: str, *, live: bool, read_only: bool) -> None:
        super().__init__(id="header")
        self.state_dir = state_dir
        self.live = live
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield Static("VANTA desk", id="header-title")
        yield Static(self.state_dir, id="header-state", markup=False)
        mode = Static("LIVE" if self.live else "PAPER", id="header-mode")
        mode.add_class("-live" if self.live else "-paper")
        yield mode
        read_only = Static("READ-ONLY", id="header-readonly")
        read_only.display = self.read_only
        yield read_only
        yield Static("", id="header-executor", markup=False)
        yield Static("", id="header-clock")

    def set_clock(self, now: datetime) -> None:
        self.query_one("#header-clock", Static).update(now.strftime("%Y-%m-%d %H:%M:%S UTC"))

    def set_executor(self, text: str, level: str = "ok") -> None:
        widget = self.query_one("#header-executor", Static)
        widget.update(text)
        for name in ("ok", "warn", "fail"):
            widget.set_class(name == level, f"-{name}")
