"""Order actions: stage (by hand or a rebalance), approve, reject, flip, edit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.reading import read_allocation, read_context, require_vault
from vanta_tui.actions.venues import (
    VaultCaps,
    last_price,
    refuse_at_venue,
    screen_rebalance,
    vault_caps,
)
from vanta_tui.core.enums import OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.ids import ulid
from vanta_tui.core.intents import (
    Ticket,
    account_of,
    describe_open,
    find_duplicate,
    open_qty,
    sell_shortfall,
    unknown_symbol,
)
from vanta_tui.core.mirror import size_child, snapshot, within_free_holding
from vanta_tui.core.models import (
    Follower,
    FollowersFile,
    Order,
    QueueFile,
    StateFileModel,
    VaultOverlay,
)
from vanta_tui.core.models.queue import EDITABLE, edited_order, new_order, order_data
from vanta_tui.core.order_states import OPEN, IllegalTransition, check_move
from vanta_tui.core.rebalance import RebalancePlan, plan_rebalance
from vanta_tui.core.risk import check_order, maintenance_hold, order_price
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.wording import first_problem
from vanta_tui.store.errors import StateFileError, StoreError
from vanta_tui.store.journal import ActResult, EventDraft, Journal, Plan, queries
from vanta_tui.store.journal.redact import Clean
from vanta_tui.store.loader import load_model
from vanta_tui.store.snapshot import StateSnapshot


def order_payload(order: Order) -> dict[str, Any]:
    """The order as the journal records it: its JSON data (exact numbers, UTC strings, enum
    values), which holds no credential-like keys (the model refuses them)."""
    return Clean(order_data(order))


class DuplicateOrder(ActionRefused):
    """A new order identical to an open one staged moments ago: most likely a key pressed
    twice. Staging it anyway needs an explicit "again" (``allow_duplicate``)."""

    def __init__(self, existing: Order, now: datetime) -> None:
        self.existing = existing
        seconds = int(existing.age(now))
        super().__init__(
            f"an identical order is open: {describe_open(existing).removeprefix('already ')}, "
            f"staged {seconds} s ago (origin: {existing.origin}); stage it again only on purpose "
            "(--allow-duplicate)"
        )


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
    allow_duplicate: bool = False,
) -> ActResult:
    """Put a new order in the queue as ``staged``.

    An order identical to an open one of the vault (symbol, side, qty, type, limit) staged
    within `DUPLICATE_WINDOW` is refused with `DuplicateOrder` unless ``allow_duplicate``:
    the desk then asks "stage it again?", the CLI wants ``--allow-duplicate``."""
    ctx.require_writable("staging an order")
    _known_vault_or_refuse(ctx.state_dir, vault_id)
    ticket = Ticket(vault_id, symbol, side, qty, order_type, limit_price)
    caps = vault_caps(ctx.state_dir, vault_id, live=ctx.live)  # before the lock: may load
    price = last_price(ctx.state_dir, symbol) if caps else None

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        now = ctx.clock()
        twin = find_duplicate(queue.orders, ticket, now)
        if twin is not None and not allow_duplicate:
            raise DuplicateOrder(twin, now)
        order = _new_order(
            order_id=ulid(now),
            vault_id=vault_id,
            symbol=symbol,
            side=side,
            qty=qty,
            now=now,
            order_type=order_type,
            limit_price=limit_price,
            time_in_force=time_in_force,
            origin=origin,
            reason_vector=list(reasons),
            conviction=conviction,
        )
        refuse_at_venue(caps, order, price)  # what the venue cannot take, before approval
        queue.orders.append(order)
        event = EventDraft(
            "order.staged",
            vault_id=vault_id,
            order_id=order.order_id,
            payload={"order": order_payload(order)},
        )
        return Plan({StateKind.QUEUE: queue}, [event], order)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


MoveCheck = Callable[[Order, QueueFile], dict[str, Any]]
"""Refuses a move (`ActionRefused`) or returns notes for its event."""
MoveAfter = Callable[[Order, int, QueueFile, list[EventDraft]], None]
"""Adds orders and events of its own after a move (the mirroring of an approved order)."""


def _plan_moves(
    queue: QueueFile,
    order_ids: Sequence[str],
    target: OrderStatus,
    action: str,
    *,
    now: datetime,
    actor: str,
    extra: dict[str, Any] | None = None,
    check: MoveCheck | None = None,
    after: MoveAfter | None = None,
) -> tuple[list[EventDraft], list[Order]]:
    """Move orders of ``queue`` (in place) to ``target``: the events and the moved orders."""
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
        notes = check(order, queue) if check is not None else {}
        order.status = target
        order.updated_at = now
        if target is OrderStatus.APPROVED:
            order.approved_by = actor
            order.approved_at = now
        if target is OrderStatus.REJECTED and extra and extra.get("reason"):
            order.last_error = f"rejected by {actor}: {extra['reason']}"
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
    return events, changed


def _move_orders(
    ctx: ActionContext,
    order_ids: Sequence[str],
    target: OrderStatus,
    action: str,
    extra: dict[str, Any] | None = None,
    check: MoveCheck | None = None,
    after: MoveAfter | None = None,
) -> ActResult:
    """Move orders to ``target`` in one audited action (see `_plan_moves`)."""

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        events, changed = _plan_moves(
            queue, order_ids, target, action, now=ctx.clock(), actor=ctx.actor, extra=extra,
            check=check, after=after,
        )  # fmt: skip
        return Plan({StateKind.QUEUE: queue}, events, changed)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


class _Approval:
    """The approval's rules over one reading of the registry, overlays, PnL, portfolio and
    followers: the checks of each order and the mirroring of an approved vault order. The
    action (reading the files under the queue's lock) and its preview (the desk's
    confirmation, from the models on screen) run exactly this."""

    def __init__(self, state: StateSnapshot, followers: Sequence[Follower], actor: str) -> None:
        self.state = state
        self.followers = list(followers)
        self.actor = actor
        self._sells: dict[tuple[str, str], list[Order]] = {}
        """(account, symbol) → its open sells past staging: what they take of the holding."""

    @classmethod
    def read(cls, state_dir: Path, actor: str) -> _Approval:
        try:
            followers = load_model(state_dir, FollowersFile).followers
        except StoreError:
            followers = []
        return cls(read_context(state_dir), followers, actor)

    def _index(self, queue: QueueFile) -> None:
        """One pass over the queue (a batch of k orders costs n + k, not n × k)."""
        self._sells = {}
        for o in queue.orders:
            if o.side is Side.SELL and o.status in OPEN and o.status is not OrderStatus.STAGED:
                self._sells.setdefault((account_of(o), o.symbol), []).append(o)

    def taken(self, account_id: str, symbol: str) -> Decimal:
        """What the account's open sells of ``symbol`` already take of its holding."""
        return sum((open_qty(o) for o in self._sells.get((account_id, symbol), [])), Decimal(0))

    def _commit(self, order: Order) -> None:
        if order.side is Side.SELL:
            self._sells.setdefault((account_of(order), order.symbol), []).append(order)

    def check(self, order: Order, queue: QueueFile) -> dict[str, Any]:
        state = self.state
        account = state.account(account_of(order))
        follower = None
        if order.follower_id is not None:  # a retried child: the follower's terms
            follower = next((f for f in self.followers if f.follower_id == order.follower_id), None)
            if follower is None:
                raise ActionRefused(
                    f"order {order.order_id} not approved: follower {order.follower_id} is not "
                    "in followers.json"
                )
        vault_account = state.account(order.vault_id)
        priced_by_vault = follower is not None and (
            vault_account is not None and order.symbol in vault_account.positions
        )
        # Sells approved already (this batch's earlier ones too) take their share of the
        # holding; other staged sells do not, until they are approved.
        problem = (None if priced_by_vault else unknown_symbol(order, account)) or sell_shortfall(
            order, account, self._sells.get((account_of(order), order.symbol), [])
        )
        if problem is not None:
            raise ActionRefused(f"order {order.order_id} not approved: {problem}")
        vault = state.vault(order.vault_id)
        verdict = check_order(
            order, vault, state.overlays, state.pnl, account,
            price_hint=order_price(order, vault_account) if follower else None,
            max_pos_usd=follower.max_pos_usd if follower else None,
        )  # fmt: skip
        if not verdict.allowed:
            raise ActionRefused(f"order {order.order_id} not approved: {verdict.reason}")
        self._commit(order)
        if not verdict.held:
            return {}
        hold = maintenance_hold(state.overlays, order.vault_id)
        return {"held": hold.text if hold is not None else verdict.reason}

    def plan(
        self, queue: QueueFile, order_ids: Sequence[str], now: datetime
    ) -> tuple[list[EventDraft], list[Order]]:
        self._index(queue)

        def mirror(parent: Order, index: int, queue: QueueFile, events: list[EventDraft]) -> None:
            if parent.parent_id is not None or parent.follower_id is not None:
                return  # children are not mirrored again
            mine = [f for f in self.followers if f.vault_id == parent.vault_id]
            if mine:
                children = expand_children(
                    self.state, parent, mine, index, queue, events, now, self.actor, self.taken
                )
                for child in children:
                    self._commit(child)

        return _plan_moves(
            queue, order_ids, OrderStatus.APPROVED, "order.approved", now=now, actor=self.actor,
            check=self.check, after=mirror,
        )  # fmt: skip


