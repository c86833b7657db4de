"""`orders stage | approve | reject`: the same actions as the desk, without prompting."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, reject_orders, stage_order
from vanta_tui.core.enums import OrderType, Side, TimeInForce
from vanta_tui.store.errors import StoreError


def parse_decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SystemExit(f"{what} must be a number, not {text!r}") from None
    if not value.is_finite():
        raise SystemExit(f"{what} must be finite")
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
) -> int:
    try:
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
        )
    except (StoreError, ValueError) as exc:
        print(f"refused: {exc}")
        return 1
    order = result.result
    print(f"staged {order.order_id}: {vault} {side} {qty} {symbol}")
    return 0


def cmd_approve(ctx: ActionContext, ids: Sequence[str]) -> int:
    try:
        result = approve_orders(ctx, ids)
    except StoreError as exc:
        print(f"refused: {exc}")
        return 1
    for order in result.result:
        print(
            f"approved {order.order_id}: {order.vault_id} {order.side} {order.qty} {order.symbol}"
        )
    return 0


def cmd_reject(ctx: ActionContext, ids: Sequence[str], reason: str | None) -> int:
    try:
        result = reject_orders(ctx, ids, reason)
    except StoreError as exc:
        print(f"refused: {exc}")
        return 1
    for order in result.result:
        print(f"rejected {order.order_id}" + (f": {reason}" if reason else ""))
    return 0
