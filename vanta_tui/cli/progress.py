"""A progress bar for long commands: drawn on a terminal, silent when piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call with the number of items done; draws at most ten times a second."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        share = min(done / self.total, 1.0)
        width = 30
        filled = int(share * width)
        bar = "█" * filled + "░" * (width - filled)
        self.stream.write(f"\r{self.label} {bar} {share:6.1%} {done:,}/{self.total:,}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


class Bars:
    """The progress factory a `Desk` audit method takes (label, total → a `Progress`);
    `finish` clears the bars it drew."""

    def __init__(self) -> None:
        self.drawn: list[Progress] = []

    def __call__(self, label: str, total: int) -> Progress:
        bar = Progress(label, total)
        self.drawn.append(bar)
        return bar

    def finish(self) -> None:
        for bar in self.drawn:
            bar.finish()
