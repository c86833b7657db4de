"""`#pnl`: the selected vault's NAV, PnL, fees, high-water mark, drawdown and NAV history.

One widget that draws its banner, figures, chart (with its axis) and date range itself.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import ClassVar

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from vanta_tui.core.enums import FeePeriod
from vanta_tui.core.fees import label_through
from vanta_tui.core.models import VaultPnl
from vanta_tui.store.errors import Problem
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, pct
from vanta_tui.ui.panes.base import PaneState

FIGURE_LINES = 3
MIN_CHART_LINES = 2


class PnlPane(Widget, can_focus=True):
    TITLE = "PnL"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pnl--problem",
        "pnl--muted",
        "pnl--chart-low",
        "pnl--chart-high",
    }
    DEFAULT_CSS = """
    PnlPane {
        background: $surface;
    }
    PnlPane > .pnl--problem {
        background: $error 30%;
        color: $text;
    }
    PnlPane > .pnl--muted {
        color: $text-muted;
    }
    PnlPane > .pnl--chart-low {
        color: $primary 40%;
    }
    PnlPane > .pnl--chart-high {
        color: $primary;
    }
    """

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, classes="pane")
        self.border_title = self.TITLE
        self.pane = PaneState(self)
        self.figures_text = ""
        """The figures as plain text (what the operator reads first)."""
        self._figures = Text("")
        self._history: list[float] = []
        self._range = ""
        self._axis = ("", "")
        self._follower_lines: list[tuple[Text, str]] = []
        """Each follower's line and the fee period after it."""
        self._fees_period = ""
        """``through 2026-10`` (the vault's), shown in the bottom border."""
        self._lines: tuple[tuple[int, int, str], list[Strip]] | None = None

    @property
    def banner_text(self) -> str:
        return self.pane.banner

    def show_problems(self, problems: Sequence[Problem], *, stale: bool) -> None:
        if self.pane.show_problems(problems, stale=stale):
            self.refresh_drawing()

    def set_info(self, text: str) -> None:
        self.pane.set_info(text)

    def show_loading(self, text: str | None) -> None:
        """A line in place of the figures while the first load runs (None: gone)."""
        if self.pane.show_loading(text):
            self.refresh_drawing()

    def show(self, state: StateSnapshot, vault_id: str | None) -> None:
        pnl = state.pnl.vaults.get(vault_id) if state.pnl and vault_id else None
        vault = state.vaults.get(vault_id) if state.vaults and vault_id else None
        self._fees_period = ""
        if pnl is None:
            self._figures = Text("no PnL for this vault")
            self._history, self._range, self._axis = [], "", ("", "")
        else:
            self.border_title = f"PnL · {vault_id}"
            max_dd = vault.risk.max_drawdown if vault else None
            near = max_dd is not None and pnl.drawdown >= max_dd * 3 / 4
            self._figures = Text.assemble(
                "NAV ", (money(pnl.nav), "bold"), f"  HWM {money(pnl.high_water_mark)}\n",
                "drawdown ", (pct(pnl.drawdown), "bold red" if near else ""),
                f" of max {pct(max_dd, 0)}  fees {money(pnl.fees_accrued)}\n",
                "realized ", (money(pnl.realized), "green" if pnl.realized >= 0 else "red"),
                "  unrealized ", (money(pnl.unrealized), "green" if pnl.unrealized >= 0 else "red"),
            )  # fmt: skip
            self._fees_period = fees_period(pnl, vault.mirroring.fee.period if vault else None)
            self._history = [float(v) for _, v in pnl.nav_history]
            if self._history:
                values = self._history
                first, last = pnl.nav_history[0][0], pnl.nav_history[-1][0]
                change = (values[-1] / values[0] - 1) if values[0] else 0.0
                self._axis = (f"{max(values):,.0f}", f"{min(values):,.0f}")
                self._range = (
                    f"{first:%Y-%m-%d} → {last:%Y-%m-%d} · {len(values)} points · {change:+.2%}"
                )
            else:
                self._range, self._axis = "no NAV history", ("", "")
        self._follower_lines = []
        registry = state.followers
        for follower in registry.followers if registry and vault_id else []:
            if follower.vault_id != vault_id:
                continue
            own = state.pnl.vaults.get(follower.follower_id) if state.pnl else None
            if own is None:
                continue
            line = Text.assemble(
                (f"↳ {follower.follower_id} ", "bold"),
                f"{money(own.nav)} · realized ",
                (money(own.realized), "green" if own.realized >= 0 else "red"),
                f" · fees {money(own.fees_accrued)}",
            )
            period = follower.fee_model.period or (vault.mirroring.fee.period if vault else None)
            through = fees_period(own, period)
            self._follower_lines.append((line, f" ({through})" if through else ""))
        self.figures_text = "\n".join(
            [self._figures.plain, *(line.plain for line, _ in self._follower_lines)]
        )
        # The vault's fee period in the bottom border: the figures lines are full at the
        # desk's usual width, and the border costs the chart no row.
        self.pane.set_info(f"fees {self._fees_period}" if self._fees_period else "")
        self.refresh_drawing()

    def wanted_size(self, width: int) -> tuple[int, int]:
        """(columns for the vault's figures, lines for the banner, the figures, the
        followers and the smallest chart), inside the border. The followers' lines and the
        chart take what is left."""
        figures = max((line.cell_len for line in self._figures.split("\n")), default=0) + 2
        banner = len(textwrap.wrap(self.pane.banner, max(width - 2, 10))[:3])
        rows = banner + FIGURE_LINES + len(self._follower_lines) + MIN_CHART_LINES + 1
        return figures, rows

    def render_line(self, y: int) -> Strip:
        key = (self.size.width, self.size.height, self.app.theme)
        if self._lines is None or self._lines[0] != key:
            self._lines = (key, self._draw(self.size.width, self.size.height))
        lines = self._lines[1]
        return lines[y] if y < len(lines) else Strip.blank(self.size.width, self.rich_style)

    def refresh_drawing(self) -> None:
        self._lines = None
        self.refresh()

    def _draw(self, width: int, height: int) -> list[Strip]:
        """The pane's lines: banner, figures, chart with its axis, date range."""
        base = self.rich_style
        out: list[Strip] = []

        console = self.app.console

        def text_line(text: Text) -> None:
            segments = [Segment(" ", base)]
            for segment in text.render(console):
                style = base + segment.style if segment.style else base
                segments.append(Segment(segment.text, style))
            out.append(Strip(segments).adjust_cell_length(width, base).crop(0, width))

        banner = self.pane.banner
        if banner:
            style = base + self.get_component_rich_style("pnl--problem")
            for wrapped in textwrap.wrap(banner, max(width - 2, 10))[:3]:
                text_line(Text(wrapped.ljust(width), style=style))
        muted = base + self.get_component_rich_style("pnl--muted")
        if self.pane.loading:  # nothing to chart yet
            text_line(Text(self.pane.loading, style=muted))
            return out

        def with_period(line: Text, period: str) -> Text:
            # A follower's fee period follows its fees where the pane is wide enough (the
            # line is full at the desk's usual width; better left out than cut in two).
            if period and line.cell_len + len(period) <= width - 1:
                return Text.assemble(line, (period, muted))
            return line

        for figures in self._figures.split("\n"):
            text_line(figures)
        # The followers' PnL and fees under the vault's, as far as there is room (the chart
        # keeps at least its minimum height; where it has no room at all, they take it).
        room = height - len(out) - 1 - MIN_CHART_LINES
        if room < 0:
            room = height - len(out)
        for line, period in self._follower_lines[: max(room, 0)]:
            text_line(with_period(line, period))
        chart_lines = height - len(out) - 1
        if chart_lines >= MIN_CHART_LINES:
            high, low = self._axis
            axis_width = max(len(high), len(low))
            labels = [high, *[""] * (chart_lines - 2), low]
            rows = spark_rows(
                self._history,
                max(width - axis_width - 3, 1),
                chart_lines,
                self.get_component_rich_style("pnl--chart-low").color,
                self.get_component_rich_style("pnl--chart-high").color,
            )
            for label, row in zip(labels, rows, strict=True):
                segments = [Segment(" " + label.rjust(axis_width) + " ", muted)]
                segments.extend(Segment(char, base + style) for char, style in row)
                out.append(Strip(segments).adjust_cell_length(width, base).crop(0, width))
            text_line(Text(self._range, style=muted))
        return out


