"""Order actions: stage (by hand or a rebalance), approve, reject, flip, edit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.reading import Context, read_allocation, read_context
from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.ids import ulid
from vanta_tui.core.mirror import size_child, snapshot
from vanta_tui.core.models import (
    Follower,
    FollowersFile,
    Order,
    QueueFile,
    StateFileModel,
    VaultOverlay,
)
from vanta_tui.core.models.queue import order_data
from vanta_tui.core.order_states import IllegalTransition, check_move
from vanta_tui.core.rebalance import RebalancePlan, plan_rebalance
from vanta_tui.core.risk import check_order
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StoreError
from vanta_tui.store.journal import ActionRefused, ActResult, EventDraft, Journal, Plan
from vanta_tui.store.journal.redact import Clean
from vanta_tui.store.loader import load_model


def order_payload(order: Order) -> dict[str, Any]:
    """The order as the journal records it: its JSON data (exact numbers, UTC strings, enum
    values), which holds no credential-like keys (the model refuses them)."""
    return Clean(order_data(order))


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
    check: Callable[[Order], dict[str, Any]] | None = None,
    after: Callable[[Order, int, QueueFile, list[EventDraft]], None] | None = None,
) -> ActResult:
    """Move orders to ``target``; ``after(order, index of its event, queue, events)`` may
    add orders and events of its own (the mirroring of an approved vault order)."""

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
            notes = check(order) if check is not None else {}
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
                    payload={**(extra or {}), **notes, "order": order_payload(order)},
                )
            )
            if after is not None:
                after(order, len(events) - 1, queue, events)
        return Plan({StateKind.QUEUE: queue}, events, changed)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def approve_orders(ctx: ActionContext, order_ids: Sequence[str]) -> ActResult:
    """staged → approved, recording who approved and when, after the risk checks: a tripped
    vault only takes orders that reduce exposure; no position may pass its cap. Orders of a
    vault under maintenance are approved but held (not sent) until maintenance ends."""
    ctx.require_writable("approving orders")
    state = read_context(ctx.state_dir)

    def check(order: Order) -> dict[str, Any]:
        verdict = check_order(
            order,
            state.vault(order.vault_id),
            state.overlays,
            state.pnl,
            state.account(order.follower_id or order.vault_id),
        )
        if not verdict.allowed:
            raise ActionRefused(f"order {order.order_id} not approved: {verdict.reason}")
        return {"held": verdict.reason} if verdict.held else {}

    try:
        followers = load_model(ctx.state_dir, FollowersFile).followers
    except StoreError:
        followers = []

    def mirror(parent: Order, event_index: int, queue: QueueFile, events: list[EventDraft]) -> None:
        if parent.parent_id is not None or parent.follower_id is not None:
            return  # children are not mirrored again
        mine = [f for f in followers if f.vault_id == parent.vault_id]
        if mine:
            expand_children(ctx, state, parent, mine, event_index, queue, events)

    return _move_orders(
        ctx, order_ids, OrderStatus.APPROVED, "order.approved", check=check, after=mirror
    )


def expand_children(
    ctx: ActionContext,
    state: Context,
    parent: Order,
    followers: Sequence[Follower],
    parent_event: int,
    queue: QueueFile,
    events: list[EventDraft],
) -> list[Order]:
    """The approved vault order's children, one per eligible follower, appended to the queue
    already approved (the follower agreed to mirroring when onboarding); shadow children and
    skipped followers are only journaled. Every follower is sized from one parent snapshot."""
    vault = state.vault(parent.vault_id)
    pnl = state.pnl.vaults.get(parent.vault_id) if state.pnl else None
    snap = snapshot(parent, state.account(parent.vault_id), pnl.nav if pnl else None)
    now = ctx.clock()
    children: list[Order] = []
    for follower in followers:
        size = size_child(snap, follower, vault, state.account(follower.follower_id))

        def draft(
            action: str,
            payload: dict[str, Any],
            order_id: str | None = None,
            follower_id: str = follower.follower_id,
        ) -> None:
            events.append(
                EventDraft(
                    action,
                    vault_id=parent.vault_id,
                    order_id=order_id,
                    follower_id=follower_id,
                    payload={"parent": snap.as_payload(), **payload},
                    batch_parents=[parent_event],
                )
            )

        if size.qty is None:
            draft("mirror.skipped", {"reason": size.reason})
            continue
        if size.shadow:
            child_intent = {"symbol": snap.symbol, "side": snap.side.value, "qty": size.qty}
            draft("mirror.shadow", {"child": child_intent, "reason": size.reason})
            continue
        child = Order(
            order_id=ulid(now),
            vault_id=parent.vault_id,
            symbol=parent.symbol,
            asset_class=parent.asset_class,
            side=parent.side,
            qty=size.qty,
            order_type=parent.order_type,
            limit_price=parent.limit_price,
            time_in_force=parent.time_in_force,
            status=OrderStatus.APPROVED,
            origin="mirror",
            reason_vector=[f"mirror of {parent.order_id}", *parent.reason_vector],
            conviction=parent.conviction,
            created_at=now,
            updated_at=now,
            approved_by=f"mirror ({ctx.actor})",
            approved_at=now,
            flipped=parent.flipped,
            parent_id=parent.order_id,
            follower_id=follower.follower_id,
        )
        queue.orders.append(child)
        children.append(child)
        draft(
            "order.mirrored",
            {"sizing": size.reason, "order": order_payload(child)},
            order_id=child.order_id,
        )
    return children


def reject_orders(
    ctx: ActionContext, order_ids: Sequence[str], reason: str | None = None
) -> ActResult:
    """staged → rejected, with the operator's reason."""
    ctx.require_writable("rejecting orders")
    return _move_orders(ctx, order_ids, OrderStatus.REJECTED, "order.rejected", {"reason": reason})


