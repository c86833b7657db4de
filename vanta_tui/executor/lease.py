"""Only one executor per state directory: a lease held as a non-blocking file lock."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

LEASE_NAME = "executor.lease"


class LeaseHeld(Exception):
    """Another executor holds the lease; the message says who."""


class Lease:
    def __init__(self, state_dir: Path, holder: str) -> None:
        self.info_path = state_dir / LEASE_NAME
        self.holder = holder
        # A short wait, not none: `vanta-tui status` tries the lock for an instant to see
        # whether an executor runs, and must not make a starting executor give up.
        self._lock = FileLock(str(self.info_path) + ".lock", timeout=1.0)

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except Timeout:
            raise LeaseHeld(
                f"the executor lease is held by {self.current() or 'another process'}"
            ) from None
        info = {
            "holder": self.holder,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.info_path.write_text(json.dumps(info) + "\n", encoding="utf-8")

    def current(self) -> str | None:
        try:
            info = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        where = f"pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}"
        return f"{info.get('holder')} ({where})"

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
