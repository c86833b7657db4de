"""The desk's log file: one line per event, each with the process id and state directory.

The desk and every headless command log to the same file (``--log FILE``, else
`default_log_path`), so several processes on several state directories can share it: each
line says which process and which directory it is about. A traceback stays on its event's
line (its line breaks shown as `` | ``), so one event is one line to grep.

A problem that repeats (a state file that stays broken, read every second by the executor)
goes through `Lapse`: logged once when it starts, once when it is gone.
"""

from __future__ import annotations

import logging
from pathlib import Path

LINE_BREAK = " | "
"""What stands for a line break inside one log line (a traceback, a multi-line message)."""

_handler: logging.Handler | None = None


def default_log_path() -> Path:
    """``<user log dir>/vanta-desk/desk.log`` (platformdirs; on Linux
    ``~/.local/state/vanta-desk/log/desk.log``)."""
    from platformdirs import user_log_path

    return user_log_path("vanta-desk") / "desk.log"


class OneLineFormatter(logging.Formatter):
    """The standard formatter, with every line break (a traceback's too) on one line."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", LINE_BREAK)


def configure_logging(state_dir: Path, log_file: str | Path | None = None) -> Path | None:
    """Send this process's log to ``log_file`` (default: `default_log_path`), one line per
    event with the pid and ``state_dir``. Returns the file, or None when it cannot be opened
    (then nothing is logged: a log that cannot be written never stops a command).
    Calling it again (tests run many commands in one process) replaces the handler."""
    global _handler
    target = Path(log_file) if log_file else default_log_path()
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
        _handler = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(target, encoding="utf-8", delay=True)
    except OSError:
        return None
    where = str(state_dir.resolve()).replace("%", "%%")
    handler.setFormatter(
        OneLineFormatter(
            f"%(asctime)s %(levelname)s pid=%(process)d state={where} %(name)s: %(message)s"
        )
    )
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    _handler = handler
    return target


class Lapse:
    """A problem that may repeat every cycle, logged once when it starts (or changes) and
    once when it is gone: not a line, nor a traceback, every second."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.current: str | None = None
        """The problem being reported now (None: all is well)."""

    def failed(self, problem: str, *, traceback: bool = False) -> bool:
        """Note the problem; True when it is new (and so was logged). ``traceback`` logs the
        exception being handled with it (for a bug, not for a broken file)."""
        if problem == self.current:
            return False
        self.current = problem
        self.logger.warning("%s: %s", self.what, problem, exc_info=traceback)
        return True

    def ok(self) -> bool:
        """Note that all is well again; True when that ends a problem (and so was logged)."""
        if self.current is None:
            return False
        self.logger.info("%s: working again (was: %s)", self.what, self.current)
        self.current = None
        return True
