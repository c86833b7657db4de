"""One executor cycle: expire flip modes, reconcile working orders, send approved ones.

Exactly once: the client order id is fixed and recorded (`submitting`) before the first
call to the broker; after an unclear answer, or at start-up, an order in `submitting` is
looked up by that id before any resend; a "duplicate client order id" answer means look it
up. Temporary errors retry after a backoff; when the retries are spent the order fails.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from vanta_tui.actions.activity import PRICED_META
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.execution import SendOutcome, execution_step
from vanta_tui.actions.marks import mark_prices
from vanta_tui.actions.overlays import expire_flip_modes
from vanta_tui.actions.reading import read_context
from vanta_tui.actions.reconcile import check as reconcile_check
from vanta_tui.brokers.base import (
    Broker,
    BrokerOrder,
    Brokers,
    BrokerStatus,
    OrderRequest,
)
from vanta_tui.brokers.errors import (
    BrokerError,
    DuplicateClientOrderId,
    OrderRejected,
    RefusedBeforeSend,
    UnknownOutcome,
)
from vanta_tui.core.enums import AssetClass, OrderStatus
from vanta_tui.core.models import FollowersFile, Order, QueueFile, VaultFile, Venue
from vanta_tui.core.order_states import WORKING
from vanta_tui.core.risk import hold_reason
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc
from vanta_tui.store.errors import LockLost, LockTimeout, StoreError
from vanta_tui.store.loader import load_model

log = logging.getLogger(__name__)

RETRY_AFTER_S = (1, 5, 15, 60)
"""Waits before the 2nd, 3rd, ... send of an order after a temporary error."""
RECONCILE_EVERY_S = 300.0
"""How often each vault's account is compared with its brokers (None: never)."""
PRICE_EVERY_S = 60.0
"""How often prices are fetched from the brokers of non-paper venues (None: never)."""
_ASKED_WAIT = re.compile(r"retry after (\d+(?:\.\d+)?) s")


@dataclass
class CycleReport:
    sent: int = 0
    reconciled: int = 0
    held: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    marked: int = 0
    """Accounts whose prices were refreshed from their brokers."""
    mismatches: int = 0
    """Differences between portfolio.json and the brokers found by reconciliation."""
    waiting: list[str] = field(default_factory=list)
    """Steps skipped this cycle because another program holds a file's lock ("waiting for
    vault_overlay.json, held by pid 4242"); the rest of the cycle went on."""

    @property
    def idle(self) -> bool:
        return not (self.sent or self.reconciled)


def _agrees(found: BrokerOrder, order: Order) -> bool:
    """The broker's view of a working order is what the queue already records (a broker's
    "accepted" is the queue's "submitted"), so there is nothing to reconcile."""
    status = OrderStatus.SUBMITTED if found.status is BrokerStatus.ACCEPTED else found.status.value
    return status == order.status.value and found.filled_qty == order.filled_qty


