"""`Desk`: one operator session on one state directory, the fronts' only door.

The desk (Textual), the CLI and the benchmarks call `Desk` and nothing below it: neither
front opens the journal, the executor's lease or a broker, or writes SQL. A `Desk` holds

- the state directory, the operator, the clock, read-only and live mode;
- the journal, opened once on first use (recovering from a crash once, when writable) and
  kept open, so its cache of the state files stays warm between actions;
- the current state (`StateSnapshot`): what the desk shows, what previews are made from;
- the brokers (built on first use, one adapter per venue account).

Every operator action and every reading the fronts need is a method; `run_executor` runs
the executor (its own journal connection and the lease, in the caller's thread).

Threads: the desk calls these methods from worker threads, the CLI from its main thread.
The session's journal is used under one lock, so actions run one at a time (as an operator
does them); the executor runs beside them on its own connection.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from vanta_tui.actions.errors import ActionRefused
from vanta_tui.brokers.errors import BrokerError
from vanta_tui.core.clock import Clock, utc_now
from vanta_tui.core.enums import OrderType, Side, TimeInForce
from vanta_tui.core.models import Follower, Order
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StoreError
from vanta_tui.store.snapshot import StateSnapshot

if TYPE_CHECKING:
    from vanta_tui.actions import audit
    from vanta_tui.actions.activity import (
        AccountTimes,
        ActivityFilter,
        ActivityItem,
        Banner,
        Blotter,
        Period,
        Profit,
    )
    from vanta_tui.actions.audit import ProgressFactory
    from vanta_tui.actions.context import ActionContext, ReadOnlyRefused
    from vanta_tui.actions.execution import CancelReport
    from vanta_tui.actions.fees import (
        CloseReport,
        LedgerEntry,
    )
    from vanta_tui.actions.followers import ImportReport
    from vanta_tui.actions.orders import (
        ApprovalSummary,
        StagedRebalance,
    )
    from vanta_tui.actions.status import StatusLine, StatusReport
    from vanta_tui.brokers.base import Brokers
    from vanta_tui.executor.runner import RunEvent, RunOutcome
    from vanta_tui.store.postgres.migrate import Migrated

    ExecutorNews = RunEvent
    ExecutorEnd = RunOutcome
    from vanta_tui.core.rebalance import RebalancePlan
    from vanta_tui.store.journal import RecoveryReport
    from vanta_tui.store.journal.replay import ReplayResult
    from vanta_tui.store.journal.verify import VerifyResult

__all__ = [
    "ActionRefused",
    "BrokerError",
    "BrokerOptions",
    "Desk",
    "ExecutorEnd",
    "ExecutorNews",
    "ReadOnlyRefused",
]
"""Besides `Desk`, the errors a front tells apart: a refusal (a rule, read-only mode) and a
broker that could not be asked (every other failure is a `StoreError`, `store.errors`)."""

T = TypeVar("T")


class Default:
    """An argument left to the layer below (`DEFAULT`): its own value, which the Desk does
    not import just to repeat it."""


DEFAULT = Default()

FOLLOW_RETRY_S = 2.0
"""How often a desk following changes tries its server again when it is lost."""
FOLLOW_WAIT_S = 0.25
"""How long a desk following changes listens before it looks whether it should stop."""
FOLLOW_PING_S = 5.0
"""How long a desk following changes hears nothing before it asks its server something."""
FOLLOW_STALE_S = 15.0
"""A following desk whose server has not answered for this long says its panes may be
stale (a server that keeps its connection open and answers nothing holds the listener)."""
STATUS_PROBE_TIMEOUT_S = 5.0
"""How long the status waits for each broker it asks."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerOptions:
    """How the brokers are built: the paper broker's simulation and the network timeout."""

    slippage_bps: Decimal = Decimal(0)
    partial_fill_ratio: Decimal | None = None
    timeout_s: float = 10.0
    paper_only: bool = False


