"""One executor cycle: expire flip modes, reconcile working orders, send approved ones.

Exactly once: the client order id is fixed and recorded (`submitting`) before the first
call to the broker; after an unclear answer, or at start-up, an order in `submitting` is
looked up by that id before any resend; a "duplicate client order id" answer means look it
up. Temporary errors retry after a backoff; when the retries are spent the order fails.

Fan-out: the unit of work is the broker account. Orders of different accounts go out in
parallel (a bounded pool of threads, `concurrency`; alpaca-py is synchronous and a thread
waiting on a socket costs little), each account's orders in order, one at a time. Every
order is durably ``submitting`` (one audited action for the batch) before its first send;
the answers are recorded as they come, a batch every `FLUSH_EVERY_S` (one audited action
each). A cycle waits for its sends at most `CYCLE_WAIT_S`: an account that hangs keeps
its own orders in flight (they are neither looked up nor resent meanwhile, and its next
orders wait behind them) while the next cycles serve every other account. Brokers that
are not `parallel` (the paper broker, a local book) are sent to from the executor's own
thread, as before. Reconciliation is per account too: one list of open orders per account
and cycle, and a lookup by client order id only for an order whose outcome is unknown.

Later, several executor processes could each take a share of the accounts (see the
README's "Several executors"); the account stays the unit of work for that.
"""

from __future__ import annotations

import contextlib
import logging
import queue as queues
import re
import threading
import time
from collections.abc import Hashable, Iterator, Sequence, Set
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from vanta_tui.actions.activity import PRICED_META
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.execution import SendOutcome, execution_step
from vanta_tui.actions.marks import mark_prices
from vanta_tui.actions.overlays import expire_flip_modes
from vanta_tui.actions.reading import read_context
from vanta_tui.actions.reconcile import check as reconcile_check
from vanta_tui.actions.reconcile import latest_mismatches
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
from vanta_tui.core.models import FollowersFile, Order, QueueFile, Venue
from vanta_tui.core.order_states import WORKING
from vanta_tui.core.risk import hold_reason
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc
from vanta_tui.store.errors import LockLost, LockTimeout, StoreError
from vanta_tui.store.loader import LoadedFile, load
from vanta_tui.store.snapshot import StateSnapshot

log = logging.getLogger(__name__)

RETRY_AFTER_S = (1, 5, 15, 60)
"""Waits before the 2nd, 3rd, ... send of an order after a temporary error."""
RECONCILE_EVERY_S = 300.0
"""How often each vault's account is compared with its brokers (None: never)."""
PRICE_EVERY_S = 60.0
"""How often prices are fetched from the brokers of non-paper venues (None: never)."""
_ASKED_WAIT = re.compile(r"retry after (\d+(?:\.\d+)?) s")
CONCURRENCY = 400
"""Sends in flight at once by default, across accounts (each account's own orders still go
one by one): 1,000 accounts whose broker answers in 100 ms need a few hundred in flight to
be sent to within a second; past that our own work, not the waiting, sets the pace."""
FLUSH_EVERY_S = 0.1
"""How often the answers that came in are recorded (one audited action per batch)."""
CYCLE_WAIT_S = 2.0
CLAIM_EVERY_S = 1.0
"""How often a worker waiting on its sends or checks in a long cycle takes up accounts left
without a holder (a dead worker's): they are not left waiting for its next cycle."""
"""How long a cycle waits for its sends before it goes on (the rest stay in flight and
are recorded by the next cycles as they come)."""
FINISH_WAIT_S = 3600.0
"""How long a stopping executor (or `run_once`) waits for the sends in flight at most: a
send that started completes and is recorded (each is bounded by the broker's timeout)."""
WAKE_CHECK_S = 0.02
"""Between cycles, how often the files that make orders sendable are looked at (a stat
each): an approval is picked up within this, not at the next cycle's tick."""
WAKE_ON: tuple[StateKind, ...] = (StateKind.QUEUE, StateKind.OVERLAY, StateKind.FOLLOWERS)
"""The files whose change starts a cycle at once (an approval, maintenance lifted, a
follower's kill switch)."""
WARM_STEP_S = 0.01
"""Between cycles, how long at a time broker clients are made ahead of the first send."""
AT_WORK = frozenset({OrderStatus.APPROVED, *WORKING})
"""Orders that give their account work for an executor: to send, or to follow."""