def _staged(queue: QueueFile, order_id: str, what: str) -> Order:
    order = queue.get(order_id)
    if order is None:
        raise ActionRefused(f"order {order_id} is not in the queue")
    if order.status is not OrderStatus.STAGED:
        raise ActionRefused(
            f"order {order_id} is {order.status.value}; only staged orders can be {what}"
        )
    return order


def flip_order(ctx: ActionContext, order_id: str) -> ActResult:
    """Reverse the side of a staged order (buy ↔ sell)."""
    ctx.require_writable("flipping an order")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        order = _staged(queue, order_id, "flipped")
        before = order.side
        order.side = before.opposite
        order.flipped = not order.flipped
        order.updated_at = ctx.clock()
        event = EventDraft(
            "order.flipped",
            vault_id=order.vault_id,
            order_id=order_id,
            payload={"from": before.value, "to": order.side.value, "order": order_payload(order)},
        )
        return Plan({StateKind.QUEUE: queue}, [event], order)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


EDITABLE = ("qty", "limit_price", "order_type", "time_in_force")


def edit_order(ctx: ActionContext, order_id: str, changes: dict[str, Any]) -> ActResult:
    """Change qty, limit price, order type or time in force of a staged order."""
    ctx.require_writable("editing an order")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ActionRefused(f"cannot edit {', '.join(sorted(unknown))}; editable: {EDITABLE}")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        order = _staged(queue, order_id, "edited")
        data = order.model_dump()
        data.update(changes)
        if changes.get("order_type") == OrderType.MARKET:
            data["limit_price"] = None
        data["updated_at"] = ctx.clock()
        try:
            edited = Order.model_validate(data)
        except ValueError as exc:
            raise ActionRefused(f"order {order_id} not edited: {first_error(exc)}") from None
        diff = {
            field: [str(getattr(order, field)), str(getattr(edited, field))]
            for field in EDITABLE
            if getattr(order, field) != getattr(edited, field)
        }
        if not diff:
            return Plan({}, [], order)
        queue.orders[queue.orders.index(order)] = edited
        event = EventDraft(
            "order.edited",
            vault_id=order.vault_id,
            order_id=order_id,
            payload={"changed": diff, "order": order_payload(edited)},
        )
        return Plan({StateKind.QUEUE: queue}, [event], edited)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def first_error(exc: ValueError) -> str:
    """The first problem of a validation error, as `place: message` (for refusals)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


def preview_rebalance(state_dir: Path, vault_id: str, now: datetime) -> RebalancePlan:
    """The orders a rebalance of the vault would stage (nothing is written)."""
    state = read_context(state_dir)
    vault = state.vault(vault_id)
    account = state.account(vault_id)
    if account is None:
        raise ActionRefused(f"vault {vault_id} has no account in portfolio.json")
    allocation = read_allocation(state_dir)
    targets = allocation.vaults.get(vault_id)
    overlay = state.overlays.for_vault(vault_id) if state.overlays else None
    return plan_rebalance(
        vault,
        overlay or VaultOverlay(),
        account,
        dict(targets.targets) if targets else {},
        state.vaults.defaults,
        now,
    )


def stage_rebalance(ctx: ActionContext, vault_id: str) -> ActResult:
    """Stage the rebalance orders of a vault, each with its reason, in one audited action."""
    ctx.require_writable("staging a rebalance")
    proposal = preview_rebalance(ctx.state_dir, vault_id, ctx.clock())

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        now = ctx.clock()
        events: list[EventDraft] = [
            EventDraft(
                "rebalance.staged",
                vault_id=vault_id,
                payload={
                    "orders": len(proposal.orders),
                    "buy_notional": proposal.buy_notional,
                    "sell_notional": proposal.sell_notional,
                    "skipped": proposal.skipped,
                    "amplified": proposal.amplified,
                },
            )
        ]
        staged: list[Order] = []
        for proposed in proposal.orders:
            order = Order(
                order_id=ulid(now),
                vault_id=vault_id,
                symbol=proposed.symbol,
                asset_class=proposed.asset_class,
                side=proposed.side,
                qty=proposed.qty,
                origin="rebalance",
                reason_vector=[proposed.reason],
                created_at=now,
                updated_at=now,
            )
            queue.orders.append(order)
            staged.append(order)
            events.append(
                EventDraft(
                    "order.staged",
                    vault_id=vault_id,
                    order_id=order.order_id,
                    payload={"order": order_payload(order)},
                    batch_parents=[0],
                )
            )
        if not staged:
            return Plan({}, [], proposal)
        return Plan({StateKind.QUEUE: queue}, events, staged)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def retry_failed(ctx: ActionContext, order_id: str) -> ActResult:
    """A failed (dead-lettered) order, staged again as a new order for a fresh approval."""
    ctx.require_writable("retrying an order")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        failed = queue.get(order_id)
        if failed is None or failed.status is not OrderStatus.FAILED:
            state = failed.status.value if failed else "not in the queue"
            raise ActionRefused(f"order {order_id} is {state}; only failed orders can be retried")
        now = ctx.clock()
        again = Order(
            order_id=ulid(now),
            vault_id=failed.vault_id,
            asset_class=failed.asset_class,
            **failed.ticket(),
            origin="retry",
            reason_vector=[
                f"retry of {order_id} (failed: {failed.last_error})",
                *failed.reason_vector,
            ],
            conviction=failed.conviction,
            created_at=now,
            updated_at=now,
        )
        queue.orders.append(again)
        event = EventDraft(
            "order.staged",
            vault_id=again.vault_id,
            order_id=again.order_id,
            payload={"retry_of": order_id, "order": order_payload(again)},
            parents=None,
        )
        return Plan({StateKind.QUEUE: queue}, [event], again)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def dismiss_failed(ctx: ActionContext, order_id: str, reason: str | None = None) -> list[Any]:
    """Take a failed order off the dead-letter list (it stays failed; the reason is audited)."""
    ctx.require_writable("dismissing a dead letter")
    queue = load_model(ctx.state_dir, QueueFile)
    order = queue.get(order_id)
    if order is None or order.status is not OrderStatus.FAILED:
        state = order.status.value if order else "not in the queue"
        raise ActionRefused(f"order {order_id} is {state}; only failed orders are dead letters")
    return ctx.journal.record(
        ctx.actor,
        [
            EventDraft(
                "order.dead_letter_dismissed",
                vault_id=order.vault_id,
                order_id=order_id,
                payload={"reason": reason},
            )
        ],
    )


def dismissed_dead_letters(journal: Journal) -> set[str]:
    """Failed orders an operator has dismissed (they are dead letters no more)."""
    return {
        str(row[0])
        for row in journal.db.execute(
            "SELECT order_id FROM events WHERE action = 'order.dead_letter_dismissed'"
        )
    }


def failed_not_dismissed(queue: QueueFile, dismissed: set[str]) -> list[Order]:
    return [
        o for o in queue.orders if o.status is OrderStatus.FAILED and o.order_id not in dismissed
    ]


def dead_letters(state_dir: Path, journal: Journal) -> list[Order]:
    """Failed orders that nobody has dismissed yet."""
    return failed_not_dismissed(load_model(state_dir, QueueFile), dismissed_dead_letters(journal))
