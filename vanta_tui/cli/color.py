"""Colour on the command line: ``--color auto|always|never`` and ``NO_COLOR``.

The rules (https://no-color.org and the convention of ``ls``/``grep``/``git``):

- ``--color never``, or ``auto`` with ``NO_COLOR`` set to anything non-empty: no colour.
- ``--color always``: colour even when piped (``vanta-tui status --color always | less -R``),
  whatever ``NO_COLOR`` says; the option is the more specific wish.
- ``auto`` (the default): colour only on a terminal whose ``TERM`` is not ``dumb``.

Colour is only ever added to words that also carry the meaning (``OK``/``WARN``/``FAIL``,
``error``), so nothing is lost without it. The desk itself is a Textual app: it honours
``NO_COLOR`` on its own (monochrome), so `apply_to_desk` only adjusts the environment.
Progress bars (`cli.progress`) follow the same choice for their colours; whether they are
drawn at all depends on the stream being a terminal, not on colour.
"""

from __future__ import annotations

import os
import sys
from typing import Literal, TextIO

Mode = Literal["auto", "always", "never"]
MODES: tuple[Mode, ...] = ("auto", "always", "never")

_STYLES = {
    "ok": "32",  # green
    "warn": "33",  # yellow
    "fail": "1;31",  # bold red
    "dim": "2",
}

_mode: Mode = "auto"


def set_mode(mode: Mode) -> None:
    """The invocation's ``--color`` (`cli.main` sets it once, before any output)."""
    global _mode
    _mode = mode


def no_color_env() -> bool:
    """``NO_COLOR`` present and not empty (no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))


def enabled(stream: TextIO | None = None) -> bool:
    """Whether output to ``stream`` (default stdout) gets colour under the current mode."""
    if _mode == "never":
        return False
    if _mode == "always":
        return True
    if no_color_env():
        return False
    target = stream if stream is not None else sys.stdout
    try:
        tty = target.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM") != "dumb"


def paint(text: str, style: str, stream: TextIO | None = None) -> str:
    """``text`` in the style (``ok``, ``warn``, ``fail``, ``dim``) when colour is on, else as is."""
    if not enabled(stream):
        return text
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def apply_to_desk(mode: Mode) -> None:
    """Set the environment Textual reads when the desk starts: ``never`` → ``NO_COLOR=1``;
    ``always`` drops ``NO_COLOR``; ``auto`` leaves it as the user set it."""
    if mode == "never":
        os.environ["NO_COLOR"] = "1"
    elif mode == "always" or not no_color_env():
        os.environ.pop("NO_COLOR", None)  # Textual would take an empty NO_COLOR as set
