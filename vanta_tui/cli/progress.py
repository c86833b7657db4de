"""Progress of long commands (``audit verify``, ``audit replay``, ``audit export``,
``followers import``), drawn with `rich.progress` on a terminal and silent when piped.

The bars go to stderr, so ``vanta-tui audit export > file`` keeps its bar and a clean file;
``--color never``/``NO_COLOR`` draws them without colour (`cli.color`). The core reports
progress through a plain callable (``ProgressFactory`` in `actions.audit`): label and total
in, a ``done(n)`` function out; `Bars` is that factory.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from vanta_tui.cli import color

if TYPE_CHECKING:  # rich is imported when a bar is drawn: registering commands stays light
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


def _console(stream: TextIO) -> Console:
    from rich.console import Console

    colours = color.enabled(stream)
    return Console(
        file=stream,
        force_terminal=True,  # only built for a terminal (see `Bars`), or a test's stand-in
        no_color=not colours,
        color_system="standard" if colours else None,
        highlight=False,
    )


class Bars:
    """The progress factory a `Desk` audit method takes (label, total → ``done(n)``): one
    live display holding a bar per call, on ``stream`` (default stderr) when it is a
    terminal, nothing at all otherwise. `finish` stops the display and clears it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False
        self._progress: RichProgress | None = None

    def __call__(self, label: str, total: int) -> Progress:
        if not self.enabled:
            return Progress(None, None)
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._progress = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=_console(self.stream),
                transient=True,  # leaves the screen as it found it: output stays clean
                refresh_per_second=10,
            )
            self._progress.start()
        task = self._progress.add_task(label, total=max(total, 1))
        return Progress(self._progress, task)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class Progress:
    """One bar: call with the number of items done (a no-op when nothing is drawn)."""

    def __init__(self, progress: RichProgress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def __call__(self, done: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done)
