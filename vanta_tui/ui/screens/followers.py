"""`w`: the followers of every vault: mode, scale, cap, equity, kill switch, last child
order, PnL and fees. `k` switches the kill switch of the one under the cursor (confirmed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from vanta_tui.core.models import Order
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, qty
from vanta_tui.ui.table import Cell, KeyedTable


def follower_rows(state: StateSnapshot) -> dict[str, list[Cell]]:
    """One row per follower, from the state as the desk holds it."""
    registry = state.followers
    if registry is None:
        return {}
    last_child: dict[str, Order] = {}
    for order in state.queue.orders if state.queue else []:
        fid = order.follower_id
        if fid and (fid not in last_child or order.created_at >= last_child[fid].created_at):
            last_child[fid] = order
    rows: dict[str, list[Cell]] = {}
    for f in registry.followers:
        pnl = state.pnl.vaults.get(f.follower_id) if state.pnl else None
        child = last_child.get(f.follower_id)
        child_text = (
            f"{child.side.value} {qty(child.qty)} {child.symbol} · {child.status.value}"
            if child
            else "—"
        )
        realized = pnl.realized if pnl else None
        rows[f.follower_id] = [
            Cell(f.follower_id, "bold"),
            Cell(f.vault_id),
            Cell(f.mode.value, "dim" if f.mode.value == "shadow" else ""),
            Cell(str(f.scale), sort_key=f.scale),
            Cell(money(f.max_pos_usd, 0), sort_key=f.max_pos_usd),
            Cell(money(f.equity, 0), sort_key=f.equity),
            Cell("ON" if f.kill_switch else "off", "bold white on red" if f.kill_switch else "dim"),
            Cell(child_text),
            Cell(money(pnl.nav) if pnl else "—", sort_key=pnl.nav if pnl else None),
            Cell(
                money(realized) if realized is not None else "—",
                "green" if realized and realized > 0 else ("red" if realized else ""),
                sort_key=realized,
            ),
            Cell(
                money(pnl.fees_accrued) if pnl else "—", sort_key=pnl.fees_accrued if pnl else None
            ),
        ]
    return rows


class FollowersScreen(ModalScreen[None]):
    CSS_PATH = "screens.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "kill_switch", "Kill switch", id="follower_kill_switch"),
        Binding("escape,q,w", "close", "Close", id="followers_close"),
    ]

    def __init__(
        self, state: StateSnapshot, on_kill_switch: Callable[[str], None], read_only: bool
    ) -> None:
        super().__init__(classes="modal")
        self.state = state
        self.on_kill_switch = on_kill_switch
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-body", id="followers-body"):
            yield Label("Followers", classes="modal-title")
            yield KeyedTable(
                [
                    ("follower", "Follower"),
                    ("vault", "Vault"),
                    ("mode", "Mode"),
                    ("scale", "Scale"),
                    ("cap", "Max pos"),
                    ("equity", "Equity"),
                    ("kill", "Kill"),
                    ("last", "Last child order"),
                    ("nav", "NAV"),
                    ("realized", "Realized"),
                    ("fees", "Fees"),
                ],
                id="followers-table",
            )
            yield Label("k kill switch on/off (confirmed) · Esc close")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#followers-table", KeyedTable)

    def on_mount(self) -> None:
        self.show(self.state)
        self.table.focus()

    def show(self, state: StateSnapshot) -> None:
        """Show ``state`` now if the table is there, else keep it: a load can arrive after
        the screen is pushed and before its table exists (`on_mount` shows it then), or
        while the desk is closing and the table is already gone."""
        self.state = state
        for table in self.query("#followers-table").results(KeyedTable):
            table.sync(follower_rows(state))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action == "kill_switch")

    def action_kill_switch(self) -> None:
        key = self.table.cursor_key
        if key is not None:
            self.on_kill_switch(key)

    def action_close(self) -> None:
        self.dismiss(None)
