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
        self._counts: dict[int, int] = {}
        """The locks this session holds (key → how many holds, re-entrant)."""
        self._lost: set[int] = set()
        """Locks that were held when their session broke: lost under their holders, who
        learn it from `holds` (checked before anything is written) and `release`."""
        self.generation = 0
        """Counts the sessions this process has had: a holder of a long lock (the lease)
        sees from it that its session, and the lock, were replaced."""

    def _session(self) -> Any:
        import psycopg

        from vanta_tui.store.postgres.claims import session_options

        if self._conn is None or self._conn.closed or self._conn.broken:
            self._lose_all()
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, **session_options(5))
                self.generation += 1
            except psycopg.Error as exc:
                raise StoreError(
                    f"cannot take the lock in PostgreSQL ({redact_url(self.url)}): "
                    f"{str(exc).strip() or type(exc).__name__}; nothing was written"
                ) from None
        return self._conn

    def _lose_all(self) -> None:
        self._lost |= set(self._counts)
        self._counts.clear()
        self._conn = None

    def _ask(self, sql: str, key: int) -> bool:
        """(Under the mutex.) A session that turns out broken is replaced; the statement is
        tried again on the new one only when no lock was lost with the old."""
        import psycopg

        for attempt in (1, 2):
            conn = self._session()
            try:
                row = conn.execute(sql, (key,)).fetchone()
                return bool(row and row[0])
            except psycopg.Error as exc:
                held = bool(self._counts)
                self._lose_all()
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
        kind = "_shared" if shared else ""
        sql = f"SELECT pg_try_advisory_lock{kind}(%s)"
        deadline = time.monotonic() + timeout_s
        step = 0
        while True:
            with self._mutex:
                if self._ask(sql, key):
                    self._counts[key] = self._counts.get(key, 0) + 1
                    self._lost.discard(key)
                    return
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"waiting for {what}, held in PostgreSQL (another host): gave up after "
                    f"{timeout_s:g} s"
                )
            time.sleep(_POLL_S[min(step, len(_POLL_S) - 1)])
            step += 1

    def release(self, key: int, *, shared: bool = False) -> None:
        """Give one hold of ``key`` back (quietly: a lock lost with its session is not this
        session's to unlock; its holder was told by `holds`)."""
        kind = "_shared" if shared else ""
        with self._mutex:
            count = self._counts.get(key, 0)
            if count == 0:
                self._lost.discard(key)
                return
            if count == 1:
                del self._counts[key]
            else:
                self._counts[key] = count - 1
            with contextlib.suppress(StoreError):
                self._ask(f"SELECT pg_advisory_unlock{kind}(%s)", key)

    def holds(self, key: int) -> bool:
        """Whether this session holds ``key`` now (asked of the server: a session ended
        under its holder, or a lock given up by it, says no)."""
        import psycopg

        unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
        with self._mutex:
            if key not in self._counts or self._conn is None:
                return False
            try:
                row = self._conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() "
                    "AND locktype = 'advisory' AND granted AND objsubid = 1 "
                    "AND classid::bigint = %s AND objid::bigint = %s)",
                    (unsigned >> 32, unsigned & 0xFFFF_FFFF),
                ).fetchone()
            except psycopg.Error:
                self._lose_all()
                return False
            return bool(row and row[0])

    def alive(self) -> bool:
        """Whether the session (and every lock it holds) is still there."""
        with self._mutex:
            try:
                if self._conn is None or self._conn.closed:
                    return False
                self._conn.execute("SELECT 1")
                return True
            except Exception:
                self._lose_all()
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
