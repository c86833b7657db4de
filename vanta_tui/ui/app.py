"""The desk's Textual app: five live panes over one state directory.

The app holds one `vanta_tui.desk.Desk` session (``app.desk``) and goes through it for
everything below the screen: the state it loads, the journal (start-up, outside changes,
its own events), the status, the audit trail, the dead letters and the executor. What the
operator's keys do is in `vanta_tui.ui.flows`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import getpass
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import Notify, SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Footer
from textual.worker import Worker
from watchfiles import awatch

from vanta_tui.actions.activity import AccountTimes, Banner
from vanta_tui.actions.status import StatusLine, StatusReport, held_orders
from vanta_tui.core.alarms import Alarm, Level
from vanta_tui.core.clock import Clock, utc_now
from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.id_match import IdNotFound
from vanta_tui.core.logs import configure_logging
from vanta_tui.core.memory import give_back, limit_arenas
from vanta_tui.core.secrets import scrub
from vanta_tui.core.state_files import StateKind
from vanta_tui.demo.bundled import is_demo_copy
from vanta_tui.desk import FOLLOW_STALE_S, Desk, ExecutorEnd, ExecutorNews
from vanta_tui.store.errors import StoreError
from vanta_tui.store.loader import queue_statuses
from vanta_tui.store.snapshot import StateSnapshot, changed_kinds, kinds_for_paths
from vanta_tui.ui.banner import PanicBanner
from vanta_tui.ui.commands import DeskCommands
from vanta_tui.ui.flows import (
    MUTATING_ACTIONS,
    OPERATOR_BINDINGS,
    VIEW_BINDINGS,
    day,
    execution,
    followers,
    orders,
    overlays,
    views,
)
from vanta_tui.ui.flows.base import Flow, flow_action, guarded
from vanta_tui.ui.format import focus_border, price
from vanta_tui.ui.hangup import DetachedTerminal, TerminalGuard, stdin_tty
from vanta_tui.ui.header import DeskHeader
from vanta_tui.ui.keys import DIALOG_GROUP, OrderedKeys, checked_keymap, class_bindings
from vanta_tui.ui.panes.base import Pane, share_cells
from vanta_tui.ui.panes.overlays import OverlaysPane
from vanta_tui.ui.panes.pnl import PnlPane
from vanta_tui.ui.panes.positions import PositionsPane
from vanta_tui.ui.panes.queue import QueuePane
from vanta_tui.ui.panes.vaults import VaultsPane
from vanta_tui.ui.screens.activity import ActivityEventScreen, ActivityScreen, DayScreen
from vanta_tui.ui.screens.blotter import BlotterScreen
from vanta_tui.ui.screens.dead_letters import DeadLetterScreen
from vanta_tui.ui.screens.followers import FollowersScreen
from vanta_tui.ui.screens.help import HelpScreen, key_rows
from vanta_tui.ui.screens.jump import JumpScreen
from vanta_tui.ui.screens.modals import ConfirmScreen, FormScreen
from vanta_tui.ui.screens.notifications import Note, NotificationsScreen
from vanta_tui.ui.screens.order_detail import OrderDetailScreen
from vanta_tui.ui.screens.profit import ProfitScreen
from vanta_tui.ui.screens.status import StatusScreen
from vanta_tui.ui.settings import (
    DeskSettings,
    default_log_path,
    load_settings,
    save_settings,
    screenshot_dir,
)
from vanta_tui.ui.table import KeyedTable

if TYPE_CHECKING:
    from rich.traceback import Trace

log = logging.getLogger(__name__)

PAUSED_TEXT = "executor: paused — E to start"
LOOP_START_WAIT_S = 30.0
"""How long a stop signalled while the desk starts waits for its event loop."""
WAITING_TEXT = "executor: waiting for the state to load"
"""The desk's executor starts once the first load is on screen (see `executor_loop`)."""
LOOP_HANDOVER_S = 60.0
"""How long a restarted executor loop waits for the paused one to end its cycle."""
FIRST_RUN_HINT = (
    "Five keys to try: Enter opens an order · a approves · n new order · ? help · ctrl+p commands"
)

PANE_FILES: dict[str, tuple[StateKind, ...]] = {
    "vaults": (StateKind.VAULT, StateKind.FOLLOWERS),
    "overlays": (StateKind.OVERLAY,),
    "queue": (StateKind.QUEUE,),
    "positions": (StateKind.PORTFOLIO, StateKind.ALLOCATION),
    "pnl": (StateKind.PNL,),
}
"""Which files' problems each pane reports in its banner."""

PANE_INPUTS: dict[str, frozenset[StateKind]] = {
    "vaults": frozenset(
        {
            StateKind.VAULT,
            StateKind.FOLLOWERS,
            StateKind.OVERLAY,
            StateKind.PNL,
            StateKind.PORTFOLIO,
        }
    ),
    "overlays": frozenset({StateKind.OVERLAY, StateKind.VAULT}),
    # Hold reasons read every file; the pane redraws only the rows whose cells changed.
    "queue": frozenset(StateKind),
    "positions": frozenset(
        {StateKind.PORTFOLIO, StateKind.ALLOCATION, StateKind.OVERLAY, StateKind.VAULT}
    ),
    "pnl": frozenset({StateKind.PNL, StateKind.VAULT, StateKind.FOLLOWERS}),
}
"""Which files each pane shows something of (its `show` reads): a reload that changed none
of them leaves the pane alone (`render_panes`)."""


TOAST_RACK = "#textual-toastrack"
"""Textual's container of a screen's toasts (desk.tcss puts it at the top right)."""
TOAST_ROWS = 7
"""Lines a toast takes at most, with the gap above it (desk.tcss: `Toast { max-height }`)."""
NOTES_KEPT = 500
"""How many toasts the notification history (`N`) keeps."""
ERROR_TOAST_S = 365 * 86400.0
"""An error toast stays until it is dismissed (clicked, or Esc on the desk)."""

STATUS_EVERY_S = 30.0
"""How often the desk works out its status and alarms without a file change."""
SYNC_LOAD_BYTES = 512 * 1024
"""Up to this many bytes of state files, the first load runs before the first layout."""
ALL_KINDS = frozenset(StateKind)


CLOSE_WAIT_S = 30.0
"""How long a closing desk waits for its threads that read or write the state (the
executor's cycle in flight among them: a hung broker request ends within its timeout)."""


class _Users:
    """How many threads use something now; `wait_idle` until none does."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout_s)


_F = TypeVar("_F", bound=Callable[..., None])


def _in_state_dir(method: _F) -> _F:
    """A thread worker of the desk that reads or writes the state directory: counted, so
    that the desk's close waits for it (`VantaApp.on_unmount`)."""

    @functools.wraps(method)
    def counted(self: VantaApp, *args: Any, **kwargs: Any) -> None:
        with self._state_dir_users:
            method(self, *args, **kwargs)

    return cast(_F, counted)


