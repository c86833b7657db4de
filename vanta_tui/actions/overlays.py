"""Overlay actions: maintenance, flip mode (with its TTL), personas, clearing a trip."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.reading import read_context
from vanta_tui.core.models import OverlayFile, StateFileModel, TripClearance, VaultOverlay
from vanta_tui.core.models.overlay import flip_mode_problem
from vanta_tui.core.positions import is_tripped
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.journal import ActResult, EventDraft, Plan


def _overlays(models: dict[StateKind, StateFileModel]) -> OverlayFile:
    overlays = models[StateKind.OVERLAY]
    assert isinstance(overlays, OverlayFile)
    return overlays


def _vault_overlay(overlays: OverlayFile, vault_id: str) -> VaultOverlay:
    return overlays.vaults.setdefault(vault_id, VaultOverlay())


def _dump(value: Any) -> Any:
    return value.model_dump(mode="python") if hasattr(value, "model_dump") else value


def set_maintenance(
    ctx: ActionContext, vault_id: str | None, enabled: bool, reason: str | None = None
) -> ActResult:
    """Maintenance on or off for one vault, or globally (``vault_id`` None). Turning it on
    needs a reason: it stops every send for the vault."""
    ctx.require_writable("changing maintenance")
    if enabled and not (reason and reason.strip()):
        raise ActionRefused("turning maintenance on needs a reason")
    if vault_id is not None:
        read_context(ctx.state_dir).vault(vault_id)

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        overlays = _overlays(models)
        target = (
            overlays.global_.maintenance
            if vault_id is None
            else _vault_overlay(overlays, vault_id).maintenance
        )
        if target.enabled == enabled:
            where = vault_id or "global"
            state = "on" if enabled else "off"
            raise ActionRefused(f"maintenance is already {state} for {where}")
        target.enabled = enabled
        target.reason = reason if enabled else None
        target.since = ctx.clock() if enabled else None
        target.by = ctx.actor if enabled else None
        action = "overlay.maintenance_on" if enabled else "overlay.maintenance_off"
        event = EventDraft(
            action,
            vault_id=vault_id,
            payload={"scope": vault_id or "global", "reason": reason, "maintenance": _dump(target)},
        )
        return Plan({StateKind.OVERLAY: overlays}, [event], target)

    return ctx.journal.act(ctx.actor, [StateKind.OVERLAY], plan)


def set_flip_mode(
    ctx: ActionContext,
    vault_id: str,
    enabled: bool,
    *,
    ttl_minutes: int = 45,
    amplify: Decimal = Decimal("0.35"),
) -> ActResult:
    """Flip mode on (sizes × (1 + amplify) until now + TTL) or off."""
    ctx.require_writable("changing flip mode")
    read_context(ctx.state_dir).vault(vault_id)
    problem = flip_mode_problem(ttl_minutes, amplify) if enabled else None
    if problem is not None:
        raise ActionRefused(problem)

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        overlays = _overlays(models)
        flip = _vault_overlay(overlays, vault_id).flip_mode
        now = ctx.clock()
        if not enabled and not flip.enabled:
            raise ActionRefused(f"flip mode is already off for {vault_id}")
        flip.enabled = enabled
        if enabled:
            flip.amplify = amplify
            flip.expires_at = now + timedelta(minutes=ttl_minutes)
            flip.by = ctx.actor
        else:
            flip.expires_at = None
        action = "overlay.flip_mode_on" if enabled else "overlay.flip_mode_off"
        event = EventDraft(
            action, vault_id=vault_id, payload={"ttl_minutes": ttl_minutes if enabled else None,
                                                "flip_mode": _dump(flip)}
        )  # fmt: skip
        return Plan({StateKind.OVERLAY: overlays}, [event], flip)

    return ctx.journal.act(ctx.actor, [StateKind.OVERLAY], plan)


def _any_expired(overlays: OverlayFile, now: datetime) -> bool:
    return any(
        o.flip_mode.enabled and o.flip_mode.expires_at is not None and o.flip_mode.expires_at <= now
        for o in overlays.vaults.values()
    )


def expire_flip_modes(ctx: ActionContext) -> ActResult:
    """Revert every flip mode whose TTL has passed (run by the desk and the executor). When
    none has, no action is taken (the executor asks every cycle, and an action copies the
    overlays of every vault under their lock); an outside change to the overlays is still
    recorded, as the action would have."""
    try:
        current = ctx.journal.peek(StateKind.OVERLAY)
    except StateFileError:
        current = None  # the action says why the file cannot be read
    if isinstance(current, OverlayFile) and not _any_expired(current, ctx.clock()):
        if not ctx.read_only:
            # What the action would have done first: record an outside change to the
            # overlays (a halt an executor sends under is in the journal).
            ctx.journal.note_external_changes([StateKind.OVERLAY])
        return ActResult([], {})

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        overlays = _overlays(models)
        now = ctx.clock()
        events: list[EventDraft] = []
        for vault_id, overlay in overlays.vaults.items():
            flip = overlay.flip_mode
            if flip.enabled and flip.expires_at is not None and flip.expires_at <= now:
                expired_at = flip.expires_at
                flip.enabled = False
                flip.expires_at = None
                events.append(
                    EventDraft(
                        "overlay.flip_mode_expired",
                        vault_id=vault_id,
                        payload={"expired_at": expired_at, "flip_mode": _dump(flip)},
                    )
                )
        return Plan({StateKind.OVERLAY: overlays} if events else {}, events)

    return ctx.journal.act("system", [StateKind.OVERLAY], plan)


def set_persona(
    ctx: ActionContext,
    vault_id: str,
    persona: str,
    boosts: Mapping[str, Decimal] | None = None,
) -> ActResult:
    """Make ``persona`` the vault's active persona; ``boosts`` are merged into its boosts."""
    ctx.require_writable("changing the persona")
    vault = read_context(ctx.state_dir).vault(vault_id)
    for name in [persona, *(boosts or {})]:
        if name not in vault.personas:
            raise ActionRefused(
                f"{name!r} is not a persona of {vault_id} ({', '.join(vault.personas) or 'none'})"
            )
    for name, boost in (boosts or {}).items():
        if not Decimal(-1) <= boost <= Decimal(1):
            raise ActionRefused(f"boost for {name} must be between -1 and 1 (a fraction)")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        overlays = _overlays(models)
        overlay = _vault_overlay(overlays, vault_id)
        before = overlay.persona
        overlay.persona = persona
        overlay.persona_boosts.update(boosts or {})
        event = EventDraft(
            "overlay.persona_set",
            vault_id=vault_id,
            payload={"from": before, "to": persona, "persona_boosts": dict(overlay.persona_boosts)},
        )
        return Plan({StateKind.OVERLAY: overlays}, [event], overlay)

    return ctx.journal.act(ctx.actor, [StateKind.OVERLAY], plan)


