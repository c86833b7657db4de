"""The followers keys: the followers view (`w`) and a follower's kill switch (`k` there)."""

from __future__ import annotations

from vanta_tui.ui.flows.base import DeskUI, act, ask
from vanta_tui.ui.screens.followers import FollowersScreen
from vanta_tui.ui.screens.modals import ConfirmScreen


async def followers(ui: DeskUI) -> None:
    """`w`: every vault's followers (the view follows each load of the files)."""
    ui.push_screen(
        FollowersScreen(
            ui.snapshot,
            lambda follower_id: ui.start_flow(kill_switch, follower_id),
            ui.read_only,
        )
    )


async def kill_switch(ui: DeskUI, follower_id: str) -> None:
    """`k` in the followers view: stop (or resume) mirroring new vault orders to the
    follower under the cursor, once confirmed."""
    registry = ui.snapshot.followers
    follower = registry.get(follower_id) if registry else None
    if follower is None:
        return
    turn_on = not follower.kill_switch
    state = "on" if turn_on else "off"
    what = (
        "stops mirroring new vault orders to it (orders already sent stay)"
        if turn_on
        else "resumes mirroring new vault orders to it"
    )
    confirm = ConfirmScreen(
        f"Kill switch {state} for {follower_id}?",
        [f"{follower_id} ({follower.vault_id}, {follower.mode.value}): {what}."],
        f"Switch {state}",
    )
    if not await ask(ui, confirm):
        return

    def body() -> str:
        ui.desk.kill_switch(follower_id, turn_on)
        return f"{follower_id}: kill switch {state}"

    await act(ui, "Kill switch", body)