def state_bytes(state_dir: Path) -> int:
    """The total size of the state files present (a missing file counts as nothing)."""
    total = 0
    for kind in StateKind:
        with contextlib.suppress(OSError):
            total += (state_dir / kind.filename).stat().st_size
    return total


class StateLoadStarted(Message):
    """The first load of a large state began in its thread: ``orders`` in its queue (None:
    the queue file cannot be read)."""

    def __init__(self, orders: int | None) -> None:
        super().__init__()
        self.orders = orders


def loading_text(orders: int | None) -> str:
    """The queue pane's sign while the first load runs."""
    return "loading the state files…" if orders is None else f"loading {orders:,} orders…"


class StateLoaded(Message):
    """A (re)load of the state directory finished; ``kinds`` are the files read again."""

    def __init__(self, snapshot: StateSnapshot, kinds: frozenset[StateKind]) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.kinds = kinds


def _scrub_trace(trace: Trace) -> None:
    """Every text of a Rich traceback (messages, notes, source lines, chained and grouped
    exceptions) scrubbed of loaded secrets, and no local variables, in place."""
    for stack in trace.stacks:
        stack.exc_value = scrub(stack.exc_value)
        stack.notes = [scrub(note) for note in stack.notes]
        if stack.syntax_error is not None:
            stack.syntax_error.line = scrub(stack.syntax_error.line)
            stack.syntax_error.msg = scrub(stack.syntax_error.msg)
        for frame in stack.frames:
            frame.line = scrub(frame.line)
            frame.locals = None
        for inner in stack.exceptions:
            _scrub_trace(inner)


def executor_end_text(end: ExecutorEnd) -> tuple[str, str] | None:
    """What the header says (text, level) when the desk's executor could not run or had to
    stop; None when it was stopped (paused, the desk closing)."""
    if end.why == "lease-held":  # another executor runs on this directory
        return f"executor: {end.text}", "warn"
    if end.why == "journal-problem":  # "JOURNAL BEHIND: …": nothing is sent
        return f"{end.text.partition(': ')[0]}: executor not started", "fail"
    if end.why == "error":  # "error: …" (the lease's file not written)
        return f"executor: {end.text}", "fail"
    return None


