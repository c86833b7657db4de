"""`#vaults`: every vault with its status, equity, NAV, drawdown, followers and venues."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from vanta_tui.core.fills import nav_of
from vanta_tui.core.positions import VaultStatus, account_of, vault_status
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, pct
from vanta_tui.ui.panes.base import Pane
from vanta_tui.ui.table import Cell, KeyedTable

STATUS_STYLE = {
    VaultStatus.ACTIVE: "green",
    VaultStatus.MAINTENANCE: "bold yellow",
    VaultStatus.TRIPPED: "bold white on red",
}


class VaultsPane(Pane):
    TITLE = "Vaults"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_vault", "Focus vault", id="select_vault"),
    ]

    class VaultSelected(Message):
        """The operator moved to a vault; the other panes follow it."""

        def __init__(self, vault_id: str) -> None:
            super().__init__()
            self.vault_id = vault_id

    def __init__(self, *, id: str) -> None:
        super().__init__(
            [
                ("vault", "Vault"),
                ("label", "Label"),
                ("status", "Status"),
                ("equity", "Equity"),
                ("nav", "NAV"),
                ("drawdown", "Drawdown / max"),
                ("followers", "Foll."),
                ("venues", "Venues"),
            ],
            id=id,
            copy_what="vault id",
        )

    def show(self, state: StateSnapshot) -> None:
        vaults = state.vaults
        if vaults is None:
            return
        followers = Counter(
            f.vault_id for f in (state.followers.followers if state.followers else [])
        )
        rows: dict[str, list[Cell]] = {}
        for vault in vaults.vaults:
            status = vault_status(vault, state.overlays, state.pnl)
            account = account_of(state.portfolio, vault.vault_id)
            pnl = state.pnl.vaults.get(vault.vault_id) if state.pnl else None
            equity = nav_of(account) if account else None
            drawdown = pnl.drawdown if pnl else None
            near = drawdown is not None and drawdown >= vault.risk.max_drawdown * 3 / 4
            venues = " ".join(f"{cls.value}:{venue.adapter}" for cls, venue in vault.venues.items())
            rows[vault.vault_id] = [
                Cell(vault.vault_id, "bold"),
                Cell(vault.label),
                Cell(status.value, STATUS_STYLE[status]),
                Cell(money(equity), sort_key=equity),
                Cell(money(pnl.nav if pnl else None), sort_key=pnl.nav if pnl else None),
                Cell(
                    f"{pct(drawdown)} / {pct(vault.risk.max_drawdown, 0)}",
                    "bold red" if near else "",
                    sort_key=drawdown,
                ),
                Cell(str(followers.get(vault.vault_id, 0)), sort_key=followers[vault.vault_id]),
                Cell(venues or "—"),
            ]
        self.sync(rows)

    @property
    def selected(self) -> str | None:
        return self.cursor_key

    def on_keyed_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.VaultSelected(event.key))

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.VaultSelected(event.key))

    def action_select_vault(self) -> None:
        if self.selected is not None:
            self.post_message(self.VaultSelected(self.selected))