def approve_orders(ctx: ActionContext, order_ids: Sequence[str]) -> ActResult:
    """staged → approved, recording who approved and when, after the checks: the symbol is
    known (held, or priced by a buy's limit); a sell fits the holding less what approved
    sells already take; a tripped vault only takes orders that reduce exposure; no position
    may pass its cap. Orders of a vault under maintenance are approved but held (not sent)
    until maintenance ends. The result is the approved orders; `ApprovalSummary.of` the
    events says what happened, in the words of the confirmation.

    The registry, overlays, PnL, portfolio and followers are read under the queue's lock
    (a fill writes the portfolio and the queue in one action, so the holding and the open
    sells seen here belong together)."""
    ctx.require_writable("approving orders")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        approval = _Approval.read(ctx.state_dir, ctx.actor)
        events, changed = approval.plan(queue, order_ids, ctx.clock())
        return Plan({StateKind.QUEUE: queue}, events, changed)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def preview_approval(
    state: StateSnapshot,
    followers: Sequence[Follower],
    queue: QueueFile,
    order_ids: Sequence[str],
    now: datetime,
    actor: str,
) -> ApprovalSummary:
    """What approving ``order_ids`` would do, from models in hand (the desk's snapshot; none
    is changed, nothing is written): the same checks and mirroring as `approve_orders`.
    Raises `ActionRefused` as the approval would."""
    moving = set(order_ids)
    scratch = QueueFile.model_construct(
        version=queue.version,
        orders=[o.model_copy() if o.order_id in moving else o for o in queue.orders],
    )
    events, _ = _Approval(state, followers, actor).plan(scratch, order_ids, now)
    return ApprovalSummary.of(events)


