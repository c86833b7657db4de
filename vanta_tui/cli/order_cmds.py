"""`orders stage | approve | reject`: the same actions as the desk, without prompting."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.execution import CancelReport, cancel_orders, panic
from vanta_tui.actions.orders import (
    ApprovalSummary,
    approve_orders,
    dismiss_failed,
    edit_order,
    flip_order,
    reject_orders,
    retry_failed,
    stage_order,
)
from vanta_tui.brokers.routing import paper_brokers
from vanta_tui.cli import exit_codes
from vanta_tui.cli.exit_codes import UsageError
from vanta_tui.core.enums import OrderType, Side, TimeInForce
from vanta_tui.core.id_match import match_id
from vanta_tui.core.models import QueueFile
from vanta_tui.core.wording import shown
from vanta_tui.store.loader import load_model


def resolve_ids(ctx: ActionContext, typed: Sequence[str]) -> list[str]:
    """The queue's order ids for what the operator typed (whole ids, or a unique prefix or
    suffix of at least 6 characters, as the desk shows them)."""
    ids = [o.order_id for o in load_model(ctx.state_dir, QueueFile).orders]
    return [match_id(t, ids) for t in typed]


def parse_decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{what} must be a number, not {shown(text)}") from None
    if not value.is_finite():
        raise UsageError(f"{what} must be a finite number, not {shown(text)}")
    return value


def cmd_stage(
    ctx: ActionContext,
    vault: str,
    symbol: str,
    side: str,
    qty: str,
    limit: str | None,
    tif: str,
    reason: Sequence[str],
    allow_duplicate: bool = False,
) -> int:
    result = stage_order(
        ctx,
        vault_id=vault,
        symbol=symbol,
        side=Side(side),
        qty=parse_decimal(qty, "qty"),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=parse_decimal(limit, "limit") if limit else None,
        time_in_force=TimeInForce(tif),
        reasons=reason,
        allow_duplicate=allow_duplicate,
    )
    order = result.result
    print(f"staged {order.order_id}: {vault} {side} {qty} {symbol}")
    return 0


def cmd_approve(ctx: ActionContext, ids: Sequence[str]) -> int:
    result = approve_orders(ctx, resolve_ids(ctx, ids))
    for order in result.result:
        print(
            f"approved {order.order_id}: {order.vault_id} {order.side} {order.qty} {order.symbol}"
        )
    print(f"approved {ApprovalSummary.of(result.events).text()}")
    return 0


def cmd_reject(ctx: ActionContext, ids: Sequence[str], reason: str | None) -> int:
    result = reject_orders(ctx, resolve_ids(ctx, ids), reason)
    for order in result.result:
        print(f"rejected {order.order_id}" + (f": {reason}" if reason else ""))
    return 0


def cmd_flip(ctx: ActionContext, order_id: str) -> int:
    order = flip_order(ctx, resolve_ids(ctx, [order_id])[0]).result
    print(f"flipped {order.order_id}: now {order.side.value} {order.qty} {order.symbol}")
    return 0


def cmd_edit(
    ctx: ActionContext,
    order_id: str,
    qty: str | None,
    limit: str | None,
    order_type: str | None,
    tif: str | None,
) -> int:
    changes: dict[str, object] = {}
    if qty is not None:
        changes["qty"] = parse_decimal(qty, "qty")
    if limit is not None:
        changes["limit_price"] = parse_decimal(limit, "limit")
        changes.setdefault("order_type", OrderType.LIMIT)
    if order_type is not None:
        changes["order_type"] = OrderType(order_type)
    if tif is not None:
        changes["time_in_force"] = TimeInForce(tif)
    if not changes:
        raise UsageError("nothing to edit: give --qty, --limit, --type or --tif")
    order = edit_order(ctx, resolve_ids(ctx, [order_id])[0], changes).result
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


def cmd_cancel(ctx: ActionContext, ids: Sequence[str]) -> int:
    return _print_cancels(cancel_orders(ctx, resolve_ids(ctx, ids), paper_brokers(ctx.state_dir)))


def cmd_panic(ctx: ActionContext, reason: str) -> int:
    report = panic(ctx, reason, paper_brokers(ctx.state_dir))
    print(f"PANIC: global maintenance on ({reason}); {len(report.cancelled)} order(s) cancelled")
    return _print_cancels(report)


def cmd_retry(ctx: ActionContext, order_id: str) -> int:
    order_id = resolve_ids(ctx, [order_id])[0]
    again = retry_failed(ctx, order_id).result
    print(f"staged {again.order_id} as a retry of {order_id}; approve it to send")
    return 0


def cmd_dismiss(ctx: ActionContext, order_id: str, reason: str | None) -> int:
    order_id = resolve_ids(ctx, [order_id])[0]
    dismiss_failed(ctx, order_id, reason)
    print(f"dismissed dead letter {order_id}")
    return 0