def fees_period(pnl: VaultPnl, period: FeePeriod | None) -> str:
    """``through 2026-10``: the last fee period ``fees_accrued`` includes; empty when none
    was charged yet."""
    if pnl.fees_through is None:
        return ""
    return f"through {label_through(pnl.fees_through, period or FeePeriod.MONTHLY)}"


BARS = "▁▂▃▄▅▆▇█"


def spark_rows(
    values: Sequence[float],
    width: int,
    height: int,
    low: RichColor | None,
    high: RichColor | None,
) -> list[list[tuple[str, Style]]]:
    """A sparkline ``height`` lines tall and ``width`` cells wide: each cell is the highest
    value of its share of the data, coloured from ``low`` (the minimum) to ``high``."""
    rows: list[list[tuple[str, Style]]] = [[] for _ in range(height)]
    if not values:
        for row in rows:
            row.extend((" ", Style()) for _ in range(width))
        rows[-1] = [("▁", Style(color=low)) for _ in range(width)]
        return rows
    count = len(values)
    buckets = [
        max(values[i * count // width : max((i + 1) * count // width, i * count // width + 1)])
        for i in range(width)
    ]
    lowest, highest = min(values), max(values)
    extent = (highest - lowest) or 1.0
    levels = len(BARS) * height - 1
    start = (low or RichColor.from_rgb(128, 128, 128)).get_truecolor()
    end = (high or RichColor.from_rgb(128, 128, 128)).get_truecolor()
    for value in buckets:
        share = (value - lowest) / extent
        level = round(share * levels)
        color = RichColor.from_rgb(*(a + (b - a) * share for a, b in zip(start, end, strict=True)))
        style = Style(color=color)
        for line in range(height):
            filled = level - (height - 1 - line) * len(BARS)
            if filled >= len(BARS):
                rows[line].append(("█", style))
            elif filled >= 0:
                rows[line].append((BARS[filled], style))
            else:
                rows[line].append((" ", style))
    return rows