@dataclass(frozen=True)
class ApprovalSummary:
    """An approval in numbers: the confirmation and the result's toast say the same."""

    approved: int
    copies: int
    shadows: int
    skipped: tuple[str, ...]
    """`F_2001: kill switch on`, one per follower left out."""
    held: tuple[str, ...]
    """Why approved orders wait (maintenance)."""

    @classmethod
    def of(cls, events: Sequence[EventDraft] | Sequence[Any]) -> ApprovalSummary:
        """From the approval's events (planned drafts or recorded events)."""

        def kind(name: str) -> list[Any]:
            return [e for e in events if e.action == name]

        return cls(
            approved=len(kind("order.approved")),
            copies=len(kind("order.mirrored")),
            shadows=len(kind("mirror.shadow")),
            skipped=tuple(
                f"{e.follower_id}: {e.payload.get('reason')}" for e in kind("mirror.skipped")
            ),
            held=tuple(
                sorted(
                    {str(e.payload["held"]) for e in kind("order.approved") if "held" in e.payload}
                )
            ),
        )

    def text(self) -> str:
        """`1 order (2 follower copies, 1 skipped: F_2001: kill switch on)`."""
        parts = []
        if self.copies:
            parts.append(f"{self.copies} follower cop{'y' if self.copies == 1 else 'ies'}")
        if self.shadows:
            parts.append(f"{self.shadows} shadow")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped: {'; '.join(self.skipped)}")
        if self.held:
            parts.append(f"held: {'; '.join(self.held)}")
        noun = "order" if self.approved == 1 else "orders"
        return f"{self.approved} {noun}" + (f" ({', '.join(parts)})" if parts else "")


def expand_children(
    state: StateSnapshot,
    parent: Order,
    followers: Sequence[Follower],
    parent_event: int,
    queue: QueueFile,
    events: list[EventDraft],
    now: datetime,
    actor: str,
    taken: Callable[[str, str], Decimal] | None = None,
) -> list[Order]:
    """The approved vault order's children, one per eligible follower, appended to the queue
    already approved (the follower agreed to mirroring when onboarding); shadow children and
    skipped followers are only journaled. Every follower is sized from one parent snapshot."""
    vault = state.vault(parent.vault_id)
    pnl = state.pnl.vaults.get(parent.vault_id) if state.pnl else None
    snap = snapshot(parent, state.account(parent.vault_id), pnl.nav if pnl else None)
    children: list[Order] = []
    for follower in followers:
        size = size_child(snap, follower, vault, state.account(follower.follower_id))
        if taken is not None and size.qty is not None and not size.shadow:
            busy = taken(follower.follower_id, snap.symbol)
            size = within_free_holding(size, snap, state.account(follower.follower_id), busy)

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
            approved_by=f"mirror ({actor})",
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


