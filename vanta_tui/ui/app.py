"""The desk's Textual app."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from vanta_tui.core.models import PnlFile, PortfolioFile, VaultFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.loader import StateLoad, load_all

log = logging.getLogger(__name__)


class VantaApp(App[int]):
    """The operator desk on one state directory."""

    TITLE = "VANTA desk"
    CSS_PATH = "desk.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, state_dir: Path, *, operator: str = "operator", read_only: bool = False):
        super().__init__()
        self.state_dir = state_dir
        self.operator = operator
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="problems")
        table: DataTable[str] = DataTable(id="vaults", cursor_type="row")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = str(self.state_dir) + (" · read-only" if self.read_only else "")
        table = self.query_one("#vaults", DataTable)
        table.add_columns("vault", "label", "equity", "NAV", "drawdown")
        self.show(load_all(self.state_dir))

    def show(self, state: StateLoad) -> None:
        table = self.query_one("#vaults", DataTable)
        problems = [str(p) for ps in state.problems.values() for p in ps]
        self.query_one("#problems", Static).update("\n".join(problems))
        vaults = state.files.get(StateKind.VAULT)
        if vaults is None or not isinstance(vaults.model, VaultFile):
            return
        portfolio = state.files.get(StateKind.PORTFOLIO)
        pnl = state.files.get(StateKind.PNL)
        for vault in vaults.model.vaults:
            equity = ""
            if portfolio is not None and isinstance(portfolio.model, PortfolioFile):
                account = portfolio.model.accounts.get(vault.vault_id)
                equity = f"{account.equity:,.2f}" if account else ""
            nav = drawdown = ""
            if pnl is not None and isinstance(pnl.model, PnlFile):
                vp = pnl.model.vaults.get(vault.vault_id)
                if vp is not None:
                    nav = f"{vp.nav:,.2f}"
                    drawdown = f"{vp.drawdown:.2%} / {vault.risk.max_drawdown:.0%}"
            table.add_row(vault.vault_id, vault.label, equity, nav, drawdown, key=vault.vault_id)


def run_desk(
    state_dir: Path, *, operator: str, read_only: bool, log_file: str | None = None
) -> int:
    """Open the desk; returns the process exit code."""
    logging.basicConfig(
        filename=log_file or "vanta-desk.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = VantaApp(state_dir, operator=operator, read_only=read_only)
    result = app.run()
    return result or 0
