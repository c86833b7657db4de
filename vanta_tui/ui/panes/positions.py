"""`#positions`: the selected vault's positions against their effective targets (drift)."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.widgets import Static

from vanta_tui.core.models import VaultOverlay
from vanta_tui.core.positions import account_of, is_stale, position_rows, vault_targets
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, pct, price, qty, stamp
from vanta_tui.ui.panes.base import Pane
from vanta_tui.ui.table import Cell, KeyedTable


class PositionsPane(Pane):
    TITLE = "Positions vs targets"

    def compose(self) -> ComposeResult:
        yield self.banner
        yield Static("", id="positions-stale", markup=False)
        yield KeyedTable(
            [
                ("symbol", "Symbol"),
                ("qty", "Qty"),
                ("last", "Last"),
                ("value", "Value"),
                ("weight", "Weight"),
                ("target", "Target"),
                ("drift", "Drift"),
                ("mark", ""),
            ],
            id="positions-table",
        )

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def show(self, state: StateSnapshot, now: datetime, vault_id: str | None) -> None:
        vaults = state.vaults
        vault = vaults.get(vault_id) if vaults and vault_id else None
        warning = self.query_one("#positions-stale", Static)
        portfolio = state.portfolio
        if vault is None or vaults is None:
            self.table.sync({})
            warning.display = False
            return
        self.border_title = f"Positions vs targets · {vault.vault_id}"
        overlay = state.overlays.for_vault(vault.vault_id) if state.overlays else None
        rows = position_rows(
            vault,
            overlay or VaultOverlay(),
            account_of(portfolio, vault.vault_id),
            vault_targets(state.allocation, vault.vault_id),
            vaults.defaults.drift_tolerance,
        )
        cells: dict[str, list[Cell]] = {}
        for row in rows:
            cells[row.symbol] = [
                Cell(row.symbol, "bold"),
                Cell(qty(row.qty) if row.qty else "—", sort_key=row.qty),
                Cell(price(row.last_price), sort_key=row.last_price or 0),
                Cell(money(row.value, 0), sort_key=row.value),
                Cell(pct(row.weight), sort_key=row.weight),
                Cell(pct(row.target) if row.target is not None else "no target",
                     "" if row.target is not None else "dim italic"),
                Cell(pct(row.drift, signed=True), "bold red" if row.drifted else "",
                     sort_key=row.drift),
                Cell("◆ DRIFT" if row.drifted else "", "bold red"),
            ]  # fmt: skip
        self.table.sync(cells)
        stale_files = []
        if portfolio is not None and is_stale(portfolio.asof, now):
            stale_files.append(f"portfolio.json asof {stamp(portfolio.asof)}")
        if state.allocation is not None and is_stale(state.allocation.asof, now):
            stale_files.append(f"vault_allocation.json asof {stamp(state.allocation.asof)}")
        if stale_files:
            warning.update(
                "⚠ STALE: " + "; ".join(stale_files) + " — older than 24 h, drift cannot be trusted"
            )
        warning.display = bool(stale_files)
        self.set_class(bool(stale_files), "-old")
