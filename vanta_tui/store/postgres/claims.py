"""The executor workers' claims on accounts: PostgreSQL session advisory locks (issue 25).

A worker claims an account (the fan-out's unit of work: one account at one venue) by
taking a session-level advisory lock. The lock lasts as long as the worker's database
session: a worker that exits, is killed (SIGKILL included) or whose connection closes has
its session ended by the server, which frees its accounts at once for another worker to
claim. (A host that vanishes without closing its sockets is noticed by TCP keepalives on
the server's end: `session_options` sets them to a few seconds for our sessions.) A worker
whose connection fails has lost its claims: it stops sending (`AccountClaims.alive`, each
cycle), and the worker that takes an account over asks its broker what it holds before
sending anything. Between a worker's last look and its send, its claim may already have
passed to another: exactly once then rests on the broker refusing a second order under the
same client order id (every venue we send to does; the executor sends under one id per
order, made before the first send), not on the claims alone.

Keys: the two-key form, ``pg_try_advisory_lock(namespace, account)``, both 31-bit hashes
(blake2b) of the journal's namespace and of the account, so that ``pg_locks`` shows them
as they are (``classid``, ``objid``, ``objsubid`` 2) and `workers` can count one
namespace's claims. Two accounts whose hashes collide share one lock: a worker that holds
one also gets the other (advisory locks nest within a session), another worker gets
neither; a collision can make the work coarser, never let two workers hold one account.

Workers name themselves in ``application_name`` (``vanta-worker NAMESPACE HOST PID``),
which is how `workers` says who is there and holds what.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

WORKER_PREFIX = "vanta-worker "
"""How a worker's database session names itself (then its host and process id)."""

GLOBAL_DUTY = "(the executor's own duties)"
"""A claim like an account's: flip-mode expiry, prices and the vaults' reconciliation, done
by one worker at a time (not counted among its accounts)."""


def session_options(connect_timeout_s: int = 5) -> dict[str, Any]:
    """How every session of ours connects: a bounded connection time, and TCP keepalives on
    both ends (libpq's on ours; the server's own, per session, through ``options``: it is
    the server that ends a vanished worker's session and so frees its claims, within about
    11 s instead of its default two hours), and a bound on unacknowledged sends. Nothing of
    it applies on a Unix socket (a closed one is seen at once)."""
    return {
        "connect_timeout": connect_timeout_s,
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,
        "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
        "-c tcp_keepalives_count=3",
    }


