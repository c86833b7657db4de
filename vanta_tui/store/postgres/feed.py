"""Changes announced through PostgreSQL's LISTEN/NOTIFY (issue 25): how a desk on another
host learns that a state file changed, without file watching (which does not see another
host's writes on a network filesystem).

After each action and each recorded outside change, the writer announces each file it
changed: its name, version and sha256, the journal's event number, and who wrote it
(`announce`). A desk listening (`ChangeFeed`) reloads that file from the shared directory
when its own copy differs. Sent inside the writer's transaction, a notification is
delivered when that transaction commits, and never if it rolls back, so a desk never hears
of a change that did not happen.

One channel per journal (its namespace, hashed: `channel`). A payload that does not read
as a change (another program on the channel, a newer writer's fields are kept) is skipped
and logged, never fatal to the listening desk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from vanta_tui.store.postgres.claims import key31, session_options

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

MAX_PAYLOAD = 7999
"""PostgreSQL's limit on a notification's payload is 8,000 bytes."""


def channel(namespace: str) -> str:
    """The journal's channel: an identifier PostgreSQL takes unquoted."""
    return f"vanta_changes_{key31(namespace):08x}"


@dataclass(frozen=True)
class Change:
    """One file as a writer left it."""

    file: str
    sha256: str
    version: int | None = None
    seq: int | None = None
    origin: str = ""

    def payload(self) -> str:
        text = json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)
        if len(text.encode("utf-8")) > MAX_PAYLOAD:
            raise ValueError(f"a change of {self.file} does not fit a notification")
        return text

    @classmethod
    def from_payload(cls, text: str) -> Change | None:
        """The change a payload says, or None when it says none (logged)."""
        try:
            data = json.loads(text)
            change = cls(
                file=str(data["file"]),
                sha256=str(data["sha256"]),
                version=None if data.get("version") is None else int(data["version"]),
                seq=None if data.get("seq") is None else int(data["seq"]),
                origin=str(data.get("origin") or ""),
            )
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("change feed: a notification that is not a change skipped (%s)", exc)
            return None
        return change


def announce(conn: psycopg.Connection[Any], namespace: str, changes: Iterable[Change]) -> int:
    """Send ``changes`` on the journal's channel through ``conn`` (delivered when its
    transaction commits; at once in autocommit). How many were sent."""
    name = channel(namespace)
    sent = 0
    for change in changes:
        conn.execute("SELECT pg_notify(%s, %s)", (name, change.payload()))
        sent += 1
    return sent


class ChangeFeed:
    """A desk's ear on the journal's channel (its own session, autocommit)."""

    def __init__(self, url: str, namespace: str, *, name: str = "vanta-desk") -> None:
        import psycopg

        self.channel = channel(namespace)
        self.conn: psycopg.Connection[Any] = psycopg.connect(
            url, autocommit=True, application_name=name, **session_options()
        )
        try:
            self.conn.execute(f"LISTEN {self.channel}")  # an identifier `channel` made
        except BaseException:
            self.conn.close()
            raise

    def __enter__(self) -> ChangeFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def ping(self) -> None:
        """Ask the server something (raises when the session is gone): a session that hears
        nothing may be a quiet journal or a dead link."""
        self.conn.execute("SELECT 1").fetchone()

    def wait(self, timeout_s: float, *, at_most: int | None = None) -> list[Change]:
        """The changes heard within ``timeout_s`` (returns early after ``at_most``)."""
        heard: list[Change] = []
        for note in self.conn.notifies(timeout=timeout_s, stop_after=at_most):
            if note.channel != self.channel:
                continue
            change = Change.from_payload(note.payload)
            if change is not None:
                heard.append(change)
        return heard


CHANGES_URL_ENV = "VANTA_CHANGES_URL"
"""The PostgreSQL server whose notifications carry changes between desks (``--changes``)."""


RETRY_AFTER_S = 5.0
"""After a notification could not be sent, how long none is tried."""
QUEUE_SIZE = 1000
"""Actions' changes waiting to be announced; more are dropped (and said in the log)."""
CLOSE_WAIT_S = 2.0
"""How long a closing journal waits for its last changes to be announced."""


def url_password(url: str) -> bool:
    """Whether a libpq URL (or key=value string) carries a password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        return bool(conninfo_to_dict(url).get("password"))
    except Exception:  # not a URL libpq reads: it fails later, saying why
        return ":" in url.partition("://")[2].partition("@")[0]


def changes_url() -> str | None:
    """The server changes are announced on, if one is set: `CHANGES_URL_ENV`, else the
    PostgreSQL journal's database (`location.JOURNAL_URL_ENV`: a journal on a server
    announces its changes there)."""
    from vanta_tui.store.postgres.location import JOURNAL_URL_ENV

    return os.environ.get(CHANGES_URL_ENV) or os.environ.get(JOURNAL_URL_ENV) or None


_TOKEN = secrets.token_hex(4)


def origin() -> str:
    """This process as a change's writer: its host, process id and a token of its own (two
    containers may share a host name and a process id)."""
    return f"{socket.gethostname()} {os.getpid()} {_TOKEN}"


class Announcer:
    """A writer's mouth on the journal's channel: its own session and thread. `send` only
    queues (an action never waits on the server, whatever it does: down, slow, or silent
    with its connection open); the thread sends in order. A notification that cannot be
    sent never fails the action it reports (that is committed already): it is logged and
    dropped, the session opened again after `RETRY_AFTER_S`; the listening desks read every
    file again when they lose and find their server (`Desk.follow_changes`)."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.namespace = namespace
        self._queue: queue.Queue[Sequence[Change] | None] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        """Changes not announced (the queue full, or the server failing)."""

    def send(self, changes: Sequence[Change]) -> bool:
        """Queue ``changes`` to be announced; False when they are dropped (the queue full:
        the server has not taken any for a while)."""
        if not changes:
            return True
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vanta-announcer", daemon=True
                )
                self._thread.start()
        try:
            self._queue.put_nowait(list(changes))
        except queue.Full:
            self.dropped += len(changes)
            log.warning("change feed: %d change(s) dropped, the server takes none", len(changes))
            return False
        return True

    def _run(self) -> None:
        import psycopg

        conn: psycopg.Connection[Any] | None = None
        quiet_until = 0.0
        while True:
            changes = self._queue.get()
            if changes is None:
                break
            if time.monotonic() < quiet_until:
                self.dropped += len(changes)
                continue
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(
                        self.url, autocommit=True, application_name="vanta-writer",
                        **session_options(),
                    )  # fmt: skip
                announce(conn, self.namespace, changes)
            except Exception as exc:
                self.dropped += len(changes)
                log.warning(
                    "change feed: could not announce %d change(s) (again in %.0f s): %s",
                    len(changes), RETRY_AFTER_S, exc,
                )  # fmt: skip
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                quiet_until = time.monotonic() + RETRY_AFTER_S
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Send what is queued, waiting at most ``wait_s`` (never longer: a silent server
        does not hold a closing journal)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        thread.join(wait_s)
