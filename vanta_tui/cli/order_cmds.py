"""`orders stage | approve | reject | unstage | flip | cancel | retry | dismiss | edit` and `panic`:
the same actions as the desk, without prompting."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command, parse_decimal
from vanta_tui.cli.exit_codes import UsageError

if TYPE_CHECKING:
    from vanta_tui.actions.execution import CancelReport
    from vanta_tui.desk import Desk

TIME_IN_FORCE = ["day", "gtc", "ioc", "fok"]


def add_orders(sub: Subcommands) -> None:
    orders = command(sub, "orders", "act on queue orders (no prompts; prints what it did)")
    orders_sub = orders.add_subparsers(
        dest="orders_command", metavar="ORDERS_COMMAND", required=True
    )
    p = command(orders_sub, "stage", "stage a new order by hand", handle_stage)
    p.add_argument("vault")
    p.add_argument("symbol")
    p.add_argument("side", choices=["buy", "sell"])
    p.add_argument("qty")
    p.add_argument("--limit", metavar="PRICE", help="limit price (makes a limit order)")
    p.add_argument("--tif", choices=TIME_IN_FORCE, default="day")
    p.add_argument("--reason", action="append", default=[], help="a reason (repeatable)")
    p.add_argument(
        "--allow-duplicate",
        action="store_true",
        help="stage it even if an identical order was staged in the last 10 minutes",
    )
    p = command(orders_sub, "approve", "approve staged orders", handle_approve)
    p.add_argument("ids", nargs="+", metavar="ID")
    p = command(orders_sub, "reject", "reject staged orders", handle_reject)
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--reason")
    p = command(
        orders_sub, "unstage", "take staged orders nobody approved off the queue (audited)",
        handle_unstage,
    )  # fmt: skip
    p.add_argument("ids", nargs="+", metavar="ID")
    p = command(orders_sub, "flip", "reverse the side of a staged order", handle_flip)
    p.add_argument("order_id")
    p = command(
        orders_sub, "cancel", "cancel orders working at the broker", handle_cancel,
    )  # fmt: skip
    p.add_argument("ids", nargs="+", metavar="ID")
    p = command(orders_sub, "retry", "stage a failed (dead-lettered) order again", handle_retry)
    p.add_argument("order_id")
    p = command(
        orders_sub, "dismiss", "take a failed order off the dead-letter list", handle_dismiss
    )
    p.add_argument("order_id")
    p.add_argument("--reason")
    p = command(orders_sub, "edit", "edit a staged order", handle_edit)
    p.add_argument("order_id")
    p.add_argument("--qty")
    p.add_argument("--limit", metavar="PRICE")
    p.add_argument("--type", dest="order_type", choices=["market", "limit"])
    p.add_argument("--tif", choices=TIME_IN_FORCE)


def add_panic(sub: Subcommands) -> None:
    p = command(
        sub, "panic", "global maintenance on and cancel every working order at every broker",
        handle_panic,
    )  # fmt: skip
    p.add_argument("--reason", required=True)


def handle_stage(args: argparse.Namespace, desk: Desk) -> int:
    from vanta_tui.core.enums import OrderType, Side, TimeInForce

    qty = parse_decimal(args.qty, "qty")
    limit = parse_decimal(args.limit, "limit") if args.limit else None
    order = desk.stage(
        args.vault,
        args.symbol,
        Side(args.side),
        qty,
        order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit,
        time_in_force=TimeInForce(args.tif),
        reasons=args.reason,
        allow_duplicate=args.allow_duplicate,
    )
    print(f"staged {order.order_id}: {args.vault} {args.side} {args.qty} {args.symbol}")
    return 0


def handle_approve(args: argparse.Namespace, desk: Desk) -> int:
    orders = desk.match_orders(args.ids)
    summary = desk.approve([o.order_id for o in orders])
    for order in orders:
        print(
            f"approved {order.order_id}: {order.vault_id} {order.side} {order.qty} {order.symbol}"
        )
    print(f"approved {summary.text()}")
    return 0


def handle_reject(args: argparse.Namespace, desk: Desk) -> int:
    ids = [o.order_id for o in desk.match_orders(args.ids)]
    desk.reject(ids, args.reason)
    for order_id in ids:
        print(f"rejected {order_id}" + (f": {args.reason}" if args.reason else ""))
    return 0


def handle_unstage(args: argparse.Namespace, desk: Desk) -> int:
    for order in desk.unstage([o.order_id for o in desk.match_orders(args.ids)]):
        print(f"unstaged {order.order_id}: {order.vault_id} {order.side.value} {order.qty} "
              f"{order.symbol}")  # fmt: skip
    return 0


def handle_flip(args: argparse.Namespace, desk: Desk) -> int:
    order = desk.flip(desk.match_orders([args.order_id])[0].order_id)
    print(f"flipped {order.order_id}: now {order.side.value} {order.qty} {order.symbol}")
    return 0


def handle_edit(args: argparse.Namespace, desk: Desk) -> int:
    from vanta_tui.core.enums import OrderType, TimeInForce

    changes: dict[str, Any] = {}
    if args.qty is not None:
        changes["qty"] = parse_decimal(args.qty, "qty")
    if args.limit is not None:
        changes["limit_price"] = parse_decimal(args.limit, "limit")
        changes.setdefault("order_type", OrderType.LIMIT)
    if args.order_type is not None:
        changes["order_type"] = OrderType(args.order_type)
    if args.tif is not None:
        changes["time_in_force"] = TimeInForce(args.tif)
    if not changes:
        raise UsageError("nothing to edit: give --qty, --limit, --type or --tif")
    order = desk.edit(desk.match_orders([args.order_id])[0].order_id, changes)
    limit_text = f" @ {order.limit_price}" if order.limit_price is not None else ""
    print(
        f"edited {order.order_id}: {order.side.value} {order.qty} {order.symbol} "
        f"{order.order_type.value}{limit_text} {order.time_in_force.value}"
    )
    return 0


def _print_cancels(report: CancelReport) -> int:
    for order_id in report.cancelled:
        print(f"cancelled {order_id}")
    for problem in report.failed:
        print(f"not cancelled: {problem}")
    return exit_codes.OK if not report.failed else exit_codes.FOUND


def handle_cancel(args: argparse.Namespace, desk: Desk) -> int:
    return _print_cancels(desk.cancel([o.order_id for o in desk.match_orders(args.ids)]))


def handle_panic(args: argparse.Namespace, desk: Desk) -> int:
    report = desk.panic(args.reason)
    print(
        f"PANIC: global maintenance on ({args.reason}); {len(report.cancelled)} order(s) cancelled"
    )
    return _print_cancels(report)


def handle_retry(args: argparse.Namespace, desk: Desk) -> int:
    order_id = desk.match_orders([args.order_id])[0].order_id
    again = desk.retry(order_id)
    print(f"staged {again.order_id} as a retry of {order_id}; approve it to send")
    return 0


def handle_dismiss(args: argparse.Namespace, desk: Desk) -> int:
    order_id = desk.match_orders([args.order_id])[0].order_id
    desk.dismiss(order_id, args.reason)
    print(f"dismissed dead letter {order_id}")
    return 0
