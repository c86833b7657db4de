"""The desk's header: state directory, broker mode (PAPER or LIVE), read-only, executor, when
the broker accounts were last reconciled and priced, clock.

One widget drawing one line (see `panes/base.py` for why the desk keeps widgets few).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

if TYPE_CHECKING:
    from vanta_tui.actions.activity import AccountTimes

STALE_PERIODS = 2
"""A reconcile or price older than this many of its periods shows in the warning colour."""


def _hhmm(at: datetime | None) -> str:
    return "—" if at is None else at.strftime("%H:%M")


def times_text(times: Sequence[AccountTimes]) -> tuple[str, bool, str]:
    """The header's part for the brokers' times: the oldest reconcile and the oldest price
    of the accounts that have a broker to ask ("rec 08:05 px 08:09"; "px paper" when every
    account is paper), whether one is missing, and every account's times (its tooltip)."""
    if not times:
        return "", False, ""
    reconciled = [t.reconciled for t in times]
    real = [t for t in times if not t.paper]
    priced = [t.priced for t in real]
    oldest_rec = None if None in reconciled else min(r for r in reconciled if r is not None)
    if not real:
        px = "paper"
        oldest_px: datetime | None = None
        missing_px = False
    else:
        missing_px = None in priced
        oldest_px = None if missing_px else min(p for p in priced if p is not None)
        px = _hhmm(oldest_px)
    text = f"rec {_hhmm(oldest_rec)} px {px}"
    lines = ["Last reconciled (rec) and priced (px), per account, UTC:"]
    for t in times:
        price = "paper (the portfolio's prices)" if t.paper else _hhmm(t.priced)
        lines.append(f"{t.account}: rec {_hhmm(t.reconciled)} · px {price}")
    return text, oldest_rec is None or missing_px, "\n".join(lines)


class DeskHeader(Widget):
    """One line that says where the desk points and whether money can move."""

    class HeldClicked(Message):
        """The operator clicked "N held": show the held orders."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "desk-header--title",
        "desk-header--state",
        "desk-header--paper",
        "desk-header--live",
        "desk-header--readonly",
        "desk-header--ok",
        "desk-header--warn",
        "desk-header--fail",
    }
    DEFAULT_CSS = """
    DeskHeader {
        height: 1;
        dock: top;
        background: $panel;
    }
    DeskHeader > .desk-header--title {
        text-style: bold;
        color: $accent;
    }
    DeskHeader > .desk-header--state {
        color: $text-muted;
    }
    DeskHeader > .desk-header--paper {
        background: $success-darken-2;
        color: $text;
        text-style: bold;
    }
    DeskHeader > .desk-header--live {
        background: red;
        color: white;
        text-style: bold reverse;
    }
    DeskHeader > .desk-header--readonly {
        background: $warning-darken-2;
        color: $text;
        text-style: bold;
    }
    DeskHeader > .desk-header--warn {
        color: $warning;
    }
    DeskHeader > .desk-header--fail {
        color: $error;
        text-style: bold;
    }
    """

    def __init__(self, state_dir: str, *, live: bool, read_only: bool) -> None:
        super().__init__(id="header")
        self.state_dir = state_dir
        self.live = live
        self.read_only = read_only
        self.clock_text = ""
        self.executor_text = ""
        self.executor_level = "ok"
        self.times_text = ""
        self.times_level = "ok"
        self.changes_text = ""
        """How the desk follows other processes' changes, when not by watching the files
        ("following", "changes: server out of reach")."""
        self.changes_level = "ok"
        self.workers_text = ""
        """The executor workers of the directory (`executor --worker`), when a server is set."""
        self.workers_level = "ok"
        self.held = 0
        """Approved orders the executor holds (`core.risk.hold_reason`)."""
        self._held_span: tuple[int, int] | None = None
        """Where "N held" was drawn (cells), for a click."""

    @property
    def mode_text(self) -> str:
        return "LIVE" if self.live else "PAPER"

    def set_clock(self, now: datetime) -> None:
        self.clock_text = now.strftime("%Y-%m-%d %H:%M:%S UTC")
        self.refresh()

    def set_executor(self, text: str, level: str = "ok") -> None:
        self.executor_text = text
        self.executor_level = level
        self.refresh()

    def set_broker_times(
        self,
        times: Sequence[AccountTimes],
        now: datetime,
        *,
        reconcile_every: timedelta = timedelta(minutes=5),
        price_every: timedelta = timedelta(minutes=1),
    ) -> None:
        """When each account was last reconciled and priced: the oldest here, each one in
        the tooltip; warning colour when one is missing or older than `STALE_PERIODS` of
        its period (the executor's reconcile and price intervals)."""
        text, missing, tip = times_text(times)
        late = [
            now - t.reconciled > reconcile_every * STALE_PERIODS
            for t in times
            if t.reconciled is not None
        ] + [
            now - t.priced > price_every * STALE_PERIODS
            for t in times
            if t.priced is not None and not t.paper
        ]
        stale = missing or any(late)
        level = "warn" if stale else "ok"
        if (text, level) != (self.times_text, self.times_level):
            self.times_text, self.times_level = text, level
            self.refresh()
        self.tooltip = tip or None

    def set_changes(self, text: str, level: str = "ok") -> None:
        if (text, level) != (self.changes_text, self.changes_level):
            self.changes_text, self.changes_level = text, level
            self.refresh()

    def set_workers(self, text: str, level: str = "ok") -> None:
        if (text, level) != (self.workers_text, self.workers_level):
            self.workers_text, self.workers_level = text, level
            self.refresh()

    def set_held(self, count: int) -> None:
        if count != self.held:
            self.held = count
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        span = self._held_span
        if span is not None and span[0] <= event.x < span[1]:
            event.stop()
            self.post_message(self.HeldClicked())

    def render(self) -> Text:
        style = self.get_component_rich_style
        right: list[tuple[str, Style]] = [
            (
                f" {self.mode_text} ",
                style("desk-header--live" if self.live else "desk-header--paper"),
            )
        ]
        if self.read_only:
            right.append((" READ-ONLY ", style("desk-header--readonly")))
        held = f" {self.held} held " if self.held else ""
        if held:
            right.append((held, style("desk-header--warn")))
        if self.executor_text:
            right.append((f" {self.executor_text} ", style(f"desk-header--{self.executor_level}")))
        if self.times_text:
            level = "desk-header--warn" if self.times_level == "warn" else "desk-header--state"
            right.append((f" {self.times_text} ", style(level)))
        if self.changes_text:
            level = "desk-header--state" if self.changes_level == "ok" else "desk-header--fail"
            right.append((f" {self.changes_text} ", style(level)))
        if self.workers_text:
            level = "desk-header--state" if self.workers_level == "ok" else "desk-header--warn"
            right.append((f" {self.workers_text} ", style(level)))
        right.append((f" {self.clock_text} ", Style()))
        title = (" VANTA desk ", style("desk-header--title"))
        room = self.size.width - cell_len(title[0]) - sum(cell_len(t) + 1 for t, _ in right)
        state = f" {self.state_dir}"
        if cell_len(state) > room:
            state = set_cell_size(state, max(room - 1, 0)) + ("…" if room > 1 else "")
        line = Text.assemble(
            title, (set_cell_size(state, max(room, 0)), style("desk-header--state"))
        )
        self._held_span = None
        for text, text_style in right:
            line.append(" ")
            if held and text == held and self._held_span is None:
                self._held_span = (line.cell_len, line.cell_len + cell_len(text))
            line.append(text, text_style)
        return line
