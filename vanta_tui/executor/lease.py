"""Only one executor per state directory: a lease held as ``flock`` on the directory itself.

A lock on a file beside the state (``executor.lease.lock`` before) is broken by deleting
that file: the next executor locks a new one and sends beside the first. The state
directory cannot be deleted while it holds the state, and a lock on it lives as long as the
holder's descriptor, whatever happens to the names inside it. ``executor.lease`` (mode 0600)
only says who holds it (holder, pid, host, since), for messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vanta_tui.store.lease_info import LEASE_NAME, lease_held, lease_holder
from vanta_tui.store.lease_info import open_dir as _open_dir

__all__ = ["ACQUIRE_WAIT_S", "LEASE_NAME", "Lease", "LeaseHeld", "lease_held"]

ACQUIRE_WAIT_S = 1.0
"""A short wait, not none: `vanta-tui status` probes the lease for an instant (shared) to
see whether an executor runs, and must not make a starting executor give up."""


class LeaseHeld(Exception):
    """Another executor holds the lease; the message says who."""


class Lease:
    def __init__(self, state_dir: Path, holder: str, *, shared: bool = False) -> None:
        self.state_dir = state_dir
        self.info_path = state_dir / LEASE_NAME
        self.holder = holder
        self.shared = shared
        """Held by executor workers (`executor --worker`), several at once, which split the
        accounts among them through their server's claims: no lone executor runs beside
        them, and none of them beside a lone executor."""
        self._fd: int | None = None
        self._remote: Any = None
        self._generation = 0
        """The session holding the lease in PostgreSQL, when the journal is there."""

    def acquire(self) -> None:
        """Take the lease (`LeaseHeld` when another holds it past a short wait) and say who
        holds it in ``executor.lease``. Any error on the way (the info file not written: a
        full disk, a read-only directory) gives the lock back before it propagates: a
        descriptor left open would hold the lease until this process exits."""
        if self._fd is not None:
            return  # held already, by this object
        fd = _open_dir(self.state_dir)
        try:
            deadline = time.monotonic() + ACQUIRE_WAIT_S
            while True:
                try:
                    mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LeaseHeld(
                            f"the executor lease is held by {self.current() or 'another process'}"
                        ) from None
                    time.sleep(0.02)
            self._take_remote()
            try:
                self._write_info()
            except BaseException:
                self._give_back_remote()
                raise
        except BaseException:
            os.close(fd)  # releases the flock, if it was taken
            raise
        self._fd = fd

    def _take_remote(self) -> None:
        """Between hosts (the journal in PostgreSQL): the lease as an advisory lock there
        too, shared or exclusive as the flock (`store.postgres.remote_locks`)."""
        if not os.environ.get("VANTA_JOURNAL_URL"):
            return
        from vanta_tui.store.errors import LockTimeout
        from vanta_tui.store.postgres.remote_locks import LEASE_KEY, remote_locks

        remote = remote_locks()
        if remote is None:
            return
        try:
            remote.acquire(LEASE_KEY, "the executor lease", ACQUIRE_WAIT_S, shared=self.shared)
        except LockTimeout:
            raise LeaseHeld(
                "the executor lease is held on another host "
                f"({self.current() or 'its executor.lease does not say who'})"
            ) from None
        self._remote = remote
        self._generation = remote.generation

    def keep(self) -> None:
        """Before each cycle: the lease still held in PostgreSQL, or taken again when the
        session that held it broke (the server restarted, the network went); `LeaseHeld`
        when another host's executor took it meanwhile: this one must stop."""
        remote = self._remote
        if remote is None:
            return
        if remote.generation == self._generation and remote.alive():
            return
        from vanta_tui.store.errors import LockTimeout
        from vanta_tui.store.postgres.remote_locks import LEASE_KEY

        try:
            remote.acquire(LEASE_KEY, "the executor lease", ACQUIRE_WAIT_S, shared=self.shared)
        except LockTimeout:
            self._remote = None  # not ours any more: nothing to give back
            raise LeaseHeld(
                "the executor lease was lost with this host's PostgreSQL session and is held "
                f"on another host now ({self.current() or 'another executor'}): stopping"
            ) from None
        self._generation = remote.generation

    def _give_back_remote(self) -> None:
        if self._remote is not None:
            from vanta_tui.store.postgres.remote_locks import LEASE_KEY

            self._remote.release(LEASE_KEY, shared=self.shared)
            self._remote = None

    def _write_info(self) -> None:
        info = {
            "holder": self.holder,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        data = (json.dumps(info) + "\n").encode("utf-8")
        tmp = self.state_dir / f".{LEASE_NAME}.{os.getpid()}.tmp"
        try:
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(out, 0o600)
                os.write(out, data)
            finally:
                os.close(out)
            os.replace(tmp, self.info_path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def current(self) -> str | None:
        """Who holds the lease, as its info file says (`lease_holder`)."""
        return lease_holder(self.state_dir)

    def release(self) -> None:
        if self._fd is not None:
            self._give_back_remote()
            os.close(self._fd)  # releases the flock
            self._fd = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
