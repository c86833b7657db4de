"""Overlay and rebalance commands: maintenance, trip, flip-mode, persona, stage."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import preview_rebalance, stage_rebalance
from vanta_tui.actions.overlays import clear_trip, set_flip_mode, set_maintenance, set_persona
from vanta_tui.actions.venues import vault_caps
from vanta_tui.cli.exit_codes import UsageError
from vanta_tui.cli.order_cmds import parse_decimal
from vanta_tui.core.models import Order
from vanta_tui.core.wording import shown


def cmd_maintenance(ctx: ActionContext, state: str, vault: str | None, reason: str | None) -> int:
    set_maintenance(ctx, vault, state == "on", reason)
    print(f"maintenance {state} for {vault or 'global'}" + (f": {reason}" if reason else ""))
    return 0


def cmd_trip_clear(ctx: ActionContext, vault: str, reason: str) -> int:
    result = clear_trip(ctx, vault, reason)
    clearance = result.result
    print(f"trip cleared for {vault} at drawdown {clearance.drawdown}: {reason}")
    return 0


def cmd_flip_mode(ctx: ActionContext, state: str, vault: str, ttl: int, amplify: str) -> int:
    result = set_flip_mode(
        ctx, vault, state == "on", ttl_minutes=ttl, amplify=parse_decimal(amplify, "amplify")
    )
    flip = result.result
    if state == "on":
        until = f"{flip.expires_at:%Y-%m-%d %H:%M:%SZ}"
        print(f"flip mode on for {vault}: ×{1 + flip.amplify} until {until}")
    else:
        print(f"flip mode off for {vault}")
    return 0


def parse_boosts(items: Sequence[str]) -> dict[str, Decimal]:
    boosts: dict[str, Decimal] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--boost takes persona=fraction, not {shown(item)}")
        boosts[name.strip()] = parse_decimal(value.strip(), f"boost for {name}")
    return boosts


def cmd_persona(ctx: ActionContext, vault: str, name: str, boosts: Sequence[str]) -> int:
    overlay = set_persona(ctx, vault, name, parse_boosts(boosts)).result
    shown = ", ".join(f"{k} {v}" for k, v in overlay.persona_boosts.items()) or "none"
    print(f"persona of {vault} is {name}; boosts: {shown}")
    return 0


def cmd_stage(ctx: ActionContext, vault: str, dry_run: bool) -> int:
    if dry_run:
        caps = vault_caps(ctx.state_dir, vault, live=ctx.live)
        plan = preview_rebalance(ctx.state_dir, vault, ctx.clock(), caps=caps)
        staged: list[Order] = []
    else:
        done = stage_rebalance(ctx, vault).result
        plan, staged = done.plan, done.orders
    for order in staged:
        print(
            f"staged {order.order_id}: {order.side.value} {order.qty} {order.symbol} "
            f"({order.reason_vector[0]})"
        )
    if dry_run:
        for proposed in plan.orders:
            print(
                f"would stage: {proposed.side.value} {proposed.qty} {proposed.symbol} "
                f"≈ {proposed.notional:,.2f} ({proposed.reason})"
            )
    for note in plan.skipped:
        print(f"skipped: {note}")
    if not plan.orders:
        print(f"nothing to stage for {vault}")
    return 0