def unstage_orders(ctx: ActionContext, order_ids: Sequence[str]) -> ActResult:
    """Take staged orders nobody approved off the queue (the undo of staging), audited with
    each order as it was. An order past staging (approved, or anywhere at a broker) is
    refused: nothing that may have reached a broker is undone. All or nothing."""
    ctx.require_writable("unstaging orders")
    wanted = list(dict.fromkeys(order_ids))
    if not wanted:
        raise ActionRefused("no order to unstage")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        orders = [_staged(queue, order_id, "unstaged") for order_id in wanted]
        gone = set(wanted)
        queue.orders = [o for o in queue.orders if o.order_id not in gone]
        events = [
            EventDraft(
                "order.unstaged",
                vault_id=o.vault_id,
                order_id=o.order_id,
                follower_id=o.follower_id,
                payload={"order": order_payload(o)},
            )
            for o in orders
        ]
        return Plan({StateKind.QUEUE: queue}, events, orders)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


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


def edit_order(ctx: ActionContext, order_id: str, changes: dict[str, Any]) -> ActResult:
    """Change qty, limit price, order type or time in force of a staged order."""
    ctx.require_writable("editing an order")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ActionRefused(f"cannot edit {', '.join(sorted(unknown))}; editable: {EDITABLE}")
    known = ctx.journal.current(StateKind.QUEUE)
    found = known.get(order_id) if isinstance(known, QueueFile) else None
    caps = vault_caps(ctx.state_dir, found.vault_id, live=ctx.live) if found else {}
    price = last_price(ctx.state_dir, found.symbol) if caps and found else None

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        order = _staged(queue, order_id, "edited")
        try:
            edited = edited_order(order, changes, ctx.clock())
        except ValueError as exc:
            raise ActionRefused(f"order {order_id} not edited: {first_error(exc)}") from None
        refuse_at_venue(caps, edited, price, f"order {order_id} not edited")
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
    """The first problem of a validation error, as `place: reason` in an operator's words
    (for refusals)."""
    return first_problem(exc)


def _known_vault_or_refuse(state_dir: Path, vault_id: str) -> None:
    """Refuse a vault id not in vault.json ("unknown vault V_X (known: ...)"); a vault.json
    that does not load is left to the store's refusal, which names that file."""
    try:
        require_vault(state_dir, vault_id)
    except StateFileError:
        return


def _new_order(**fields: Any) -> Order:
    """A new staged order (`new_order`), or a refusal naming the first field that is wrong."""
    try:
        return new_order(**fields)
    except ValueError as exc:
        raise ActionRefused(f"order not staged: {first_error(exc)}") from None


def preview_rebalance(
    state_dir: Path,
    vault_id: str,
    now: datetime,
    queue: QueueFile | None = None,
    caps: VaultCaps | None = None,
) -> RebalancePlan:
    """The orders a rebalance of the vault would stage (nothing is written), net of what the
    vault already has open in ``queue`` (default: the queue as it is now), fitted to the
    venues' limits in ``caps`` (`actions.venues.vault_caps`; what they refuse is skipped)."""
    state = read_context(state_dir)
    vault = state.vault(vault_id)
    account = state.account(vault_id)
    if account is None:
        raise ActionRefused(f"vault {vault_id} has no account in portfolio.json")
    allocation = read_allocation(state_dir)
    targets = allocation.vaults.get(vault_id)
    overlay = state.overlays.for_vault(vault_id) if state.overlays else None
    if queue is None:
        queue = load_model(state_dir, QueueFile)
    proposal = plan_rebalance(
        vault,
        overlay or VaultOverlay(),
        account,
        dict(targets.targets) if targets else {},
        state.registry.defaults,
        now,
        pending=queue.orders,
    )
    screen_rebalance(proposal, caps or {})
    return proposal


@dataclass(frozen=True)
class StagedRebalance:
    """What a rebalance did: the plan (with what it skipped and why) and the orders staged."""

    plan: RebalancePlan
    orders: list[Order]


def stage_rebalance(ctx: ActionContext, vault_id: str) -> ActResult:
    """Stage the rebalance orders of a vault, each with its reason, in one audited action.

    The plan is made under the queue's lock from the queue as it is then, net of the vault's
    open orders: two rebalances at once (a key pressed twice, two desks) stage it once.
    The result is a `StagedRebalance`."""
    ctx.require_writable("staging a rebalance")
    caps = vault_caps(ctx.state_dir, vault_id, live=ctx.live)

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        now = ctx.clock()
        proposal = preview_rebalance(ctx.state_dir, vault_id, now, queue, caps)
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
        done = StagedRebalance(proposal, staged)
        if not staged:
            return Plan({}, [], done)
        return Plan({StateKind.QUEUE: queue}, events, done)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def retry_of(journal: Journal, order_id: str) -> str | None:
    """The order staged as the retry of failed order ``order_id``, if any (one at most)."""
    return queries.retry_of(journal, order_id)