class Executor:
    def __init__(
        self,
        ctx: ActionContext,
        brokers: Brokers,
        retry_after: tuple[float, ...] = RETRY_AFTER_S,
        price_every_s: float | None = PRICE_EVERY_S,
        reconcile_every_s: float | None = RECONCILE_EVERY_S,
    ) -> None:
        self.ctx = ctx
        self.brokers = brokers
        self.retry_after = retry_after or RETRY_AFTER_S
        self.price_every_s = price_every_s
        self._prices_at: float | None = None
        self.reconcile_every_s = reconcile_every_s
        self._reconciled_at: float | None = None

    def _request(self, order: Order) -> OrderRequest:
        assert order.client_order_id is not None
        return OrderRequest(client_order_id=order.client_order_id, **order.ticket())

    def _due(self, order: Order) -> bool:
        """A resend after a temporary error waits out the backoff; an order interrupted by a
        crash (no error recorded) goes again at once, under the same client order id."""
        if order.attempts == 0 or order.last_error is None:
            return True
        wait = self.retry_after[min(order.attempts, len(self.retry_after)) - 1]
        asked = _ASKED_WAIT.search(order.last_error)  # a rate limit's Retry-After
        if asked is not None:
            wait = max(wait, float(asked.group(1)))
        return self.ctx.clock() >= order.updated_at + timedelta(seconds=wait)

    def _send(self, order: Order) -> SendOutcome:
        request = self._request(order)
        try:
            broker = self.brokers.for_order(order)
        except BrokerError as exc:
            return self._failure(order, str(exc))
        try:
            return SendOutcome(order.order_id, broker.submit(request))
        except (DuplicateClientOrderId, UnknownOutcome) as exc:
            found = self._lookup(broker, request.client_order_id, order.symbol)
            if found is not None:
                return SendOutcome(order.order_id, found)
            return self._failure(order, str(exc))
        except RefusedBeforeSend as exc:  # the broker never saw it
            return SendOutcome(order.order_id, error=f"not sent: {exc}", give_up=True)
        except OrderRejected as exc:
            try:  # a refusal is final only once the order is known not to be there
                found = broker.get_by_client_id(request.client_order_id, order.symbol)
            except BrokerError as lookup:
                return self._failure(order, f"{exc}; and the lookup failed: {lookup}")
            if found is not None:
                return SendOutcome(order.order_id, found)
            return SendOutcome(order.order_id, error=f"rejected: {exc}", refused=True)
        except BrokerError as exc:
            return self._failure(order, str(exc))

    def _send_all(
        self, order_ids: list[str], outcomes: list[SendOutcome], client_ids: dict[str, str]
    ) -> int:
        """Mark ``order_ids`` ``submitting`` (recording ``outcomes`` from reconciliation in
        the same action, and fixing ``client_ids``: each in its broker's form), send them,
        and record the answers in one more action; returns how many were sent. Every order
        is durably ``submitting`` before its first send."""
        marked: list[Order] = execution_step(self.ctx, outcomes, order_ids, client_ids).result or []
        answers = [self._send(order) for order in marked]
        if answers:
            execution_step(self.ctx, answers)
        return len(marked)

    def _lookup(self, broker: Broker, client_id: str, symbol: str) -> BrokerOrder | None:
        try:
            return broker.get_by_client_id(client_id, symbol)
        except BrokerError:
            return None

    def _client_id(self, order: Order, report: CycleReport) -> str | None:
        """The client order id ``order`` will be sent under (its broker's form), or None
        when its broker cannot be had now (a refused venue, missing keys): it waits,
        ``approved``, and the other orders go."""
        if order.client_order_id is not None:
            return order.client_order_id
        try:
            return self.brokers.for_order(order).client_order_id_for(order.order_id)
        except BrokerError as exc:
            report.errors.append(f"{order.order_id}: {exc}")
            return None

    def _failure(self, order: Order, error: str) -> SendOutcome:
        spent = order.attempts > len(self.retry_after)
        return SendOutcome(order.order_id, error=f"temporary: {error}", give_up=spent)

    def cycle(self) -> CycleReport:
        report = CycleReport()
        with self._unless_locked(report):
            expire_flip_modes(self.ctx)
        queue = self.ctx.journal.current(StateKind.QUEUE)
        assert isinstance(queue, QueueFile)
        # 1. Reconcile what the broker may hold before sending anything new.
        outcomes: list[SendOutcome] = []
        resend: list[Order] = []
        for order in queue.orders:
            if order.status not in WORKING or order.client_order_id is None:
                continue
            try:
                broker = self.brokers.for_order(order)
                broker.poll()  # a simulated book fills what its prices allow now
                found = broker.get_by_client_id(
                    order.client_order_id, order.symbol, order.broker_order_id
                )
            except BrokerError as exc:
                report.errors.append(f"{order.order_id}: {exc}")
                continue
            if found is None:
                if order.status is OrderStatus.SUBMITTING and self._due(order):
                    resend.append(order)  # it never reached the broker: same id again
                continue
            if not _agrees(found, order):
                outcomes.append(SendOutcome(order.order_id, found))
        # 2. Approved orders that pass the checks before send (the one rule: hold_reason).
        state = read_context(self.ctx.state_dir)
        followers = self._followers()
        sendable: list[Order] = []
        for order in queue.orders:
            if order.status is not OrderStatus.APPROVED:
                continue
            held = hold_reason(
                order, state.vaults, state.overlays, state.pnl, state.portfolio, followers
            )
            if held is not None:
                report.held.append(f"{order.order_id}: {held.text}")
                continue
            sendable.append(order)
        client_ids: dict[str, str] = {}
        for order in sendable:
            client_id = self._client_id(order, report)
            if client_id is not None:
                client_ids[order.order_id] = client_id
        to_send = [o.order_id for o in sendable if o.order_id in client_ids]
        to_send += [o.order_id for o in resend]
        report.reconciled += len(outcomes)
        with self._unless_locked(report):
            if to_send:
                report.sent += self._send_all(to_send, outcomes, client_ids)
            elif outcomes:
                execution_step(self.ctx, outcomes=outcomes)
        if not self.ctx.read_only:
            self.ctx.journal.set_meta("executor.last_cycle", format_utc(self.ctx.clock()))
            self.ctx.journal.set_meta("executor.waiting", "; ".join(report.waiting))
        if self.reconcile_every_s is not None and (
            self._reconciled_at is None
            or time.monotonic() - self._reconciled_at >= self.reconcile_every_s
        ):
            self._reconciled_at = time.monotonic()
            with self._unless_locked(report):
                self.reconcile(report)
        if self.price_every_s is not None and (
            self._prices_at is None or time.monotonic() - self._prices_at >= self.price_every_s
        ):
            self._prices_at = time.monotonic()
            with self._unless_locked(report):
                self.refresh_prices(report)
        return report

    @contextlib.contextmanager
    def _unless_locked(self, report: CycleReport) -> Iterator[None]:
        """A step whose file another program holds is skipped (nothing of it is written) and
        noted; the rest of the cycle goes on, and the step runs again next cycle."""
        try:
            yield
        except (LockTimeout, LockLost) as exc:
            log.warning("executor: %s", exc)
            report.waiting.append(str(exc))

    def reconcile(self, report: CycleReport) -> None:
        """Compare every vault's account with its brokers (recorded when it changes)."""
        for vault in load_model(self.ctx.state_dir, VaultFile).vaults:
            try:
                found = reconcile_check(self.ctx, vault.vault_id, self.brokers.for_venue)
            except BrokerError as exc:
                report.errors.append(f"reconcile {vault.vault_id}: {exc}")
                continue
            report.mismatches += len(found)

    def _followers(self) -> FollowersFile | None:
        try:
            return load_model(self.ctx.state_dir, FollowersFile)
        except StoreError:
            return None

    def refresh_prices(self, report: CycleReport) -> None:
        """Prices of every account's positions from its broker, where that is not the paper
        broker (whose prices are the portfolio's own), marked into the portfolio and PnL."""
        state = read_context(self.ctx.state_dir)
        portfolio = state.portfolio
        if portfolio is None:
            return
        accounts: list[tuple[str, dict[AssetClass, Venue]]] = [
            (vault.vault_id, vault.venues) for vault in state.registry.vaults
        ]
        registry = self._followers()
        accounts += [(f.follower_id, f.brokers) for f in (registry.followers if registry else [])]
        for account_id, venues in accounts:
            account = portfolio.accounts.get(account_id)
            if account is None:
                continue
            prices: dict[str, Decimal] = {}
            sources: list[str] = []
            for asset, venue in venues.items():
                if venue.adapter == "paper":
                    continue
                symbols = [s for s, p in account.positions.items() if p.asset_class is asset]
                if not symbols:
                    continue
                try:
                    prices.update(self.brokers.for_venue(venue, account_id).quotes(symbols))
                except BrokerError as exc:
                    report.errors.append(f"prices for {account_id} from {venue.adapter}: {exc}")
                    continue
                sources.append(venue.adapter)
            if sources:  # its brokers answered: the header says when it was last priced
                self.ctx.journal.set_meta(PRICED_META + account_id, format_utc(self.ctx.clock()))
            if prices and mark_prices(self.ctx, account_id, prices, ", ".join(sources)).events:
                report.marked += 1

    def run_once(self, max_cycles: int = 50) -> list[CycleReport]:
        """Cycle until nothing more can progress now (for `executor --once` and tests)."""
        reports = []
        for _ in range(max_cycles):
            report = self.cycle()
            reports.append(report)
            if report.idle:
                break
        return reports
