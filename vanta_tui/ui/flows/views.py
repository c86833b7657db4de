"""`:`: go to a view by its name (`VIEWS`: vaults, queue, held, dead-letters, …), as in k9s."""

from __future__ import annotations

from vanta_tui.ui.flows import VIEWS
from vanta_tui.ui.flows.base import DeskUI, ask
from vanta_tui.ui.screens.jump import JumpScreen


async def jump(ui: DeskUI) -> None:
    """`:`: ask for a view's name (completed as it is typed), then show that view."""
    name = await ask(ui, JumpScreen(list(VIEWS)))
    if name is not None:
        await ui.run_action(VIEWS[name])
