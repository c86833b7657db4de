"""Locks that removing a file cannot break, and who holds a lock we wait for.

A ``<name>.lock`` file (filelock) is the contract with the other programs of the stack, but
anyone can unlink it while it is held, and the next writer then locks a new file and comes
in beside the holder. So the desk's writers first take an *anchor*: ``flock`` on the inode
of the very file they are about to replace (or, for the journal, of ``trade_log.jsonl``),
checked to be the one the path still names. Deleting a lock file no longer lets a second
desk writer in; a lock file replaced under a holder is detected before anything is
written (`LockLost`).

`holders` reads ``/proc/locks`` (Linux) to name the process holding a lock, for messages
such as "waiting for vault_overlay.json, held by pid 4242".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from vanta_tui.store.errors import LockLost, LockTimeout, StoreError

Waiting = Callable[[str], None]
"""Told (once) what a lock attempt is waiting for, while it waits."""

_POLL_S = (0.002, 0.005, 0.01, 0.02)


def holders(path: Path) -> list[int]:
    """Pids holding a lock (flock, POSIX or OFD) on the inode ``path`` names, from
    ``/proc/locks``; empty where that is not available."""
    try:
        st = os.stat(path)
        text = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    suffix = f":{st.st_ino}"
    pids: list[int] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[1] == "->":
            continue
        if parts[5].endswith(suffix) and parts[4].lstrip("-").isdigit():
            pid = int(parts[4])
            if pid > 0 and pid not in pids:
                pids.append(pid)
    return pids


def describe_holder(path: Path, name: str) -> str:
    pids = [p for p in holders(path) if p != os.getpid()]
    who = f"pid {', '.join(str(p) for p in pids)}" if pids else "another process"
    return f"{name}, held by {who}"


def _flock_until(fd: int, mode: int, deadline: float) -> bool:
    """``flock`` with polling until ``deadline`` (monotonic); False if it ran out."""
    step = 0
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
        time.sleep(_POLL_S[min(step, len(_POLL_S) - 1)])
        step += 1


def _open_anchor(path: Path) -> int | None:
    """A descriptor on the regular file at ``path`` (None: nothing to anchor on). Opened
    without blocking: a FIFO put where a state file belongs must not hang the desk (the
    loader refuses it with its reason)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:  # missing (nothing to anchor), a symlink the loader refuses...
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _still_names(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


class PathLock:
    """An anchor on ``anchor``'s inode, then ``<name>.lock`` (filelock, for other programs).

    The anchor comes first: a desk writer that finds the lock file removed waits on the
    anchor without making a new lock file, so the holder sees its lock file absent, not
    replaced, and goes on. `check` raises `LockLost` when another file stands at the lock
    file's path: a program that knows only the lock file may be inside.
    """

    def __init__(self, lock_file: Path, anchor: Path | None, what: str, timeout: float) -> None:
        self.lock_file = lock_file
        self.anchor = anchor
        self.what = what
        self.timeout = timeout
        self._inode: int | None = None

    def _gave_up(self, path: Path) -> LockTimeout:
        return LockTimeout(
            f"waiting for {describe_holder(path, self.what)}: gave up after {self.timeout:g} s"
        )

    @contextlib.contextmanager
    def hold(self, waiting: Waiting | None = None) -> Iterator[None]:
        remote = _remote_locks()
        if remote is None:
            with self._hold_here(waiting):
                yield
            return
        # Between hosts, first: the same lock in PostgreSQL (`store.postgres.remote_locks`).
        from vanta_tui.store.postgres.remote_locks import lock_key

        key = lock_key(self.lock_file.name)
        remote.acquire(key, self.what, self.timeout)
        try:
            with self._hold_here(waiting):
                yield
        finally:
            remote.release(key)

    @contextlib.contextmanager
    def _hold_here(self, waiting: Waiting | None = None) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout
        told: list[bool] = []

        def tell(path: Path) -> None:
            if waiting is not None and not told:
                waiting(f"waiting for {describe_holder(path, self.what)}")
                told.append(True)

        while True:
            fd = _open_anchor(self.anchor) if self.anchor is not None else None
            try:
                if fd is not None and self.anchor is not None:
                    if not _flock_until(fd, fcntl.LOCK_EX, time.monotonic()):
                        tell(self.anchor)
                        if not _flock_until(fd, fcntl.LOCK_EX, deadline):
                            raise self._gave_up(self.anchor)
                    if not _still_names(fd, self.anchor):
                        continue  # replaced meanwhile: anchor the new file
                if self.lock_file.is_symlink():
                    raise StoreError(
                        f"{self.lock_file.name} is a symlink (to {os.readlink(self.lock_file)}); "
                        "a lock file must be the state directory's own: remove the link"
                    )
                lock = FileLock(str(self.lock_file), timeout=0.05, mode=0o600)
                while True:
                    try:
                        lock.acquire()
                        break
                    except Timeout:
                        if time.monotonic() >= deadline:
                            raise self._gave_up(self.lock_file) from None
                        tell(self.lock_file)
                    except OSError as exc:  # a directory there, no permission...
                        raise StoreError(
                            f"cannot lock {self.lock_file.name}: {exc.strerror or exc}"
                        ) from None
                try:
                    if (
                        fd is not None
                        and self.anchor is not None
                        and not _still_names(fd, self.anchor)
                    ):
                        continue  # another program replaced it before we got the lock
                    self._inode = _inode(self.lock_file)
                    yield
                    return
                finally:
                    lock.release()
            finally:
                if fd is not None:
                    os.close(fd)  # releases the anchor

    def check(self) -> None:
        """Raise `LockLost` if another file now stands at the lock file's path: whoever made
        it may be inside. (A lock file merely removed is no sign of another writer: a desk
        writer waits on the anchor before making one, and filelock leaves it in place.)
        Between hosts, also when the lock in PostgreSQL was lost with its session."""
        remote = _remote_locks()
        if remote is not None:
            from vanta_tui.store.postgres.remote_locks import lock_key

            if not remote.holds(lock_key(self.lock_file.name)):
                raise LockLost(
                    f"the lock on {self.lock_file.name} in PostgreSQL was lost (its session "
                    "ended): another host may have come in, so nothing was written"
                )
        now = _inode(self.lock_file)
        if self._inode is not None and now is not None and now != self._inode:
            raise LockLost(
                f"{self.lock_file.name} was replaced while held: another writer may "
                "have come in, so nothing was written"
            )


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _remote_locks() -> Any:
    """The process's locks in PostgreSQL when the journal is there (None: this host's file
    locks are the locks). psycopg is imported only then."""
    if not os.environ.get("VANTA_JOURNAL_URL"):
        return None
    from vanta_tui.store.postgres.remote_locks import remote_locks

    return remote_locks()
