"""`B`: every fill, newest first (time, account, symbol, side, qty, price, notional, the
broker's fee or "—" when it did not say, and the link between a vault order and its follower
copies), and the fills added up per symbol. `Enter` on a fill opens its order; `v` switches
between every vault and the selected one."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label

from vanta_tui.actions.activity import Blotter, Fill, SymbolTotal
from vanta_tui.ui.format import money, price, qty
from vanta_tui.ui.screens.activity import (
    DayScreen,
    IdTable,
    NumberColumns,
    fee_text,
    signed_money,
    signed_qty,
)
from vanta_tui.ui.table import Cell, KeyedTable

if TYPE_CHECKING:
    from vanta_tui.desk import Desk

FILL_COLUMNS = [
    ("time", "Time"),
    ("account", "Account"),
    ("symbol", "Symbol"),
    ("side", "Side"),
    ("qty", "Qty"),
    ("price", "Price"),
    ("notional", "Notional"),
    ("fee", "Fee"),
    ("link", "Parent / copies"),
]
TOTAL_COLUMNS = [
    ("symbol", "Symbol"),
    ("fills", "Fills"),
    ("bought", "Bought"),
    ("sold", "Sold"),
    ("net", "Net"),
    ("bought_value", "Bought value"),
    ("sold_value", "Sold value"),
    ("fees", "Fees"),
    ("realized", "Realized"),
]


def link_text(fill: Fill, copies: int) -> str:
    """A follower copy names its vault order (the last 8 characters, as the desk shows ids);
    a vault order says how many of the fills are its copies."""
    if fill.parent_id:
        return f"↳ {fill.parent_id[-8:]}"
    if copies:
        return f"⇉ {copies} cop{'y' if copies == 1 else 'ies'}"
    return ""


def total_fees(total: SymbolTotal) -> str:
    """The fees added up; "+?" when some broker did not say, "—" when none did."""
    if total.fees_unknown >= total.fills:
        return "—"
    return fee_text(total.fees) + ("+?" if total.fees_unknown else "")


class BlotterScreen(DayScreen):
    """The fills blotter and its totals per symbol."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "toggle_vault", "All / selected vault", id="blotter_vault"),
        Binding("escape,q", "close", "Close", id="blotter_close"),
    ]

    class OrderOpened(Message):
        """The operator pressed Enter on a fill of this order (the whole id)."""

        def __init__(self, order_id: str) -> None:
            super().__init__()
            self.order_id = order_id

    def __init__(
        self, desk: Desk, vault_id: str | None = None, *, selected_vault: str | None = None
    ) -> None:
        """``vault_id``: the vault whose fills (its followers' included) to show first, None
        for all; ``selected_vault``: the one `v` switches to (default ``vault_id``)."""
        super().__init__(id="blotter")
        self.desk = desk
        self.vault_id = vault_id
        self.selected_vault = selected_vault or vault_id
        self.blotter: Blotter | None = None
        """The fills on screen (None: not read yet)."""
        self.shown_vault: str | None = None
        self.seen_seq = -1
        """The journal's newest seq when it was last read."""
        self._fills: dict[str, Fill] = {}
        self._fill_numbers = NumberColumns(FILL_COLUMNS, range(4, 8))
        self._total_numbers = NumberColumns(TOTAL_COLUMNS, range(1, 9))

    def compose(self) -> ComposeResult:
        yield Label("Fills", classes="day-title", id="blotter-title")
        yield IdTable(FILL_COLUMNS, copy_of=self.order_of, id="blotter-fills")
        yield Label("Totals per symbol", classes="day-section", id="blotter-totals-title")
        yield KeyedTable(TOTAL_COLUMNS, id="blotter-totals", classes="day-totals")
        yield Label(self._hint(), classes="day-hint", id="blotter-hint")

    @property
    def fills_table(self) -> IdTable:
        return self.query_one("#blotter-fills", IdTable)

    @property
    def totals_table(self) -> KeyedTable:
        return self.query_one("#blotter-totals", KeyedTable)

    def on_mount(self) -> None:
        self.fills_table.focus()
        self._update_title()

    # ------------------------------------------------------------------ reading

    def start_read(self, force: bool) -> None:
        self._read(self.vault_id, force, self._begin())

    @work(group="blotter", exclusive=True, exit_on_error=False)
    async def _read(self, vault_id: str | None, force: bool, token: object) -> None:
        try:
            head = await asyncio.to_thread(self.desk.head_seq)
            if not force and head == self.seen_seq and vault_id == self.shown_vault:
                return
            blotter = await asyncio.to_thread(self.desk.blotter, vault_id)
            self.blotter, self.shown_vault, self.seen_seq = blotter, vault_id, head
            self.read_done()
            self.render_rows()
        finally:
            self._end(token)

    # ------------------------------------------------------------------ drawing

    def fill_of(self, key: str) -> Fill | None:
        """The fill of a row of the fills table."""
        return self._fills.get(key)

    def order_of(self, key: str) -> str | None:
        """The whole order id of the fill of row ``key``."""
        fill = self._fills.get(key)
        return fill.order_id if fill is not None else None

    def _fill_cells(self, fill: Fill, copies: int) -> list[Cell]:
        side = "success" if fill.side == "buy" else "error"
        return [
            Cell(fill.at.strftime("%m-%d %H:%M:%S"), "dim", sort_key=fill.at),
            Cell(fill.account, "" if fill.follower_id else "bold"),
            Cell(fill.symbol, "bold"),
            Cell(fill.side, self.theme_style(side, "")),
            Cell(qty(fill.qty), sort_key=fill.qty),
            Cell(price(fill.price), sort_key=fill.price),
            Cell(money(fill.notional), sort_key=fill.notional),
            Cell(fee_text(fill.fee, fill.fee_currency), "dim" if fill.fee is None else ""),
            Cell(link_text(fill, copies), "dim"),
        ]

    def _total_cells(self, total: SymbolTotal) -> list[Cell]:
        return [
            Cell(total.symbol, "bold"),
            Cell(str(total.fills)),
            Cell(qty(total.bought)),
            Cell(qty(total.sold)),
            Cell(signed_qty(total.net_qty)),
            Cell(money(total.bought_value)),
            Cell(money(total.sold_value)),
            Cell(total_fees(total), "dim" if total.fees_unknown else ""),
            Cell(signed_money(total.realized), self.tone(total.realized)),
        ]

    def render_rows(self) -> None:
        if self.blotter is None or not self.is_attached:
            return
        fills = self.blotter.fills
        copies = Counter(f.parent_id for f in fills if f.parent_id)
        self._fills = {str(f.seq): f for f in fills}
        rows = {key: self._fill_cells(f, copies[f.order_id]) for key, f in self._fills.items()}
        self.fills_table.sync(self._fill_numbers.align(rows), list(rows))
        totals = {t.symbol: self._total_cells(t) for t in self.blotter.totals}
        self.totals_table.sync(self._total_numbers.align(totals), list(totals))
        self._update_title()

    def _update_title(self) -> None:
        where = f"{self.shown_vault} and its followers" if self.shown_vault else "all vaults"
        if self.blotter is None:
            text = "Fills: reading the journal…"
        else:
            count = len(self.blotter.fills)
            text = f"Fills: {count} · {where} · newest first · UTC"
        self.query_one("#blotter-title", Label).update(text)

    def _hint(self) -> str:
        other = "all vaults" if self.vault_id else self.selected_vault
        switch = f" · v {other}" if other else ""
        return f"Enter open the order{switch} · Tab totals · Esc close"

    # ------------------------------------------------------------------ keys

    def on_keyed_table_row_selected(self, message: KeyedTable.RowSelected) -> None:
        message.stop()
        if message.table.id != "blotter-fills":
            return
        fill = self.fill_of(message.key)
        if fill is not None:
            self.post_message(self.OrderOpened(fill.order_id))

    def action_toggle_vault(self) -> None:
        """Every vault's fills, or the selected vault's (and its followers')."""
        if self.selected_vault is None:
            self.notify("no vault is selected: every vault is shown", severity="information")
            return
        self.vault_id = None if self.vault_id else self.selected_vault
        self.query_one("#blotter-hint", Label).update(self._hint())
        self.start_read(force=True)
