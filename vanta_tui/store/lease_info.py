"""The executor's lease as others see it: whether it is held, and who holds it.

The lease itself (`vanta_tui.executor.lease`) is an ``flock`` on the state directory, and
``executor.lease`` (mode 0600) says who holds it (holder, pid, host, since). Reading both
takes nothing and creates nothing, so the status works read-only and on a directory one
cannot write; it lives here, below the actions, so they need not import the executor.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

LEASE_NAME = "executor.lease"
"""The file beside the state saying who holds the lease (the lock is on the directory)."""


def open_dir(state_dir: Path) -> int:
    """A descriptor on the state directory itself: what the lease locks."""
    return os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def lease_held(state_dir: Path) -> bool:
    """Whether an executor holds the lease of ``state_dir`` now (a shared probe for an
    instant; creates nothing, so it works read-only and on a directory one cannot write)."""
    try:
        fd = open_dir(state_dir)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def lease_holder(state_dir: Path) -> str | None:
    """Who holds (or last held) the lease, as ``executor.lease`` says: ``holder (pid P on
    HOST, since T)``; None when the file is missing or does not read."""
    try:
        info = json.loads((state_dir / LEASE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    where = f"pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}"
    return f"{info.get('holder')} ({where})"
