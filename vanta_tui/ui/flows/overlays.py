"""The overlay keys: maintenance of the selected vault (`m`) or of the whole desk (`M`),
clearing a trip (`t`), flip mode (`F`), the persona (`p`), and flip mode's expiry (the
desk reverts it at its TTL, even with nobody at the desk)."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from vanta_tui.core.models import VaultOverlay
from vanta_tui.core.models.overlay import MAX_FLIP_TTL_MIN, flip_mode_problem
from vanta_tui.core.positions import is_tripped
from vanta_tui.ui.flows.base import DeskUI, act, ask, decimal_of, need_vault
from vanta_tui.ui.format import pct
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen, reason_form

log = logging.getLogger(__name__)

FLIP_FORM_WORDS = {
    flip_mode_problem(0, Decimal("0.35")): f"TTL is 1 to {MAX_FLIP_TTL_MIN} minutes",
    flip_mode_problem(45, Decimal(0)): "amplify is above 0 and at most 1",
}
"""The flip-mode rule's problems (`flip_mode_problem`) as the form has always worded them."""


async def maintenance(ui: DeskUI) -> None:
    """`m`: maintenance on (with a reason) or off (confirmed) for the selected vault."""
    vault_id = need_vault(ui)
    if vault_id is not None:
        await switch_maintenance(ui, vault_id)


async def global_maintenance(ui: DeskUI) -> None:
    """`M`: maintenance on or off for the whole desk."""
    await switch_maintenance(ui, None)


async def switch_maintenance(ui: DeskUI, vault_id: str | None) -> None:
    overlays = ui.snapshot.overlays
    if overlays is None:
        return
    current = (
        overlays.global_.maintenance
        if vault_id is None
        else overlays.for_vault(vault_id).maintenance
    )
    where = vault_id or "the whole desk (global)"
    if not current.enabled:
        values = await ask(ui, reason_form(f"Maintenance ON for {where}", required=True))
        if values is None:
            return
        reason = values["reason"]

        def on() -> str:
            ui.desk.maintenance(vault_id, True, reason)
            return f"maintenance on for {where}"

        await act(ui, "Maintenance", on)
        return
    lines = [
        f"maintenance since {current.since} by {current.by}: {current.reason}",
        "approved orders held by it may be sent as soon as it is off",
    ]
    if not await ask(ui, ConfirmScreen(f"Turn maintenance OFF for {where}?", lines, "Turn off")):
        return

    def off() -> str:
        ui.desk.maintenance(vault_id, False)
        return f"maintenance off for {where}"

    await act(ui, "Maintenance", off)


async def clear_trip(ui: DeskUI) -> None:
    """`t`: clear the selected vault's trip after review, with a reason. A vault that is not
    tripped is said so at once (the reason would be asked for nothing)."""
    vault_id = need_vault(ui)
    if vault_id is None:
        return
    untripped = not_tripped(ui, vault_id)
    if untripped is not None:
        ui.notify(untripped, title="Clear trip", severity="warning")
        return
    values = await ask(ui, reason_form(f"Clear the trip of {vault_id} after review", required=True))
    if values is None:
        return
    reason = values["reason"]

    def body() -> str:
        ui.desk.clear_trip(vault_id, reason)
        return f"trip cleared for {vault_id}"

    await act(ui, "Clear trip", body)


def not_tripped(ui: DeskUI, vault_id: str) -> str | None:
    """Why the vault has no trip to clear, from the state on screen (None: it is tripped, or
    the files needed to tell are not loaded: the action itself decides then)."""
    state = ui.snapshot
    vault = state.vaults.get(vault_id) if state.vaults else None
    pnl = state.pnl.vaults.get(vault_id) if state.pnl else None
    if vault is None or pnl is None:
        return None
    overlay = state.overlays.for_vault(vault_id) if state.overlays else VaultOverlay()
    if is_tripped(vault, overlay, pnl):
        return None
    depth = f"drawdown {pct(pnl.drawdown)} of max {pct(vault.risk.max_drawdown, 0)}"
    if pnl.drawdown >= vault.risk.max_drawdown:
        return f"{vault_id} is not tripped: its trip was cleared at this depth ({depth})"
    return f"{vault_id} is not tripped ({depth}): there is no trip to clear"