def __getattr__(name: str) -> Any:
    """The names whose modules are imported only when a front asks for them (a command
    that reads files does not import the executor): `ExecutorNews` (what the executor
    says while it runs, `executor.runner.RunEvent`), `ExecutorEnd` (how a run ended,
    `RunOutcome`) and `ReadOnlyRefused`."""
    if name == "ReadOnlyRefused":
        from vanta_tui.actions.context import ReadOnlyRefused

        return ReadOnlyRefused
    if name in {"ExecutorNews", "ExecutorEnd"}:
        from vanta_tui.executor import runner

        return runner.RunEvent if name == "ExecutorNews" else runner.RunOutcome
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Desk:
    """One operator session: every action and reading the fronts need (see the module)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        operator: str,
        clock: Clock = utc_now,
        read_only: bool = False,
        live: bool = False,
        brokers: BrokerOptions | Brokers | None = None,
    ) -> None:

        self.state_dir = state_dir
        self.operator = operator
        self.clock = clock
        self.read_only = read_only
        self.live = live
        self.broker_options = brokers if isinstance(brokers, BrokerOptions) else BrokerOptions()
        self.state = StateSnapshot()
        """The current state: the last good models of every file and their problems."""
        self._lock = threading.RLock()
        self._ctx: ActionContext | None = None
        self._brokers: Brokers | None = None if isinstance(brokers, BrokerOptions) else brokers
        """``brokers`` given as `Brokers` (a test's or a benchmark's own) route every order."""
        self._namespace: str | None = None
        self.follow_alive_at: float | None = None
        """When the server this desk follows changes on last answered (monotonic)."""
        self._brokers_lock = threading.Lock()
        """Builds the brokers once; not the session's lock, which the journal's start holds
        for as long as it takes (a fifth of a second at 10,000 orders): the executor gets
        its brokers without waiting for it."""

    # ------------------------------------------------------------------ session

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the journal (signing a checkpoint if it wrote)."""
        with self._lock:
            if self._ctx is not None:
                ctx, self._ctx = self._ctx, None
                ctx.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[ActionContext]:
        """The session's action context, opened on first use, one caller at a time."""
        with self._lock:
            if self.read_only:
                # Read-only journals are opened for each use: SQLite reads a journal no
                # writer has open as immutable, and a long-lived handle would not see the
                # events written after it opened.
                ctx = self._open_context()
                try:
                    yield ctx
                finally:
                    ctx.close()
                return
            if self._ctx is None:
                self._ctx = self._open_context()
            yield self._ctx

    def _open_context(self) -> ActionContext:
        from vanta_tui.actions.context import ActionContext

        return ActionContext.open(
            self.state_dir,
            self.operator,
            clock=self.clock,
            read_only=self.read_only,
            live=self.live,
        )

    def _act(self, body: Callable[[ActionContext], T]) -> T:
        with self._session() as ctx:
            return body(ctx)

    # ------------------------------------------------------------------ state

    def reload(self, kinds: Iterable[StateKind] | None = None) -> StateSnapshot:
        """Read the changed files (``kinds``; all when None) into the current state, keeping
        the last good model of a file that does not load."""
        from vanta_tui.store.snapshot import reload

        self.state = reload(
            self.state_dir, self.state, frozenset(kinds) if kinds is not None else None
        )
        return self.state

    # ------------------------------------------------------------------ the journal

    def start(self) -> RecoveryReport | None:
        """Open the journal now: recover from any crash and record the changes other programs
        made to the files since (a writable desk). None when read-only."""
        with self._lock:
            opening = self._ctx is None
            with self._session() as ctx:
                if ctx.read_only:
                    return None
                # A journal opened just now has noted them (`Journal.start`), except in the
                # files another program held meanwhile: read them all again only then.
                if not opening or (ctx.recovery is not None and ctx.recovery.waiting):
                    ctx.journal.note_external_changes()
                return ctx.recovery

    def note_external(self, kinds: Iterable[StateKind]) -> None:
        """Record the changes another program made to these files (the watcher saw them)."""
        if self.read_only:
            return
        with self._session() as ctx:
            ctx.journal.note_external_changes(kinds)

    @property
    def follows_changes(self) -> bool:
        """Whether changes are announced on a PostgreSQL server (`VANTA_CHANGES_URL`,
        ``--changes``), which `follow_changes` listens to."""
        from vanta_tui.store.postgres.feed import changes_url

        return changes_url() is not None

    def follow_changes(
        self,
        stop: threading.Event,
        on_change: Callable[[frozenset[StateKind]], None],
        *,
        on_state: Callable[[bool, str], None] = lambda _ok, _text: None,
        retry_s: float = FOLLOW_RETRY_S,
    ) -> None:
        """Call ``on_change`` with the files another process (on this host or another)
        announces it changed, in this thread, until ``stop`` is set: PostgreSQL's
        LISTEN/NOTIFY on the journal's channel (`store.postgres.feed`), for desks that do
        not watch the files (a network filesystem shows no other host's writes). This
        process's own changes are not repeated (its panes have them).

        Once listening, and again each time the server is found after being lost, every
        file is read again (what changed before was not heard). Notifications that come
        together are taken together: one reload for the files of one action. A quiet
        session is asked something every `FOLLOW_PING_S` (a dead link hears nothing and
        says nothing); `follow_alive_at` is when it last answered. ``on_state(listening,
        text)`` hears when it starts listening and when it loses the server. Meant for a
        daemon thread: a server that stops answering may hold it."""
        from vanta_tui.store.postgres.feed import ChangeFeed, changes_url, origin

        url = changes_url()
        if url is None:
            return
        by_name = {kind.filename: kind for kind in StateKind}
        me = origin()
        while not stop.is_set():
            try:
                namespace = self._journal_namespace()
                if namespace is None:  # no event recorded yet: nothing to name the channel
                    stop.wait(retry_s)
                    continue
                with ChangeFeed(url, namespace, name=f"vanta-desk {self.operator}"[:63]) as feed:
                    self.follow_alive_at = time.monotonic()
                    on_change(frozenset(StateKind))  # what changed before it listened
                    on_state(True, "following changes")
                    while not stop.is_set():
                        heard = feed.wait(FOLLOW_WAIT_S, at_most=1)  # at once
                        if heard:
                            heard += feed.wait(0)  # the rest of the same moment, together
                            self.follow_alive_at = time.monotonic()
                        elif time.monotonic() - self.follow_alive_at >= FOLLOW_PING_S:
                            feed.ping()  # (an empty wait proves nothing)
                            self.follow_alive_at = time.monotonic()
                        kinds = frozenset(
                            by_name[c.file] for c in heard if c.origin != me and c.file in by_name
                        )
                        if kinds:
                            on_change(kinds)
            except Exception as exc:
                log.warning("following changes: %s (again in %.0f s)", exc, retry_s)
                on_state(False, "changes: server out of reach, panes may be stale")
                stop.wait(retry_s)

    def _journal_namespace(self) -> str | None:
        """The journal's name (its first event's hash), read once it has one."""
        from vanta_tui.store.journal import Journal

        if self._namespace is None:
            with Journal(self.state_dir, clock=self.clock, read_only=True) as journal:
                self._namespace = journal.namespace()
        return self._namespace

    def record(self, action: str, payload: Mapping[str, Any] | None = None) -> None:
        """Record a desk event (``desk.opened``, ``executor.paused`` …) in the journal (a
        read-only desk's too: the journal notes who looked)."""
        from vanta_tui.store.journal import EventDraft

        data = {"read_only": self.read_only, **(payload or {})}
        if self.read_only:
            from vanta_tui.store.journal import Journal

            with Journal(self.state_dir, clock=self.clock) as journal:
                journal.record(self.operator, [EventDraft(action, payload=data)])
            return
        with self._session() as ctx:
            ctx.journal.record(self.operator, [EventDraft(action, payload=data)])

    def integrity_problem(self) -> str | None:
        """What is wrong with the journal's chain (it then refuses every write), or None."""
        with self._session() as ctx:
            problem = ctx.journal.integrity()
        return None if problem is None else f"{problem.kind.upper()}: {problem}"

    # ------------------------------------------------------------------ orders

    def preview_approval(
        self, order_ids: Sequence[str], state: StateSnapshot | None = None
    ) -> ApprovalSummary:
        """The approval as it would go, from ``state`` (default: the current state); the
        approval itself checks again under the queue's lock."""
        from vanta_tui.actions.orders import preview_approval

        snap = state or self.state
        if snap.vaults is None or snap.queue is None:
            raise ActionRefused("vault.json or the queue is not loaded")
        followers = snap.followers.followers if snap.followers is not None else []
        return preview_approval(snap, followers, snap.queue, order_ids, self.clock(), self.operator)

    def approve(self, order_ids: Sequence[str]) -> ApprovalSummary:
        """Approve staged orders (and mirror them to the vaults' followers)."""
        from vanta_tui.actions.orders import ApprovalSummary, approve_orders

        return ApprovalSummary.of(self._act(lambda ctx: approve_orders(ctx, order_ids)).events)

    def reject(self, order_ids: Sequence[str], reason: str | None = None) -> int:
        """Reject staged orders; how many were rejected."""
        from vanta_tui.actions.orders import reject_orders

        return len(self._act(lambda ctx: reject_orders(ctx, order_ids, reason)).events)

    def flip(self, order_id: str) -> Order:
        """Reverse a staged order's side; the flipped order."""
        from vanta_tui.actions.orders import flip_order

        result: Order = self._act(lambda ctx: flip_order(ctx, order_id)).result
        return result

    def edit(self, order_id: str, changes: dict[str, Any]) -> Order:
        """Change a staged order's qty, type, limit or time in force; the edited order."""
        from vanta_tui.actions.orders import edit_order

        result: Order = self._act(lambda ctx: edit_order(ctx, order_id, changes)).result
        return result

    def stage(
        self,
        vault_id: str,
        symbol: str,
        side: Side,
        qty: Decimal,
        *,
        order_type: OrderType = OrderType.MARKET,
        limit_price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.DAY,
        reasons: Sequence[str] = (),
        allow_duplicate: bool = False,
    ) -> Order:
        """Stage an order by hand (refused as `DuplicateOrder` when an identical one is open
        and was staged moments ago, unless ``allow_duplicate``); the staged order."""
        from vanta_tui.actions.orders import stage_order

        result: Order = self._act(
            lambda ctx: stage_order(
                ctx,
                vault_id=vault_id,
                symbol=symbol,
                side=side,
                qty=qty,
                order_type=order_type,
                limit_price=limit_price,
                time_in_force=time_in_force,
                reasons=list(reasons) or [f"staged by hand by {self.operator}"],
                allow_duplicate=allow_duplicate,
            )
        ).result
        return result

    def duplicate_of(self, order: Order, state: StateSnapshot | None = None) -> Order | None:
        """An identical open order staged moments ago (from ``state``, default current)."""
        from vanta_tui.core.intents import Ticket, find_duplicate

        queue = (state or self.state).queue
        if queue is None:
            return None
        return find_duplicate(queue.orders, Ticket.of(order), self.clock())

    def preview_rebalance(self, vault_id: str) -> RebalancePlan:
        """The orders a rebalance of the vault would stage now (nothing is written)."""
        from vanta_tui.actions.orders import preview_rebalance
        from vanta_tui.actions.venues import vault_caps

        caps = vault_caps(self.state_dir, vault_id, live=self.live)
        return preview_rebalance(self.state_dir, vault_id, self.clock(), caps=caps)

    def rebalance(self, vault_id: str) -> StagedRebalance:
        """Stage the vault's rebalance (net of its open orders)."""
        from vanta_tui.actions.orders import stage_rebalance

        result: StagedRebalance = self._act(lambda ctx: stage_rebalance(ctx, vault_id)).result
        return result

    def retry(self, order_id: str) -> Order:
        """Stage a dead letter again (once); the new staged order."""
        from vanta_tui.actions.orders import retry_failed

        result: Order = self._act(lambda ctx: retry_failed(ctx, order_id)).result
        return result

    def dismiss(self, order_id: str, reason: str | None = None) -> Order:
        """Take a dead letter off the list for good (it cannot be retried after)."""
        from vanta_tui.actions.orders import dismiss_failed

        why = reason or f"dismissed by {self.operator}"
        result: Order = self._act(lambda ctx: dismiss_failed(ctx, order_id, why)).result
        return result

    def dead_letters(self) -> list[Order]:
        """Failed orders not yet retried or dismissed."""
        from vanta_tui.actions.orders import dead_letters

        return self._act(lambda ctx: dead_letters(ctx.state_dir, ctx.journal))

    def cancel(self, order_ids: Sequence[str]) -> CancelReport:
        """Cancel working orders at their brokers."""
        from vanta_tui.actions.execution import cancel_orders

        return self._act(lambda ctx: cancel_orders(ctx, order_ids, self.brokers()))

    def panic(self, reason: str) -> CancelReport:
        """Global maintenance on, then cancel every working order at every broker."""
        from vanta_tui.actions.execution import panic

        return self._act(lambda ctx: panic(ctx, reason, self.brokers()))

    # ------------------------------------------------------------------ overlays

    def maintenance(self, vault_id: str | None, on: bool, reason: str | None = None) -> None:
        """Maintenance on (with a reason) or off, for a vault or (None) the whole desk."""
        from vanta_tui.actions.overlays import set_maintenance

        self._act(lambda ctx: set_maintenance(ctx, vault_id, on, reason))

    def flip_mode(
        self,
        vault_id: str,
        on: bool,
        *,
        ttl_minutes: int = 45,
        amplify: Decimal = Decimal("0.35"),
    ) -> None:
        """Flip mode on for ``ttl_minutes`` (it reverts by itself) or off."""
        from vanta_tui.actions.overlays import set_flip_mode

        self._act(
            lambda ctx: set_flip_mode(ctx, vault_id, on, ttl_minutes=ttl_minutes, amplify=amplify)
        )

    def expire_flip_modes(self) -> list[str]:
        """Revert every flip mode past its expiry; the vaults reverted."""
        from vanta_tui.actions.overlays import expire_flip_modes

        events = self._act(expire_flip_modes).events
        return [str(e.vault_id) for e in events]

    def persona(
        self, vault_id: str, persona: str, boosts: Mapping[str, Decimal] | None = None
    ) -> None:
        """Set a vault's persona and its boosts."""
        from vanta_tui.actions.overlays import set_persona

        self._act(lambda ctx: set_persona(ctx, vault_id, persona, boosts))

    def clear_trip(self, vault_id: str, reason: str) -> None:
        """Clear a tripped vault after review."""
        from vanta_tui.actions.overlays import clear_trip

        self._act(lambda ctx: clear_trip(ctx, vault_id, reason))

    # ------------------------------------------------------------------ followers and fees

    def add_follower(self, packet: Path | Mapping[str, Any]) -> tuple[Follower, list[str]]:
        """Add a follower from an onboarding packet (a file or its data); the follower and
        the venues whose inline keys were moved to the keyring."""
        from vanta_tui.actions.followers import add_follower, read_packet

        where = str(packet) if isinstance(packet, Path) else "packet"
        data = read_packet(packet) if isinstance(packet, Path) else dict(packet)
        result = self._act(lambda ctx: add_follower(ctx, data, where=where))
        moved = result.events[0].payload.get("keys_moved_to_keyring") or []
        return result.result, list(moved)

    def import_followers(
        self, path: Path, partial: bool = False, *, progress: ProgressFactory | None = None
    ) -> ImportReport:
        """Onboard many followers: ``path`` is a JSON Lines file of packets (one a line) or a
        directory of packet files. Every packet is checked first, with the rules of
        `add_follower` (keys looked up once per account), and every problem is reported
        with its line or file; then all are added in one audited action. With any problem
        none is added, unless ``partial``: then the valid ones are (the report says which
        were skipped and why)."""
        from vanta_tui.actions.followers import import_followers

        return self._act(
            lambda ctx: import_followers(ctx, path, partial=partial, progress=progress)
        )

    def kill_switch(self, follower_id: str, on: bool) -> Follower:
        """Stop (on) or resume (off) mirroring new vault orders to a follower."""
        from vanta_tui.actions.followers import set_kill_switch

        result: Follower = self._act(lambda ctx: set_kill_switch(ctx, follower_id, on)).result
        return result

    def remove_follower(self, follower_id: str) -> Follower:
        from vanta_tui.actions.followers import remove_follower

        result: Follower = self._act(lambda ctx: remove_follower(ctx, follower_id)).result
        return result

    def close_fees(
        self, vault_id: str | None = None, *, as_of: datetime | None = None, dry_run: bool = False
    ) -> CloseReport:
        """Charge each ended fee period once (``dry_run``: what it would charge)."""
        from vanta_tui.actions.fees import close_fee_cycle

        result: CloseReport = self._act(
            lambda ctx: close_fee_cycle(ctx, vault_id, as_of=as_of, dry_run=dry_run)
        ).result
        return result

    def fee_ledger(
        self, vault_id: str | None = None, follower_id: str | None = None
    ) -> list[LedgerEntry]:
        """The fee ledger, of one vault and/or follower (an unknown one is refused)."""
        from vanta_tui.actions.fees import check_ledger_filter, ledger

        def read(ctx: ActionContext) -> list[LedgerEntry]:
            check_ledger_filter(ctx.journal, vault_id=vault_id, follower_id=follower_id)
            return ledger(ctx.journal, vault_id=vault_id, follower_id=follower_id)

        return self._act(read)

    # ------------------------------------------------------------------ brokers

    def brokers(self) -> Brokers:
        """The brokers of the state's venues (paper, or Alpaca/ccxt with their keys), built
        once for the session."""
        from vanta_tui.actions.brokers import brokers_for

        with self._brokers_lock:
            if self._brokers is None:
                options = self.broker_options
                self._brokers = brokers_for(
                    self.state_dir,
                    live=self.live,
                    slippage_bps=options.slippage_bps,
                    partial_fill_ratio=options.partial_fill_ratio,
                    timeout_s=options.timeout_s,
                    paper_only=options.paper_only,
                    read_only=self.read_only,
                )
            return self._brokers

    def missing_credentials(self) -> list[str]:
        """Venues whose keys are missing, in the operator's words (nothing is sent there)."""
        from vanta_tui.actions.brokers import missing_credentials

        return missing_credentials(self.state_dir)

    def venue_problems(self) -> list[str]:
        """Venues that refuse to trade (their orders wait; the others trade)."""
        from vanta_tui.actions.brokers import venue_problems

        return venue_problems(self.state_dir, live=self.live)

    def reconcile(self, vault_id: str) -> list[dict[str, Any]]:
        """How portfolio.json differs from the vault's brokers (audited when it does)."""
        from vanta_tui.actions.reconcile import check as reconcile_check

        brokers = self.brokers()
        return self._act(lambda ctx: reconcile_check(ctx, vault_id, brokers.for_venue))

    def adopt_broker(self, vault_id: str) -> list[dict[str, Any]]:
        """Take the brokers' positions and cash for the vault; the differences adopted."""
        from vanta_tui.actions.reconcile import accept_broker

        brokers = self.brokers()
        result: list[dict[str, Any]] = self._act(
            lambda ctx: accept_broker(ctx, vault_id, brokers.for_venue)
        ).result
        return result

    # ------------------------------------------------------------------ status and audit

    def status(
        self,
        *,
        probe: bool,
        now: datetime | None = None,
        watcher: StatusLine | None = None,
        state: StateSnapshot | None = None,
    ) -> StatusReport:
        """The system status and its alarms (the brokers asked only if ``probe``, before
        the session's journal is taken: a broker slow to answer holds no action)."""
        from vanta_tui.actions.status import broker_lines, collect

        at = now or self.clock()
        asked = broker_lines(self.state_dir, probe, STATUS_PROBE_TIMEOUT_S, self.live)
        report: StatusReport = self._act(
            lambda ctx: collect(
                ctx, at, watcher=watcher, state=state, live=self.live, brokers=asked
            )
        )
        line = self.workers_line()
        if line is not None:
            report.lines.append(line)
        return report

    def workers_line(self) -> StatusLine | None:
        """The executor workers of this directory (`executor --worker`), their hosts and how
        many accounts each holds, as their server says; None when no server is set."""
        from vanta_tui.actions.status import StatusLine
        from vanta_tui.core.alarms import Level
        from vanta_tui.store.postgres.claims import workers_now
        from vanta_tui.store.postgres.feed import changes_url

        url = changes_url()
        if url is None:
            return None
        namespace = self._journal_namespace()
        found = None if namespace is None else workers_now(url, namespace)
        if found is None:
            return StatusLine("workers", Level.WARN, "their server does not answer")
        if not found:
            return StatusLine("workers", Level.OK, "none")
        each = ", ".join(
            f"{w.host} pid {w.pid}: {w.accounts}{' + duties' if w.duty else ''}" for w in found
        )
        return StatusLine("workers", Level.OK, f"{len(found)} ({each} accounts)")

    def acknowledge(self, alarm_id: str, note: str | None = None) -> None:
        """Record that the operator has seen an open alarm."""
        from vanta_tui.actions.status import acknowledge

        self._act(lambda ctx: acknowledge(ctx, alarm_id, note))

    def audit_trail(self, order_id: str) -> list[str]:
        """An order's audit trail as the lines of a tree (a unique prefix or suffix of at
        least six characters names the order)."""
        from vanta_tui.actions import audit

        return self._act(lambda ctx: audit.trail(ctx.journal, order_id))

    def migrate_journal(self, url: str, progress: ProgressFactory | None = None) -> Migrated:
        """Copy this directory's SQLite journal into PostgreSQL at ``url`` and make it the
        journal (``audit migrate``); raises `StoreError` (nothing changed) when it cannot."""
        from vanta_tui.actions import audit

        return audit.migrate_journal(self.state_dir, url, progress or audit.no_progress)

    def verify_journal(
        self, expect_head: str | None = None, progress: ProgressFactory | None = None
    ) -> VerifyResult:
        """Check the journal's hash chains (and ``expect_head``); kept as "last verified"
        unless this desk is read-only."""
        from vanta_tui.actions import audit

        return audit.verify_journal(
            self.state_dir,
            self.clock,
            expect_head=expect_head,
            note=not self.read_only,
            progress=progress or audit.no_progress,
        )

    def anchor(self) -> audit.Anchor:
        """The journal's head as SEQ:HASH (and what is wrong with its chain, if anything)."""
        from vanta_tui.actions import audit

        return audit.anchor(self.state_dir)

    def repair_journal(self, reason: str) -> audit.Repair:
        """Accept a journal behind or unlike its recorded head (audited)."""
        from vanta_tui.actions import audit
        from vanta_tui.actions.context import ReadOnlyRefused

        if self.read_only:
            raise ReadOnlyRefused("read-only mode: repairing the journal is not allowed")
        with self._lock:  # no action of this session reopens the journal meanwhile
            self.close()  # the repair opens the journal itself
            return audit.repair(self.state_dir, self.operator, reason, self.clock)

    def replay(self, progress: ProgressFactory | None = None) -> ReplayResult:
        """Rebuild the state files from the journal and compare them with the files."""
        from vanta_tui.actions import audit

        return audit.replay_journal(self.state_dir, progress or audit.no_progress)

    def export(
        self,
        out: TextIO,
        fmt: str,
        *,
        since: str | None = None,
        vault: str | None = None,
        progress: ProgressFactory | None = None,
    ) -> int:
        """Write the journal's events as JSONL or CSV to ``out``; how many."""
        from vanta_tui.actions import audit

        return audit.export_journal(
            self.state_dir,
            out,
            fmt,
            since=since,
            vault=vault,
            progress=progress or audit.no_progress,
        )

    # ------------------------------------------------------------------ for the desk (UI)
    # (methods the Textual front needed go here)

    def has_event(self, action: str) -> bool:
        """Whether the journal holds an event of ``action`` (``desk.opened`` …); a journal
        not made yet holds none."""
        from vanta_tui.store.postgres.location import journal_present

        if not journal_present(self.state_dir):
            return False
        from vanta_tui.store.journal import Journal
        from vanta_tui.store.journal.queries import first_event

        with Journal(self.state_dir, read_only=True) as journal:
            return first_event(journal, action) is not None

    def unstage(self, order_ids: Sequence[str]) -> list[Order]:
        """Take staged orders nobody approved off the queue (audited); the orders taken off.
        Refused for an order past staging: nothing that may have reached a broker is undone."""
        from vanta_tui.actions.orders import unstage_orders

        result: list[Order] = self._act(lambda ctx: unstage_orders(ctx, order_ids)).result
        return result

    def activity(
        self,
        wanted: ActivityFilter | None = None,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 200,
    ) -> list[ActivityItem]:
        """The journal's events in words, newest first (`actions.activity.activity`)."""
        from vanta_tui.actions import activity

        chosen = wanted or activity.ActivityFilter()
        if not self._journal_exists():
            return []
        return self._act(
            lambda ctx: activity.activity(
                ctx.journal, chosen, after_seq=after_seq, before_seq=before_seq, limit=limit
            )
        )

    def head_seq(self) -> int:
        """The newest event's seq (0: none yet): a cheap way to tell whether anything
        happened since the feed was last read."""
        from vanta_tui.store.journal.queries import head_seq

        if not self._journal_exists():
            return 0
        return self._act(lambda ctx: head_seq(ctx.journal))

    def blotter(self, vault_id: str | None = None) -> Blotter:
        """Every fill (newest first) and their totals per symbol."""
        from vanta_tui.actions import activity

        if not self._journal_exists():
            return activity.Blotter([], [])
        return self._act(lambda ctx: activity.blotter(ctx.journal, vault_id=vault_id))

    def profit(self, period: Period = "day", vault_id: str | None = None) -> Profit:
        """Realized PnL per period per account, and per symbol (freqtrade's /daily, /weekly,
        /monthly and /performance)."""
        from vanta_tui.actions import activity

        if not self._journal_exists():
            return activity.Profit(period, [], [])
        return self._act(lambda ctx: activity.profit(ctx.journal, period, vault_id=vault_id))

    def banner(self, state: StateSnapshot | None = None) -> Banner | None:
        """The red banner's contents while a panic or global maintenance stops trading
        (and what the last panic could not cancel, until acknowledged); None otherwise."""
        from vanta_tui.actions import activity

        shown = state if state is not None else self.state
        if not self._journal_exists():
            return activity.banner(None, shown)
        return self._act(lambda ctx: activity.banner(ctx.journal, shown))

    def acknowledge_panic(self, panic_seq: int) -> None:
        """Record that the operator read what panic ``panic_seq`` could not cancel."""
        from vanta_tui.actions import activity

        self._act(lambda ctx: activity.acknowledge_panic(ctx, panic_seq))

    def broker_times(self, state: StateSnapshot | None = None) -> list[AccountTimes]:
        """When each vault's broker account was last reconciled and priced (a paper-only
        account is priced by the portfolio itself)."""
        from vanta_tui.actions import activity

        shown = state if state is not None else self.state
        vaults = shown.vaults.vaults if shown.vaults is not None else []
        accounts = {
            v.vault_id: all(venue.adapter == "paper" for venue in v.venues.values()) for v in vaults
        }
        if not accounts or not self._journal_exists():
            return activity.broker_times(None, accounts)
        return self._act(lambda ctx: activity.broker_times(ctx.journal, accounts))

    def _journal_exists(self) -> bool:
        """Whether there is a journal to read (a read-only desk does not make one)."""
        from vanta_tui.store.postgres.location import journal_present

        return not self.read_only or journal_present(self.state_dir)

    # ------------------------------------------------------------------ for the CLI
    # (methods the command line needed go here)

    def match_orders(self, typed: Sequence[str]) -> list[Order]:
        """The queue's orders for the ids an operator typed: whole ids, or a unique prefix or
        suffix of at least six characters, as the desk shows them (one that matches none or
        several is refused). The journal is opened first, as for the action that follows."""
        from vanta_tui.core.id_match import match_id
        from vanta_tui.core.models import QueueFile
        from vanta_tui.store.loader import load_model

        with self._session():
            orders = {o.order_id: o for o in load_model(self.state_dir, QueueFile).orders}
        known = list(orders)
        return [orders[match_id(text, known)] for text in typed]

    def followers_overview(
        self,
    ) -> list[tuple[Follower, Decimal | None, Decimal | None, Decimal | None]]:
        """Every follower with its NAV (its PnL's, else its account's equity), realized PnL
        and fees accrued, read from the files now (None where pnl_summary.json or
        portfolio.json has none or does not load; followers.json must load)."""
        from vanta_tui.core.models import FollowersFile, PnlFile, PortfolioFile
        from vanta_tui.store.loader import load_model

        followers = load_model(self.state_dir, FollowersFile).followers
        try:
            pnl = load_model(self.state_dir, PnlFile).vaults
        except StoreError:
            pnl = {}
        try:
            accounts = load_model(self.state_dir, PortfolioFile).accounts
        except StoreError:
            accounts = {}
        rows: list[tuple[Follower, Decimal | None, Decimal | None, Decimal | None]] = []
        for follower in followers:
            own = pnl.get(follower.follower_id)
            account = accounts.get(follower.follower_id)
            if own is not None:
                rows.append((follower, own.nav, own.realized, own.fees_accrued))
            else:
                rows.append((follower, account.equity if account else None, None, None))
        return rows

    @staticmethod
    def check_anchor(text: str) -> None:
        """Refuse (ValueError) a head that is not SEQ:HASH, before any journal is opened."""
        from vanta_tui.store.journal.verify import parse_anchor

        parse_anchor(text)

    # ------------------------------------------------------------------ for the benchmarks

    def journal_seq(self) -> int:
        """The seq of the journal's newest event (0: none yet)."""
        with self._session() as ctx:
            return ctx.journal.head()[0]

    def journal_actions_after(self, seq: int) -> int:
        """How many actions the journal took after event ``seq`` (the executor's included)."""
        from vanta_tui.store.journal.queries import actions_after

        with self._session() as ctx:
            return actions_after(ctx.journal, seq)

    # ------------------------------------------------------------------ the executor

    def run_executor(
        self,
        stop: threading.Event,
        *,
        on_news: Callable[[RunEvent], None] = lambda _news: None,
        once: bool = False,
        interval_s: float = 1.0,
        holder: str | None = None,
        price_every_s: float | Default | None = DEFAULT,
        reconcile_every_s: float | Default | None = DEFAULT,
        retry_after: tuple[float, ...] = (),
        stop_on_bug: bool = False,
        concurrency: int | None = None,
        worker: bool = False,
    ) -> RunOutcome:
        """Run the executor in this thread until ``stop`` is set (``once``: until nothing
        more can progress now): it takes the state directory's lease (one executor per
        directory), opens its own journal connection, and sends approved orders exactly
        once through the session's brokers. ``on_news`` hears what it says while it runs
        (`executor.runner.RunEvent`); the return says how it ended (`RunOutcome`).
        ``price_every_s`` / ``reconcile_every_s``: how often prices are fetched and accounts
        compared with the brokers (None: never; by default the executor's own periods).
        ``stop_on_bug``: an unexpected exception in a cycle ends the run (the headless
        executor exits, its supervisor restarts it) instead of being logged and said.
        ``concurrency``: sends in flight at once across accounts (default
        `executor.engine.CONCURRENCY`). ``worker``: one of several executor workers on
        this directory, sending for the accounts it claims on the server of
        `VANTA_CHANGES_URL` (`executor --worker`)."""
        from vanta_tui.actions.context import ReadOnlyRefused
        from vanta_tui.executor import engine
        from vanta_tui.executor.runner import run_executor

        if self.read_only:  # it would send approved orders and write their records
            raise ReadOnlyRefused("read-only mode: the executor is not started")
        worker_url: str | None = None
        if worker:
            from vanta_tui.store.postgres.feed import changes_url

            worker_url = changes_url()
            if worker_url is None:
                raise ValueError("a worker claims its accounts on a PostgreSQL server: --changes")

        return run_executor(
            self.state_dir,
            brokers=self.brokers(),
            stop=stop,
            holder=holder or f"desk of {self.operator}",
            clock=self.clock,
            once=once,
            interval_s=interval_s,
            on_event=on_news,
            price_every_s=(
                engine.PRICE_EVERY_S if isinstance(price_every_s, Default) else price_every_s
            ),
            reconcile_every_s=(
                engine.RECONCILE_EVERY_S
                if isinstance(reconcile_every_s, Default)
                else reconcile_every_s
            ),
            retry_after=retry_after or engine.RETRY_AFTER_S,
            stop_on_bug=stop_on_bug,
            concurrency=concurrency or engine.CONCURRENCY,
            worker_url=worker_url,
        )