class VantaApp(OrderedKeys):
    """The operator desk on one state directory. Keys typed in a burst are handed on one at a
    time, each once the one before it has settled (`OrderedKeys`)."""

    TITLE = "VANTA desk"
    CSS_PATH = "desk.tcss"
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {DeskCommands}
    # Textual declares this an instance variable, so it cannot be annotated ClassVar here.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", id="palette", show=False),
        Binding("1", "focus_pane('vaults')", "Vaults", id="focus_vaults", show=False),
        Binding("2", "focus_pane('overlays')", "Overlays", id="focus_overlays", show=False),
        Binding("3", "focus_pane('queue')", "Queue", id="focus_queue", show=False),
        Binding("4", "focus_pane('positions')", "Positions", id="focus_positions", show=False),
        Binding("H", "show_held", "Held orders", id="show_held", show=False),
        Binding("escape", "dismiss_toasts", "Dismiss the toasts", id="dismiss_toasts", show=False),
        # The order detail is modal: the app's own keys do not reach it, a priority one does
        # (`check_action` lets it act there only; elsewhere `y` goes on to the tables).
        Binding(
            "y", "copy_order_id", "Copy the order id", id="copy_order_id", show=False, priority=True
        ),
        *OPERATOR_BINDINGS,
        *VIEW_BINDINGS,
    ]

    def __init__(
        self,
        state_dir: Path,
        *,
        operator: str = "operator",
        read_only: bool = False,
        live: bool = False,
        clock: Clock = utc_now,
        settings: DeskSettings | None = None,
        settings_file: Path | None = None,
        watch: bool = True,
        state_label: str | None = None,
        executor: bool = False,
        executor_paused: bool | None = None,
        first_run_hint: bool = False,
        served_to: str | None = None,
    ) -> None:
        super().__init__()
        limit_arenas()  # before the desk's threads start (`core.memory`)
        self.state_dir = state_dir
        self.operator = operator
        self.read_only = read_only
        self.live = live
        self.clock = clock
        self.settings_file = settings_file
        warning: str | None = None
        if settings is None:
            settings, warning = load_settings(settings_file)
        self.settings = settings
        self._settings_warning = warning
        self.watch_files = watch
        self.state_label = state_label or str(state_dir)
        self.desk = Desk(state_dir, operator=operator, clock=clock, read_only=read_only, live=live)
        """The session: every action, reading and journal write of this desk goes through it."""
        self.snapshot = StateSnapshot()
        self.selected_vault: str | None = None
        self._stop_watch = asyncio.Event()
        self._stop_following = threading.Event()
        self._state_dir_users = _Users()
        """The desk's threads reading or writing the state directory now."""
        self.following = False
        """The desk listens to the changes announced on its PostgreSQL server now."""
        self.expiring = False
        """A flip-mode reversion is running (`flows.overlays.expire_flip_modes_if_due`)."""
        self.run_executor = executor and not read_only
        self._stop_executor = threading.Event()
        """Set to stop the running executor loop (each start gets a new one)."""
        self._executor_worker: Worker[None] | None = None
        """The newest executor loop; a new one waits until the one before it has ended."""
        self.executor_paused = (
            is_demo_copy(state_dir) if executor_paused is None else executor_paused
        )
        """Paused: the executor does not run until `E` (a demo working copy starts so)."""
        self.first_run_hint = first_run_hint
        """Show the five keys to try (the first time the desk opens on this machine)."""
        self.served_to = served_to
        """The address of the browser this desk is served to (`vanta-tui serve`), or None."""
        self.loads = 0
        """How many state loads have been shown (tests wait on it)."""
        self.stopped_because: str | None = None
        """Why the desk was closed without the operator (`stop_now`), or None."""
        self.state_shown = threading.Event()
        """Set once the first load is on screen: the executor starts then (`executor_loop`)."""
        # The main screen's widgets, kept so that a tick or a load reaches them while a modal
        # screen is on top (a query would search the modal).
        self.header = DeskHeader(self.state_label, live=self.live, read_only=self.read_only)
        self.banner = PanicBanner()
        """Red, under the header, while a panic or global maintenance stops trading."""
        self.vaults_pane = VaultsPane(id="vaults")
        self.overlays_pane = OverlaysPane(id="overlays")
        self.queue_pane = QueuePane(id="queue")
        self.positions_pane = PositionsPane(id="positions")
        self.pnl_pane = PnlPane(id="pnl")
        self.footer = Footer()
        self.status_report: StatusReport | None = None
        """The last system status (alarms for the badges and toasts, the `S` view)."""
        self.status_count = 0
        """How many status reports have been shown (tests and screenshots wait on it)."""
        self._status_generation = 0
        self._watching = False
        self.notes: deque[Note] = deque(maxlen=NOTES_KEPT)
        """Every toast shown, newest first (`N` lists them)."""
        self.keymap: dict[str, str] = {}
        """The settings' keymap as applied (without the entries that clash)."""
        self._grid: str | None = None
        """The main screen's grid as last fitted to what the panes show (`fit_layout`)."""
        self._toast_rows = 0
        """How tall the main screen's stack of toasts may be (`fit_layout`)."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The panes sit in the screen's own grid (desk.tcss); header and footer are docked.
        yield self.header
        yield self.banner
        yield self.vaults_pane
        yield self.overlays_pane
        yield self.queue_pane
        yield self.positions_pane
        yield self.pnl_pane
        yield self.footer

    @property
    def panes(self) -> dict[str, Pane | PnlPane]:
        return {
            "vaults": self.vaults_pane,
            "overlays": self.overlays_pane,
            "queue": self.queue_pane,
            "positions": self.positions_pane,
            "pnl": self.pnl_pane,
        }

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.settings.keymap:
            self.keymap, problems = checked_keymap(self.settings.keymap, keymap_scopes())
            if self.keymap:
                self.set_keymap(self.keymap)
            if problems:
                text = "\n".join(problems)
                self.notify(text, title="Settings", severity="warning", timeout=30, markup=False)
        if self._settings_warning:
            self.notify(self._settings_warning, title="Settings", severity="warning")
        if self.first_run_hint:
            self.notify(FIRST_RUN_HINT, title="Welcome to the VANTA desk", timeout=20)
            self.settings = self.settings.model_copy(update={"first_run_done": True})
            self.save_settings_worker(self.settings)
        self.header.set_clock(self.clock())
        self.set_interval(self.settings.refresh.clock_seconds, self._tick)
        self.set_interval(STATUS_EVERY_S, lambda: self.refresh_status(False))
        self.vaults_pane.focus()
        if state_bytes(self.state_dir) <= SYNC_LOAD_BYTES:
            # A small state loads in a few milliseconds: load it now, so that the first
            # layout already has the data (one layout pass instead of two).
            self.on_state_loaded(StateLoaded(self.desk.reload(), ALL_KINDS))
        else:
            # A large state loads in its thread; the panes say so at once, not empty.
            self.show_loading(None)
            self.load_state(None)
        if self.watch_files:
            self.watch_state()
        if self.desk.follows_changes:
            self.follow_changes()
        if self.live and not self.read_only:
            self.push_screen(
                ConfirmScreen(
                    "LIVE trading",
                    [
                        "This desk uses the brokers' LIVE endpoints: approved orders move real",
                        "money (Alpaca live, exchanges without sandbox).",
                        "Cancel closes the desk.",
                    ],
                    confirm="Trade live",
                ),
                self._live_confirmed,
            )
        else:
            self.start_executor()

    def _live_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            self.start_executor()
        else:
            self.exit(1)

    def start_executor(self) -> None:
        header = self.header
        if not self.run_executor:
            header.set_executor(
                "executor: off" + (" (read-only)" if self.read_only else ""), "warn"
            )
            return
        if self.executor_paused:
            header.set_executor(PAUSED_TEXT, "warn")
            return
        try:
            missing = self.desk.missing_credentials()
        except StoreError as exc:
            # The venues are in files that do not load: their banners say why; the executor
            # stays off until they are fixed and the operator starts it (E).
            log.warning("executor not started: %s", exc)
            self.executor_paused = True
            header.set_executor("executor: off — a state file does not load (E to retry)", "fail")
            return
        if missing:
            header.set_executor(f"executor: not started, missing keys ({len(missing)})", "fail")
            for line in missing:
                self.notify(line, title="Missing broker keys", severity="error", timeout=30)
            return
        header.set_executor("executor: starting" if self.loads else WAITING_TEXT, "ok")
        previous = self._executor_worker
        self._stop_executor = threading.Event()
        self._executor_worker = self.executor_loop(self._stop_executor, previous)

    @property
    def executor_running(self) -> bool:
        """The desk's own executor is running: started, not paused, its loop not ended (a
        lease held elsewhere, missing keys, read-only or `--no-executor` all say no)."""
        worker = self._executor_worker
        return (
            self.run_executor
            and not self.executor_paused
            and worker is not None
            and not worker.is_finished
        )

    def set_executor_paused(self, paused: bool) -> None:
        """Pause the desk's executor (after the cycle in flight, whose sends complete) or
        start it again (`E`, `flows.execution.toggle_executor`)."""
        self.executor_paused = paused
        if paused:
            self._stop_executor.set()
            self.header.set_executor(PAUSED_TEXT, "warn")
        else:
            self.start_executor()

    def _fatal_error(self) -> None:
        """Textual's crash report (`App._fatal_error`, on an unhandled exception) without
        the local variables it shows by default (a ccxt config with the API key and secret,
        an inline packet's keys) and with every text in it scrubbed of loaded secrets."""
        import rich
        from rich.traceback import Traceback

        error = sys.exc_info()[1] or self._exception
        if error is None:  # nothing to show; Textual's own would fail the same way
            self.bell()
            self.panic("the desk stopped on an unexpected error")
            return
        trace = Traceback.extract(type(error), error, error.__traceback__, show_locals=False)
        _scrub_trace(trace)
        self.bell()
        self.panic(Traceback(trace, width=None, show_locals=False, suppress=[rich]))

    async def on_unmount(self) -> None:
        self._stop_watch.set()
        self._stop_following.set()
        self._stop_executor.set()
        # Let the background readers and writers of the state directory finish first (the
        # executor's cycle in flight, whose sends complete and are recorded), so that
        # nothing touches it after the desk has closed. Textual has cancelled its workers
        # by now, which marks them finished while their threads still run: the threads
        # themselves are counted (`_in_state_dir`).
        if not await asyncio.to_thread(self._state_dir_users.wait_idle, CLOSE_WAIT_S):
            log.warning("desk: closing while a reader or writer of the state still runs")
        why = {"why": self.stopped_because} if self.stopped_because else None
        await asyncio.to_thread(self._record_sync, "desk.closed", why)
        await asyncio.to_thread(self._close_desk)

    def _close_desk(self) -> None:
        try:
            self.desk.close()  # signs a checkpoint if the session wrote
        except Exception:
            log.exception("journal: could not close it")

    # ------------------------------------------------------------------ loading

    @work(thread=True, group="state-load", exit_on_error=False)
    @_in_state_dir
    def load_state(self, kinds: frozenset[StateKind] | None) -> None:
        """Read the changed files (all, at start) in a thread; the UI gets a message. The
        first load first counts the queue's orders (milliseconds, from the file's text) for
        the panes' sign."""
        first = kinds is None and not self.state_shown.is_set()
        if first:
            counts = queue_statuses(self.state_dir)
            self.post_message(StateLoadStarted(None if counts is None else sum(counts.values())))
            # The first load makes every object the desk will keep (some 300,000 at 10,000
            # orders, none in a reference cycle): a garbage collection during it would walk
            # them again and again for nothing (a third of its time). They are frozen after
            # it, as every load's are (`on_state_loaded`).
            gc.disable()
        try:
            snapshot = self.desk.reload(kinds)
        finally:
            if first:
                gc.freeze()
                gc.enable()
        self.post_message(StateLoaded(snapshot, kinds or frozenset(StateKind)))
        give_back()  # what parsing the changed files freed (`core.memory`)
        if kinds is not None and not self.read_only:
            self._note_external(kinds)

    def _note_external(self, kinds: Iterable[StateKind] | None) -> None:
        try:
            if kinds is None:
                self.desk.start()  # start-up: crash recovery, first snapshot, outside changes
            else:
                self.desk.note_external(kinds)
        except Exception:  # the desk keeps showing state even if the journal is unwritable
            log.exception("journal: could not record outside changes")

    def on_state_load_started(self, message: StateLoadStarted) -> None:
        if not self.state_shown.is_set():
            self.show_loading(message.orders)

    def show_loading(self, orders: int | None) -> None:
        """Each pane's sign while the first load of a large state runs: the queue's says how
        many orders come; the sign goes when the state is shown."""
        self.queue_pane.show_loading(loading_text(orders))
        for pane in (self.vaults_pane, self.overlays_pane, self.positions_pane, self.pnl_pane):
            pane.show_loading("loading…")

    @work(exclusive=True, group="state-watcher")
    async def watch_state(self) -> None:
        """Reload the files other programs change, as soon as they change."""
        refresh = self.settings.refresh
        self._watching = True
        async for changes in awatch(
            self.state_dir,
            debounce=refresh.watch_debounce_ms,
            step=refresh.watch_step_ms,
            stop_event=self._stop_watch,
            recursive=False,
            watch_filter=lambda _change, path: path.endswith(".json"),
        ):
            kinds = kinds_for_paths(self.state_dir, (path for _, path in changes))
            if kinds:
                self.load_state(frozenset(kinds))

    def follow_changes(self) -> None:
        """Reload the files other processes (on any host) announce they changed
        (`Desk.follow_changes`: PostgreSQL's LISTEN/NOTIFY), until the desk closes. In a
        daemon thread of its own, not a worker: a server that stops answering may hold it,
        and the desk's close does not wait on it (`_tick` says when it is stale)."""

        stop = self._stop_following  # this thread's own: a new one replaces a stuck one

        def changed(kinds: frozenset[StateKind]) -> None:
            if not stop.is_set():
                self.call_from_thread(self.load_state, kinds)

        def state(listening: bool, text: str) -> None:
            if not stop.is_set():
                self.following = listening
                self.call_from_thread(self.header.set_changes, text, "ok" if listening else "fail")

        threading.Thread(
            target=self.desk.follow_changes,
            args=(stop, changed),
            kwargs={"on_state": state},
            name="vanta-follow",
            daemon=True,
        ).start()

    def _check_following(self) -> None:
        """A following desk whose server has not answered for `FOLLOW_STALE_S` says so, and
        listens again on a new session (the old thread, held by the silent server, is told
        to stop and left behind)."""
        if not self.following:
            return
        alive_at = self.desk.follow_alive_at
        if alive_at is not None and time.monotonic() - alive_at > FOLLOW_STALE_S:
            self.following = False
            self.header.set_changes("changes: server not answering, panes may be stale", "fail")
            self._stop_following.set()
            self._stop_following = threading.Event()
            self.desk.follow_alive_at = None
            self.follow_changes()

    @work(thread=True, group="executor", exit_on_error=False)
    @_in_state_dir
    def executor_loop(self, stop: threading.Event, previous: Worker[None] | None = None) -> None:
        """The executor inside the desk (`Desk.run_executor`): one cycle a tick until ``stop``
        is set (the desk closes or the operator pauses it); the header says how it goes. A
        loop started right after a pause first waits for the ``previous`` one to finish its
        cycle and give up the lease."""
        waited = 0.0
        while previous is not None and not previous.is_finished and waited < LOOP_HANDOVER_S:
            time.sleep(0.02)
            waited += 0.02
        # The panes first: a cycle is seconds of Python at 10,000 orders, and it would share
        # the interpreter with the first load and its drawing (the header says it waits).
        while not self.state_shown.wait(0.05):
            if stop.is_set():
                return
        if stop.is_set():
            return
        header = self.header

        def news(said: ExecutorNews) -> None:
            if said.toast is not None:  # that venue's orders wait; the others trade
                self.call_from_thread(
                    self.notify, said.toast, title="Venue refused", severity="warning", timeout=30
                )
                return
            if not stop.is_set():  # a paused executor's header says paused
                self.call_from_thread(header.set_executor, said.text, said.level)
            if said.changed and not stop.is_set():
                self.call_from_thread(self.load_state, None)

        refresh = self.settings.refresh
        try:
            end = self.desk.run_executor(
                stop,
                on_news=news,
                interval_s=refresh.clock_seconds,
                price_every_s=refresh.prices_seconds,
                reconcile_every_s=refresh.reconcile_minutes * 60,
            )
        except Exception as exc:  # it could not start (a journal it cannot open …)
            log.exception("the desk's executor stopped")
            self.call_from_thread(header.set_executor, f"executor: error: {exc}", "fail")
            return
        shown = executor_end_text(end)
        if shown is not None:
            self.call_from_thread(header.set_executor, *shown)

    def _announce(self, before: StateSnapshot, after: StateSnapshot) -> None:
        """A toast when an order fills or fails."""
        old, new = before.queue, after.queue
        if old is None or new is None:
            return
        # An order that is the very object of the last load did not change: only the others
        # are looked at (a load by difference keeps every unchanged order's object).
        kept = set(map(id, old.orders))
        changed = [o for o in new.orders if id(o) not in kept]
        if not changed:
            return
        ids = {o.order_id for o in changed}
        was = {o.order_id: o.status for o in old.orders if o.order_id in ids}
        for order in changed:
            previous = was.get(order.order_id)
            if previous is None or previous is order.status:
                continue
            what = f"{order.vault_id} {order.side.value} {order.qty} {order.symbol}"
            if order.status is OrderStatus.FILLED:
                self.notify(f"{what} filled at {price(order.avg_fill_price)}", title="Filled")
            elif order.status in {OrderStatus.FAILED, OrderStatus.BROKER_REJECTED}:
                self.notify(
                    f"{what}: {order.last_error or order.status.value}",
                    title=order.status.value.replace("_", " "),
                    severity="error",
                    timeout=15,
                )

    def on_state_loaded(self, message: StateLoaded) -> None:
        before = self.snapshot
        changed: set[StateKind] | None = None
        if self.loads:
            self._announce(before, message.snapshot)
            changed = changed_kinds(before, message.snapshot)
        self.snapshot = message.snapshot
        if not self.loads:
            # A state of 10,000 orders is some 300,000 long-lived objects; without this,
            # every full garbage collection walks them all (a 100 ms stall), and drawing the
            # panes of the first load took five times as long. Freed state still goes by
            # reference counting; the models hold no reference cycles. Only once: a frozen
            # object is never collected, and each later freeze would keep for good the
            # garbage cycles of that moment (thousands of objects a load, a desk growing
            # without end under an allocator that rewrites the queue).
            gc.freeze()
        if not self.vaults_pane.is_attached:
            return  # the desk is closing: a late load has nothing left to draw
        if self.selected_vault is None and self.snapshot.vaults and self.snapshot.vaults.vaults:
            self.selected_vault = self.snapshot.vaults.vaults[0].vault_id
        if not self.loads:
            for pane in self.panes.values():
                pane.show_loading(None)
        self.render_panes(changed)
        for screen in self.screen_stack:
            if isinstance(screen, FollowersScreen):
                screen.show(self.snapshot)
        self.refresh_day_views()
        self.loads += 1
        if self.loads == 1:
            self.call_after_refresh(lambda: self.refresh_status(False))
        else:
            self.refresh_status(False)
        if self.loads == 1:
            # The journal's start-up work and the executor wait until the operator sees the
            # desk.
            self.call_after_refresh(self.start_journal)
            self.call_after_refresh(self._first_load_shown)

    def _first_load_shown(self) -> None:
        """The first load is on screen: what drawing it made (its rows, their caches, the
        held orders' reasons: some 100,000 objects at 10,000 orders) lives as long as the
        desk, so it is frozen for the garbage collector too, once its garbage is collected
        (each full collection walked it again, a 50 ms stall in whichever thread it fell,
        the executor's first send included). Then the executor may start."""
        gc.collect()
        gc.freeze()
        self.state_shown.set()

    @work(thread=True, group="journal", exit_on_error=False)
    @_in_state_dir
    def start_journal(self) -> None:
        """Recover from any crash, record outside changes, then record that the desk opened."""
        if not self.read_only:
            self._note_external(None)
        served = {"served": True, "remote": self.served_to} if self.served_to else None
        self._record_sync("desk.opened", served)
        self._warn_if_journal_broken()

    def _warn_if_journal_broken(self) -> None:
        """A journal behind or unlike its recorded head refuses every write: say so loudly
        (a red header and an error that stays) until an operator runs `audit repair`."""
        try:
            problem = self.desk.integrity_problem()  # "KIND: what is wrong"
        except Exception:
            log.exception("journal: could not check its integrity")
            return
        if problem is None:
            return
        kind, _, detail = problem.partition(": ")
        text = f"JOURNAL {kind}: writes refused (S: status)"
        self.call_from_thread(self.header.set_executor, text, "fail")
        self.call_from_thread(
            self.notify, detail, title="Journal integrity", severity="error", timeout=86400
        )

    # ------------------------------------------------------------------ rendering

    def refresh_status(self, probe: bool) -> None:
        """Work out the system status and the alarms (in a thread; brokers only if ``probe``).
        Only the newest request's report is shown (an older one may finish later)."""
        self._status_generation += 1
        self._status_worker(probe, self._status_generation)

    @work(thread=True, group="status", exit_on_error=False)
    @_in_state_dir
    def _status_worker(self, probe: bool, generation: int) -> None:
        if self._watching:
            watcher = StatusLine("watcher", Level.OK, "watching the state directory")
        elif self.watch_files:
            watcher = StatusLine("watcher", Level.WARN, "starting")
        elif self.following:
            watcher = StatusLine("watcher", Level.OK, "off; following the changes announced")
        elif self.desk.follows_changes:
            watcher = StatusLine(
                "watcher", Level.WARN, "off, and the changes server is out of reach: stale"
            )
        else:
            watcher = StatusLine("watcher", Level.OK, "off")
        try:
            # A status refresh reads, and notes first-seen times of alarms.
            state = self.snapshot
            report = self.desk.status(probe=probe, watcher=watcher, state=state)
            banner = self.desk.banner(state)
            times = self.desk.broker_times(state)
        except Exception:
            log.exception("status failed")
            return
        self.call_from_thread(self._show_if_newest, report, banner, times, generation)

    def _show_if_newest(
        self,
        report: StatusReport,
        banner: Banner | None,
        times: list[AccountTimes],
        generation: int,
    ) -> None:
        if generation != self._status_generation:
            return
        self.show_status(report)
        self.show_banner(banner)
        workers = next((line for line in report.lines if line.component == "workers"), None)
        if workers is not None:  # `executor --worker`: how many, as their server says
            count = workers.detail.split(" ", 1)[0]
            text = f"workers: {count}" if count.isdigit() else f"workers: {workers.detail}"
            self.header.set_workers(text, "ok" if workers.level is Level.OK else "fail")
        refresh = self.settings.refresh
        self.header.set_broker_times(
            times,
            self.clock(),
            reconcile_every=timedelta(minutes=refresh.reconcile_minutes),
            price_every=timedelta(seconds=refresh.prices_seconds),
        )

    def show_banner(self, banner: Banner | None) -> None:
        """The red banner (None hides it); the panes make room for it."""
        if banner == self.banner.banner:
            return
        self.banner.show(banner)
        self.call_after_refresh(self.fit_layout)

    def on_panic_banner_resized(self, _message: PanicBanner.Resized) -> None:
        # Its height is known only once laid out: the panes' rows are shared again then
        # (else the share depended on whether the layout came before the call above).
        self.fit_layout()

    def on_panic_banner_acknowledge_clicked(self, _message: PanicBanner.AcknowledgeClicked) -> None:
        self.action_acknowledge_panic()

    def show_status(self, report: StatusReport) -> None:
        previous = self.status_report
        first = previous is None
        if previous is not None:
            # Keep the earliest first-seen time this desk knows (a read-only desk cannot
            # record it in the journal).
            earlier = {a.alarm_id: a.since for a in previous.alarms if a.since is not None}
            for alarm in report.alarms:
                known = earlier.get(alarm.alarm_id)
                if known is not None and (alarm.since is None or known < alarm.since):
                    alarm.since = known
        self.status_report = report
        self.status_count += 1
        self.apply_badges()
        # New since the last report this desk showed (read-only desks record nothing, so
        # the journal's first-seen table cannot tell).
        before = {a.alarm_id for a in previous.alarms} if previous is not None else set()
        opened = [a for a in report.alarms if a.alarm_id not in before and not a.acked_by]
        if first:
            failing = [a for a in report.alarms if a.level is Level.FAIL]
            if failing:
                self.notify(
                    "; ".join(a.message for a in failing[:3]),
                    title=f"{len(failing)} FAIL alarm(s) open (S)",
                    severity="error",
                    timeout=20,
                )
        else:
            for alarm in opened[:5]:
                self.notify(
                    alarm.message,
                    title=f"Alarm ({alarm.level.value})",
                    severity="error" if alarm.level is Level.FAIL else "warning",
                    timeout=20 if alarm.level is Level.FAIL else 10,
                )
        for screen in self.screen_stack:
            if isinstance(screen, StatusScreen):
                screen.show(report)

    def apply_badges(self) -> None:
        """Each pane's alarms as a badge; the positions and PnL panes count only those of the
        vault they show (and the ones of no vault, like a stale portfolio)."""
        report = self.status_report
        if report is None:
            return
        by_pane: dict[str, list[Alarm]] = {}
        for alarm in report.alarms:
            if alarm.pane in {"positions", "pnl"} and alarm.vault_id not in {
                None,
                self.selected_vault,
            }:
                continue
            by_pane.setdefault(alarm.pane, []).append(alarm)
        for pane_id, pane in self.panes.items():
            pane.pane.set_badge(by_pane.get(pane_id, []))

    def render_panes(self, changed: Collection[StateKind] | None = None) -> None:
        """Show the snapshot in the panes; with ``changed`` (the files a reload changed), only
        in the panes that show something of them (`PANE_INPUTS`)."""
        state = self.snapshot
        now = self.clock()
        for pane_id, kinds in PANE_FILES.items():
            pane = self.panes[pane_id]
            problems = [p for k in kinds for p in state.problems.get(k, [])]
            stale = any(state.stale(k) and k in state.files for k in kinds)
            pane.show_problems(problems, stale=stale)

        def wants(pane_id: str) -> bool:
            return changed is None or not PANE_INPUTS[pane_id].isdisjoint(changed)

        if wants("vaults"):
            self.vaults_pane.show(state)
        if wants("overlays"):
            self.overlays_pane.show(state, now, self.selected_vault)
        if changed is None or changed:
            self.header.set_held(len(held_orders(state)))
        if wants("queue"):
            self.queue_pane.show(state, now, self.selected_vault)
        if wants("positions"):
            self.positions_pane.show(state, now, self.selected_vault)
        if wants("pnl"):
            self.pnl_pane.show(state, self.selected_vault)
        self.fit_layout()

    # ------------------------------------------------------------------ layout by content

    def on_resize(self, _event: events.Resize) -> None:
        # After the breakpoint classes (-short, -tall) have restyled the panes.
        self.call_after_refresh(self.fit_layout)

    def fit_layout(self) -> None:
        """Share the main screen between the panes by what each has to show: the rows left
        under the vaults and overlays between the queue and the bottom row, the bottom row
        between positions and PnL (`share_cells`). The queue keeps no empty rows while the
        panes under it cut theirs, and the positions pane has its columns before the PnL
        pane's followers' lines and chart grow wider (its figures come first). Called when
        what they show or the terminal's size changes; the grid changes only when the
        numbers do."""
        width, height = self.size
        queue, positions, pnl = self.queue_pane, self.positions_pane, self.pnl_pane
        if width <= 0 or height <= 0 or not queue.is_attached:
            return
        header, footer = (max(w.outer_size.height, 1) for w in (self.header, self.footer))
        header += self.banner.outer_size.height if self.banner.display else 0
        above = header + sum(table_rows(p, width) for p in (self.vaults_pane, self.overlays_pane))
        left = height - above - footer
        pnl_figures, pnl_lines = pnl.wanted_size(pnl.size.width or width // 3)
        pnl_gutter = pnl.styles.gutter

        def rows(columns: int) -> tuple[int, int]:
            queue_need = table_rows(queue, width, capped=False)
            bottom_need = max(
                table_rows(positions, columns, capped=False), pnl_lines + pnl_gutter.height
            )
            floors = (min(queue_need, 6), min(bottom_need, 6))
            queue_rows, bottom_rows = share_cells(left, (queue_need, bottom_need), floors)
            return queue_rows, bottom_rows

        # The rows first as if the positions pane were as wide as it wants, then its columns
        # (a vertical scroll bar where its rows do not fit), then the rows again with the
        # horizontal scroll bars those columns call for.
        _, bottom_rows = rows(width)
        positions_need = table_columns(positions, bottom_rows)
        positions_floor = table_columns(positions, bottom_rows, columns=4)
        pnl_need = pnl_figures + pnl_gutter.width
        positions_columns, _ = share_cells(
            width, (positions_need, pnl_need), (positions_floor, pnl_need)
        )
        queue_rows, _ = rows(positions_columns)
        grid = f"grid-rows: auto auto {queue_rows} 1fr; grid-columns: {positions_columns} 1fr;"
        screen = queue.screen
        if grid != self._grid:
            self._grid = grid
            screen.set_styles(grid)
        # The toasts (docked at the top, under the header) end above the bottom row: they
        # never cover the PnL pane's figures.
        self._toast_rows = max(above + queue_rows - header, 1)
        for rack in screen.query(TOAST_RACK):
            rack.styles.max_height = self._toast_rows

    def _tick(self) -> None:
        now = self.clock()
        self._check_following()
        overlays.expire_flip_modes_if_due(self)
        self.header.set_clock(now)
        self.refresh_day_views()  # an executor elsewhere writes the journal, not a file
        if self.snapshot.files:
            self.overlays_pane.show(self.snapshot, now, self.selected_vault)
            # Its "stale" marks age with the clock, not with a file.
            self.positions_pane.show(self.snapshot, now, self.selected_vault)
            queue = self.queue_pane
            if queue.next_change is None or now >= queue.next_change:
                queue.show(self.snapshot, now, self.selected_vault)

    def on_vaults_pane_vault_selected(self, message: VaultsPane.VaultSelected) -> None:
        if message.vault_id != self.selected_vault:
            self.selected_vault = message.vault_id
            self.render_panes()
            self.apply_badges()

    def action_show_held(self) -> None:
        """The held orders, each with why: the queue showing only them (`h` there shows all
        again), focused, so Enter opens one's detail."""
        self._leave_day_views()
        self.queue_pane.show_held(True)
        self.queue_pane.focus()

    def on_desk_header_held_clicked(self, _message: DeskHeader.HeldClicked) -> None:
        self.action_show_held()

    def on_queue_pane_view_changed(self, _message: QueuePane.ViewChanged) -> None:
        self.queue_pane.show(self.snapshot, self.clock(), self.selected_vault)
        self.fit_layout()  # a filter, finished orders, held only: other rows

    def on_queue_pane_order_opened(self, message: QueuePane.OrderOpened) -> None:
        self.open_order(message.order_id)

    def open_order(self, order_id: str) -> None:
        """The order's detail and its audit trail (an order no longer in the queue: said so;
        the activity view's `o` still lists its events)."""
        queue = self.snapshot.queue
        order = queue.get(order_id) if queue else None
        if order is None:
            self.notify(
                f"order {order_id} is no longer in the queue (its events stay in the journal)",
                severity="warning",
                markup=False,
            )
            return
        screen = OrderDetailScreen(order, self.snapshot.hold_reason(order))
        self.push_screen(screen)
        self.load_audit_trail(screen, order.order_id)

    @work(thread=True, group="audit-trail", exit_on_error=False)
    def load_audit_trail(self, screen: OrderDetailScreen, order_id: str) -> None:
        try:
            lines = self.desk.audit_trail(order_id)
        except IdNotFound:  # not in the journal yet
            lines = []
        self.call_from_thread(screen.show_audit, lines)

    # ------------------------------------------------------------------ journal

    @work(thread=True, group="journal", exit_on_error=False)
    @_in_state_dir
    def record_event(self, action: str) -> None:
        self._record_sync(action)

    def _record_sync(self, action: str, payload: dict[str, Any] | None = None) -> None:
        try:
            self.desk.record(action, payload)
        except Exception:
            log.exception("journal: could not record %s", action)

    # ------------------------------------------------------------------ the operator's keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_order_id":
            return isinstance(self.screen, OrderDetailScreen)
        if action in MUTATING_ACTIONS and isinstance(self.screen, DayScreen):
            return False  # the queue's cursor is not in view: its keys wait for it
        return not (self.read_only and action in MUTATING_ACTIONS)

    def start_flow(self, flow: Flow, *args: Any, group: str = DIALOG_GROUP) -> None:
        """Run ``flow`` (a key's work, `vanta_tui.ui.flows`) as a worker; in the
        `DIALOG_GROUP`, the next key waits for it until its dialog is up (`OrderedKeys`)."""
        self.run_worker(
            guarded(self, flow, *args),
            name=flow.__name__,
            group=group,
            exclusive=False,
            exit_on_error=False,
        )

    # Each key's binding (`flows.OPERATOR_BINDINGS`, `VIEW_BINDINGS`) starts its flow.
    action_approve = flow_action(orders.approve)
    action_reject = flow_action(orders.reject)
    action_flip = flow_action(orders.flip)
    action_edit = flow_action(orders.edit)
    action_new_order = flow_action(orders.new_order_ticket)
    action_stage_rebalance = flow_action(orders.rebalance)
    action_dead_letters = flow_action(orders.dead_letters)
    action_maintenance = flow_action(overlays.maintenance)
    action_global_maintenance = flow_action(overlays.global_maintenance)
    action_trip_clear = flow_action(overlays.clear_trip)
    action_flip_mode = flow_action(overlays.flip_mode)
    action_persona = flow_action(overlays.persona)
    action_followers = flow_action(followers.followers)
    action_cancel_order = flow_action(execution.cancel)
    action_panic = flow_action(execution.panic)
    action_reconcile = flow_action(execution.reconcile)
    action_status = flow_action(execution.status)
    action_toggle_executor = flow_action(execution.toggle_executor)

    action_unstage = flow_action(day.unstage)
    action_acknowledge_panic = flow_action(day.acknowledge_panic)

    action_jump = flow_action(views.jump)

    def action_activity(self) -> None:
        """`L`: the journal's events in words, newest first, live."""
        self._show_day(ActivityScreen(self.desk))

    def action_blotter(self) -> None:
        """`B`: every fill, with its totals per symbol."""
        self._show_day(BlotterScreen(self.desk, selected_vault=self.selected_vault))

    def action_profit(self) -> None:
        """`P`: realized PnL per day, week or month, per account and per symbol."""
        self._show_day(ProfitScreen(self.desk, selected_vault=self.selected_vault))

    def _show_day(self, screen: DayScreen) -> None:
        """A view of what happened in place of the one shown (they do not pile up)."""
        self._leave_day_views()
        self.push_screen(screen)

    def _leave_day_views(self) -> None:
        while isinstance(self.screen, DayScreen):
            self.pop_screen()

    def refresh_day_views(self) -> None:
        """The open views of what happened read the journal again if it grew."""
        for screen in self.screen_stack:
            if isinstance(screen, DayScreen):
                screen.refresh_feed()

    def on_activity_screen_order_opened(self, message: ActivityScreen.OrderOpened) -> None:
        self.open_order(message.order_id)

    def on_blotter_screen_order_opened(self, message: BlotterScreen.OrderOpened) -> None:
        self.open_order(message.order_id)

    def stop_from_thread(self, why: str, code: int) -> None:
        """Close the desk without asking, from another thread (`ui.hangup`: its terminal
        went away, SIGHUP, SIGTERM): as `q` does, the executor stopping after the cycle in
        flight, the journal recording why. Waits for the desk's loop to run if it does not
        yet; nothing when it has ended."""
        deadline = time.monotonic() + LOOP_START_WAIT_S
        while self._loop is None and self.return_code is None and time.monotonic() < deadline:
            time.sleep(0.05)  # signalled while starting: the loop comes
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.stop_now, why, code)

    def stop_now(self, why: str, code: int) -> None:
        """Close the desk at once (no question, whatever dialog is open), recording why."""
        if self.stopped_because is None:
            self.stopped_because = why
        self.exit(return_code=code)

    async def action_quit(self) -> None:
        """`q`, Textual's `ctrl+q` and the palette's Quit: `flows.execution.quit_desk` (asks
        first while the desk's executor has orders in flight)."""
        self.start_flow(execution.quit_desk)

    # ------------------------------------------------------------------ notifications

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast, also kept in the history `N` shows (the desk's clock, newest first). An
        error stays until it is dismissed: clicked, or Esc on the desk. Thread-safe."""
        self.notes.appendleft(Note.of(self.clock(), severity, title, message, markup))
        if severity == "error":
            timeout = ERROR_TOAST_S
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _on_notify(self, event: Notify) -> None:
        """A new toast makes room for itself where the stack is full: the oldest toast goes
        (the oldest information first, errors last; `N` keeps them all), so the newest is
        always in view (Textual's stack shows the oldest at the top and cuts the bottom).
        Textual has no public way to drop one toast: this uses its own handler's
        `_notifications` and `_unnotify` (Textual is pinned, pyproject.toml)."""
        main = self.screen is self.queue_pane.screen if self.queue_pane.is_attached else False
        rows = self._toast_rows if main and self._toast_rows else self.size.height // 2
        room = max(rows // TOAST_ROWS, 1) - 1
        shown = sorted(self._notifications, key=lambda n: (n.severity == "error", n.raised_at))
        for old in shown[: max(len(shown) - room, 0)]:
            self._unnotify(old, refresh=False)
        super()._on_notify(event)

    def action_dismiss_toasts(self) -> None:
        """Esc on the desk: the toasts go (`N` still has them)."""
        self.clear_notifications()

    def action_notifications(self) -> None:
        """`N`: every toast so far, newest first; the ones on screen go (they are listed)."""
        self.clear_notifications()
        self.push_screen(NotificationsScreen(list(self.notes)))

    def action_copy_order_id(self) -> None:
        screen = self.screen
        if isinstance(screen, OrderDetailScreen):
            order_id = screen.order.order_id
            self.copy_to_clipboard(order_id)
            self.notify(order_id, title="Copied the order id", markup=False)

    # ------------------------------------------------------------------ screenshots

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands, its Screenshot saving where the settings say (Textual
        saves into the Downloads directory, and fails where there is none)."""
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":
                where = screenshot_dir(self.settings)
                yield SystemCommand(
                    "Screenshot", f"Save an SVG of the screen in {where}", self.save_desk_screenshot
                )
            else:
                yield command

    def save_desk_screenshot(self) -> None:
        """The screen as an SVG in the screenshot directory, once the palette has gone; a
        toast says where (or why not)."""
        self.call_after_refresh(self._take_screenshot)

    def _take_screenshot(self) -> None:
        svg = self.export_screenshot()
        stem = f"vanta-desk {self.clock():%Y-%m-%d %H-%M-%S}Z"
        self._write_screenshot(svg, screenshot_dir(self.settings), stem)

    @work(thread=True, group="screenshot", exit_on_error=False)
    def _write_screenshot(self, svg: str, directory: Path, stem: str) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{stem}.svg"
            number = 1
            while path.exists():
                number += 1
                path = directory / f"{stem} ({number}).svg"
            path.write_text(svg, encoding="utf-8")
        except OSError as exc:
            log.warning("screenshot not saved: %s", exc)
            self.call_from_thread(
                self.notify,
                f"not saved in {directory}: {exc}",
                title="Screenshot",
                severity="error",
                markup=False,
            )
            return
        self.call_from_thread(
            self.notify, f"saved to {path.resolve()}", title="Screenshot", markup=False
        )

    # ------------------------------------------------------------------ views

    def action_help(self) -> None:
        bindings = [
            b
            for b in self.BINDINGS
            if isinstance(b, Binding)
            and not (self.read_only and b.action in MUTATING_ACTIONS)
            and not b.priority
        ]
        detail = [b for b in self.BINDINGS if isinstance(b, Binding) and b.priority]
        sections: list[tuple[str, Iterable[BindingType]]] = [
            ("anywhere", bindings),
            ("every table", KeyedTable.BINDINGS),
            ("vaults", VaultsPane.BINDINGS),
            ("queue", QueuePane.BINDINGS),
            ("order detail (Enter)", [*OrderDetailScreen.BINDINGS, *detail]),
            ("followers (w)", FollowersScreen.BINDINGS),
            ("status (S)", StatusScreen.BINDINGS),
            ("dead letters (d)", DeadLetterScreen.BINDINGS),
            ("notifications (N)", NotificationsScreen.BINDINGS),
            ("activity (L)", ActivityScreen.BINDINGS),
            ("fills blotter (B)", BlotterScreen.BINDINGS),
            ("profit (P)", ProfitScreen.BINDINGS),
        ]
        rows = key_rows(sections, self.keymap, self.get_key_display)
        self.push_screen(HelpScreen(rows))

    def action_focus_pane(self, pane_id: str) -> None:
        self._leave_day_views()
        self.panes[pane_id].focus()

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables and the desk's own: ``desk-focus``, the focused pane's
        border, which stays visible against the other panes' and an error's in every theme
        (`format.focus_border`)."""
        variables = {**super().get_css_variables()}
        variables["desk-focus"] = focus_border(variables)
        self.theme_variables = variables
        return variables

    def _theme_changed(self, theme: Theme) -> None:
        """Remember the operator's theme in the settings file."""
        if theme.name != self.settings.theme:
            self.settings = self.settings.model_copy(update={"theme": theme.name})
            self.save_settings_worker(self.settings)

    @work(thread=True, group="settings", exit_on_error=False)
    def save_settings_worker(self, settings: DeskSettings) -> None:
        try:
            save_settings(settings, self.settings_file)
        except OSError:
            log.exception("could not save settings")


def table_rows(table: KeyedTable, width: int, *, capped: bool = True) -> int:
    """Lines a table pane takes to show every row at ``width`` columns: border, notices,
    header, rows, and a horizontal scroll bar if its columns are wider (``capped``: no more
    than its style's max-height)."""
    styles = table.styles
    gutter = styles.gutter
    wide = table.content_width() > width - gutter.width
    lines = table.content_height() + gutter.height
    lines += styles.scrollbar_size_horizontal if wide else 0
    cap = styles.max_height
    if capped and cap is not None and cap.is_cells:
        lines = min(lines, int(cap.value))
    return lines


def table_columns(table: KeyedTable, height: int, *, columns: int | None = None) -> int:
    """Columns a table pane takes to show its (first ``columns``) columns whole, with a
    vertical scroll bar if its rows do not fit ``height`` lines."""
    styles = table.styles
    gutter = styles.gutter
    tall = table.content_height() > height - gutter.height
    bar = styles.scrollbar_size_vertical if tall else 0
    return table.content_width(columns) + gutter.width + bar


def keymap_scopes() -> list[list[Binding]]:
    """The bindings each focused place of the desk reaches, for `keys.checked_keymap`: on
    the main screen each pane's (with the table's), the screen's and the app's; in each
    dialog and view its own (and its table's): the app's keys do not reach a modal screen,
    except its priority ones."""
    app = class_bindings(VantaApp)
    main = class_bindings(Screen) + app
    priority = [b for b in app if b.priority]
    table = class_bindings(KeyedTable)
    panes = (VaultsPane, OverlaysPane, QueuePane, PositionsPane)
    views: list[list[Binding]] = [
        class_bindings(FollowersScreen) + table,
        class_bindings(StatusScreen) + table,
        class_bindings(DeadLetterScreen) + table,
        class_bindings(OrderDetailScreen),
        class_bindings(HelpScreen),
        class_bindings(NotificationsScreen),
        class_bindings(ActivityScreen) + table,
        class_bindings(ActivityEventScreen),
        class_bindings(BlotterScreen) + table,
        class_bindings(ProfitScreen) + table,
        class_bindings(JumpScreen),
        class_bindings(ConfirmScreen),
        class_bindings(FormScreen),
    ]
    return [main, *(class_bindings(p) + main for p in panes), *(v + priority for v in views)]


def login_name() -> str:
    """The operator's login name ("operator" where there is none, in some containers)."""
    try:
        return getpass.getuser()
    except Exception:
        return "operator"


def run_desk(
    state_dir: Path,
    *,
    operator: str | None,
    read_only: bool,
    log_file: str | None = None,
    live: bool = False,
    served_to: str | None = None,
    watch: bool = True,
) -> int:
    """Open the desk; returns the process exit code.

    The operator is ``--operator``, else the settings file's ``operator``, else the login name.
    ``served_to``: the browser's address, for a desk `vanta-tui serve` started (its
    ``desk.opened`` event says so).
    """
    configure_logging(state_dir, log_file or default_log_path())
    if not state_dir.is_dir():
        print(f"state directory {state_dir} does not exist (vanta-tui init {state_dir})")
        return 2
    settings, warning = load_settings()
    name = operator or settings.operator or login_name()
    app = VantaApp(
        state_dir,
        operator=name,
        read_only=read_only,
        settings=settings,
        executor=not read_only,
        live=live,
        first_run_hint=not settings.first_run_done and warning is None,
        served_to=served_to,
        watch=watch,
    )
    app._settings_warning = warning
    detach = DetachedTerminal()
    with TerminalGuard(app.stop_from_thread, stdin_tty(), detach=lambda: detach(app._driver)):
        result = app.run()
    return result or app.return_code or 0
