"""Locks that hold between hosts (issue 25): the state files' locks and the executor lease
taken in PostgreSQL too, when the journal is there (`location.JOURNAL_URL_ENV`).

A state directory shared between hosts sits on a network filesystem, where ``flock`` may
be local to each host (NFS without lock support, some FUSE filesystems) or lost when a
server restarts. So before its file lock, a writer takes the same lock as a session
advisory lock in the journal's database (one-key form, keyed by the lock's name: hosts
may mount the directory at different paths), and the executor lease is an advisory lock
there as well (shared by executor workers, exclusive for a lone executor). The file locks
stay: they are the contract with the stack's other programs on each host.

One session per process, asked with ``pg_try_advisory_lock`` and polled (never a blocking
call on a session other threads share). Two threads of one process share its session, so
between them the session lock is re-entrant and the file lock that follows serializes
them, as it always did. A session that dies (the server restarted, the network went)
drops its locks: the next lock opens a new session. If PostgreSQL cannot be reached, the
lock is not taken and the action is refused (`StoreError`): nothing is written under a
lock that may not hold.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from vanta_tui.store.errors import LockTimeout, StoreError
from vanta_tui.store.postgres.journal_db import key63
from vanta_tui.store.postgres.location import journal_url, redact_url

_POLL_S = (0.002, 0.005, 0.01, 0.02, 0.05)
LEASE_KEY = key63("vanta.executor.lease")


def lock_key(name: str) -> int:
    """The advisory lock of the file lock ``name`` (``autotrade_queue.json.lock``)."""
    return key63(f"vanta.lock:{name}")


class RemoteLocks:
    """This process's session for locks between hosts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        self._pid = os.getpid()
        self._mutex = threading.Lock()
        self._held = 0
        self.generation = 0
        """Counts the sessions this process has had: a holder of a long lock (the lease)
        sees from it that its session, and the lock, were replaced."""
        """Locks this session holds now: a broken session holding none is replaced at once;
        one that held some fails the action (its locks were lost under it)."""

    def _session(self) -> Any:
        import psycopg

        from vanta_tui.store.postgres.claims import session_options

        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, **session_options(5))
                self.generation += 1
            except psycopg.Error as exc:
                raise StoreError(
                    f"cannot take the lock in PostgreSQL ({redact_url(self.url)}): "
                    f"{str(exc).strip() or type(exc).__name__}; nothing was written"
                ) from None
        return self._conn

    def _ask(self, sql: str, key: int) -> bool:
        import psycopg

        with self._mutex:
            for attempt in (1, 2):
                conn = self._session()
                try:
                    row = conn.execute(sql, (key,)).fetchone()
                    return bool(row and row[0])
                except psycopg.Error as exc:
                    self._conn = None  # its locks are gone with it
                    held, self._held = self._held, 0
                    if attempt == 1 and not held and isinstance(exc, psycopg.OperationalError):
                        continue  # it held nothing: a new session loses nothing
                    raise StoreError(
                        f"lost the PostgreSQL session holding the locks "
                        f"({redact_url(self.url)}): {str(exc).strip() or type(exc).__name__}; "
                        "nothing was written"
                    ) from None
            raise AssertionError("unreachable")

    def acquire(self, key: int, what: str, timeout_s: float, *, shared: bool = False) -> None:
        """Take ``key`` (waiting up to ``timeout_s``); `LockTimeout` naming ``what``."""
        sql = (
            "SELECT pg_try_advisory_lock_shared(%s)"
            if shared
            else "SELECT pg_try_advisory_lock(%s)"
        )
        deadline = time.monotonic() + timeout_s
        step = 0
        while not self._ask(sql, key):
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"waiting for {what}, held in PostgreSQL (another host): gave up after "
                    f"{timeout_s:g} s"
                )
            time.sleep(_POLL_S[min(step, len(_POLL_S) - 1)])
            step += 1
        self._held += 1

    def release(self, key: int, *, shared: bool = False) -> None:
        kind = "_shared" if shared else ""
        self._held = max(0, self._held - 1)
        with contextlib.suppress(StoreError):  # the session is gone, and its locks with it
            self._ask(f"SELECT pg_advisory_unlock{kind}(%s)", key)

    def alive(self) -> bool:
        """Whether the session (and every lock it holds) is still there."""
        try:
            with self._mutex:
                if self._conn is None or self._conn.closed:
                    return False
                self._conn.execute("SELECT 1")
                return True
        except Exception:
            self._conn = None
            self._held = 0
            return False


_SESSIONS: dict[tuple[int, str], RemoteLocks] = {}
_SESSIONS_LOCK = threading.Lock()


def remote_locks() -> RemoteLocks | None:
    """This process's `RemoteLocks` when the journal is in PostgreSQL, else None. A process
    forked from one that had a session makes its own (the inherited socket is the parent's:
    it is left alone, never used or closed here)."""
    url = journal_url()
    if url is None:
        return None
    key = (os.getpid(), url)
    with _SESSIONS_LOCK:
        found = _SESSIONS.get(key)
        if found is None:
            found = _SESSIONS[key] = RemoteLocks(url)
        return found
