"""Order actions: stage, approve, reject."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.ids import ulid
from vanta_tui.core.models import Order, QueueFile, StateFileModel
from vanta_tui.core.order_states import IllegalTransition, check_move
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.journal import ActionRefused, ActResult, EventDraft, Plan


def order_payload(order: Order) -> dict[str, Any]:
    """The order as the journal records it (exact numbers, UTC strings)."""
    return order.model_dump(mode="python")


def _queue(models: dict[StateKind, StateFileModel]) -> QueueFile:
    queue = models[StateKind.QUEUE]
    assert isinstance(queue, QueueFile)
    return queue


def stage_order(
    ctx: ActionContext,
    *,
    vault_id: str,
    symbol: str,
    side: Side,
    qty: Decimal,
    order_type: OrderType = OrderType.MARKET,
    limit_price: Decimal | None = None,
    time_in_force: TimeInForce = TimeInForce.DAY,
    origin: str = "operator",
    reasons: Sequence[str] = (),
    conviction: Decimal | None = None,
) -> ActResult:
    """Put a new order in the queue as ``staged``."""
    ctx.require_writable("staging an order")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        now = ctx.clock()
        order = Order.model_validate(
            {
                "order_id": ulid(now),
                "vault_id": vault_id,
                "symbol": symbol,
                "asset_class": AssetClass.CRYPTO if "/" in symbol else AssetClass.EQUITY,
                "side": side,
                "qty": qty,
                "order_type": order_type,
                "limit_price": limit_price,
                "time_in_force": time_in_force,
                "status": OrderStatus.STAGED,
                "origin": origin,
                "reason_vector": list(reasons),
                "conviction": conviction,
                "created_at": now,
                "updated_at": now,
            }
        )
        queue.orders.append(order)
        event = EventDraft(
            "order.staged",
            vault_id=vault_id,
            order_id=order.order_id,
            payload={"order": order_payload(order)},
        )
        return Plan({StateKind.QUEUE: queue}, [event], order)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def _move_orders(
    ctx: ActionContext,
    order_ids: Sequence[str],
    target: OrderStatus,
    action: str,
    extra: dict[str, Any] | None = None,
) -> ActResult:
    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        now = ctx.clock()
        by_id = {o.order_id: o for o in queue.orders}
        events: list[EventDraft] = []
        changed: list[Order] = []
        for order_id in order_ids:
            order = by_id.get(order_id)
            if order is None:
                raise ActionRefused(f"order {order_id} is not in the queue")
            try:
                check_move(order_id, order.status, target)
            except IllegalTransition as exc:
                raise ActionRefused(str(exc)) from None
            order.status = target
            order.updated_at = now
            if target is OrderStatus.APPROVED:
                order.approved_by = ctx.actor
                order.approved_at = now
            if target is OrderStatus.REJECTED and extra and extra.get("reason"):
                order.last_error = f"rejected by {ctx.actor}: {extra['reason']}"
            changed.append(order)
            events.append(
                EventDraft(
                    action,
                    vault_id=order.vault_id,
                    order_id=order_id,
                    follower_id=order.follower_id,
                    payload={**(extra or {}), "order": order_payload(order)},
                )
            )
        return Plan({StateKind.QUEUE: queue}, events, changed)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def approve_orders(ctx: ActionContext, order_ids: Sequence[str]) -> ActResult:
    """staged → approved, recording who approved and when."""
    ctx.require_writable("approving orders")
    return _move_orders(ctx, order_ids, OrderStatus.APPROVED, "order.approved")


def reject_orders(
    ctx: ActionContext, order_ids: Sequence[str], reason: str | None = None
) -> ActResult:
    """staged → rejected, with the operator's reason."""
    ctx.require_writable("rejecting orders")
    return _move_orders(ctx, order_ids, OrderStatus.REJECTED, "order.rejected", {"reason": reason})
