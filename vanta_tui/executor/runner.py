"""The executor's run, written once for every front (the desk's executor, `vanta-tui
executor`): take the state directory's lease, open the journal, refuse a journal whose
chain is broken, say which venues refuse to trade, then cycle until asked to stop (or, in
``once`` mode, until nothing more can progress now), and always close the journal and give
the lease back.

The run speaks through `RunEvent`s while it runs (a status line for the desk's header, a
line for the command line), from its start on: before its first cycle it says what it is
doing (opening the journal, reconciling the working orders), not a bare "starting". It ends
with a `RunOutcome` the fronts map to their texts and exit codes. A state file that stays
broken is said once, and once when it loads again (`vanta_tui.core.logs.Lapse`); a bug in
a cycle is logged with its traceback once and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from vanta_tui.actions.brokers import venue_problems
from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.base import Brokers
from vanta_tui.core.clock import Clock, utc_now
from vanta_tui.core.logs import Lapse
from vanta_tui.core.memory import give_back
from vanta_tui.core.models import QueueFile, StateFileModel
from vanta_tui.core.order_states import WORKING
from vanta_tui.core.state_files import StateKind
from vanta_tui.executor.engine import (
    CONCURRENCY,
    PRICE_EVERY_S,
    RECONCILE_EVERY_S,
    RETRY_AFTER_S,
    CycleReport,
    Executor,
)
from vanta_tui.executor.lease import Lease, LeaseHeld
from vanta_tui.store.errors import LockLost, LockTimeout, StateFileError, StoreError
from vanta_tui.store.loader import queue_statuses
from vanta_tui.store.postgres.claims import WorkerClaims

__all__ = ["EventKind", "RunEnd", "RunEvent", "RunLevel", "RunOutcome", "run_executor"]

log = logging.getLogger(__name__)

MAX_ONCE_CYCLES = 50
"""``once`` mode: at most this many cycles (each sends what became sendable)."""


class RunLevel(StrEnum):
    """How a status reads (the desk's header colours it)."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class EventKind(StrEnum):
    STARTING = "starting"
    """Before the first cycle, what the run is doing: opening the journal (recovering from
    a crash, the first snapshot of a new journal), then reconciling the working orders; the
    first cycle begins as that last one is said."""
    VENUE = "venue"
    """At start: a venue refuses to trade in this mode (``toast``); its orders wait."""
    CYCLE = "cycle"
    """A cycle ran: its status (running, broker errors, a file held by another program)."""
    LOCKED = "locked"
    """A cycle stopped short at a file another program holds (it runs again next time)."""
    ERROR = "error"
    """A cycle failed: a state file that does not load, or a bug (logged with traceback)."""
    RECOVERED = "recovered"
    """The cycles work again after `ERROR`."""


@dataclass(frozen=True)
class RunEvent:
    """What the executor says while it runs (the fields of the desk's `ExecutorNews`, in
    its order, then more)."""

    text: str
    """The status line (``executor: running``, ``executor: 2 broker error(s)`` …)."""
    level: RunLevel = RunLevel.OK
    changed: bool = False
    """The cycle changed the state files (orders sent or reconciled, prices marked): a
    front showing them reloads."""
    toast: str | None = None
    """Something the operator must read (a venue refusing to trade), or None."""
    first: bool = True
    """False when this says again what the event before it said (a lasting problem, the
    same status): a front printing a line per event says it once."""
    kind: EventKind = EventKind.CYCLE
    sent: int = 0
    errors: tuple[str, ...] = ()
    """The cycle's broker errors, one ``order id: why`` each."""
    waiting: tuple[str, ...] = ()
    """Steps the cycle skipped because another program holds a file's lock."""
    held: tuple[str, ...] = ()
    """Approved orders a rule holds back (``order id: why``)."""


class RunEnd(StrEnum):
    STOPPED = "stopped"
    """It ran and stopped: ``stop`` was set, or ``once`` is done."""
    LEASE_HELD = "lease-held"
    """Another executor holds this state directory's lease (``text`` says who)."""
    JOURNAL_PROBLEM = "journal-problem"
    """The journal's chain is behind or disagrees with its anchors: nothing was sent."""
    ERROR = "error"
    """The lease could not be taken (its file not written: ``text`` is the `OSError`)."""


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, and what it did (``once``: the last cycle's held orders, errors
    and waits). The fields of the desk's `ExecutorEnd`, in its order, then more."""

    why: RunEnd
    text: str = ""
    """`LEASE_HELD`: who holds it (``the executor lease is held by …``);
    `JOURNAL_PROBLEM`: ``JOURNAL <KIND>: <the problem and what to do>``; `ERROR`:
    ``error: <the OSError>``."""
    sent: int = 0
    cycles: int = 0
    held: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    problem_kind: str | None = None
    """`JOURNAL_PROBLEM`: ``truncated``, ``rollback``, ``rewritten`` …"""

    @property
    def status(self) -> tuple[str, RunLevel]:
        """The desk header's line for this end, and its level."""
        if self.why is RunEnd.LEASE_HELD:
            return f"executor: {self.text}", RunLevel.WARN
        if self.why is RunEnd.ERROR:
            return f"executor: {self.text}", RunLevel.FAIL
        if self.why is RunEnd.JOURNAL_PROBLEM:
            kind = (self.problem_kind or "problem").upper()
            return f"JOURNAL {kind}: executor not started", RunLevel.FAIL
        return "executor: stopped", RunLevel.OK


def cycle_status(report: CycleReport) -> tuple[str, RunLevel]:
    """A cycle's status line: broker errors first, then a file another program holds (the
    rest of the cycle went on); held orders are not the executor's news (the desk's header
    counts them from the state)."""
    if report.errors:
        return f"executor: {len(report.errors)} broker error(s)", RunLevel.FAIL
    if report.waiting:
        return f"executor: {report.waiting[0]}", RunLevel.WARN
    return "executor: running", RunLevel.OK


def first_cycle_text(state_dir: Path, queue: QueueFile | None = None) -> str:
    """What the first cycle does first, as the header says it while it runs: look up every
    working order at its broker (at 10,000 orders, the longest step of a start). Counted
    from ``queue`` (the model the cycle reads) if given, else from the queue file's text,
    not parsed (`count_statuses`)."""
    if queue is not None:
        working = sum(1 for order in queue.orders if order.status in WORKING)
    else:
        counts = queue_statuses(state_dir) or {}
        working = sum(counts.get(status.value, 0) for status in WORKING)
    if not working:
        return "executor: first cycle"
    return f"executor: reconciling {working:,} working order{'' if working == 1 else 's'}"


def _ignore(_event: RunEvent) -> None:
    return None


def run_executor(
    state_dir: Path,
    *,
    brokers: Brokers,
    stop: threading.Event,
    holder: str,
    clock: Clock = utc_now,
    actor: str = "executor",
    once: bool = False,
    interval_s: float = 1.0,
    on_event: Callable[[RunEvent], None] = _ignore,
    price_every_s: float | None = PRICE_EVERY_S,
    reconcile_every_s: float | None = RECONCILE_EVERY_S,
    retry_after: tuple[float, ...] = RETRY_AFTER_S,
    max_cycles: int = MAX_ONCE_CYCLES,
    stop_on_bug: bool = False,
    concurrency: int = CONCURRENCY,
    worker_url: str | None = None,
) -> RunOutcome:
    """Run the executor of ``state_dir`` in this thread until ``stop`` is set (``once``:
    until nothing more can progress now), sending through ``brokers``. ``holder`` names
    this executor in the lease (``desk of dana``, ``executor``). Every way out, an
    exception included, closes the journal and gives the lease back; an exception raised
    before the loop (a state file that does not load at start, or in ``once`` mode) passes
    through. ``stop_on_bug``: an unexpected exception in a cycle (a bug, not a state file
    that does not load) ends the run and passes through, instead of being logged once and
    said while the loop goes on. ``worker_url``: run as one of several executor workers,
    each holding the lease shared and sending for the accounts it claims on that
    PostgreSQL server (`store.postgres.claims.WorkerClaims`)."""
    lease = Lease(state_dir, holder, shared=worker_url is not None)
    try:
        lease.acquire()  # gives the lock back itself when it fails
    except LeaseHeld as exc:
        return RunOutcome(RunEnd.LEASE_HELD, str(exc))
    except OSError as exc:  # the lease's info file not written: no executor
        return RunOutcome(RunEnd.ERROR, f"error: {exc}")
    ctx: ActionContext | None = None
    claims: WorkerClaims | None = None
    try:
        on_event(RunEvent("executor: opening the journal", kind=EventKind.STARTING))
        ctx = ActionContext.open(state_dir, actor, clock=clock, live=brokers.live)
        problem = ctx.recovery.problem if ctx.recovery is not None else None
        if problem is not None:
            text = f"JOURNAL {problem.kind.upper()}: {problem}"
            return RunOutcome(RunEnd.JOURNAL_PROBLEM, text, problem_kind=problem.kind)
        for line in venue_problems(state_dir, live=brokers.live):
            # That venue's orders wait (approved); the other venues keep trading.
            on_event(
                RunEvent("executor: starting", RunLevel.WARN, toast=line, kind=EventKind.VENUE)
            )
        if worker_url is not None:
            namespace = ctx.journal.namespace()
            if namespace is None:
                return RunOutcome(RunEnd.ERROR, "error: the journal has no event to name it yet")
            claims = WorkerClaims(worker_url, namespace)
        executor = Executor(
            ctx,
            brokers,
            retry_after,
            price_every_s=price_every_s,
            reconcile_every_s=reconcile_every_s,
            concurrency=concurrency,
            claims=claims,
        )
        try:
            # The journal's model of the queue: the panes' own when the desk runs it (one
            # model of the file in the process), and what the first cycle reads.
            peeked: StateFileModel | None = ctx.journal.peek(StateKind.QUEUE)
        except StateFileError:
            peeked = None  # the cycle says why
        queue = peeked if isinstance(peeked, QueueFile) else None
        on_event(RunEvent(first_cycle_text(state_dir, queue), kind=EventKind.STARTING))
        if once:
            reports = executor.run_once(max_cycles)
            return _outcome(sum(r.sent for r in reports), len(reports), reports[-1])
        try:
            return _loop(executor, stop, on_event, interval_s, stop_on_bug, lease)
        finally:
            executor.finish()  # the sends in flight complete and are recorded
    finally:
        try:
            if ctx is not None:
                ctx.close()
        finally:
            if claims is not None:
                claims.close()  # its accounts are free for the other workers at once
            lease.release()


def _outcome(sent: int, cycles: int, last: CycleReport | None) -> RunOutcome:
    last = last or CycleReport()
    return RunOutcome(
        RunEnd.STOPPED,
        sent=sent,
        cycles=cycles,
        held=tuple(last.held),
        errors=tuple(last.errors),
        waiting=tuple(last.waiting),
    )


def _loop(
    executor: Executor,
    stop: threading.Event,
    on_event: Callable[[RunEvent], None],
    interval_s: float,
    stop_on_bug: bool = False,
    lease: Lease | None = None,
) -> RunOutcome:
    lapse = Lapse(log, "executor cycle")
    sent, cycles, last = 0, 0, None
    said: tuple[str, RunLevel] | None = None
    while not stop.is_set():
        try:
            if lease is not None:
                lease.keep()  # between hosts: still ours in PostgreSQL
            report = executor.cycle()
        except LeaseHeld as exc:
            return RunOutcome(RunEnd.LEASE_HELD, str(exc), sent=sent, cycles=cycles)
        except (LockTimeout, LockLost) as exc:  # a step outside the guarded ones
            on_event(RunEvent(f"executor: {exc}", RunLevel.WARN, kind=EventKind.LOCKED))
            said = None
        except StoreError as exc:  # a broken state file: said once, and once when fixed
            first = lapse.failed(_cause(exc))
            on_event(_failed(exc, first))
            said = None
        except Exception as exc:  # a bug: its traceback once, not every cycle
            if stop_on_bug:
                raise
            first = lapse.failed(f"{type(exc).__name__}: {exc}", traceback=True)
            on_event(_failed(exc, first))
            said = None
        else:
            sent, cycles, last = sent + report.sent, cycles + 1, report
            if lapse.ok():
                on_event(RunEvent("executor: the state files load again", kind=EventKind.RECOVERED))
            status = cycle_status(report)
            # Said even when the run is being stopped (a pause during a cycle that filled
            # orders: the desk reloads; it does not show a status for a paused executor).
            on_event(
                RunEvent(
                    *status,
                    changed=bool(report.sent or report.reconciled or report.marked),
                    first=status != said,
                    sent=report.sent,
                    errors=tuple(report.errors),
                    waiting=tuple(report.waiting),
                    held=tuple(report.held),
                )
            )
            said = status
            if report.sent or report.reconciled or report.marked:
                give_back()  # what recording the cycle freed (`core.memory`)
        executor.nap(stop, interval_s)
    return _outcome(sent, cycles, last)


def _cause(exc: StoreError) -> str:
    """What is wrong, the same however a cycle met it: the broken file's own problems
    (reading vault.json, or refusing to write a file that refers to it), else the message.
    A file that stays broken is then said once, whichever step of a cycle hits it first."""
    problems = getattr(exc, "problems", None)
    return "; ".join(str(p) for p in problems) if problems else str(exc)


def _failed(exc: Exception, first: bool) -> RunEvent:
    return RunEvent(f"executor: error: {exc}", RunLevel.FAIL, first=first, kind=EventKind.ERROR)
