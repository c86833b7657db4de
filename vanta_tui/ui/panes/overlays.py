"""`#overlays`: maintenance, flip mode (counting down) and personas, globally and per vault."""

from __future__ import annotations

from datetime import datetime

from vanta_tui.core.models import FlipMode, Maintenance
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import countdown, pct
from vanta_tui.ui.panes.base import Pane
from vanta_tui.ui.table import Cell

GLOBAL_KEY = "*global*"


def maintenance_cell(maintenance: Maintenance) -> Cell:
    if not maintenance.enabled:
        return Cell("off", "dim")
    details = ", ".join(
        part
        for part in (
            maintenance.by or "",
            f"{maintenance.since:%m-%d %H:%M}Z" if maintenance.since else "",
        )
        if part
    )
    reason = maintenance.reason or "no reason given"
    return Cell(f"ON: {reason}" + (f" ({details})" if details else ""), "bold yellow")


def flip_cell(flip: FlipMode, now: datetime) -> Cell:
    if not flip.enabled or flip.expires_at is None:
        return Cell("off", "dim")
    if not flip.active_at(now):
        return Cell(f"×{1 + flip.amplify} expired (reverting)", "red")
    return Cell(
        f"×{1 + flip.amplify} · {countdown(flip.expires_at, now)}",
        "bold magenta",
        sort_key=flip.expires_at,
    )


class OverlaysPane(Pane):
    TITLE = "Overlays"

    def __init__(self, *, id: str) -> None:
        super().__init__(
            [
                ("scope", "Scope"),
                ("maintenance", "Maintenance"),
                ("flip", "Flip mode"),
                ("persona", "Persona"),
                ("boosts", "Boosts"),
            ],
            id=id,
            copy_what="vault id",
        )
        self._selected: str | None = None
        """The vault selected when the pane last showed; a new one is scrolled into view."""

    def copy_value(self, key: str) -> str | None:
        return None if key == GLOBAL_KEY else key

    def show(self, state: StateSnapshot, now: datetime, selected: str | None) -> None:
        overlays = state.overlays
        if overlays is None:
            return
        rows: dict[str, list[Cell]] = {
            GLOBAL_KEY: [
                Cell("global", "bold"),
                maintenance_cell(overlays.global_.maintenance),
                Cell(""),
                Cell(""),
                Cell(""),
            ]
        }
        vault_ids = state.vaults.vault_ids if state.vaults else list(overlays.vaults)
        for vault_id in vault_ids:
            overlay = overlays.for_vault(vault_id)
            boosts = ", ".join(
                f"{name} {pct(boost, 0, signed=True)}"
                for name, boost in overlay.persona_boosts.items()
            )
            marker = "▶ " if vault_id == selected else "  "
            rows[vault_id] = [
                Cell(marker + vault_id, "bold" if vault_id == selected else ""),
                maintenance_cell(overlay.maintenance),
                flip_cell(overlay.flip_mode, now),
                Cell(overlay.persona or "—"),
                Cell(boosts or "—", "dim" if not boosts else ""),
            ]
        self.sync(rows)
        if selected != self._selected and selected in rows:
            # The cursor follows the vault the operator selects, so its row is in view even
            # where the pane shows two rows (80×24).
            self._selected = selected
            self.move_to(selected)