def key31(text: str) -> int:
    """A stable 31-bit key for ``text`` (the same on every host and Python)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF


def worker_name(namespace: str, host: str | None = None, pid: int | None = None) -> str:
    """A worker's ``application_name`` in ``namespace``: the prefix, the namespace's key,
    the host and the process id (PostgreSQL keeps 63 bytes of it)."""
    host = host or socket.gethostname()
    pid = os.getpid() if pid is None else pid
    return f"{WORKER_PREFIX}{key31(namespace):08x} {host[:30]} {pid}"


@dataclass(frozen=True)
class Worker:
    """A worker as the server sees it: where it runs and how many accounts it holds."""

    host: str
    pid: int
    accounts: int
    duty: bool = False
    """It does the executor's own duties (prices, flip expiry, the vaults' reconciliation):
    with other workers there, it leaves the accounts to them."""


class AccountClaims:
    """One worker's claims in one namespace, on its own database session (autocommit)."""

    def __init__(
        self,
        url: str,
        namespace: str,
        *,
        host: str | None = None,
        pid: int | None = None,
        connect_timeout_s: int = 10,
    ) -> None:
        import psycopg

        self.namespace = namespace
        self._ns = key31(namespace)
        self.name = worker_name(namespace, host, pid)
        self.conn: psycopg.Connection[Any] = psycopg.connect(
            url, autocommit=True, application_name=self.name,
            **session_options(connect_timeout_s),
        )  # fmt: skip
        self._held: set[str] = set()

    def __enter__(self) -> AccountClaims:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the session: every claim is let go."""
        self._held.clear()
        self.conn.close()

    @property
    def held(self) -> frozenset[str]:
        """The accounts this worker holds."""
        return frozenset(self._held)

    def claim(self, account: str) -> bool:
        """Take ``account`` if no other worker holds it (True: held now, or already)."""
        if account in self._held:
            return True
        row = self.conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (self._ns, key31(account))
        ).fetchone()
        if row is not None and row[0]:
            self._held.add(account)
            return True
        return False

    def claim_some(self, accounts: Iterable[str], limit: int | None = None) -> list[str]:
        """Take the free ones among ``accounts`` (at most ``limit`` more): those taken now."""
        taken: list[str] = []
        for account in accounts:
            if limit is not None and len(taken) >= limit:
                break
            if account not in self._held and self.claim(account):
                taken.append(account)
        return taken

    def release(self, account: str) -> None:
        """Let ``account`` go (another worker may take it at once)."""
        if account not in self._held:
            return
        self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._ns, key31(account)))
        self._held.discard(account)

    def alive(self) -> bool:
        """Whether the session (and so every claim) still holds: a worker for which this is
        False has lost its accounts and sends nothing more."""
        try:
            self.conn.execute("SELECT 1").fetchone()
        except Exception:
            self._held.clear()
            return False
        return True


def workers(conn: psycopg.Connection[Any], namespace: str) -> list[Worker]:
    """The workers of ``namespace`` connected now (idle ones too), with their hosts and how
    many accounts each holds (busiest first)."""
    prefix = f"{WORKER_PREFIX}{key31(namespace):08x} "
    rows = conn.execute(
        """
        SELECT a.application_name,
               count(l.objid) FILTER (WHERE l.objid::bigint <> %s),
               coalesce(bool_or(l.objid::bigint = %s), false)
        FROM pg_stat_activity AS a
        LEFT JOIN pg_locks AS l
          ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.classid::bigint = %s
        WHERE starts_with(a.application_name, %s)
        GROUP BY a.application_name
        """,
        (key31(GLOBAL_DUTY), key31(GLOBAL_DUTY), key31(namespace), prefix),
    ).fetchall()
    found: list[Worker] = []
    for name, count, duty in rows:
        host, _, pid = str(name).removeprefix(prefix).rpartition(" ")
        found.append(Worker(host, int(pid) if pid.isdigit() else 0, int(count), bool(duty)))
    found.sort(key=lambda w: (-w.accounts, w.host, w.pid))
    return found


class WorkerClaims:
    """An executor worker's fair share of the accounts with work (`executor.engine.Claims`).

    Each cycle, `share` takes free accounts up to ``ceil(accounts with work / workers)``
    (the workers that send, this one counted: the one doing the executor's own duties
    sends only when it is alone), lets go of held accounts that have
    no work left, and of those beyond its share that have no send in flight (so that a
    worker started later gets its part). Two workers asking at once may both stop short of
    their share; the next cycle evens it out. Correctness never rests on the shares: an
    account is sent to by its holder only."""

    def __init__(
        self, url: str, namespace: str, *, host: str | None = None, keep_every_s: float = 1.0
    ) -> None:
        self.url = url
        self.host = host
        self.claims = AccountClaims(url, namespace, host=host)
        self.namespace = namespace
        self._mutex = threading.RLock()
        """One session, used by the worker's cycle and by the keeper thread in turn."""
        self._accounts: Sequence[str] = ()
        self._stop = threading.Event()
        self._keeper = threading.Thread(
            target=self._keep, args=(keep_every_s,), name="vanta-claims", daemon=True
        )
        self._keeper.start()

    def _keep(self, every_s: float) -> None:
        """The keeper thread: every ``every_s``, `top_up` over the accounts with work as the
        last `share` saw them. A dead worker's accounts are taken up within about that,
        whatever this worker's cycle is doing meanwhile (a long send, a wait for a file's
        lock); their orders go out from the cycle after, which asks their brokers first."""
        while not self._stop.wait(every_s):
            accounts = self._accounts
            if not accounts:
                continue
            try:
                self.top_up(accounts)
            except Exception as exc:  # the session is gone: the cycle's `alive` says so
                log.debug("worker: taking up accounts: %s", exc)

    def close(self) -> None:
        self._stop.set()
        with self._mutex:
            self.claims.close()

    def __enter__(self) -> WorkerClaims:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def alive(self) -> bool:
        """Whether this worker holds a session now: when the last one is gone (and its
        claims with it), a new one is opened, holding nothing until `share` claims again
        (an account another worker took meanwhile stays that worker's). False when no
        session can be had: the worker sends nothing this cycle."""
        with self._mutex:
            return self._alive()

    def _alive(self) -> bool:
        if self.claims.alive():
            return True
        with contextlib.suppress(Exception):
            self.claims.close()
        try:
            self.claims = AccountClaims(self.url, self.namespace, host=self.host)
        except Exception as exc:
            log.warning("worker: no session on its server: %s", exc)
            return False
        log.warning("worker: its session was lost with its claims; a new one is open")
        return True

    def global_duty(self) -> bool:
        with self._mutex:
            return self.claims.claim(GLOBAL_DUTY)

    def share(self, accounts: Sequence[str], busy: Set[str]) -> frozenset[str]:
        """The accounts among ``accounts`` (those with work now, in a fixed order) this
        worker holds after taking its share; ``busy``: accounts with its sends in flight,
        never let go."""
        with self._mutex:
            self._accounts = tuple(accounts)
            return self._share(accounts, busy)

    def _share(self, accounts: Sequence[str], busy: Set[str]) -> frozenset[str]:
        claims = self.claims
        wanted = set(accounts)
        for account in claims.held - wanted - busy - {GLOBAL_DUTY}:
            claims.release(account)  # no work left there
        fair = self._fair(accounts)
        mine = [a for a in accounts if a in claims.held]
        for account in reversed(mine[fair:]):  # beyond its share: give the others their part
            if account not in busy:
                claims.release(account)
        room = fair - len([a for a in accounts if a in claims.held])
        if room > 0:
            claims.claim_some((a for a in accounts if a not in claims.held), limit=room)
        return frozenset(a for a in accounts if a in claims.held)

    def _fair(self, accounts: Sequence[str]) -> int:
        """This worker's share: the accounts with work split between the workers that
        send. The one doing the executor's own duties (a price sweep over a thousand
        accounts takes a while) sends only when it is alone: its accounts would wait on
        its sweeps."""
        found = workers(self.claims.conn, self.namespace)  # this one among them
        if len(found) > 1 and GLOBAL_DUTY in self.claims.held:
            return 0
        senders = len(found) - (1 if len(found) > 1 and any(w.duty for w in found) else 0)
        return -(-len(accounts) // max(senders, 1))

    def held_now(self, accounts: Sequence[str]) -> frozenset[str]:
        """The accounts among ``accounts`` this worker holds now (its keeper's take-ups
        included), asking the server nothing."""
        with self._mutex:
            held = self.claims.held
            return frozenset(a for a in accounts if a in held)

    def top_up(self, accounts: Sequence[str]) -> frozenset[str]:
        """Claim free accounts among ``accounts`` up to this worker's fair share, letting go
        of none (between two `share` calls: a dead worker's accounts are taken up at once).
        The accounts of ``accounts`` it holds."""
        with self._mutex:
            return self._top_up(accounts)

    def _top_up(self, accounts: Sequence[str]) -> frozenset[str]:
        claims = self.claims
        fair = self._fair(accounts)
        room = fair - len([a for a in accounts if a in claims.held])
        if room > 0:
            # One look at who holds what, then a try only for the accounts nobody holds.
            taken = {
                int(row[0])
                for row in claims.conn.execute(
                    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND objsubid = 2 AND classid::bigint = %s",
                    (key31(self.namespace),),
                )
            }
            free = (a for a in accounts if a not in claims.held and key31(a) not in taken)
            claims.claim_some(free, limit=room)
        return frozenset(a for a in accounts if a in claims.held)


def workers_now(url: str, namespace: str, timeout_s: float = 2.0) -> list[Worker] | None:
    """`workers`, asked on a session of its own in a daemon thread: None when the server
    does not answer within ``timeout_s`` (a status refresh never waits longer on it)."""
    import psycopg

    found: list[list[Worker]] = []

    def ask() -> None:
        with contextlib.suppress(Exception), psycopg.connect(
            url, autocommit=True, application_name="vanta-status",
            **session_options(max(1, int(timeout_s))),
        ) as conn:  # fmt: skip
            found.append(workers(conn, namespace))

    thread = threading.Thread(target=ask, name="vanta-workers", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return found[0] if found else None
