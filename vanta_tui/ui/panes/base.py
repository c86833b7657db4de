"""What every pane has: a title, a banner for file problems, and a stale mark."""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import Vertical
from textual.widgets import Static

from vanta_tui.store.errors import Problem


class Pane(Vertical):
    """A bordered pane; `show_problems` puts a banner on it naming the file and the error."""

    DEFAULT_CSS = """
    Pane > .banner {
        display: none;
        background: $error 30%;
        color: $text;
        padding: 0 1;
        height: auto;
        max-height: 4;
    }
    Pane.-problem > .banner {
        display: block;
    }
    Pane.-stale {
        border: round $warning;
    }
    """

    TITLE = ""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.border_title = self.TITLE
        self.banner = Static("", classes="banner", markup=False)
        self._info = ""

    def show_problems(self, problems: Sequence[Problem], *, stale: bool) -> None:
        """Show (or clear) the banner; ``stale`` marks the data as the last good copy."""
        if problems:
            first = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            note = " — showing the last good data" if stale else ""
            self.banner.update(f"⚠ {first}{more}{note}")
        self.set_class(bool(problems), "-problem")
        self.set_class(stale, "-stale")
        self._show_subtitle()

    def set_info(self, text: str) -> None:
        """The pane's own note in its bottom border (counts, sort...)."""
        self._info = text
        self._show_subtitle()

    def _show_subtitle(self) -> None:
        parts = (["STALE"] if self.has_class("-stale") else []) + (
            [self._info] if self._info else []
        )
        self.border_subtitle = " · ".join(parts)