SERIAL: Hashable = "serial"
"""The lane of brokers that are not `parallel`: served one order at a time, in order, from
the executor's own thread."""


def account_of(order: Order) -> str:
    """The account an order goes to (its follower's, else its vault's, at its asset class):
    the unit of work that executor workers claim (`executor --worker`)."""
    return f"{order.vault_id}|{order.follower_id or ''}|{order.asset_class}"


class Claims(Protocol):
    """An executor worker's share of the accounts (`store.postgres.claims.WorkerClaims`)."""

    def share(self, accounts: Sequence[str], busy: Set[str]) -> frozenset[str]: ...

    def held_now(self, accounts: Sequence[str]) -> frozenset[str]: ...

    def global_duty(self) -> bool: ...

    def alive(self) -> bool: ...


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


def _quotes(
    wanted: Sequence[tuple[str, Broker, list[str]]],
) -> tuple[dict[str, Decimal], list[str], list[str]]:
    """One account's prices from its brokers (any thread): the prices, the adapters that
    answered and the errors ("alpaca: …")."""
    prices: dict[str, Decimal] = {}
    sources: list[str] = []
    errors: list[str] = []
    for adapter, broker, symbols in wanted:
        try:
            prices.update(broker.quotes(symbols))
        except BrokerError as exc:
            errors.append(f"{adapter}: {exc}")
            continue
        sources.append(adapter)
    return prices, sources, errors


