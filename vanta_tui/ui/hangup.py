"""The desk ends cleanly when its terminal goes away or it is told to stop.

A desk whose terminal is closed (a terminal window shut, an ssh link dropped, `tmux
kill-session`) must not keep running unseen: its executor would go on sending orders with
nobody watching, holding the state directory's lease, and a dead terminal made Textual's
input thread spin (a hung-up tty reads as end of file, at once, forever).

Two ways it learns:
- a signal: SIGHUP (the terminal hung up, sent to the session's leader, a shell passing it
  on to its jobs) or SIGTERM (a supervisor, `kill`);
- the terminal itself: a hung-up tty is no longer a tty (`os.isatty` is false, every
  `tcgetattr` fails with EIO). This is the only sign when the desk's parent leads the
  session and keeps the SIGHUP to itself: `make run` is such a parent (GNU make waits for
  its child on SIGHUP, and the kernel signals the leader only).

Either way the desk closes as if the operator had quit, without asking: its executor
stops after the cycle in flight (whose sends complete and are recorded) and gives back the
lease, the journal records that the desk closed and why, and the process exits with 128 +
the signal's number (129 for a lost terminal). No dialog is answered and no action taken.

A lost terminal is first let go (`DetachedTerminal`): Textual's input thread is ended
and fds 0, 1 and 2 become /dev/null, so that closing writes nowhere instead of failing:
Textual's writer thread ends on its first failed write, after which its queue fills and
the next screen update would block the desk's event loop for good; its queue is drained.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

POLL_S = 0.25
"""How often the guard looks whether the terminal is still there."""
READER_JOIN_S = 2.0
"""How long a detach waits for Textual's input thread to end."""

TERMINAL_LOST = "its terminal went away"
SIGNALS: dict[signal.Signals, str] = {
    signal.SIGHUP: "its terminal hung up (SIGHUP)",
    signal.SIGTERM: "it was told to stop (SIGTERM)",
}


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + signum


class TerminalGuard:
    """Calls ``on_stop(why, exit_code)`` once, from its own thread, when one of `SIGNALS`
    arrives or the terminal on ``tty_fd`` (None: not a terminal, signals only) goes away.
    ``detach(…)`` is called first when the terminal is gone (`detach_terminal`)."""

    def __init__(
        self,
        on_stop: Callable[[str, int], None],
        tty_fd: int | None,
        *,
        detach: Callable[[], None] | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self._on_stop = on_stop
        self._fd = tty_fd if tty_fd is not None and os.isatty(tty_fd) else None
        self._detach = detach
        self._poll_s = poll_s
        self._woken = threading.Event()
        self._done = threading.Event()
        self._signum: int | None = None
        self._previous: dict[signal.Signals, Any] = {}
        self._thread = threading.Thread(target=self._watch, name="terminal-guard", daemon=True)

    def __enter__(self) -> TerminalGuard:
        if threading.current_thread() is threading.main_thread():  # signals go to it only
            for signum in SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue  # `nohup`: ignored it stays (a lost terminal is still seen)
                self._previous[signum] = signal.signal(signum, self._on_signal)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._woken.set()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._thread.join(timeout=5)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # In the main thread, between two bytecodes of whatever it was doing: only note it.
        if self._signum is None:
            self._signum = signum
        self._woken.set()

    def _lost(self) -> bool:
        return self._fd is not None and not os.isatty(self._fd)

    def _watch(self) -> None:
        stopped = detached = False
        while not self._done.is_set():
            self._woken.wait(self._poll_s)
            self._woken.clear()
            if self._done.is_set():
                return
            lost = self._lost()
            if lost and not detached:  # also after a signal: closing must not write to it
                detached = True
                log.info("desk: its terminal is gone; letting it go")
                if self._detach is not None:
                    try:
                        self._detach()
                    except Exception:  # the desk must close all the same
                        log.exception("desk: letting the terminal go failed")
            signum = self._signum
            if stopped or (signum is None and not lost):
                continue
            stopped = True
            if signum is not None:
                why, code = SIGNALS[signal.Signals(signum)], exit_code(signum)
            else:
                why, code = TERMINAL_LOST, exit_code(signal.SIGHUP)
            log.warning("desk: closing: %s", why)
            self._on_stop(why, code)


class DetachedTerminal:
    """Stands in for a terminal that went away, for Textual's `LinuxDriver` (its
    ``exit_event``, ``_key_thread`` and ``_writer_thread``: Textual is pinned in
    pyproject.toml). Its input thread is ended first (a hung-up tty reads as end of file at
    once: it spun), then fds 0, 1 and 2 become /dev/null, so that closing writes nowhere
    instead of failing, and the writer's queue is drained if the writer ended on a failed
    write. Once only."""

    def __init__(self) -> None:
        self._null: int | None = None

    def __call__(self, driver: object | None) -> None:
        if self._null is not None:
            return
        exit_event = getattr(driver, "exit_event", None)
        reader = getattr(driver, "_key_thread", None)
        if isinstance(exit_event, threading.Event):
            exit_event.set()  # read nothing more (its closing skips the terminal's input)
        if isinstance(reader, threading.Thread) and reader is not threading.current_thread():
            reader.join(timeout=READER_JOIN_S)
        # The reader has ended before stdin changes: one that had found the dead tty
        # readable would otherwise wait forever on what replaced it.
        self._null = os.open(os.devnull, os.O_RDWR)  # open until the process ends
        for fd in (0, 1, 2):
            os.dup2(self._null, fd)
        writer = getattr(driver, "_writer_thread", None)
        if isinstance(writer, threading.Thread):
            threading.Thread(
                target=_drain, args=(writer,), name="terminal-drain", daemon=True
            ).start()


def _drain(writer: threading.Thread) -> None:
    """Once ``writer`` has ended (stopped, or failed on the dead terminal), take what is
    still put in its queue so that nobody waits on a full one."""
    writer.join()
    queue = getattr(writer, "_queue", None)
    if queue is None:
        return
    while queue.get() is not None:
        pass


def stdin_tty() -> int | None:
    """The desk's terminal (its stdin's descriptor), or None when it has none."""
    stdin = sys.__stdin__
    if stdin is None:
        return None
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None