def retried_dead_letters(journal: Journal) -> set[str]:
    """Failed orders that were staged again (each may be retried once)."""
    return queries.retried_orders(journal)


def _dead_letter(queue: QueueFile, order_id: str, what: str) -> Order:
    failed = queue.get(order_id)
    if failed is None or failed.status is not OrderStatus.FAILED:
        state = failed.status.value if failed else "not in the queue"
        raise ActionRefused(f"order {order_id} is {state}; only failed orders can be {what}")
    return failed


def retry_failed(ctx: ActionContext, order_id: str) -> ActResult:
    """A failed (dead-lettered) order, staged again as a new order for a fresh approval.

    A dead letter is retried once: the retry's ``order.staged`` event links to it
    (``retry_of``), and a second retry, also after a dismissal, is refused naming the
    retry; a dismissed dead letter is not retried at all. The checks run under the
    journal's lock, so two retries at once stage one."""
    ctx.require_writable("retrying an order")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        queue = _queue(models)
        failed = _dead_letter(queue, order_id, "retried")
        earlier = retry_of(ctx.journal, order_id)
        if earlier is not None:
            again = queue.get(earlier)
            now_state = f", now {again.status.value}" if again is not None else ""
            raise ActionRefused(
                f"order {order_id} was retried already as order {earlier}{now_state}; "
                "a dead letter is retried once"
            )
        dismissed = _dismissal(ctx.journal, order_id)
        if dismissed is not None:
            raise ActionRefused(
                f"order {order_id} was dismissed by {dismissed[1]} at {dismissed[2]} "
                f"(seq {dismissed[0]}); a dismissed dead letter is not retried"
            )
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
            parent_id=failed.parent_id,
            follower_id=failed.follower_id,
        )
        queue.orders.append(again)
        event = EventDraft(
            "order.staged",
            vault_id=again.vault_id,
            order_id=again.order_id,
            follower_id=again.follower_id,
            payload={"retry_of": order_id, "order": order_payload(again)},
            parents=None,
        )
        return Plan({StateKind.QUEUE: queue}, [event], again)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def _dismissal(journal: Journal, order_id: str) -> tuple[int, str, str] | None:
    """(seq, actor, ts) of the order's dismissal from the dead letters, if any."""
    event = queries.first_event(journal, "order.dead_letter_dismissed", order_id=order_id)
    return (event.seq, event.actor, event.ts) if event is not None else None


def dismiss_failed(ctx: ActionContext, order_id: str, reason: str | None = None) -> ActResult:
    """Take a failed order off the dead-letter list (it stays failed; the reason is audited).
    Dismissed once: a second dismissal is refused naming the first."""
    ctx.require_writable("dismissing a dead letter")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        order = _dead_letter(_queue(models), order_id, "dismissed")
        row = _dismissal(ctx.journal, order_id)
        if row is not None:
            raise ActionRefused(
                f"order {order_id} was dismissed already by {row[1]} at {row[2]} (seq {row[0]})"
            )
        event = EventDraft(
            "order.dead_letter_dismissed",
            vault_id=order.vault_id,
            order_id=order_id,
            follower_id=order.follower_id,
            payload={"reason": reason},
        )
        return Plan({}, [event], order)

    return ctx.journal.act(ctx.actor, [StateKind.QUEUE], plan)


def dismissed_dead_letters(journal: Journal) -> set[str]:
    """Failed orders an operator has dismissed."""
    return queries.dismissed_orders(journal)


def handled_dead_letters(journal: Journal) -> set[str]:
    """Failed orders that wait for nobody: dismissed, or staged again as a retry."""
    return dismissed_dead_letters(journal) | retried_dead_letters(journal)


def waiting_dead_letters(queue: QueueFile, handled: set[str]) -> list[Order]:
    """The dead letters: failed orders not in ``handled`` (see `handled_dead_letters`)."""
    return [o for o in queue.orders if o.status is OrderStatus.FAILED and o.order_id not in handled]


def dead_letters(state_dir: Path, journal: Journal) -> list[Order]:
    """Failed orders that nobody has dismissed or retried yet."""
    return waiting_dead_letters(load_model(state_dir, QueueFile), handled_dead_letters(journal))
