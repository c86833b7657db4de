"""`#positions`: the selected vault's positions against their effective targets (drift)."""

from __future__ import annotations

from datetime import datetime

from vanta_tui.core.models import VaultOverlay
from vanta_tui.core.positions import account_of, is_stale, position_rows, vault_targets
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, pct, price, qty, stamp
from vanta_tui.ui.panes.base import Pane
from vanta_tui.ui.table import Cell


class PositionsPane(Pane):
    TITLE = "Positions vs targets"

    def __init__(self, *, id: str) -> None:
        super().__init__(
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
            id=id,
            copy_what="symbol",
        )
        self.stale_warning = ""
        """The warning shown when the portfolio or allocation is older than 24 h ("" if not)."""

    def extra_notices(self) -> list[tuple[str, str]]:
        return [(self.stale_warning, "warning")] if self.stale_warning else []

    def show(self, state: StateSnapshot, now: datetime, vault_id: str | None) -> None:
        vaults = state.vaults
        vault = vaults.get(vault_id) if vaults and vault_id else None
        portfolio = state.portfolio
        if vault is None or vaults is None:
            self.sync({})
            self._warn("")
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
        self.sync(cells)
        stale_files = []
        if portfolio is not None and is_stale(portfolio.asof, now):
            stale_files.append(f"portfolio.json asof {stamp(portfolio.asof)}")
        if state.allocation is not None and is_stale(state.allocation.asof, now):
            stale_files.append(f"vault_allocation.json asof {stamp(state.allocation.asof)}")
        self._warn(
            "⚠ STALE: " + "; ".join(stale_files) + " — older than 24 h, drift cannot be trusted"
            if stale_files
            else ""
        )

    def _warn(self, text: str) -> None:
        self.set_class(bool(text), "-old")
        if text != self.stale_warning:
            self.stale_warning = text
            self.update_notices()
