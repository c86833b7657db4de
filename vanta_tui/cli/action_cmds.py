"""Rebalance and overlay commands: stage, maintenance, trip clear, flip-mode, persona."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from vanta_tui.cli.common import Subcommands, command, parse_decimal
from vanta_tui.cli.exit_codes import UsageError

if TYPE_CHECKING:
    from vanta_tui.core.models import Order
    from vanta_tui.core.models.overlay import VaultOverlay
    from vanta_tui.desk import Desk


def add_stage(sub: Subcommands) -> None:
    p = command(
        sub, "stage", "stage a rebalance of VAULT (allocation against portfolio)", handle_stage,
        read_only_ok=lambda args: bool(args.dry_run),
    )  # fmt: skip
    p.add_argument("vault")
    p.add_argument("--dry-run", action="store_true", help="print the orders, stage nothing")


def handle_stage(args: argparse.Namespace, desk: Desk) -> int:
    vault, dry_run = args.vault, args.dry_run
    staged: list[Order] = []
    if dry_run:
        plan = desk.preview_rebalance(vault)
    else:
        done = desk.rebalance(vault)
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


def add_maintenance(sub: Subcommands) -> None:
    p = command(
        sub, "maintenance", "maintenance on or off for VAULT, or globally without VAULT",
        handle_maintenance,
    )  # fmt: skip
    p.add_argument("state", choices=["on", "off"])
    p.add_argument("vault", nargs="?")
    p.add_argument("--reason")


def handle_maintenance(args: argparse.Namespace, desk: Desk) -> int:
    desk.maintenance(args.vault, args.state == "on", args.reason)
    reason = f": {args.reason}" if args.reason else ""
    print(f"maintenance {args.state} for {args.vault or 'global'}{reason}")
    return 0


def add_trip(sub: Subcommands) -> None:
    trip = command(sub, "trip", "clear a tripped vault after review")
    trip_sub = trip.add_subparsers(dest="trip_command", metavar="TRIP_COMMAND", required=True)
    p = command(trip_sub, "clear", "let a tripped vault trade again", handle_trip_clear)
    p.add_argument("vault")
    p.add_argument("--reason", required=True)


def _overlay(desk: Desk, vault_id: str) -> VaultOverlay:
    """The vault's overlay as the action just wrote it."""
    from vanta_tui.core.state_files import StateKind

    overlays = desk.reload([StateKind.OVERLAY]).overlays
    assert overlays is not None  # the action wrote it
    return overlays.for_vault(vault_id)


def handle_trip_clear(args: argparse.Namespace, desk: Desk) -> int:
    desk.clear_trip(args.vault, args.reason)
    clearance = _overlay(desk, args.vault).trip_clearance
    assert clearance is not None
    print(f"trip cleared for {args.vault} at drawdown {clearance.drawdown}: {args.reason}")
    return 0


def add_flip_mode(sub: Subcommands) -> None:
    p = command(sub, "flip-mode", "flip mode on (with a TTL) or off for VAULT", handle_flip_mode)
    p.add_argument("state", choices=["on", "off"])
    p.add_argument("vault")
    p.add_argument("--ttl", type=int, default=45, metavar="MINUTES")
    p.add_argument("--amplify", default="0.35", help="size factor above 1 (0.35 = ×1.35)")


def handle_flip_mode(args: argparse.Namespace, desk: Desk) -> int:
    on, vault = args.state == "on", args.vault
    amplify = parse_decimal(args.amplify, "amplify")
    desk.flip_mode(vault, on, ttl_minutes=args.ttl, amplify=amplify)
    if on:
        flip = _overlay(desk, vault).flip_mode
        until = f"{flip.expires_at:%Y-%m-%d %H:%M:%SZ}"
        print(f"flip mode on for {vault}: ×{1 + flip.amplify} until {until}")
    else:
        print(f"flip mode off for {vault}")
    return 0


def add_persona(sub: Subcommands) -> None:
    p = command(sub, "persona", "set VAULT's active persona and boosts", handle_persona)
    p.add_argument("vault")
    p.add_argument("name")
    p.add_argument(
        "--boost", action="append", default=[], metavar="PERSONA=FRACTION", help="repeatable"
    )


def parse_boosts(items: Sequence[str]) -> dict[str, Decimal]:
    from vanta_tui.core.wording import shown

    boosts: dict[str, Decimal] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--boost takes persona=fraction, not {shown(item)}")
        boosts[name.strip()] = parse_decimal(value.strip(), f"boost for {name}")
    return boosts


def handle_persona(args: argparse.Namespace, desk: Desk) -> int:
    desk.persona(args.vault, args.name, parse_boosts(args.boost))
    boosts = _overlay(desk, args.vault).persona_boosts
    listed = ", ".join(f"{k} {v}" for k, v in boosts.items()) or "none"
    print(f"persona of {args.vault} is {args.name}; boosts: {listed}")
    return 0