class Executor:
    def __init__(
        self,
        ctx: ActionContext,
        brokers: Brokers,
        retry_after: tuple[float, ...] = RETRY_AFTER_S,
        price_every_s: float | None = PRICE_EVERY_S,
        reconcile_every_s: float | None = RECONCILE_EVERY_S,
        *,
        concurrency: int = CONCURRENCY,
        flush_every_s: float = FLUSH_EVERY_S,
        cycle_wait_s: float = CYCLE_WAIT_S,
        claims: Claims | None = None,
    ) -> None:
        self.ctx = ctx
        self.claims = claims
        """A worker's claims (`executor --worker`): it sends, checks and records only for
        the accounts it holds, and does the executor's own duties (flip-mode expiry,
        prices, reconciliation) only while it holds those. None: every account is ours."""
        self._owned: frozenset[str] | None = None
        self._with_work: list[str] = []
        """The accounts with work as this worker's last claim saw them."""
        self._claims_due = 0.0
        """The accounts this worker holds this cycle (None: not a worker, all of them)."""
        self.brokers = brokers
        self.retry_after = retry_after or RETRY_AFTER_S
        self.price_every_s = price_every_s
        self._prices_at: float | None = None
        self.reconcile_every_s = reconcile_every_s
        self._reconciled_at: float | None = None
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.flush_every_s = flush_every_s
        self.cycle_wait_s = cycle_wait_s
        self._pool: ThreadPoolExecutor | None = None
        self._answers: queues.SimpleQueue[SendOutcome] = queues.SimpleQueue()
        """Answers the sending threads got, waiting to be recorded (by this thread)."""
        self._in_flight: set[str] = set()
        """Orders being sent or whose answer is not recorded yet: never looked up or resent.
        Like everything here but `_answers`, touched by the executor's own thread only."""
        self._busy: dict[Hashable, Future[None]] = {}
        """Accounts (lanes) with sends in flight, and the work sending them."""
        self._next_flush = 0.0
        self._started = 0
        self._context: StateSnapshot | None = None
        """What the last cycle read of the files it does not write (read only: parsed
        again only when they change)."""
        self._followers_file: LoadedFile[Any] | None = None
        self._cycle_stamps: list[tuple[int, int] | None] | None = None
        """The wake-up files as the last cycle began."""
        self._to_warm: list[tuple[Venue, str]] | None = None
        """Broker accounts whose clients are still to be made between cycles (None: the
        list is not made yet)."""
        self._routes: dict[tuple[str | None, str, str], Broker | BrokerError] = {}
        """This cycle's broker of each account and asset class (or why it has none): the
        venue files are read once a cycle, not once an order (thousands of working orders
        at start)."""

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

    def _send(self, order: Order, broker: Broker) -> SendOutcome:
        """Send ``order`` to ``broker`` and say what came of it (any thread: it touches
        neither the journal nor the files)."""
        request = self._request(order)
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
        self,
        order_ids: list[str],
        outcomes: list[SendOutcome],
        client_ids: dict[str, str],
        lanes: dict[str, tuple[Hashable, Broker]],
    ) -> int:
        """Mark ``order_ids`` ``submitting`` (recording ``outcomes`` from reconciliation in
        the same action, and fixing ``client_ids``: each in its broker's form), then send
        them, each account's (``lanes``: order id → its account's lane and broker) in
        order and the accounts in parallel, recording the answers as they come; returns how
        many were marked. Every order is durably ``submitting`` before its first send."""
        marked: list[Order] = execution_step(self.ctx, outcomes, order_ids, client_ids).result or []
        by_lane: dict[Hashable, list[tuple[Order, Broker]]] = {}
        for order in marked:
            lane, broker = lanes[order.order_id]
            by_lane.setdefault(lane, []).append((order, broker))
        started: list[Future[None]] = []
        self._in_flight.update(o.order_id for o in marked)
        parallel = [(lane, work) for lane, work in by_lane.items() if lane is not SERIAL]
        pool = self._pool_of(len(parallel))
        for lane, work in parallel:
            future = pool.submit(self._send_lane, work)
            self._busy[lane] = future
            started.append(future)
            self._flush_if_due()  # the first answers come while the last are handed out
        for order, broker in by_lane.get(SERIAL, []):  # a local book: from this thread
            self._answers.put(self._send(order, broker))
            self._flush_if_due()
        self._wait(started)
        return len(marked)

    def _pool_of(self, threads: int = 1) -> ThreadPoolExecutor:
        """The sending threads, at least ``threads`` of them (up to `concurrency`) started
        before the work is handed out: a thread started in the middle of a fan-out waits
        for the busy ones to let it run (started one by one as the work came, the 400th
        account's order went out seconds after the first)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="vanta-send")
            self._started = 0
        busy = len(self._busy)  # threads held by hung accounts' sends
        idle = min(threads, self.concurrency - busy)
        if idle + busy > self._started:
            gate = threading.Barrier(idle + 1)
            for _ in range(idle):
                self._pool.submit(gate.wait)  # each waits there: that many threads run
            gate.wait()
            self._started = idle + busy
        return self._pool

    def _send_lane(self, work: Sequence[tuple[Order, Broker]]) -> None:
        """One account's orders, in order (a worker thread); each answer is queued as it
        comes. A bug in one send is that order's temporary error, not the account's end."""
        for order, broker in work:
            try:
                answer = self._send(order, broker)
            except Exception as exc:
                log.exception("executor: sending %s", order.order_id)
                answer = self._failure(order, f"{type(exc).__name__}: {exc}")
            self._answers.put(answer)

    def _flush_if_due(self) -> None:
        if time.monotonic() >= self._next_flush:
            self.record_answers()

    def record_answers(self) -> int:
        """Record every answer that came in, in one audited action; how many."""
        batch: list[SendOutcome] = []
        with contextlib.suppress(queues.Empty):
            while True:
                batch.append(self._answers.get_nowait())
        started = time.monotonic()
        self._next_flush = started + self.flush_every_s
        if not batch:
            return 0
        try:
            execution_step(self.ctx, batch)
        except BaseException:
            for answer in batch:  # not recorded: kept for the next try, still in flight
                self._answers.put(answer)
            raise
        # A batch that took longer than the period (a large state's files): the next waits
        # as long, so recording never takes more than half of this thread (the sends'
        # hand-out, the paper book's, go on) and the batches grow instead.
        ended = time.monotonic()
        self._next_flush = ended + max(self.flush_every_s - (ended - started), ended - started)
        self._in_flight.difference_update(a.order_id for a in batch)
        return len(batch)

    def _wait(self, futures: Sequence[Future[None]], budget_s: float | None = None) -> None:
        """Record answers as they come until ``futures`` are done or ``budget_s`` (the
        cycle's wait) has passed; sends still going on stay in flight."""
        deadline = time.monotonic() + (self.cycle_wait_s if budget_s is None else budget_s)
        pending = [f for f in futures if not f.done()]
        while pending and time.monotonic() < deadline:
            wait = min(self._next_flush, deadline) - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.01))
            self._flush_if_due()
            self._keep_claims()
            pending = [f for f in pending if not f.done()]
        self.record_answers()
        self._forget_finished()

    def _forget_finished(self) -> None:
        for lane in [lane for lane, future in self._busy.items() if future.done()]:
            del self._busy[lane]

    @property
    def in_flight(self) -> int:
        """Orders sent (or being sent) whose answer is not recorded yet."""
        return len(self._in_flight)

    def finish(self) -> None:
        """Wait for every send in flight and record its answer (before the executor stops:
        a send that started completes and is recorded); then let the threads go."""
        self._wait(list(self._busy.values()), budget_s=FINISH_WAIT_S)
        if self._pool is not None and not self._busy:
            self._pool.shutdown(wait=False)
            self._pool = None

    def _lane(self, broker: Broker) -> Hashable:
        return id(broker) if broker.parallel else SERIAL

    def _lookup(self, broker: Broker, client_id: str, symbol: str) -> BrokerOrder | None:
        try:
            return broker.get_by_client_id(client_id, symbol)
        except BrokerError:
            return None

    def _client_id(self, order: Order, broker: Broker, report: CycleReport) -> str | None:
        """The client order id ``order`` will be sent under (its broker's form), or None
        when its broker cannot say now: it waits, ``approved``, and the other orders go."""
        if order.client_order_id is not None:
            return order.client_order_id
        try:
            return broker.client_order_id_for(order.order_id)
        except BrokerError as exc:
            report.errors.append(f"{order.order_id}: {exc}")
            return None

    def _failure(self, order: Order, error: str) -> SendOutcome:
        spent = order.attempts > len(self.retry_after)
        return SendOutcome(order.order_id, error=f"temporary: {error}", give_up=spent)

    def _broker_of(self, order: Order, report: CycleReport) -> Broker | None:
        """The broker of ``order`` (its account's at its asset class), the same for the whole
        cycle; None (the reason reported for the order) when it has none now."""
        key = (order.follower_id, order.vault_id, str(order.asset_class))
        found = self._routes.get(key)
        if found is None:
            try:
                found = self.brokers.for_order(order)
            except BrokerError as exc:
                found = exc
            self._routes[key] = found
        if isinstance(found, BrokerError):
            report.errors.append(f"{order.order_id}: {found}")
            return None
        return found

    def _check_account(
        self, broker: Broker, orders: Sequence[Order]
    ) -> list[tuple[Order, BrokerOrder | None] | str]:
        """What ``broker`` (one account) holds of its working ``orders``: one list of its
        open orders, then a lookup by client order id for each order that is not in it (an
        unknown outcome: a send that may not have arrived, or an order that left the book).
        Any thread. Each order's finding, or an error text for the account or an order."""
        found: list[tuple[Order, BrokerOrder | None] | str] = []
        try:
            broker.poll()  # a simulated book fills what its prices allow now
            symbols = sorted({o.symbol for o in orders})
            listed = {o.client_order_id: o for o in broker.open_orders(symbols)}
        except BrokerError as exc:
            return [f"{orders[0].order_id}: {exc}" if len(orders) == 1 else f"{exc}"]
        for order in orders:
            assert order.client_order_id is not None
            there = listed.get(order.client_order_id)
            if there is None:
                try:
                    there = broker.get_by_client_id(
                        order.client_order_id, order.symbol, order.broker_order_id
                    )
                except BrokerError as exc:
                    found.append(f"{order.order_id}: {exc}")
                    continue
            found.append((order, there))
        return found

    def _reconcile_working(
        self,
        queue: QueueFile,
        report: CycleReport,
        first: set[Hashable] | None = None,
        later: bool = False,
    ) -> tuple[list[SendOutcome], list[Order]]:
        """What the brokers hold of the working orders (not those in flight), account by
        account in parallel: the answers that differ from the queue, and the orders in
        ``submitting`` that never reached their broker and are due to go again.

        ``first`` (accounts: their brokers' ids) limits it to those; ``later`` to the others
        (the cycle checks the accounts holding a ``submitting`` order before its sends, the
        rest after)."""
        accounts: dict[Hashable, tuple[Broker, list[Order]]] = {}
        for order in queue.orders:
            if (
                order.status not in WORKING
                or order.client_order_id is None
                or order.order_id in self._in_flight
                or not self._mine(order)
            ):
                continue
            broker = self._broker_of(order, report)
            if broker is None:
                continue
            if first is not None and (id(broker) in first) == later:
                continue
            accounts.setdefault(id(broker), (broker, []))[1].append(order)
        checks: list[list[tuple[Order, BrokerOrder | None] | str]] = []
        parallel = [(b, o) for b, o in accounts.values() if b.parallel]
        futures = [self._pool_of().submit(self._check_account, b, o) for b, o in parallel]
        checks += [self._check_account(b, o) for b, o in accounts.values() if not b.parallel]
        while not all(f.done() for f in futures):
            futures_wait(futures, timeout=0.05)
            self._keep_claims()
        checks += [f.result() for f in futures]
        outcomes: list[SendOutcome] = []
        resend: list[Order] = []
        for check in checks:
            for item in check:
                if isinstance(item, str):
                    report.errors.append(item)
                    continue
                order, there = item
                if there is None:
                    if order.status is OrderStatus.SUBMITTING and self._due(order):
                        resend.append(order)  # it never reached the broker: same id again
                    continue
                if not _agrees(there, order):
                    outcomes.append(SendOutcome(order.order_id, there))
        return outcomes, resend

    def _mine(self, order: Order) -> bool:
        owned = self._owned
        return owned is None or account_of(order) in owned

    def _claim(self, queue: QueueFile, report: CycleReport) -> bool:
        """A worker's share of the accounts with work now (`claims`); False when it has lost
        its server, and with it its claims: it sends nothing (another worker takes them
        over and asks their brokers first)."""
        claims = self.claims
        if claims is None:
            return True
        if not claims.alive():
            self._owned = frozenset()
            report.waiting.append("worker: its claims are lost with its server; sends nothing")
            return False
        accounts = sorted({account_of(o) for o in queue.orders if o.status in AT_WORK})
        busy = {account_of(o) for o in queue.orders if o.order_id in self._in_flight}
        self._owned = claims.share(accounts, busy)
        self._with_work = accounts
        self._claims_due = time.monotonic() + CLAIM_EVERY_S
        return True

    def _keep_claims(self) -> None:
        """In a long wait of a worker's cycle, every `CLAIM_EVERY_S`: take in the accounts
        its claims keeper took up meanwhile (a dead worker's; `WorkerClaims`), none let go.
        Their orders are checked from here on (the rest of this cycle's checks take
        them in) and sent from the next cycle, whose first step asks their brokers about
        any order the dead worker left ``submitting``."""
        claims = self.claims
        if claims is None or not self._with_work or time.monotonic() < self._claims_due:
            return
        self._claims_due = time.monotonic() + CLAIM_EVERY_S
        try:
            self._owned = claims.held_now(self._with_work)
        except Exception as exc:  # its session is gone, and its claims with it
            self._owned = frozenset()  # the rest of this cycle acts for no account
            log.warning("worker: taking up accounts failed: %s", exc)

    def cycle(self) -> CycleReport:
        report = CycleReport()
        self._cycle_stamps = self._stamps()  # a change after this wakes the next nap
        self._routes = {}  # the venues as they are now
        self._forget_finished()
        with self._unless_locked(report):
            self.record_answers()  # what came in since the last cycle
        duties = self.claims is None or self.claims.global_duty()
        if duties:
            with self._unless_locked(report):
                expire_flip_modes(self.ctx)
        queue = self.ctx.journal.peek(StateKind.QUEUE)  # read only here: actions copy
        assert isinstance(queue, QueueFile)
        if not self._claim(queue, report):
            return report
        # 1. Approved orders that pass the checks before send (the one rule: hold_reason).
        state = self._context = read_context(self.ctx.state_dir, self._context)
        followers = self._followers()
        sendable: list[Order] = []
        for order in queue.orders:
            if order.status is not OrderStatus.APPROVED or not self._mine(order):
                continue
            held = hold_reason(
                order, state.vaults, state.overlays, state.pnl, state.portfolio, followers
            )
            if held is not None:
                report.held.append(f"{order.order_id}: {held.text}")
                continue
            sendable.append(order)
        # 2. Before anything is sent, the accounts holding an order in ``submitting`` (a
        # send that may not have arrived) are asked what they hold: exactly once, such an
        # order goes again only if its broker never saw it. Every other account's working
        # orders are checked after the sends (at start, thousands of them): what they find
        # changes no decision of this cycle (the checks before send are made above).
        first: set[Hashable] = set()
        for order in queue.orders:
            if order.status is OrderStatus.SUBMITTING and self._mine(order):
                broker = self._broker_of(order, report)
                if broker is not None:
                    first.add(id(broker))
        outcomes, resend = self._reconcile_working(queue, report, first)
        client_ids: dict[str, str] = {}
        lanes: dict[str, tuple[Hashable, Broker]] = {}
        for order in [*sendable, *resend]:
            broker = self._broker_of(order, report)
            if broker is None:
                continue  # its venue cannot be had now: it waits, the others go
            lane = self._lane(broker)
            if lane in self._busy:
                continue  # its account's earlier sends are still in flight: it waits
            client_id = self._client_id(order, broker, report)
            if client_id is None:
                continue
            client_ids[order.order_id] = client_id
            lanes[order.order_id] = (lane, broker)
        to_send = [o.order_id for o in [*sendable, *resend] if o.order_id in lanes]
        report.reconciled += len(outcomes)
        with self._unless_locked(report):
            # The sends first: their marks are one small action; what the check found of
            # those accounts' other working orders is recorded right after.
            if to_send:
                report.sent += self._send_all(to_send, [], client_ids, lanes)
            if outcomes:
                execution_step(self.ctx, outcomes=outcomes)
        # 3. Every other account (those sent to included: their working orders).
        queue = self.ctx.journal.peek(StateKind.QUEUE)
        assert isinstance(queue, QueueFile)
        others, _ = self._reconcile_working(queue, report, first, later=True)
        report.reconciled += len(others)
        if others:
            with self._unless_locked(report):
                execution_step(self.ctx, outcomes=others)
        if not self.ctx.read_only:
            self.ctx.journal.set_meta("executor.last_cycle", format_utc(self.ctx.clock()))
            self.ctx.journal.set_meta("executor.waiting", "; ".join(report.waiting))
        if not duties:
            return report  # another worker prices and reconciles the vaults' accounts
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
        state = self._context = read_context(self.ctx.state_dir, self._context)
        portfolio, last = state.portfolio, latest_mismatches(self.ctx.journal)
        for vault in state.registry.vaults:
            try:
                found = reconcile_check(
                    self.ctx, vault.vault_id, self.brokers.for_venue,
                    vault=vault, portfolio=portfolio, last=last,
                )  # fmt: skip
            except BrokerError as exc:
                report.errors.append(f"reconcile {vault.vault_id}: {exc}")
                continue
            report.mismatches += len(found)

    def _followers(self) -> FollowersFile | None:
        """followers.json as it is now (parsed again only when its bytes changed); None when
        it is missing or does not load."""
        try:
            self._followers_file = load(
                self.ctx.state_dir, StateKind.FOLLOWERS, None, self._followers_file
            )
        except (OSError, StoreError):
            return None
        model = self._followers_file.model
        assert isinstance(model, FollowersFile)
        return model

    def refresh_prices(self, report: CycleReport) -> None:
        """Prices of every account's positions from its broker, where that is not the paper
        broker (whose prices are the portfolio's own), marked into the portfolio and PnL."""
        state = self._context = read_context(self.ctx.state_dir, self._context)
        portfolio = state.portfolio
        if portfolio is None:
            return
        accounts: list[tuple[str, dict[AssetClass, Venue]]] = [
            (vault.vault_id, vault.venues) for vault in state.registry.vaults
        ]
        registry = self._followers()
        accounts += [(f.follower_id, f.brokers) for f in (registry.followers if registry else [])]
        asks: list[tuple[str, list[tuple[str, Broker, list[str]]]]] = []
        for account_id, venues in accounts:
            account = portfolio.accounts.get(account_id)
            if account is None:
                continue
            wanted: list[tuple[str, Broker, list[str]]] = []
            for asset, venue in venues.items():
                if venue.adapter == "paper":
                    continue
                symbols = [s for s, p in account.positions.items() if p.asset_class is asset]
                if not symbols:
                    continue
                try:
                    broker = self.brokers.for_venue(venue, account_id)
                except BrokerError as exc:
                    report.errors.append(f"prices for {account_id} from {venue.adapter}: {exc}")
                    continue
                if self._lane(broker) not in self._busy:  # not while its sends hang
                    wanted.append((venue.adapter, broker, symbols))
            if wanted:
                asks.append((account_id, wanted))
        # Every account's brokers asked at once (a network call each); marked from here.
        answers = [
            (account_id, self._pool_of().submit(_quotes, wanted)) for account_id, wanted in asks
        ]
        for account_id, future in answers:
            prices, sources, errors = future.result()
            report.errors += [f"prices for {account_id} from {e}" for e in errors]
            if sources:  # its brokers answered: the header says when it was last priced
                self.ctx.journal.set_meta(PRICED_META + account_id, format_utc(self.ctx.clock()))
            if prices and mark_prices(self.ctx, account_id, prices, ", ".join(sources)).events:
                report.marked += 1

    def _stamps(self) -> list[tuple[int, int] | None]:
        stamps: list[tuple[int, int] | None] = []
        for kind in WAKE_ON:
            try:
                found = (self.ctx.state_dir / kind.filename).stat()
            except OSError:
                stamps.append(None)
            else:
                stamps.append((found.st_mtime_ns, found.st_size))
        return stamps

    def _accounts_to_warm(self) -> list[tuple[Venue, str]]:
        """Every broker account the vaults and followers name (not the paper broker)."""
        try:
            state = self._context = read_context(self.ctx.state_dir, self._context)
        except StoreError:
            return []
        wanted = [
            (venue, vault.vault_id)
            for vault in state.registry.vaults
            for venue in vault.venues.values()
        ]
        registry = self._followers()
        wanted += [
            (venue, f.follower_id)
            for f in (registry.followers if registry else [])
            for venue in f.brokers.values()
        ]
        return [(venue, account) for venue, account in wanted if venue.adapter != "paper"]

    def warm_some(self, budget_s: float = WARM_STEP_S) -> None:
        """Between cycles, make some of the accounts' broker clients (keys loaded, SDK client
        built) for at most ``budget_s``: by the first fan-out after a start every one is
        made (1,000 followers' clients made during the first fan-out delayed it by more
        than a second). An account that cannot be had now is left to its first send."""
        if self._to_warm is None:
            self._to_warm = self._accounts_to_warm()
        deadline = time.monotonic() + budget_s
        while self._to_warm and time.monotonic() < deadline:
            venue, account = self._to_warm.pop()
            with contextlib.suppress(BrokerError):
                self.brokers.for_venue(venue, account).prepare()

    def nap(self, stop: threading.Event, interval_s: float) -> None:
        """Wait between cycles: until ``stop``, ``interval_s`` passing, or a change to a file
        that may make orders sendable since the last cycle began (another program's
        approval: picked up within `WAKE_CHECK_S`, not at the next tick; one landing while
        the cycle ran starts the next at once). Answers of sends still in flight are
        recorded meanwhile, every `FLUSH_EVERY_S`, as during a cycle; what fails here
        (a file that does not load, a held lock) ends the nap, and the next cycle says it."""
        deadline = time.monotonic() + interval_s
        before = self._cycle_stamps if self._cycle_stamps is not None else self._stamps()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or stop.wait(min(WAKE_CHECK_S, left)):
                return
            if self._stamps() != before:
                return
            if self._answers.qsize() and time.monotonic() >= self._next_flush:
                try:
                    recorded = self.record_answers()
                except Exception:  # the next cycle records them again, and says why not
                    log.debug("executor: recording between cycles", exc_info=True)
                    return
                self._forget_finished()
                if recorded:
                    before = self._stamps()  # our own write is not news
            if self._to_warm is None or self._to_warm:
                try:
                    self.warm_some()
                except Exception:  # a bug: said once, and no more warming this run
                    log.exception("executor: making broker clients ahead of time")
                    self._to_warm = []

    def run_once(self, max_cycles: int = 50) -> list[CycleReport]:
        """Cycle until nothing more can progress now (for `executor --once` and tests); the
        sends still in flight are waited for and recorded."""
        reports = []
        try:
            for _ in range(max_cycles):
                report = self.cycle()
                reports.append(report)
                if report.idle and not self._busy:
                    break
                if report.idle:  # only sends in flight: wait for them, then look again
                    self._wait(list(self._busy.values()), budget_s=FINISH_WAIT_S)
        finally:
            self.finish()
        return reports
