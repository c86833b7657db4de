"""What the executor records: orders going to the broker, and what the broker answered.

Each is one audited action over the files it changes, batched over many orders so a large
queue is not rewritten once per state change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.orders import order_payload
from vanta_tui.actions.overlays import set_maintenance
from vanta_tui.brokers.base import BrokerOrder, Brokers, BrokerStatus
from vanta_tui.brokers.errors import BrokerError
from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.fills import apply_fill, mark_pnl
from vanta_tui.core.ids import client_order_id
from vanta_tui.core.models import (
    Order,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    StateFileModel,
)
from vanta_tui.core.order_states import AT_BROKER, can_move, check_move
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.journal import ActResult, EventDraft, Plan, own_order
from vanta_tui.store.loader import load_model


def _mark(
    queue: QueueFile,
    order_ids: Sequence[str],
    now: datetime,
    client_ids: Mapping[str, str] | None = None,
) -> tuple[list[EventDraft], list[Order]]:
    """approved → submitting, with the client order id fixed before the first send (in the
    form its broker accepts, from ``client_ids``; else ``vanta-<order id>``)."""
    client_ids = client_ids or {}
    events: list[EventDraft] = []
    marked: list[Order] = []
    by_id = queue.index()
    for order_id in order_ids:
        order = by_id.get(order_id)
        if order is None or order.status not in {OrderStatus.APPROVED, OrderStatus.SUBMITTING}:
            continue  # gone, or someone else moved it meanwhile
        order = by_id[order_id] = own_order(queue, order)
        if order.status is OrderStatus.APPROVED:
            check_move(order_id, order.status, OrderStatus.SUBMITTING)
            order.status = OrderStatus.SUBMITTING
        order.client_order_id = order.client_order_id or client_ids.get(
            order_id, client_order_id(order_id)
        )
        order.attempts += 1
        order.updated_at = now
        marked.append(order)
        events.append(
            EventDraft(
                "order.submitting",
                vault_id=order.vault_id,
                order_id=order_id,
                follower_id=order.follower_id,
                payload={"attempt": order.attempts, "order": order_payload(order)},
            )
        )
    return events, marked


def execution_step(
    ctx: ActionContext,
    outcomes: Sequence[SendOutcome] = (),
    mark: Sequence[str] = (),
    client_ids: Mapping[str, str] | None = None,
) -> ActResult:
    """One audited action of the executor: record what the broker answered for some orders
    and move others to ``submitting`` (with their client order ids fixed) before they are
    sent; either part may be empty. The result is the orders marked ``submitting`` (the
    plan's own copies, to send)."""
    kinds = [StateKind.QUEUE]
    if outcomes:
        kinds += [StateKind.PORTFOLIO, StateKind.PNL]

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = models[StateKind.QUEUE]
        assert isinstance(queue, QueueFile)
        now = ctx.clock()
        events: list[EventDraft] = []
        changed: dict[StateKind, StateFileModel] = {}
        if outcomes:
            portfolio, pnl = models[StateKind.PORTFOLIO], models[StateKind.PNL]
            assert isinstance(portfolio, PortfolioFile)
            assert isinstance(pnl, PnlFile)
            recorded, touched_truth = _record(queue, portfolio, pnl, outcomes, now)
            events += recorded
            if touched_truth:
                portfolio.asof = now
                pnl.asof = now
                changed[StateKind.PORTFOLIO] = portfolio
                changed[StateKind.PNL] = pnl
        marking, marked = _mark(queue, mark, now, client_ids) if mark else ([], [])
        events += marking
        if events:
            changed[StateKind.QUEUE] = queue
        return Plan(changed if events else {}, events, marked)

    # The queue's orders are lent: the plan copies only those it marks or records (at
    # 10,000 orders, copying every order was a quarter of the time before the first send).
    return ctx.journal.act(ctx.actor, kinds, plan, lend_orders=True)


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one order at the broker: its broker state, or an error text."""

    order_id: str
    broker: BrokerOrder | None = None
    error: str | None = None
    give_up: bool = False
    """The error is final for this order (retries spent): it fails."""
    refused: bool = False
    """The broker answered the send with a refusal (its words in ``error``): the order went
    to it and was rejected, so it ends ``broker_rejected`` (through ``submitted``, the
    contract's only way there), never resent and not a dead letter."""


_FINAL = {
    BrokerStatus.FILLED: OrderStatus.FILLED,
    BrokerStatus.CANCELLED: OrderStatus.CANCELLED,
    BrokerStatus.REJECTED: OrderStatus.BROKER_REJECTED,
}


def _final_of(order: Order, answer: BrokerOrder) -> OrderStatus | None:
    """The final state the broker's answer puts the order in (None: still working). A
    rejection of an order that already filled in part (the paper book refusing the rest,
    a venue expiring it) is a cancellation of the rest: its fills stand, and the state
    machine has no way from partially filled to rejected."""
    final = _FINAL.get(answer.status)
    if final is OrderStatus.BROKER_REJECTED and (
        order.status is OrderStatus.PARTIALLY_FILLED or answer.filled_qty > 0
    ):
        return OrderStatus.CANCELLED
    return final


def _why_not_applied(order: Order, answer: BrokerOrder) -> str | None:
    """Why an answer cannot be applied to the order as the queue has it, checked before
    anything of it is (its fill would otherwise move the portfolio of an order whose state
    cannot follow); None when it can."""
    status = order.status
    if status is OrderStatus.SUBMITTING:
        status = OrderStatus.SUBMITTED
    elif (
        status not in {OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED}
        and answer.filled_qty == order.filled_qty
        and _final_of(order, answer) in {None, status}
    ):
        return None  # nothing new about an order that is done
    moves = []
    if answer.filled_qty > order.filled_qty and answer.avg_fill_price is not None:
        moves.append(
            OrderStatus.FILLED
            if answer.status is BrokerStatus.FILLED
            else OrderStatus.PARTIALLY_FILLED
        )
    final = _final_of(order, answer)
    if final is not None and final is not OrderStatus.FILLED:
        moves.append(final)
    for target in moves:
        if status is not target and not can_move(status, target):
            return (
                f"the broker answered {answer.status.value} (filled {answer.filled_qty}) "
                f"for an order that is {order.status.value}; not applied"
            )
        status = target
    return None


def _record(
    queue: QueueFile,
    portfolio: PortfolioFile,
    pnl: PnlFile,
    outcomes: Sequence[SendOutcome],
    now: datetime,
) -> tuple[list[EventDraft], bool]:
    """The broker's answers applied to the models; the events, and whether the portfolio
    and PnL changed."""
    events: list[EventDraft] = []
    touched_truth = False
    by_id = queue.index()
    for outcome in outcomes:
        order = by_id.get(outcome.order_id)
        if order is None:
            continue
        order = by_id[outcome.order_id] = own_order(queue, order)

        def emit(action: str, order: Order = order, **payload: object) -> None:
            events.append(
                EventDraft(
                    action,
                    vault_id=order.vault_id,
                    order_id=order.order_id,
                    follower_id=order.follower_id,
                    payload={**payload, "order": order_payload(order)},
                )
            )

        if outcome.broker is None:
            order.last_error = outcome.error
            order.updated_at = now
            if outcome.refused and order.status is OrderStatus.SUBMITTING:
                order.status = OrderStatus.SUBMITTED
                emit("order.submitted", broker_order_id=None, refused=True)
                order.status = OrderStatus.BROKER_REJECTED
                emit("order.broker_rejected", reason=outcome.error)
            elif outcome.give_up and order.status is OrderStatus.SUBMITTING:
                order.status = OrderStatus.FAILED
                emit("order.failed", error=outcome.error, attempts=order.attempts)
            else:
                emit("order.send_error", error=outcome.error, attempts=order.attempts)
            continue
        answer = outcome.broker
        not_applied = _why_not_applied(order, answer)
        if not_applied is not None:
            # Nothing of this answer is applied (the order stays as it is, the rest of the
            # batch is recorded); said once, not on every cycle that brings it again.
            if order.last_error != not_applied:
                order.last_error = not_applied
                order.updated_at = now
                events.append(
                    EventDraft(
                        "alarm.raised",
                        vault_id=order.vault_id,
                        order_id=order.order_id,
                        follower_id=order.follower_id,
                        payload={
                            "kind": "broker_answer_not_applied",
                            "level": "fail",
                            "message": f"order {order.order_id}: {not_applied}",
                            "order": order_payload(order),
                        },
                    )
                )
            continue
        first_answer: dict[str, Any] = {}
        if order.status is OrderStatus.SUBMITTING:
            order.status = OrderStatus.SUBMITTED
            order.broker_order_id = answer.broker_order_id
            order.updated_at = now
            order.last_error = None
            if answer.filled_qty > order.filled_qty and answer.avg_fill_price is not None:
                # A first answer that is already a fill: one event says both (submitting →
                # filled, with the broker's id), not an `order.submitted` before it.
                first_answer = {"broker_order_id": answer.broker_order_id, "was": "submitting"}
            else:
                emit("order.submitted", broker_order_id=answer.broker_order_id)
        new_fill = answer.filled_qty - order.filled_qty
        if new_fill > 0 and answer.avg_fill_price is not None:
            # The fill price of this part: from the change in the broker's average.
            before = order.filled_qty * (order.avg_fill_price or Decimal(0))
            price = ((answer.filled_qty * answer.avg_fill_price - before) / new_fill).quantize(
                Decimal("0.00000001")
            )
            account_id = order.follower_id or order.vault_id
            account = portfolio.accounts.get(account_id)
            realized = Decimal(0)
            if account is not None:
                realized = apply_fill(
                    account, order.symbol, order.asset_class, order.side, new_fill, price
                )
                vault_pnl = pnl.vaults.get(account_id)
                if vault_pnl is not None:
                    mark_pnl(vault_pnl, account, realized, now)
                touched_truth = True
            order.filled_qty = answer.filled_qty
            order.avg_fill_price = answer.avg_fill_price
            target = (
                OrderStatus.FILLED
                if answer.status is BrokerStatus.FILLED
                else OrderStatus.PARTIALLY_FILLED
            )
            if order.status is not target:
                check_move(order.order_id, order.status, target)
                order.status = target
            order.updated_at = now
            emit(
                "order.filled" if target is OrderStatus.FILLED else "order.partially_filled",
                fill={
                    "qty": new_fill,
                    "price": price,
                    "symbol": order.symbol,
                    "side": order.side.value,
                    # What the broker charged for the order so far (cumulative: the blotter
                    # takes each fill's part as the difference); absent when it does not say.
                    **(
                        {"fee_total": answer.fee, "fee_currency": answer.fee_currency}
                        if answer.fee is not None
                        else {}
                    ),
                },
                realized=realized,
                **first_answer,
            )
        final = _final_of(order, answer)
        if final is not None and final is not OrderStatus.FILLED and order.status is not final:
            check_move(order.order_id, order.status, final)
            order.status = final
            order.last_error = answer.reason
            order.updated_at = now
            action = (
                "order.cancelled" if final is OrderStatus.CANCELLED else "order.broker_rejected"
            )
            emit(action, reason=answer.reason)
    failed_parents = {
        outcome.order_id
        for outcome in outcomes
        if (o := by_id.get(outcome.order_id)) is not None
        and o.follower_id is None
        and o.status in {OrderStatus.FAILED, OrderStatus.BROKER_REJECTED}
    }
    if failed_parents:
        # The queue gone through once, not once per failed parent (hundreds of them after
        # a venue outage at 10,000 orders).
        at_broker: dict[str, list[Order]] = {}
        for o in queue.orders:
            if o.parent_id in failed_parents and o.status in AT_BROKER:
                at_broker.setdefault(o.parent_id, []).append(o)
        for parent_id in sorted(failed_parents):
            children = at_broker.get(parent_id, [])
            if children:
                parent = by_id[parent_id]
                # Not unwound: the followers' orders stand until an operator decides.
                events.append(
                    EventDraft(
                        "alarm.raised",
                        vault_id=parent.vault_id,
                        order_id=parent_id,
                        payload={
                            "kind": "parent_failed_children_sent",
                            "level": "fail",
                            "message": (
                                f"vault order {parent_id} is {parent.status.value} but "
                                f"{len(children)} follower order(s) already went to the "
                                "brokers; they are not unwound: decide per follower"
                            ),
                            "children": [
                                {"order_id": c.order_id, "follower_id": c.follower_id,
                                 "status": c.status.value}
                                for c in children
                            ],
                        },
                    )
                )  # fmt: skip
    return events, touched_truth


@dataclass
class CancelReport:
    cancelled: list[str]
    failed: list[str]
    """`order id: why` for each order that could not be cancelled."""


def cancel_orders(ctx: ActionContext, order_ids: Sequence[str], brokers: Brokers) -> CancelReport:
    """Ask the broker to cancel working orders (submitted or partially filled) and record
    its answers; orders not at the broker are refused with the reason."""
    ctx.require_writable("cancelling orders")
    queue = load_model(ctx.state_dir, QueueFile)
    outcomes: list[SendOutcome] = []
    failed: list[str] = []
    for order_id in order_ids:
        order = queue.get(order_id)
        if order is None:
            failed.append(f"{order_id}: not in the queue")
            continue
        if (
            order.status not in {OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED}
            or not order.broker_order_id
        ):
            failed.append(
                f"{order_id}: is {order.status.value}; only orders working at the broker "
                "(submitted, partially filled) can be cancelled"
            )
            continue
        try:
            outcomes.append(
                SendOutcome(
                    order_id, brokers.for_order(order).cancel(order.broker_order_id, order.symbol)
                )
            )
        except BrokerError as exc:
            failed.append(f"{order_id}: {exc}")
    if outcomes:
        execution_step(ctx, outcomes)
    cancelled = [
        o.order_id for o in outcomes if o.broker and o.broker.status is BrokerStatus.CANCELLED
    ]
    failed += [
        f"{o.order_id}: broker says {o.broker.status.value}"
        for o in outcomes
        if o.broker and o.broker.status is not BrokerStatus.CANCELLED
    ]
    return CancelReport(cancelled, failed)


def panic(ctx: ActionContext, reason: str, brokers: Brokers) -> CancelReport:
    """Global maintenance on, then cancel every working order at every broker."""
    ctx.require_writable("panic")
    if not reason.strip():
        raise ActionRefused("panic needs a reason")
    overlays = load_model(ctx.state_dir, OverlayFile)
    if not overlays.global_.maintenance.enabled:
        set_maintenance(ctx, None, True, f"PANIC: {reason}")
    queue = load_model(ctx.state_dir, QueueFile)
    working = [
        o.order_id
        for o in queue.orders
        if o.status in {OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED}
    ]
    report = cancel_orders(ctx, working, brokers)
    ctx.journal.record(
        ctx.actor,
        [
            EventDraft(
                "desk.panic",
                payload={
                    "reason": reason,
                    "cancelled": report.cancelled,
                    "not_cancelled": report.failed,
                },
            )
        ],
    )
    return report