def clear_trip(ctx: ActionContext, vault_id: str, reason: str) -> ActResult:
    """Let a tripped vault trade again after review; valid while drawdown does not deepen."""
    ctx.require_writable("clearing a trip")
    if not reason.strip():
        raise ActionRefused("clearing a trip needs a reason")
    state = read_context(ctx.state_dir)
    vault = state.vault(vault_id)
    pnl = state.pnl.vaults.get(vault_id) if state.pnl else None
    overlay = state.overlays.for_vault(vault_id) if state.overlays else VaultOverlay()
    if not is_tripped(vault, overlay, pnl) or pnl is None:
        raise ActionRefused(f"vault {vault_id} is not tripped")
    drawdown = pnl.drawdown

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        overlays = _overlays(models)
        clearance = TripClearance(
            cleared_at=ctx.clock(), by=ctx.actor, reason=reason, drawdown=drawdown
        )
        _vault_overlay(overlays, vault_id).trip_clearance = clearance
        event = EventDraft(
            "overlay.trip_cleared",
            vault_id=vault_id,
            payload={"reason": reason, "drawdown": drawdown,
                     "max_drawdown": vault.risk.max_drawdown},
        )  # fmt: skip
        return Plan({StateKind.OVERLAY: overlays}, [event], clearance)

    return ctx.journal.act(ctx.actor, [StateKind.OVERLAY], plan)
