"""`#pnl`: the selected vault's NAV, PnL, fees, high-water mark, drawdown and NAV history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, pct
from vanta_tui.ui.panes.base import Pane


class PnlPane(Pane):
    TITLE = "PnL"

    def compose(self) -> ComposeResult:
        yield self.banner
        yield Static("", id="pnl-figures")
        with Horizontal(id="pnl-chart-row"):
            yield Static("", id="pnl-axis", markup=False)
            yield Sparkline([], id="pnl-chart")
        yield Static("", id="pnl-range", markup=False)

    def show(self, state: StateSnapshot, vault_id: str | None) -> None:
        figures = self.query_one("#pnl-figures", Static)
        pnl = state.pnl.vaults.get(vault_id) if state.pnl and vault_id else None
        vault = state.vaults.get(vault_id) if state.vaults and vault_id else None
        if pnl is None:
            figures.update("no PnL for this vault")
            self.query_one(Sparkline).data = []
            return
        self.border_title = f"PnL · {vault_id}"
        max_dd = vault.risk.max_drawdown if vault else None
        dd_style = "bold red" if max_dd is not None and pnl.drawdown >= max_dd * 3 / 4 else ""
        realized_style = "green" if pnl.realized >= 0 else "red"
        unrealized_style = "green" if pnl.unrealized >= 0 else "red"
        figures.update(
            f"NAV [b]{money(pnl.nav)}[/b]  HWM {money(pnl.high_water_mark)}\n"
            f"drawdown [{dd_style or 'default'}]{pct(pnl.drawdown)}[/] of max {pct(max_dd, 0)}"
            f"  fees {money(pnl.fees_accrued)}\n"
            f"realized [{realized_style}]{money(pnl.realized)}[/]  "
            f"unrealized [{unrealized_style}]{money(pnl.unrealized)}[/]"
        )
        values = [float(v) for _, v in pnl.nav_history]
        self.query_one(Sparkline).data = values
        axis = self.query_one("#pnl-axis", Static)
        span = self.query_one("#pnl-range", Static)
        if values:
            axis.update(f"{max(values):,.0f}\n\n{min(values):,.0f}")
            first, last = pnl.nav_history[0][0], pnl.nav_history[-1][0]
            change = (values[-1] / values[0] - 1) if values[0] else 0.0
            span.update(
                f"NAV {first:%Y-%m-%d} → {last:%Y-%m-%d} ({len(values)} points, {change:+.2%})"
            )
        else:
            axis.update("")
            span.update("no NAV history")
