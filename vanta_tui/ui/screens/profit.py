"""`P`: realized PnL per UTC day, ISO week or month (`d`, `w`, `m`) per account (vault and
follower): realized, fills, closing fills, wins and fees; and per symbol over every fill,
best first (freqtrade's /daily, /weekly, /monthly and /performance). Gains carry a `+` and
the theme's success colour, losses a `-` and its error colour."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label

from vanta_tui.actions.activity import PERIODS, Period, Profit, ProfitRow
from vanta_tui.ui.screens.activity import DayScreen, NumberColumns, fee_text, signed_money
from vanta_tui.ui.table import Cell, KeyedTable

if TYPE_CHECKING:
    from vanta_tui.desk import Desk

PERIOD_NAMES: dict[Period, str] = {"day": "UTC day", "week": "ISO week", "month": "month"}

ACCOUNT_COLUMNS = [
    ("period", "Period"),
    ("account", "Account"),
    ("realized", "Realized"),
    ("fills", "Fills"),
    ("closing", "Closing"),
    ("wins", "Wins"),
    ("fees", "Fees"),
]
SYMBOL_COLUMNS = [
    ("symbol", "Symbol"),
    ("realized", "Realized"),
    ("fills", "Fills"),
    ("closing", "Closing"),
    ("wins", "Wins"),
    ("fees", "Fees"),
]


class ProfitScreen(DayScreen):
    """Realized profit by period and account, and by symbol."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "period('day')", "By day", id="profit_day"),
        Binding("w", "period('week')", "By week", id="profit_week"),
        Binding("m", "period('month')", "By month", id="profit_month"),
        Binding("v", "toggle_vault", "All / selected vault", id="profit_vault"),
        Binding("escape,q", "close", "Close", id="profit_close"),
    ]

    def __init__(
        self,
        desk: Desk,
        period: Period = "day",
        vault_id: str | None = None,
        *,
        selected_vault: str | None = None,
    ) -> None:
        """``vault_id``: the vault whose fills (its followers' included) count, None for all;
        ``selected_vault``: the one `v` switches to (default ``vault_id``)."""
        super().__init__(id="profit")
        self.desk = desk
        self.period: Period = period
        self.vault_id = vault_id
        self.selected_vault = selected_vault or vault_id
        self.profit: Profit | None = None
        """The profit on screen (None: not read yet)."""
        self.shown: tuple[Period, str | None] | None = None
        self.seen_seq = -1
        self._account_numbers = NumberColumns(ACCOUNT_COLUMNS, range(2, 7))
        self._symbol_numbers = NumberColumns(SYMBOL_COLUMNS, range(1, 6))

    def compose(self) -> ComposeResult:
        yield Label("Profit", classes="day-title", id="profit-title")
        yield KeyedTable(ACCOUNT_COLUMNS, id="profit-accounts")
        yield Label(
            "By symbol, every fill (best first)", classes="day-section", id="profit-symbols-title"
        )
        yield KeyedTable(SYMBOL_COLUMNS, id="profit-symbols", classes="day-totals")
        yield Label(self._hint(), classes="day-hint", id="profit-hint")

    @property
    def accounts_table(self) -> KeyedTable:
        return self.query_one("#profit-accounts", KeyedTable)

    @property
    def symbols_table(self) -> KeyedTable:
        return self.query_one("#profit-symbols", KeyedTable)

    def on_mount(self) -> None:
        self.accounts_table.focus()
        self._update_title()

    # ------------------------------------------------------------------ reading

    def start_read(self, force: bool) -> None:
        self._read(self.period, self.vault_id, force, self._begin())

    @work(group="profit", exclusive=True, exit_on_error=False)
    async def _read(self, period: Period, vault_id: str | None, force: bool, token: object) -> None:
        try:
            head = await asyncio.to_thread(self.desk.head_seq)
            if not force and head == self.seen_seq and (period, vault_id) == self.shown:
                return
            profit = await asyncio.to_thread(self.desk.profit, period, vault_id)
            self.profit, self.shown, self.seen_seq = profit, (period, vault_id), head
            self.read_done()
            self.render_rows()
        finally:
            self._end(token)

    # ------------------------------------------------------------------ drawing

    def _cells(self, row: ProfitRow) -> list[Cell]:
        return [
            Cell(signed_money(row.realized), self.tone(row.realized), sort_key=row.realized),
            Cell(str(row.fills), sort_key=row.fills),
            Cell(str(row.closing), sort_key=row.closing),
            Cell(str(row.wins), sort_key=row.wins),
            Cell(fee_text(row.fees), sort_key=row.fees),
        ]

    def render_rows(self) -> None:
        if self.profit is None or not self.is_attached:
            return
        accounts = {
            f"{r.period}/{r.key}": [Cell(r.period, "dim"), Cell(r.key, "bold"), *self._cells(r)]
            for r in self.profit.by_account
        }
        self.accounts_table.sync(self._account_numbers.align(accounts), list(accounts))
        symbols = {r.key: [Cell(r.key, "bold"), *self._cells(r)] for r in self.profit.by_symbol}
        self.symbols_table.sync(self._symbol_numbers.align(symbols), list(symbols))
        self._update_title()

    def _update_title(self) -> None:
        """What is on screen (the period and vault asked for until the first read)."""
        period, vault_id = self.shown or (self.period, self.vault_id)
        where = vault_id or "all vaults"
        text = f"Profit: realized PnL by {PERIOD_NAMES[period]} · {where}"
        if self.profit is None:
            text += " · reading the journal…"
        else:
            total = sum((r.realized for r in self.profit.by_account), Decimal(0))
            text += f" · total {signed_money(total)}"
        self.query_one("#profit-title", Label).update(text)

    def _hint(self) -> str:
        other = "all vaults" if self.vault_id else self.selected_vault
        switch = f" · v {other}" if other else ""
        return f"d day · w week · m month{switch} · Tab by symbol · Esc close"

    # ------------------------------------------------------------------ keys

    def on_keyed_table_row_selected(self, message: KeyedTable.RowSelected) -> None:
        message.stop()  # a period's row opens nothing

    def action_period(self, period: str) -> None:
        """Add the fills up by ``period`` (day, week, month)."""
        chosen = next((p for p in PERIODS if p == period), None)
        if chosen is None or chosen == self.period:
            return
        self.period = chosen
        self.start_read(force=True)

    def action_toggle_vault(self) -> None:
        """Every vault's fills, or the selected vault's (and its followers')."""
        if self.selected_vault is None:
            self.notify("no vault is selected: every vault is shown", severity="information")
            return
        self.vault_id = None if self.vault_id else self.selected_vault
        self.query_one("#profit-hint", Label).update(self._hint())
        self.start_read(force=True)
