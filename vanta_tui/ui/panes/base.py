"""What every pane has: a title, a banner for file problems, a stale mark, and the sign that
the first load is still running.

A pane is one widget (a table, or the PnL view): the banner and other notices are lines the
widget draws itself, not child widgets. Textual's cost of a layout grows with the number of
widgets, and the desk's first paint is measured against an app with a single table
(`bench/desk.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from textual.widget import Widget

from vanta_tui.core.alarms import Alarm, Level, worst
from vanta_tui.store.errors import Problem
from vanta_tui.ui.table import KeyedTable


def problem_text(problems: Sequence[Problem], *, stale: bool) -> str:
    """The banner: the first problem (file, place, reason), how many more, and whether the
    pane shows the last good data."""
    first = problems[0]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    note = " — showing the last good data" if stale else ""
    return f"⚠ {first}{more}{note}"


class PaneState:
    """The part every pane shares: problems, the stale mark, and the bottom-border note."""

    def __init__(self, widget: Widget) -> None:
        self.widget = widget
        self.banner = ""
        self.info = ""
        self.badge = ""
        self.loading = ""
        """The sign shown while the first load of a large state runs ("" once shown)."""

    def show_problems(self, problems: Sequence[Problem], *, stale: bool) -> bool:
        """Returns whether the banner text changed."""
        banner = problem_text(problems, stale=stale) if problems else ""
        changed = banner != self.banner
        self.banner = banner
        self.widget.set_class(bool(problems), "-problem")
        self.widget.set_class(stale, "-stale")
        self._show_subtitle()
        return changed

    def set_info(self, text: str) -> None:
        self.info = text
        self._show_subtitle()

    def show_loading(self, text: str | None) -> bool:
        """The loading sign (None: the state is shown); returns whether it changed."""
        loading = text or ""
        changed = loading != self.loading
        self.loading = loading
        return changed

    def set_badge(self, alarms: Sequence[Alarm]) -> None:
        """The pane's alarms, as a coloured mark in its bottom border (`S` lists them)."""
        if not alarms:
            badge = ""
        else:
            level = worst(a.level for a in alarms)
            style = "bold white on red" if level is Level.FAIL else "bold black on yellow"
            badge = f"[{style}] ⚠ {len(alarms)} {level.value} [/]"
        if badge != self.badge:
            self.badge = badge
            self.widget.set_class(bool(alarms), "-alarm")
            self._show_subtitle()

    def _show_subtitle(self) -> None:
        parts = (
            ([self.badge] if self.badge else [])
            + (["STALE"] if self.widget.has_class("-stale") else [])
            + ([escape(self.info)] if self.info else [])
        )
        self.widget.border_subtitle = " · ".join(parts)


class Pane(KeyedTable):
    """A bordered table pane; `show_problems` puts a banner on it naming the file and the error."""

    TITLE = ""

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str, **kwargs: Any) -> None:
        super().__init__(columns, id=id, classes="pane", **kwargs)
        self.border_title = self.TITLE
        self.pane = PaneState(self)

    @property
    def banner_text(self) -> str:
        """The problem banner shown on the pane ("" when none)."""
        return self.pane.banner

    def show_problems(self, problems: Sequence[Problem], *, stale: bool) -> None:
        """Show (or clear) the banner; ``stale`` marks the data as the last good copy."""
        if self.pane.show_problems(problems, stale=stale):
            self.update_notices()

    def set_info(self, text: str) -> None:
        """The pane's own note in its bottom border (counts, sort...)."""
        self.pane.set_info(text)

    def show_loading(self, text: str | None) -> None:
        """A line above the (still empty) table while the first load runs (None: gone)."""
        if self.pane.show_loading(text):
            self.update_notices()

    def extra_notices(self) -> list[tuple[str, str]]:
        """Notices of the pane itself (stale warning, filter prompt), under the banner."""
        return []

    def update_notices(self) -> None:
        banner = [(self.pane.banner, "problem")] if self.pane.banner else []
        loading = [(self.pane.loading, "prompt")] if self.pane.loading else []
        self.set_notices(banner + loading + self.extra_notices())


def share_cells(total: int, needs: Sequence[int], floors: Sequence[int]) -> list[int]:
    """``total`` cells (rows or columns) shared between panes by what each has to show.

    All needs fit: each pane gets its need, the last one the rest (the PnL pane's chart
    grows with it). Otherwise each first gets its floor (what it must not lose: the PnL
    pane's figures, the first columns of a table), then what is left goes to the panes that
    still need more, the smallest need first (a pane that needs less than an even share
    gets all of it, the others split the rest). Floors that do not fit are shared in
    proportion."""
    count = len(needs)
    total = max(total, 0)
    floors = [min(f, n) for f, n in zip(floors, needs, strict=True)]
    if sum(needs) <= total:
        out = list(needs)
        out[-1] += total - sum(needs)
        return out
    if sum(floors) >= total:
        weight = sum(floors) or count
        out = [total * (f or 1) // weight for f in floors]
        out[-1] += total - sum(out)
        return out
    out = list(floors)
    left = total - sum(floors)
    wanting = sorted(range(count), key=lambda i: needs[i] - floors[i])
    for place, index in enumerate(wanting):
        even = left // (count - place)
        given = min(needs[index] - floors[index], even)
        out[index] += given
        left -= given
    out[wanting[-1]] += left
    return out