async def flip_mode(ui: DeskUI) -> None:
    """`F`: flip mode on for the selected vault (amplify and TTL), or off."""
    vault_id = need_vault(ui)
    overlays = ui.snapshot.overlays
    if vault_id is None or overlays is None:
        return
    flip = overlays.for_vault(vault_id).flip_mode
    if flip.enabled:

        def off() -> str:
            ui.desk.flip_mode(vault_id, False)
            return f"flip mode off for {vault_id}"

        await act(ui, "Flip mode", off)
        return

    def check(values: dict[str, str]) -> str:
        amplify = decimal_of(values["amplify"], "amplify")
        ttl = int(decimal_of(values["ttl"], "TTL"))
        problem = flip_mode_problem(ttl, amplify)
        if problem is not None:
            raise ValueError(FLIP_FORM_WORDS.get(problem, problem))
        return f"staged sizes × {1 + amplify} for {ttl} minutes, then it reverts by itself"

    fields = [
        ("amplify", "Amplify (0.35 = ×1.35)", str(flip.amplify)),
        ("ttl", "TTL minutes", "45"),
    ]
    values = await ask(ui, FormScreen(f"Flip mode ON for {vault_id}", fields, check, "Turn on"))
    if values is None:
        return
    amplify = Decimal(values["amplify"])
    ttl = int(Decimal(values["ttl"]))

    def on() -> str:
        ui.desk.flip_mode(vault_id, True, ttl_minutes=ttl, amplify=amplify)
        return f"flip mode on for {vault_id} for {ttl} min"

    await act(ui, "Flip mode", on)


async def persona(ui: DeskUI) -> None:
    """`p`: the selected vault's persona and its boosts."""
    vault_id = need_vault(ui)
    vaults, overlays = ui.snapshot.vaults, ui.snapshot.overlays
    vault = vaults.get(vault_id) if vaults and vault_id else None
    if vault is None or vault_id is None:
        return
    overlay = overlays.for_vault(vault_id) if overlays else None

    def parse(values: dict[str, str]) -> tuple[str, dict[str, Decimal]]:
        name = values["persona"]
        if name not in vault.personas:
            raise ValueError(f"persona is one of {', '.join(vault.personas)}")
        boosts: dict[str, Decimal] = {}
        for item in filter(None, (p.strip() for p in values["boosts"].split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError("boosts are persona=fraction, comma-separated")
            boosts[key.strip()] = decimal_of(value.strip(), f"boost for {key}")
            if key.strip() not in vault.personas:
                raise ValueError(f"{key.strip()} is not a persona of {vault_id}")
        return name, boosts

    def check(values: dict[str, str]) -> str:
        name, boosts = parse(values)
        return f"{vault_id} persona → {name}; boosts {boosts or 'unchanged'}"

    current = ", ".join(f"{k}={v}" for k, v in (overlay.persona_boosts.items() if overlay else []))
    fields = [
        (
            "persona",
            f"Persona ({', '.join(vault.personas)})",
            (overlay.persona if overlay else None) or "",
        ),
        ("boosts", "Boosts (name=fraction, …)", current),
    ]
    values = await ask(ui, FormScreen(f"Persona of {vault_id}", fields, check, "Set"))
    if values is None:
        return
    name, boosts = parse(values)

    def body() -> str:
        ui.desk.persona(vault_id, name, boosts)
        return f"{vault_id} persona is {name}"

    await act(ui, "Persona", body)


# ------------------------------------------------------------------ flip-mode TTL


def expire_flip_modes_if_due(ui: DeskUI) -> None:
    """Flip mode reverts by itself at its expiry, even with nobody at the desk (each tick
    asks; one reversion runs at a time)."""
    overlays = ui.snapshot.overlays
    if ui.read_only or overlays is None or ui.expiring:
        return
    now = ui.clock()
    due = any(
        o.flip_mode.enabled and o.flip_mode.expires_at is not None and o.flip_mode.expires_at <= now
        for o in overlays.vaults.values()
    )
    if due:
        ui.expiring = True
        ui.start_flow(expire_flip_modes, group="operator")


async def expire_flip_modes(ui: DeskUI) -> None:
    try:
        reverted = await asyncio.to_thread(ui.desk.expire_flip_modes)
        for vault_id in reverted:
            ui.notify(f"flip mode of {vault_id} expired and reverted", title="Flip mode")
    except Exception as exc:
        log.exception("flip mode expiry failed")
        ui.notify(str(exc), title="Flip mode expiry", severity="error")
    finally:
        ui.expiring = False
    ui.load_state(None)
