"""The operator's actions in the desk: keys → modal → the core action in a worker → toast.

Every action calls the same `vanta_tui.actions` function the CLI calls. Approving, staging
and turning maintenance off go through a confirmation that says exactly what will happen.
In read-only mode none of these keys is shown or works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.execution import cancel_orders, panic
from vanta_tui.actions.followers import set_kill_switch
from vanta_tui.actions.orders import (
    ApprovalSummary,
    approve_orders,
    dead_letters,
    dismiss_failed,
    edit_order,
    first_error,
    flip_order,
    preview_approval,
    preview_rebalance,
    reject_orders,
    retry_failed,
    stage_order,
    stage_rebalance,
)
from vanta_tui.actions.overlays import (
    clear_trip,
    expire_flip_modes,
    set_flip_mode,
    set_maintenance,
    set_persona,
)
from vanta_tui.actions.reading import Context
from vanta_tui.actions.reconcile import accept_broker
from vanta_tui.actions.reconcile import check as reconcile_check
from vanta_tui.actions.status import StatusReport, acknowledge
from vanta_tui.actions.venues import vault_caps
from vanta_tui.brokers.errors import BrokerError
from vanta_tui.brokers.routing import BrokerFactory, brokers_for
from vanta_tui.core.clock import Clock
from vanta_tui.core.enums import OrderStatus, OrderType, TimeInForce
from vanta_tui.core.intents import Ticket, describe_open, find_duplicate
from vanta_tui.core.models import Order
from vanta_tui.core.risk import order_price
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StoreError
from vanta_tui.store.snapshot import StateSnapshot
from vanta_tui.ui.format import money, qty
from vanta_tui.ui.keys import DIALOG_GROUP
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen, reason_form

if TYPE_CHECKING:
    from vanta_tui.ui.panes.queue import QueuePane

log = logging.getLogger(__name__)

OPERATOR_BINDINGS = [
    Binding("a", "approve", "Approve", id="approve"),
    Binding("x", "reject", "Reject", id="reject"),
    Binding("f", "flip", "Flip", id="flip"),
    Binding("e", "edit", "Edit", id="edit"),
    Binding("n", "new_order", "New order", id="new_order"),
    Binding("s", "stage_rebalance", "Rebalance", id="stage_rebalance"),
    Binding("m", "maintenance", "Maint.", id="maintenance"),
    Binding("M", "global_maintenance", "Global maint.", id="global_maintenance", show=False),
    Binding("t", "trip_clear", "Clear trip", id="trip_clear", show=False),
    Binding("F", "flip_mode", "Flip mode", id="flip_mode", show=False),
    Binding("p", "persona", "Persona", id="persona", show=False),
    Binding("c", "cancel_order", "Cancel", id="cancel_order", show=False),
    Binding("ctrl+k", "panic", "PANIC", id="panic", show=False),
    Binding("r", "reconcile", "Reconcile", id="reconcile", show=False),
    Binding("E", "toggle_executor", "Executor", id="toggle_executor", show=False),
]
VIEW_BINDINGS = [
    Binding("d", "dead_letters", "Dead letters", id="dead_letters", show=False),
    Binding("w", "followers", "Followers", id="followers", show=False),
    Binding("S", "status", "Status", id="status", show=False),
]
MUTATING_ACTIONS = frozenset(b.action for b in OPERATOR_BINDINGS) | {"mark"}


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} must be a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number")
    return value


def describe(order: Order, price: Decimal | None) -> str:
    notional = f" ≈ {money(order.qty * price)}" if price is not None else ""
    kind = f"limit {order.limit_price}" if order.order_type is OrderType.LIMIT else "market"
    return f"{order.vault_id} {order.side.value} {qty(order.qty)} {order.symbol} {kind}{notional}"


class OperatorActions(App[int]):
    """The app's operator actions: each `action_*` gathers input, confirms, then runs the
    core action in a worker. `VantaApp` is this class plus the panes."""

    state_dir: Path
    operator: str
    read_only: bool
    clock: Clock
    snapshot: StateSnapshot
    selected_vault: str | None
    _expiring: bool
    queue_pane: QueuePane
    status_report: StatusReport | None

    live: bool

    def load_state(self, kinds: frozenset[StateKind] | None) -> object:
        raise NotImplementedError

    def brokers(self) -> BrokerFactory:
        """The brokers of the state's venues (paper, or Alpaca/ccxt with their keys)."""
        return brokers_for(self.state_dir, live=self.live)

    # ------------------------------------------------------------------ plumbing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in MUTATING_ACTIONS)

    @work(thread=True, group="operator", exit_on_error=False)
    def run_operator_action(self, label: str, body: Callable[[ActionContext], str]) -> None:
        """Run one core action in a thread; a toast says what happened or why not."""
        try:
            ctx = ActionContext.open(
                self.state_dir, self.operator, clock=self.clock, live=self.live
            )
            try:
                message = body(ctx)
            finally:
                ctx.close()
        except (StoreError, ValueError) as exc:
            self.call_from_thread(
                self.notify, str(exc), title=f"{label}: refused", severity="error", timeout=10
            )
            return
        except Exception as exc:  # a bug must not take the desk down with it
            log.exception("%s failed", label)
            self.call_from_thread(
                self.notify, f"{type(exc).__name__}: {exc} (see the log)", title=f"{label}: failed",
                severity="error", timeout=15,
            )  # fmt: skip
            return
        self.call_from_thread(self.notify, message, title=label)
        self.call_from_thread(self.load_state, None)

    def _orders_for_action(self) -> list[Order]:
        """The marked orders, or the one under the queue's cursor."""
        queue_pane = self.queue_pane
        queue = self.snapshot.queue
        if queue is None:
            return []
        ids = list(queue_pane.marked) or ([queue_pane.cursor_key] if queue_pane.cursor_key else [])
        return [o for o in (queue.get(i) for i in ids) if o is not None]

    def _price(self, order: Order) -> Decimal | None:
        portfolio = self.snapshot.portfolio
        account = portfolio.accounts.get(order.follower_id or order.vault_id) if portfolio else None
        return order_price(order, account)

    def _need_vault(self) -> str | None:
        if self.selected_vault is None:
            self.notify("select a vault first", severity="warning")
        return self.selected_vault

    def _clear_marks(self) -> None:
        self.queue_pane.clear_marks()

    # ------------------------------------------------------------------ orders

    def action_approve(self) -> None:
        orders = [o for o in self._orders_for_action() if o.status is OrderStatus.STAGED]
        if not orders:
            self.notify("no staged order selected (space marks orders)", severity="warning")
            return
        ids = [o.order_id for o in orders]
        try:
            summary = self._preview_approval(ids)
        except (StoreError, ValueError) as exc:
            self.notify(str(exc), title="Approve: refused", severity="error", timeout=10)
            return
        prices = [self._price(o) for o in orders]
        total = sum((o.qty * p for o, p in zip(orders, prices, strict=True) if p), Decimal(0))
        lines = [describe(o, p) for o, p in zip(orders, prices, strict=True)]
        lines.append(
            f"total notional ≈ {money(total)} across {len({o.vault_id for o in orders})} vault(s)"
        )

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._clear_marks()
                self.run_operator_action(
                    "Approve",
                    lambda ctx: (
                        "approved " + ApprovalSummary.of(approve_orders(ctx, ids).events).text()
                    ),
                )

        self.push_screen(ConfirmScreen(f"Approve {summary.text()}?", lines, "Approve"), done)

    def _preview_approval(self, ids: list[str]) -> ApprovalSummary:
        """The approval as it would go, from the models on screen (the action itself checks
        again under the queue's lock)."""
        snap = self.snapshot
        if snap.vaults is None or snap.queue is None:
            raise ValueError("vault.json or the queue is not loaded")
        state = Context(snap.vaults, snap.overlays, snap.pnl, snap.portfolio)
        followers = snap.followers.followers if snap.followers is not None else []
        return preview_approval(state, followers, snap.queue, ids, self.clock(), self.operator)

    def action_reject(self) -> None:
        orders = [o for o in self._orders_for_action() if o.status is OrderStatus.STAGED]
        if not orders:
            self.notify("no staged order selected", severity="warning")
            return
        ids = [o.order_id for o in orders]

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._clear_marks()
                reason = values["reason"] or None
                self.run_operator_action(
                    "Reject",
                    lambda ctx: f"rejected {len(reject_orders(ctx, ids, reason).events)} order(s)",
                )

        self.push_screen(reason_form(f"Reject {len(ids)} order(s)", required=False), done)

    def action_flip(self) -> None:
        orders = self._orders_for_action()
        if len(orders) != 1:
            self.notify("put the cursor on one staged order to flip", severity="warning")
            return
        order_id = orders[0].order_id

        def body(ctx: ActionContext) -> str:
            flipped = flip_order(ctx, order_id).result
            return f"{flipped.symbol} is now a {flipped.side.value}"

        self.run_operator_action("Flip", body)

    def action_edit(self) -> None:
        orders = self._orders_for_action()
        if len(orders) != 1 or orders[0].status is not OrderStatus.STAGED:
            self.notify("put the cursor on one staged order to edit", severity="warning")
            return
        order = orders[0]
        price = self._price(order)

        def changes(values: dict[str, str]) -> dict[str, Any]:
            out: dict[str, Any] = {"qty": _decimal(values["qty"], "qty")}
            out["order_type"] = (
                OrderType(values["type"]) if values["type"] in {"market", "limit"} else None
            )
            if out["order_type"] is None:
                raise ValueError("type is market or limit")
            out["limit_price"] = _decimal(values["limit"], "limit") if values["limit"] else None
            if values["tif"] not in {t.value for t in TimeInForce}:
                raise ValueError("time in force is day, gtc, ioc or fok")
            out["time_in_force"] = TimeInForce(values["tif"])
            data = order.model_dump()
            data.update(out)
            edited = Order.model_validate(data)
            return {"changes": out, "order": edited}

        def check(values: dict[str, str]) -> str:
            try:
                edited = changes(values)["order"]
            except ValueError as exc:
                raise ValueError(first_error(exc)) from None
            return "→ " + describe(edited, edited.limit_price or price)

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                edit = changes(values)["changes"]
                self.run_operator_action(
                    "Edit",
                    lambda ctx: (
                        f"edited {edit_order(ctx, order.order_id, edit).result.order_id[-8:]}"
                    ),
                )

        fields = [
            ("qty", "Quantity", str(order.qty)),
            ("type", "Type (market/limit)", order.order_type.value),
            ("limit", "Limit price", str(order.limit_price or "")),
            ("tif", "Time in force", order.time_in_force.value),
        ]
        self.push_screen(
            FormScreen(f"Edit order {order.order_id[-8:]}", fields, check, "Save"), done
        )

    def action_new_order(self) -> None:
        vaults = self.snapshot.vaults

        def ticket(values: dict[str, str]) -> Order:
            from datetime import UTC, datetime

            if vaults is None or vaults.get(values["vault"]) is None:
                raise ValueError(f"unknown vault {values['vault']!r}")
            if values["side"] not in {"buy", "sell"}:
                raise ValueError("side is buy or sell")
            limit = _decimal(values["limit"], "limit") if values["limit"] else None
            now = datetime.now(UTC)
            try:
                return Order.model_validate(
                    {
                        "order_id": "TICKET",
                        "vault_id": values["vault"],
                        "symbol": values["symbol"].upper(),
                        "asset_class": "crypto" if "/" in values["symbol"] else "equity",
                        "side": values["side"],
                        "qty": _decimal(values["qty"], "qty"),
                        "order_type": "limit" if limit is not None else "market",
                        "limit_price": limit,
                        "time_in_force": values["tif"],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            except ValueError as exc:
                raise ValueError(first_error(exc)) from None

        def check(values: dict[str, str]) -> str:
            order = ticket(values)
            return "→ " + describe(order, self._price(order))

        def confirmed(order: Order, again: bool) -> Callable[[bool | None], None]:
            def run(ok: bool | None) -> None:
                if ok:
                    self.run_operator_action(
                        "Stage",
                        lambda ctx: (
                            "staged "
                            + stage_order(
                                ctx,
                                vault_id=order.vault_id,
                                **order.ticket(),
                                reasons=[f"staged by hand by {self.operator}"],
                                allow_duplicate=again,
                            ).result.order_id
                        ),
                    )

            return run

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                order = ticket(values)
                lines = [describe(order, self._price(order))]
                twin = self._duplicate_of(order)
                if twin is None:
                    self.push_screen(
                        ConfirmScreen("Stage this order?", lines, "Stage"), confirmed(order, False)
                    )
                    return
                open_twin = describe_open(twin).removeprefix("already ")
                age = int(twin.age(self.clock()))
                lines += [
                    "",
                    f"An identical order is open: {open_twin},",
                    f"staged {age} s ago. Stage it again?",
                ]
                self.push_screen(
                    ConfirmScreen("Stage it again?", lines, "Stage again"), confirmed(order, True)
                )

        fields = [
            ("vault", "Vault", self.selected_vault or ""),
            ("symbol", "Symbol", ""),
            ("side", "Side (buy/sell)", "buy"),
            ("qty", "Quantity", ""),
            ("limit", "Limit (empty: market)", ""),
            ("tif", "Time in force", "day"),
        ]
        self.push_screen(FormScreen("New order ticket", fields, check, "Next"), done)

    def _duplicate_of(self, order: Order) -> Order | None:
        """An identical open order staged moments ago (from the queue on screen)."""
        queue = self.snapshot.queue
        if queue is None:
            return None
        return find_duplicate(queue.orders, Ticket.of(order), self.clock())

    def action_stage_rebalance(self) -> None:
        vault_id = self._need_vault()
        if vault_id is not None:
            self.preview_and_stage(vault_id)

    @work(thread=True, group=DIALOG_GROUP, exit_on_error=False)
    def preview_and_stage(self, vault_id: str) -> None:
        try:
            caps = vault_caps(self.state_dir, vault_id, live=self.live)
            plan = preview_rebalance(self.state_dir, vault_id, self.clock(), caps=caps)
        except (StoreError, ValueError) as exc:
            self.call_from_thread(self.notify, str(exc), title="Rebalance", severity="error")
            return
        if not plan.orders:
            notes = "; ".join(plan.skipped) or "every position is within tolerance"
            self.call_from_thread(
                self.notify, f"nothing to stage for {vault_id}: {notes}", title="Rebalance"
            )
            return
        lines = [
            f"{o.side.value} {qty(o.qty)} {o.symbol} ≈ {money(o.notional)}  ({o.reason})"
            for o in plan.orders
        ]
        lines.append(f"buys ≈ {money(plan.buy_notional)}, sells ≈ {money(plan.sell_notional)}")
        lines += [f"skipped: {note}" for note in plan.skipped]

        def done(confirmed: bool | None) -> None:
            if confirmed:

                def body(ctx: ActionContext) -> str:
                    done = stage_rebalance(ctx, vault_id).result
                    if not done.orders:
                        notes = "; ".join(done.plan.skipped) or "within tolerance"
                        return f"nothing staged for {vault_id}: {notes}"
                    return f"staged {len(done.orders)} order(s) for {vault_id}"

                self.run_operator_action("Rebalance", body)

        self.call_from_thread(
            self.push_screen,
            ConfirmScreen(f"Stage a rebalance of {vault_id}?", lines, "Stage"),
            done,
        )

    def action_cancel_order(self) -> None:
        orders = [
            o
            for o in self._orders_for_action()
            if o.status in {OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED}
        ]
        if not orders:
            self.notify(
                "no working order selected (submitted or partially filled)", severity="warning"
            )
            return
        ids = [o.order_id for o in orders]

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._clear_marks()

                def body(ctx: ActionContext) -> str:
                    report = cancel_orders(ctx, ids, self.brokers())
                    if report.failed:
                        raise ValueError("; ".join(report.failed))
                    return f"cancelled {len(report.cancelled)} order(s)"

                self.run_operator_action("Cancel", body)

        lines = [describe(o, self._price(o)) for o in orders]
        self.push_screen(
            ConfirmScreen(f"Cancel {len(ids)} working order(s)?", lines, "Cancel them"), done
        )

    def action_dead_letters(self) -> None:
        self.open_dead_letters()

    def action_reconcile(self) -> None:
        vault_id = self._need_vault()
        if vault_id is not None:
            self.reconcile_vault(vault_id)

    @work(thread=True, group=DIALOG_GROUP, exit_on_error=False)
    def reconcile_vault(self, vault_id: str) -> None:
        """Compare the selected vault with its brokers; offer to adopt the broker's view."""
        brokers = brokers_for(self.state_dir, live=self.live)
        try:
            ctx = ActionContext.open(self.state_dir, self.operator, clock=self.clock)
            try:
                found = reconcile_check(ctx, vault_id, brokers.for_venue)
            finally:
                ctx.close()
        except (StoreError, BrokerError, ValueError) as exc:
            self.call_from_thread(
                self.notify, str(exc), title="Reconcile", severity="error", timeout=10
            )
            return
        self.call_from_thread(self.refresh_status, False)
        if not found:
            self.call_from_thread(
                self.notify, f"{vault_id}: portfolio.json matches the broker", title="Reconcile"
            )
            return
        lines = [
            f"{d['symbol'] or 'cash'}: portfolio.json {d['file']}, broker {d['broker']}"
            for d in found
        ]

        def done(confirmed: bool | None) -> None:
            if not confirmed:
                return

            def body(ctx: ActionContext) -> str:
                accept_broker(ctx, vault_id, brokers.for_venue)
                return f"{vault_id}: portfolio.json now holds the broker's view"

            self.run_operator_action("Reconcile", body)

        self.call_from_thread(
            self.push_screen,
            ConfirmScreen(
                f"{vault_id} differs from its broker: adopt the broker's view?",
                [*lines, "portfolio.json (and the vault's PnL) will take the broker's numbers."],
                "Adopt the broker's view",
            ),
            done,
        )

    def refresh_status(self, probe: bool) -> object:
        raise NotImplementedError

    def action_status(self) -> None:
        from vanta_tui.ui.screens.status import StatusScreen

        def ack(alarm_id: str) -> None:
            def body(ctx: ActionContext) -> str:
                acknowledge(ctx, alarm_id)
                return f"acknowledged {alarm_id}"

            self.run_operator_action("Alarm", body)
            self.set_timer(0.3, lambda: self.refresh_status(False))

        self.push_screen(StatusScreen(self.status_report, ack, self.read_only))
        self.refresh_status(True)

    def action_followers(self) -> None:
        from vanta_tui.ui.screens.followers import FollowersScreen

        def kill_switch(follower_id: str) -> None:
            registry = self.snapshot.followers
            follower = registry.get(follower_id) if registry else None
            if follower is None:
                return
            turn_on = not follower.kill_switch
            state = "on" if turn_on else "off"
            what = (
                "stops mirroring new vault orders to it (orders already sent stay)"
                if turn_on
                else "resumes mirroring new vault orders to it"
            )

            def done(confirmed: bool | None) -> None:
                if not confirmed:
                    return

                def body(ctx: ActionContext) -> str:
                    set_kill_switch(ctx, follower_id, turn_on)
                    return f"{follower_id}: kill switch {state}"

                self.run_operator_action("Kill switch", body)

            self.push_screen(
                ConfirmScreen(
                    f"Kill switch {state} for {follower_id}?",
                    [f"{follower_id} ({follower.vault_id}, {follower.mode.value}): {what}."],
                    f"Switch {state}",
                ),
                done,
            )

        self.push_screen(FollowersScreen(self.snapshot, kill_switch, self.read_only))

    @work(thread=True, group=DIALOG_GROUP, exit_on_error=False)
    def open_dead_letters(self) -> None:
        from vanta_tui.store.journal import Journal
        from vanta_tui.ui.screens.dead_letters import DeadLetterScreen

        with Journal(self.state_dir) as journal:
            orders = dead_letters(self.state_dir, journal)

        def refresh_later() -> None:
            self.set_timer(0.5, lambda: self.refresh_dead_letters(screen))

        def retry(order_id: str) -> None:
            def body(ctx: ActionContext) -> str:
                again = retry_failed(ctx, order_id).result
                return f"staged {again.order_id[-8:]} again; approve it to send"

            self.run_operator_action("Retry", body)
            refresh_later()

        def dismiss(order: Order) -> None:
            def body(ctx: ActionContext) -> str:
                dismiss_failed(ctx, order.order_id, f"dismissed by {self.operator}")
                return f"dismissed {order.order_id[-8:]}"

            def confirmed(ok: bool | None) -> None:
                if ok:
                    self.run_operator_action("Dismiss", body)
                    refresh_later()

            lines = [
                f"{order.vault_id} {order.side.value} {qty(order.qty)} {order.symbol}: "
                f"{order.last_error or 'failed'}",
                "It stays failed and leaves the dead-letter list; it cannot be retried after.",
            ]
            self.push_screen(
                ConfirmScreen("Dismiss this dead letter?", lines, "Dismiss"), confirmed
            )

        screen = DeadLetterScreen(orders, retry, dismiss, self.read_only)
        self.call_from_thread(self.push_screen, screen)

    @work(thread=True, group="operator", exit_on_error=False)
    def refresh_dead_letters(self, screen: Any) -> None:
        from vanta_tui.store.journal import Journal

        with Journal(self.state_dir) as journal:
            orders = dead_letters(self.state_dir, journal)
        self.call_from_thread(screen.show, orders)

    def action_panic(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            reason = values["reason"]

            def body(ctx: ActionContext) -> str:
                report = panic(ctx, reason, self.brokers())
                text = f"global maintenance on; {len(report.cancelled)} order(s) cancelled"
                if report.failed:
                    text += "; NOT cancelled: " + "; ".join(report.failed)
                return text

            self.run_operator_action("PANIC", body)

        self.push_screen(
            reason_form(
                "PANIC: global maintenance ON and cancel every working order at every broker",
                required=True,
            ),
            done,
        )

    # ------------------------------------------------------------------ overlays

    def _maintenance(self, vault_id: str | None) -> None:
        overlays = self.snapshot.overlays
        if overlays is None:
            return
        current = (
            overlays.global_.maintenance
            if vault_id is None
            else overlays.for_vault(vault_id).maintenance
        )
        where = vault_id or "the whole desk (global)"
        if not current.enabled:

            def on(values: dict[str, str] | None) -> None:
                if values is not None:
                    reason = values["reason"]

                    def body(ctx: ActionContext) -> str:
                        set_maintenance(ctx, vault_id, True, reason)
                        return f"maintenance on for {where}"

                    self.run_operator_action("Maintenance", body)

            self.push_screen(reason_form(f"Maintenance ON for {where}", required=True), on)
            return

        def off(confirmed: bool | None) -> None:
            if confirmed:

                def body(ctx: ActionContext) -> str:
                    set_maintenance(ctx, vault_id, False)
                    return f"maintenance off for {where}"

                self.run_operator_action("Maintenance", body)

        lines = [
            f"maintenance since {current.since} by {current.by}: {current.reason}",
            "approved orders held by it may be sent as soon as it is off",
        ]
        self.push_screen(
            ConfirmScreen(f"Turn maintenance OFF for {where}?", lines, "Turn off"), off
        )

    def action_maintenance(self) -> None:
        vault_id = self._need_vault()
        if vault_id is not None:
            self._maintenance(vault_id)

    def action_global_maintenance(self) -> None:
        self._maintenance(None)

    def action_trip_clear(self) -> None:
        vault_id = self._need_vault()
        if vault_id is None:
            return

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                reason = values["reason"]

                def body(ctx: ActionContext) -> str:
                    clear_trip(ctx, vault_id, reason)
                    return f"trip cleared for {vault_id}"

                self.run_operator_action("Clear trip", body)

        self.push_screen(
            reason_form(f"Clear the trip of {vault_id} after review", required=True), done
        )

    def action_flip_mode(self) -> None:
        vault_id = self._need_vault()
        overlays = self.snapshot.overlays
        if vault_id is None or overlays is None:
            return
        flip = overlays.for_vault(vault_id).flip_mode
        if flip.enabled:

            def off(ctx: ActionContext) -> str:
                set_flip_mode(ctx, vault_id, False)
                return f"flip mode off for {vault_id}"

            self.run_operator_action("Flip mode", off)
            return

        def check(values: dict[str, str]) -> str:
            amplify = _decimal(values["amplify"], "amplify")
            ttl = int(_decimal(values["ttl"], "TTL"))
            if not 0 < amplify <= 1:
                raise ValueError("amplify is above 0 and at most 1")
            if not 1 <= ttl <= 240:
                raise ValueError("TTL is 1 to 240 minutes")
            return f"staged sizes × {1 + amplify} for {ttl} minutes, then it reverts by itself"

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                amplify = Decimal(values["amplify"])
                ttl = int(Decimal(values["ttl"]))

                def on(ctx: ActionContext) -> str:
                    set_flip_mode(ctx, vault_id, True, ttl_minutes=ttl, amplify=amplify)
                    return f"flip mode on for {vault_id} for {ttl} min"

                self.run_operator_action("Flip mode", on)

        fields = [
            ("amplify", "Amplify (0.35 = ×1.35)", str(flip.amplify)),
            ("ttl", "TTL minutes", "45"),
        ]
        self.push_screen(FormScreen(f"Flip mode ON for {vault_id}", fields, check, "Turn on"), done)

    def action_persona(self) -> None:
        vault_id = self._need_vault()
        vaults, overlays = self.snapshot.vaults, self.snapshot.overlays
        vault = vaults.get(vault_id) if vaults and vault_id else None
        if vault is None or vault_id is None:
            return
        overlay = overlays.for_vault(vault_id) if overlays else None

        def parse(values: dict[str, str]) -> tuple[str, dict[str, Decimal]]:
            name = values["persona"]
            if name not in vault.personas:
                raise ValueError(f"persona is one of {', '.join(vault.personas)}")
            boosts: dict[str, Decimal] = {}
            for item in filter(None, (p.strip() for p in values["boosts"].split(","))):
                key, sep, value = item.partition("=")
                if not sep:
                    raise ValueError("boosts are persona=fraction, comma-separated")
                boosts[key.strip()] = _decimal(value.strip(), f"boost for {key}")
                if key.strip() not in vault.personas:
                    raise ValueError(f"{key.strip()} is not a persona of {vault_id}")
            return name, boosts

        def check(values: dict[str, str]) -> str:
            name, boosts = parse(values)
            return f"{vault_id} persona → {name}; boosts {boosts or 'unchanged'}"

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                name, boosts = parse(values)

                def body(ctx: ActionContext) -> str:
                    set_persona(ctx, vault_id, name, boosts)
                    return f"{vault_id} persona is {name}"

                self.run_operator_action("Persona", body)

        current = ", ".join(
            f"{k}={v}" for k, v in (overlay.persona_boosts.items() if overlay else [])
        )
        fields = [
            (
                "persona",
                f"Persona ({', '.join(vault.personas)})",
                (overlay.persona if overlay else None) or "",
            ),
            ("boosts", "Boosts (name=fraction, …)", current),
        ]
        self.push_screen(FormScreen(f"Persona of {vault_id}", fields, check, "Set"), done)

    # ------------------------------------------------------------------ flip-mode TTL

    def expire_flip_modes_if_due(self) -> None:
        """Flip mode reverts by itself at its expiry, even with nobody at the desk."""
        overlays = self.snapshot.overlays
        if self.read_only or overlays is None or self._expiring:
            return
        now = self.clock()
        due = any(
            o.flip_mode.enabled
            and o.flip_mode.expires_at is not None
            and o.flip_mode.expires_at <= now
            for o in overlays.vaults.values()
        )
        if due:
            self._expiring = True
            self.revert_expired_flip_modes()

    @work(thread=True, group="operator", exit_on_error=False)
    def revert_expired_flip_modes(self) -> None:
        try:
            ctx = ActionContext.open(self.state_dir, "system", clock=self.clock)
            try:
                result = expire_flip_modes(ctx)
            finally:
                ctx.close()
            for event in result.events:
                self.call_from_thread(
                    self.notify,
                    f"flip mode of {event.vault_id} expired and reverted",
                    title="Flip mode",
                )
        except Exception as exc:
            log.exception("flip mode expiry failed")
            self.call_from_thread(self.notify, str(exc), title="Flip mode expiry", severity="error")
        finally:
            self._expiring = False
        self.call_from_thread(self.load_state, None)
