"""The audit journal: one hash-chained stream of events in SQLite and in `trade_log.jsonl`.

How an action is made durable (see `Journal.act`):

1. the files it changes are locked (in a fixed order), then the journal;
2. any change made to those files by another program since the journal last saw them is
   recorded first, as ``state.external_change`` (content kept in ``blobs``);
3. the action plans its new file contents and events; the new files are validated;
4. **intent**: the planned events, with a patch and the before/after sha256 of every file,
   are committed to the ``intents`` table;
5. the files are replaced atomically;
6. one SQLite transaction appends the events to the chain, updates the derived tables and
   ``file_heads`` and deletes the intent;
7. the events are appended to ``trade_log.jsonl`` (fsync) and the head file is rewritten.

`Journal.recover` (run whenever a journal is opened for writing) finishes whatever a crash
interrupted: an intent whose files already hold the new content is recorded; one whose
files still hold the old content is rolled forward by applying its patch; one whose files
changed otherwise is abandoned with an audited reason. A JSONL file that lags SQLite, or
ends in a torn line, is repaired from SQLite, which is the journal of record.
"""

from __future__ import annotations

import contextlib
import copy as copy_module
import dataclasses
import hashlib
import logging
import os
import re
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from vanta_tui.core.clock import Clock, utc_now
from vanta_tui.core.codec import data_sha, dumps_canonical, dumps_compact, dumps_pretty, parse_json
from vanta_tui.core.models import FollowersFile, Order, QueueFile, StateFileModel, VaultFile
from vanta_tui.core.models.queue import OrderLentError, lend_orders, return_orders
from vanta_tui.core.state_files import DEPENDS_ON, Reference, StateKind, cross_check
from vanta_tui.store.errors import (
    JournalFileError,
    JournalIntegrityError,
    LockTimeout,
    Problem,
    StateFileError,
    StoreError,
    WriteRefused,
)
from vanta_tui.store.journal import anchor, patches
from vanta_tui.store.journal.anchor import IntegrityProblem
from vanta_tui.store.journal.db import (
    JournalDB,
    empty_db,
    open_db,
    open_db_read_only,
    sqlite_has_events,
)
from vanta_tui.store.journal.events import (
    GENESIS_HASH,
    Event,
    EventDraft,
    canonical_from_row,
    event_ts,
    line_with_hash,
    make_event,
)
from vanta_tui.store.journal.projection import Projection, Projector, registered
from vanta_tui.store.journal.projection import read as read_projection
from vanta_tui.store.journal.redact import redact_payload
from vanta_tui.store.loader import (
    LoadedFile,
    file_reuse,
    kind_of,
    known_sha,
    parse_model,
    publish,
    read_bytes,
    read_hashed,
    render_queue,
    shared_load,
    state_path,
)
from vanta_tui.store.locks import PathLock
from vanta_tui.store.postgres.feed import Announcer, Change, changes_url, origin
from vanta_tui.store.postgres.location import (
    JOURNAL_URL_ENV,
    LOCATION_NAME,
    journal_url,
    read_location,
)
from vanta_tui.store.spans import Spans
from vanta_tui.store.writer import (
    atomic_replace,
    file_lock,
    lock_wait,
    remove_stale_temps,
    render,
)

log = logging.getLogger(__name__)

FROM_ENVIRONMENT = "$VANTA_JOURNAL_URL"
"""`Journal`'s default ``url``: where `journal_url` says."""
DB_NAME = "vanta.db"
LOG_NAME = "trade_log.jsonl"
HEAD_NAME = "trade_log.head"

_KIND_ORDER = list(StateKind)
_BY_FILENAME = {k.filename: k for k in StateKind}


@dataclass
class Plan:
    """What an action wants: new contents for some files, and the events that explain them."""

    models: dict[StateKind, StateFileModel]
    events: list[EventDraft]
    result: Any = None


@dataclass
class ActResult:
    events: list[Event]
    models: dict[StateKind, StateFileModel]
    """The models the plan wrote (its own copies); empty for an action that lent its orders
    (`Journal.act` ``lend_orders``)."""
    result: Any = None


@dataclass
class RecoveryReport:
    completed: list[str] = field(default_factory=list)
    rolled_forward: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    jsonl_lines_restored: int = 0
    jsonl_torn_bytes: int = 0
    temps_removed: list[str] = field(default_factory=list)
    """Temp files of killed writes that were cleaned up."""
    problem: IntegrityProblem | None = None
    """Set when the chain is behind or disagrees with its anchors: nothing was repaired."""
    waiting: list[str] = field(default_factory=list)
    """Files left for later because another program held their lock."""

    @property
    def anything(self) -> bool:
        return bool(
            self.completed
            or self.rolled_forward
            or self.abandoned
            or self.jsonl_lines_restored
            or self.jsonl_torn_bytes
        )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class _Seen:
    """A state file's sha256, its parsed JSON and its model (and a queue's orders' texts, once
    the journal has written it). Never handed out: neither is changed after it is made
    (actions get `private_model` copies)."""

    sha: str
    raw: Any
    model: StateFileModel
    source: tuple[str, Spans] | None = None
    """A queue as the loader read it: its text and the places of its orders, whose pretty
    texts a first render takes from it (`render_queue`)."""

    def private_model(self) -> StateFileModel:
        model = self.model
        if isinstance(model, QueueFile):
            copy = model.model_copy()
            copy.__dict__["orders"] = [_order_copy(o) for o in model.orders]
            return copy
        copied = _deep_copy(model)
        assert isinstance(copied, type(model))
        return copied

    def render(self, new: StateFileModel, ref: Reference) -> tuple[bytes, _Seen, str]:
        """``new`` (a changed copy of this file): the bytes to write, the file as the journal
        will then know it (checked to load back), and the sha256 of its data's canonical
        text. A queue's unchanged orders are neither rendered nor validated again."""
        if isinstance(new, QueueFile) and isinstance(self.model, QueueFile):
            done = render_queue(new, self.model, self.raw, ref, self.source)
            source = None
            if done.spans is not None:
                source = (done.data.decode("utf-8"), done.spans)
            seen = _Seen(_sha(done.data), done.raw, done.model, source)
            return done.data, seen, done.data_sha
        data = render(new)
        keep: list[Any] = []
        kind = kind_of(type(new))
        model = parse_model(kind, data, ref, self.reuse(), keep=keep, ours=True)
        return data, _Seen(_sha(data), keep[0], model), data_sha(keep[0])

    def loaded(self, kind: StateKind, size: int) -> LoadedFile[Any] | None:
        """This file as the loader would give it (the same model and parsed JSON): what
        the other readers of this process take after the journal wrote it (`publish`).
        None for a queue whose orders' places are not known (written otherwise than
        `member_spans` counts): the loader parses it, so that its next load can go by
        difference."""
        if kind is not StateKind.QUEUE:
            return LoadedFile(kind, self.model, self.sha, size, self.reuse())
        if self.source is None:
            return None
        text, spans = self.source
        return LoadedFile(kind, self.model, self.sha, size, None, text, spans, self.raw)

    def reuse(self) -> dict[str, Any] | None:
        """Unchanged orders of the queue, and unchanged entries of the portfolio and PnL,
        skip validation (see `parse_model`)."""
        return file_reuse(kind_of(type(self.model)), self.model, self.raw)


_new_order = Order.__new__
_set = object.__setattr__
_ORDER_FIELDS = len(Order.model_fields)


def _order_copy(order: Order) -> Order:
    """A shallow copy (what ``model_copy`` makes, without its generic steps): every field of
    an order is immutable (``reason_vector`` is a tuple), so sharing the values is safe, and
    an order the plan did not change still holds the very same objects (`same_order`)."""
    copy = _new_order(Order)
    _set(copy, "__dict__", order.__dict__.copy())
    extra = order.__pydantic_extra__
    _set(copy, "__pydantic_extra__", None if extra is None else extra.copy())
    fields_set = order.__pydantic_fields_set__
    # Setting a field adds its name to this set: when it already holds every field (an
    # order read from a file the desk wrote does), nothing can change it, and the copy
    # shares it (at 10,000 orders, 12 MB less per action on the queue).
    if len(fields_set) != _ORDER_FIELDS:
        fields_set = fields_set.copy()
    _set(copy, "__pydantic_fields_set__", fields_set)
    private = order.__pydantic_private__
    _set(copy, "__pydantic_private__", None if private is None else dict(private))
    return copy


def _deep_copy(value: Any) -> Any:
    """A deep copy of a state file's model: every model, dict, list and set copied, the
    immutable values (numbers, strings, times, enums) shared. What ``model_copy(deep=True)``
    makes, without `copy.deepcopy`'s generic steps (a memo and a reduce per object): at 1,000
    accounts' portfolio and PnL, that was most of an executor's recording."""
    kind: Any = type(value)
    if isinstance(value, BaseModel):
        copy = kind.__new__(kind)
        _set(copy, "__dict__", {k: _deep_copy(v) for k, v in value.__dict__.items()})
        extra = value.__pydantic_extra__
        _set(copy, "__pydantic_extra__", None if extra is None else _deep_copy(extra))
        _set(copy, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        private = value.__pydantic_private__
        _set(copy, "__pydantic_private__", None if private is None else _deep_copy(private))
        return copy
    if kind is dict:
        return {k: _deep_copy(v) for k, v in value.items()}
    if kind is list:
        return [_deep_copy(v) for v in value]
    if kind is tuple:
        return tuple(_deep_copy(v) for v in value)
    if kind is set:
        return set(value)
    if kind in _IMMUTABLE or isinstance(value, Enum):
        return value
    return copy_module.deepcopy(value)  # anything else: the generic way


_IMMUTABLE = frozenset({str, int, float, bool, Decimal, datetime, date, type(None), bytes})


class _PrivateCopies(dict[StateKind, StateFileModel]):
    """The models a plan gets: each file's private copy made when the plan first reads it
    (a file the plan only may change, such as the portfolio when no answer brings a fill,
    is not copied at all).

    With ``lend_orders``, the queue's copy holds the journal's own orders, lent read-only
    (`lend_orders`: setting a field of one raises): the plan takes its own copy of each order
    it changes with `own_order`. At 10,000 orders an action that changes a few of them no
    longer copies the others (the executor's mark before a send)."""

    def __init__(self, seen: Mapping[StateKind, _Seen], lend_orders: bool = False) -> None:
        super().__init__()
        self._seen = seen
        self._lend = lend_orders
        self._given_back = False
        self.lent: _LentQueue | None = None

    def __missing__(self, kind: StateKind) -> StateFileModel:
        if kind not in self._seen:
            raise KeyError(kind)
        seen = self._seen[kind]
        if self._lend and isinstance(seen.model, QueueFile):
            if self._given_back:
                raise RuntimeError("the plan is over: its lent queue cannot be made now")
            queue = seen.model.model_copy()
            queue.__dict__["orders"] = list(seen.model.orders)
            self.lent = _LentQueue(queue)
            self[kind] = queue
            return queue
        model = self[kind] = seen.private_model()
        return model

    def get(self, kind: StateKind, default: Any = None) -> Any:
        return self[kind] if kind in self._seen else default

    def __contains__(self, kind: object) -> bool:
        return kind in self._seen

    def give_back(self) -> None:
        self._given_back = True
        if self.lent is not None:
            lent, self.lent = self.lent, None
            lent.give_back()


_LENT_QUEUES: dict[int, _LentQueue] = {}
"""The queues of the plans running now whose orders are lent (by the queue's id)."""


class _LentQueue:
    """A plan's queue whose orders are the journal's, lent read-only until `give_back`; the
    ones the plan owns (`own_order`) are its copies, put in their places."""

    def __init__(self, queue: QueueFile) -> None:
        self.queue = queue
        self.lent = list(queue.orders)
        self.owned: dict[int, Order] = {}
        self._places: dict[int, int] | None = None
        lend_orders(self.lent)
        _LENT_QUEUES[id(queue)] = self

    def own(self, order: Order) -> Order:
        copy = self.owned.get(id(order))
        if copy is not None:
            return copy
        if self._places is None:
            self._places = {id(o): i for i, o in enumerate(self.lent)}
        if id(order) not in self._places:
            return order  # not one of the lent orders (the plan's own, new or copied)
        place = self._places[id(order)]
        orders = self.queue.orders
        if place >= len(orders) or orders[place] is not order:
            # The plan moved the orders (added or removed some first): found where it is.
            place = next((i for i, o in enumerate(orders) if o is order), -1)
        copy = self.owned[id(order)] = _order_copy(order)
        if place >= 0:  # else the plan took it out of the queue: its copy is its own
            orders[place] = copy
        return copy

    def give_back(self) -> None:
        """The plan is over: its orders are no longer lent. Raises `OrderLentError` if an
        order the plan owned is in its queue itself, not its copy (the copy's changes would
        be lost)."""
        _LENT_QUEUES.pop(id(self.queue), None)
        return_orders(self.lent)
        if self.owned:
            there = set(map(id, self.queue.orders))
            back = [o for o in self.lent if id(o) in self.owned and id(o) in there]
            if back:
                raise OrderLentError(
                    f"order {back[0].order_id}: the plan put the order back in the queue, "
                    "not its own copy (own_order), whose changes would be lost"
                )


def own_order(queue: QueueFile, order: Order) -> Order:
    """The plan's own copy of ``order`` of ``queue``, to change: in a plan whose orders are
    lent (`Journal.act` with ``lend_orders``), a copy made once and put in the order's place
    in ``queue.orders``; else (the plan's queue is its own copy already) ``order`` itself.
    Code that changes orders calls it in either kind of plan."""
    lent = _LENT_QUEUES.get(id(queue))
    return order if lent is None else lent.own(order)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_odd_file(path: Path) -> None:
    """A journal file that is a symlink, a directory or anything but a regular file is
    refused before anything is read from it or appended to it (a trade_log.jsonl symlink
    once had journal lines appended to a file outside the state directory)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise JournalFileError(
            f"{path.name} is a symlink (to {os.readlink(path)}); the journal writes only to "
            "its own files in the state directory: replace it with the file itself"
        )
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise JournalFileError(f"{path.name} is {kind}; move it aside")


class Journal:
    """The journal of one state directory. Safe to use from several processes at once."""

    def __init__(
        self,
        state_dir: Path,
        *,
        clock: Clock = utc_now,
        read_only: bool = False,
        url: str | None = FROM_ENVIRONMENT,
    ) -> None:
        """``url``: the PostgreSQL journal's (None: ``vanta.db``; default: `journal_url`,
        from the environment)."""
        self.state_dir = state_dir
        self.clock = clock
        self.read_only = read_only
        """Opened with SQLite's ``mode=ro``: reads only, creates nothing, works where this
        user cannot write; every write is refused."""
        self.db_path = state_dir / DB_NAME
        self.log_path = state_dir / LOG_NAME
        self.head_path = state_dir / HEAD_NAME
        self.checkpoint_path = state_dir / anchor.CHECKPOINTS_NAME
        # The lock file is the contract; trade_log.jsonl's inode is the anchor a removed
        # lock file cannot take away (not vanta.db: closing a second descriptor of it would
        # drop SQLite's own POSIX locks in this process).
        self._lock = PathLock(state_dir / f"{DB_NAME}.lock", self.log_path, "the journal", 60)
        for path in (self.db_path, self.log_path, self.head_path, self.checkpoint_path):
            _refuse_odd_file(path)
        self.projector = Projector(registered())
        """The derived tables this journal keeps (`projection`): those registered when it
        was opened."""
        projections = self.projector.projections
        self.url = journal_url() if url == FROM_ENVIRONMENT else url
        """The PostgreSQL journal's URL (issue 25), or None: ``vanta.db``."""
        self.db_name = DB_NAME if self.url is None else "the PostgreSQL journal"
        """How messages name the journal's database."""
        if self.url is None:
            note = read_location(state_dir)
            if note is not None:
                raise JournalFileError(
                    f"this directory's journal is in PostgreSQL ({note.get('url')}, as "
                    f"{LOCATION_NAME} says): set {JOURNAL_URL_ENV} (or --journal) to its URL"
                )
            moved = [] if self.db_path.exists() else sorted(state_dir.glob(f"{DB_NAME}.migrated-*"))
            if moved:
                raise JournalFileError(
                    f"this directory's journal was being moved to PostgreSQL ({moved[-1].name} "
                    f"is kept, {LOCATION_NAME} was not written): open it with "
                    f"{JOURNAL_URL_ENV} (or --journal) set to the database it was copied to, "
                    f"which finishes the move; or rename {moved[-1].name} back to {DB_NAME}"
                )
            try:
                self.db = (
                    open_db_read_only(self.db_path, projections)
                    if read_only
                    else open_db(self.db_path, projections)
                )
            except sqlite3.DatabaseError as exc:  # OperationalError too: not an SQLite file
                raise JournalFileError(
                    f"{DB_NAME} cannot be opened as the journal ({exc}); move it aside to "
                    "start a new journal, or put back a good copy"
                ) from None
        else:
            self.db = self._open_postgres(self.url, projections)
        self.key = anchor.audit_key()
        """The checkpoint signing key (never stored beside the journal), or None."""
        self.checkpoint_every = anchor.CHECKPOINT_EVERY
        self._checkpointed: int | None = None
        """The seq of the last checkpoint as this journal last read or wrote it."""
        self._wrote = False
        self.problem: IntegrityProblem | None = None
        """What the last integrity check found (it runs before every write)."""
        self._seen: dict[StateKind, _Seen] = {}
        """Each file as this journal last read or wrote it (keyed by its sha256): an action
        on an unchanged file skips parsing it, and validates only the orders it changed."""
        self._published: dict[StateKind, LoadedFile[Any]] = {}
        """The files this journal wrote last, as the other readers of the process take them
        (`loader.publish`; the loader holds them weakly, this keeps them)."""
        self._changes_url = None if read_only else changes_url()
        self._announcer: Announcer | None = None
        """Where each change this journal records is announced to the desks (LISTEN/NOTIFY,
        `store.postgres.feed`), when `VANTA_CHANGES_URL` is set."""

    def _open_postgres(self, url: str, projections: Sequence[Projection]) -> JournalDB:
        """The journal in PostgreSQL (`store.postgres.journal_db`); refused where this
        directory already has a journal in ``vanta.db`` (copy it with ``audit migrate``)."""
        from vanta_tui.store.postgres.journal_db import open_journal
        from vanta_tui.store.postgres.location import redact_url

        if sqlite_has_events(self.db_path):
            raise JournalFileError(
                f"this directory's journal is in {DB_NAME}, and {JOURNAL_URL_ENV} names a "
                f"PostgreSQL journal: copy it there first (vanta-tui audit migrate --to URL), "
                f"or unset {JOURNAL_URL_ENV}"
            )
        try:
            conn = open_journal(url, self.state_dir, projections, read_only=self.read_only)
        except sqlite3.DatabaseError as exc:
            raise JournalFileError(
                f"the PostgreSQL journal at {redact_url(url)} cannot be opened ({exc})"
            ) from None
        if conn is None:
            return empty_db(projections)
        return JournalDB(cast(sqlite3.Connection, conn))

    # ----------------------------------------------------------------- plumbing

    def namespace(self) -> str | None:
        """This journal's name everywhere it is read: its first event's hash (None before
        its first event)."""
        first = self._hash_at(1)
        return None if first is None else f"journal:{first}"

    def _announce(self, changes: Sequence[Change]) -> None:
        """Tell the listening desks which files changed (never fails: `Announcer`)."""
        if self._changes_url is None or not changes:
            return
        if self._announcer is None:
            namespace = self.namespace()
            if namespace is None:
                return
            self._announcer = Announcer(self._changes_url, namespace)
        self._announcer.send(changes)

    def close(self) -> None:
        """Close; a journal that wrote events signs a checkpoint at its head first."""
        try:
            if self._wrote and self.key is not None:
                with self._locked():
                    if self._integrity_locked() is None:
                        self._checkpoint_locked(force=True)
        finally:
            self.db.conn.close()
            if self._announcer is not None:
                self._announcer.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self.read_only:
            raise StoreError("the journal is open read-only: nothing is written")
        if not self.log_path.exists():
            # The anchor is this file's inode: make it before the first lock (empty is valid).
            os.close(
                os.open(
                    self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600
                )
            )
        with self._lock.hold():
            # (Between hosts, the lock is also PostgreSQL's when the journal is there:
            # `PathLock`, `store.postgres.remote_locks`.)
            if self.url is None and (self.state_dir / LOCATION_NAME).exists():
                # Moved to PostgreSQL (`audit migrate`) while this process had it open.
                raise JournalFileError(
                    f"this directory's journal moved to PostgreSQL ({LOCATION_NAME}): "
                    f"nothing was written; start again with {JOURNAL_URL_ENV} set"
                )
            yield

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            self.projector.forget()  # its marks went back with the transaction
            raise
        conn.execute("COMMIT")

    def head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def set_meta(self, key: str, value: str) -> None:
        """Operational notes (last verify, executor heartbeat): not part of the chain (not
        kept by a read-only journal)."""
        if self.read_only:
            return
        with self.db.conn:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def rows_of(
        self,
        projection: Projection,
        *,
        where: Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows of a derived table (see `projection.read`): how the layer that defined a
        projection reads it, without SQL of its own."""
        return read_projection(self.db.conn, projection, where=where, columns=columns, limit=limit)

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def file_head(self, kind: StateKind) -> str | None:
        row = self.db.execute(
            "SELECT sha256 FROM file_heads WHERE file = ?", [kind.filename]
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    # ----------------------------------------------------------------- appending

    def _derive_parents(
        self,
        draft: EventDraft,
        batch: Sequence[Event],
        last_in_batch: dict[str, int],
        in_journal: Mapping[str, int],
    ) -> list[int]:
        """The events a draft follows from: given ones, else the order's previous event (in
        this batch, else in the journal: ``in_journal`` from `_last_seqs_of`) and then its
        parent order's last one."""
        parents: list[int] = [batch[i].seq for i in draft.batch_parents]
        if draft.parents is not None:
            return sorted(set(parents + draft.parents))
        if draft.order_id:
            prior = last_in_batch.get(draft.order_id)
            if prior is not None:
                parents.append(prior)
            else:
                seq = in_journal.get(draft.order_id)
                if seq is not None:
                    parents.append(seq)
                parent_order = (draft.payload.get("order") or {}).get("parent_id")
                if parent_order:
                    seq = last_in_batch.get(parent_order) or in_journal.get(parent_order)
                    if seq is not None:
                        parents.append(seq)
        return sorted(set(parents))

    def _last_seqs_of(self, drafts: Sequence[EventDraft]) -> dict[str, int]:
        """Each order's last event in the journal, for the orders of ``drafts`` and their
        parents: one query for the batch (one per order was most of recording a
        1,000-order fan-out)."""
        wanted: set[str] = set()
        for draft in drafts:
            if draft.order_id and draft.parents is None:
                wanted.add(draft.order_id)
                parent_order = (draft.payload.get("order") or {}).get("parent_id")
                if parent_order:
                    wanted.add(parent_order)
        found: dict[str, int] = {}
        ids = sorted(wanted)
        for start in range(0, len(ids), 500):  # SQLite's limit on bound values is higher
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for order_id, seq in self.db.execute(
                f"SELECT order_id, MAX(seq) FROM events WHERE order_id IN ({marks}) "
                "GROUP BY order_id",
                chunk,
            ).fetchall():
                found[order_id] = int(seq)
        return found

    def _append_locked(
        self, actor: str, drafts: Sequence[EventDraft], *, ts: str | None = None,
        intent_id: str | None = None, redacted: bool = False,
    ) -> list[Event]:  # fmt: skip
        """Append drafts to the chain (caller holds the journal lock). SQLite first, then JSONL."""
        self._refuse_if_broken()
        stamp = ts or event_ts(self.clock())
        events: list[Event] = []
        last_in_batch: dict[str, int] = {}
        with self._tx():
            # The head is read inside the write transaction: on PostgreSQL under its append
            # lock, so writers on several hosts chain one after another, never on one head.
            seq, prev = self.head()
            # Derived tables a process without their projection left behind catch up first.
            self.projector.catch_up(self.db.conn, seq)
            in_journal = self._last_seqs_of(drafts)
            for draft in drafts:
                seq += 1
                payload = draft.payload if redacted else redact_payload(draft.payload)
                event = make_event(
                    seq=seq,
                    ts=stamp,
                    actor=actor,
                    draft=draft,
                    parents=self._derive_parents(draft, events, last_in_batch, in_journal),
                    payload=payload,
                    prev_hash=prev,
                )
                self._update_file_heads(event)
                events.append(event)
                if event.order_id:
                    last_in_batch[event.order_id] = event.seq
                prev = event.hash
            self._insert_events(events)
            self.projector.apply(self.db.conn, events)
            if intent_id is not None:
                self.db.execute("DELETE FROM intents WHERE intent_id = ?", [intent_id])
            if self.url is not None:
                # Between hosts: the journal's lock still ours in PostgreSQL (a session
                # ended under it lets another host in), else nothing is committed and the
                # action's intent is finished at the next open.
                self._lock.check()
        self._append_lines(events)
        self._write_head(events[-1].seq, events[-1].hash)
        self._wrote = True
        self._checkpoint_locked(force=False)
        for event in events:
            log.info(
                "journal %s #%d %s by %s", event.action, event.seq, event.order_id or "", actor
            )
        return events

    def _insert_events(self, events: Sequence[Event]) -> None:
        self.db.conn.executemany(
            "INSERT INTO events (seq, ts, actor, action, vault_id, order_id, follower_id, "
            "payload, parents, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [event.row() for event in events],
        )

    def _update_file_heads(self, event: Event) -> None:
        """``file_heads``: what the journal last saw of each file (the store's own table;
        derived tables are projections, see `projection`)."""
        payload = event.payload
        execute = self.db.execute
        for change in payload.get("changes") or []:
            execute(
                "INSERT OR REPLACE INTO file_heads (file, sha256, version, seq) VALUES (?,?,?,?)",
                [change["file"], change["after"], change["version"], event.seq],
            )
        if event.action in {"state.external_change", "journal.started"}:
            files = payload.get("files") or {payload.get("file"): payload}
            for name, info in files.items():
                execute(
                    "INSERT OR REPLACE INTO file_heads (file, sha256, version, seq) "
                    "VALUES (?,?,?,?)",
                    [name, (info or {}).get("sha256"), (info or {}).get("version"), event.seq],
                )

    def _append_lines(self, events: Sequence[Event]) -> None:
        data = "".join(e.to_line() + "\n" for e in events).encode("utf-8")
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_head(self, seq: int, digest: str) -> None:
        text = dumps_canonical({"seq": seq, "hash": digest}) + "\n"
        atomic_replace(self.head_path, text.encode("utf-8"))

    def read_head_file(self) -> tuple[int, str] | None:
        try:
            data = parse_json(self.head_path.read_text(encoding="utf-8"))
            return int(data["seq"]), str(data["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _store_blob(self, kind: StateKind, data: bytes, digest: str) -> None:
        """Keep ``data`` (whose sha256 is ``digest``) in ``blobs`` once per distinct sha256
        (a content already kept is not handed to SQLite again: 8 MB for a queue of 10,000
        orders)."""
        known = self.db.execute("SELECT 1 FROM blobs WHERE sha256 = ?", [digest]).fetchone()
        if known is None:
            self.db.execute(
                "INSERT OR IGNORE INTO blobs (sha256, file, size, content) VALUES (?,?,?,?)",
                [digest, kind.filename, len(data), data],
            )

    def blob(self, digest: str) -> bytes | None:
        row = self.db.execute("SELECT content FROM blobs WHERE sha256 = ?", [digest]).fetchone()
        return bytes(row[0]) if row else None

    # ----------------------------------------------------------------- public API

    def record(self, actor: str, drafts: Sequence[EventDraft]) -> list[Event]:
        """Record events that change no state file (desk opened, alarm acknowledged...)."""
        with self._locked():
            self.problem = self._integrity_locked()
            return self._append_locked(actor, drafts)

    # ----------------------------------------------------------------- anchors

    def _refuse_if_broken(self) -> None:
        if self.problem is not None:
            raise JournalIntegrityError(str(self.problem))

    def integrity(self) -> IntegrityProblem | None:
        """Whether the chain is behind, or disagrees with, its recorded head, its last
        checkpoint or trade_log.jsonl (read only; the check every write runs first)."""
        return self._integrity_locked(record=False)

    def _hash_at(self, seq: int) -> str | None:
        row = self.db.execute("SELECT hash FROM events WHERE seq = ?", [seq]).fetchone()
        return str(row[0]) if row else None

    def _integrity_locked(self, *, record: bool = True) -> IntegrityProblem | None:
        """The anchors against the chain in vanta.db. A legitimate crash only ever leaves
        an anchor *behind* the chain at a hash the chain has (SQLite is written first)."""
        db_seq, db_hash = self.head()
        jsonl_seq, _ = _last_jsonl_seq(self.log_path)
        problem: IntegrityProblem | None = None
        recorded = self.read_head_file()
        older = f"an older {self.db_name} was put back (a rollback): trade_log.jsonl reaches"
        older += f" seq {jsonl_seq}"
        if recorded is None and self.head_path.exists():
            problem = IntegrityProblem("head", f"{HEAD_NAME} does not read")
        elif recorded is None and db_seq > 1:
            problem = IntegrityProblem(
                "head", f"{HEAD_NAME} is missing while the chain has {db_seq} events"
            )
        elif recorded is not None and recorded[0] > db_seq:
            kind = "rollback" if jsonl_seq > db_seq else "truncated"
            why = older if kind == "rollback" else "events were removed from the end"
            problem = IntegrityProblem(
                kind,
                f"{HEAD_NAME} records seq {recorded[0]} ({recorded[1][:12]}…) but the chain in "
                f"{self.db_name} ends at seq {db_seq}: {why}",
            )
        elif recorded is not None and self._hash_at(recorded[0]) != recorded[1]:
            problem = IntegrityProblem(
                "rewritten",
                f"{HEAD_NAME} records hash {recorded[1][:12]}… at seq {recorded[0]} but the "
                f"chain has {str(self._hash_at(recorded[0]))[:12]}… there: history was rewritten",
            )
        elif jsonl_seq > db_seq:
            problem = IntegrityProblem(
                "rollback", f"the chain in {self.db_name} ends at seq {db_seq}: {older}"
            )
        if problem is None:
            # The last checkpoint (read from the end), vanta.db's trace of it, and with a
            # key: no more unsigned events than a crash explains (see `anchor.check_tail`).
            problem = anchor.check_tail(
                self.checkpoint_path, db_seq, self._hash_at, self.key,
                anchor.read_trace(self.db.conn), anchor.unsigned_limit(self.checkpoint_every),
                rolled_back=older if jsonl_seq > db_seq else None,
            )  # fmt: skip
            last = anchor.last_checkpoint(self.checkpoint_path)[1]  # cached: no read
            self._checkpointed = last.seq if last is not None else 0
        del db_hash
        if record:
            self.problem = problem
        return problem

    def _checkpoint_locked(self, *, force: bool) -> None:
        """Sign the head (caller holds the lock) when `checkpoint_every` events have passed
        since the last checkpoint, or when ``force`` and anything has."""
        if self.key is None:
            return
        seq, digest = self.head()
        if self._checkpointed is not None and seq - self._checkpointed < (
            1 if force else self.checkpoint_every
        ):
            return
        _, last = anchor.last_checkpoint(self.checkpoint_path)  # its last line only
        done = last.seq if last is not None else 0
        self._checkpointed = done
        if seq <= done or (not force and seq - done < self.checkpoint_every):
            return
        checkpoint = anchor.make_checkpoint(
            0, seq, digest, event_ts(self.clock()), self.key,
            last.mac if last is not None else "",
        )  # fmt: skip
        anchor.append_checkpoint(self.checkpoint_path, checkpoint)
        self._checkpointed = seq
        # The trace in vanta.db: a checkpoint file removed or cut short is seen (after the
        # line, so a crash between the two leaves the file ahead, never behind).
        self.set_meta(anchor.TRACE_META, anchor.trace_text(checkpoint))

    def anchor_text(self) -> str:
        """The head as ``SEQ:HASH``, for the operator to keep outside the machine."""
        seq, digest = self.head()
        return f"{seq}:{digest}"

    def repair(self, actor: str, reason: str) -> Event | None:
        """Accept a chain that is behind or disagrees with its anchors, on an operator's
        word: the disagreeing files are kept beside the journal as evidence
        (``<name>.before-repair-<time>``), trade_log.jsonl is rebuilt from vanta.db, and a
        ``journal.repaired`` event records what was found and why it was accepted. Returns
        None when there is nothing to repair."""
        with contextlib.ExitStack() as stack:
            for kind in _KIND_ORDER:
                stack.enter_context(file_lock(self.state_dir, kind))
            stack.enter_context(self._locked())
            problem = self._integrity_locked()
            if problem is None:
                return None
            stamp = self.clock().strftime("%Y%m%dT%H%M%SZ")
            recorded = self.read_head_file()
            trace = anchor.read_trace(self.db.conn)
            kept: list[str] = []
            old_checkpoints: Path | None = None
            for path in (self.log_path, self.checkpoint_path, self.head_path):
                moved = anchor.move_aside(path, stamp)
                if moved is not None:
                    kept.append(moved.name)
                    if path == self.checkpoint_path:
                        old_checkpoints = moved
            # The checkpoints that still hold for the chain stay (the file as it was is kept
            # aside): the signed chain goes on from the last of them, not from scratch.
            still = anchor.keep_valid(
                self.db.conn, old_checkpoints, self.checkpoint_path, self.key,
                [str(h) for (h,) in self.db.execute("SELECT hash FROM events ORDER BY seq")],
            )  # fmt: skip
            rows = self.db.execute(
                "SELECT seq, ts, actor, action, vault_id, order_id, follower_id, payload, "
                "parents, prev_hash, hash FROM events ORDER BY seq"
            )
            fd = os.open(
                self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600
            )
            try:
                for row in rows:
                    line = line_with_hash(canonical_from_row(tuple(row[:10])), row[10]) + "\n"
                    os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            db_seq, db_hash = self.head()
            self.problem = None
            self._checkpointed = None
            payload = {
                "kind": problem.kind,
                "found": problem.message,
                "reason": reason,
                "recorded_head": (
                    {"seq": recorded[0], "hash": recorded[1]} if recorded is not None else None
                ),
                "chain_head": {"seq": db_seq, "hash": db_hash},
                "kept": kept,
                "checkpoint_trace": (
                    {"seq": trace[0], "mac": trace[1]} if trace is not None else None
                ),
                "checkpoints_kept": len(still),
                "signed_from": ({"seq": still[-1].seq, "mac": still[-1].mac} if still else None),
            }
            event = self._append_locked(actor, [EventDraft("journal.repaired", payload=payload)])
            self._checkpoint_locked(force=True)
            return event[0]

    def start(self) -> RecoveryReport:
        """Open for writing: recover from any crash, snapshot the files if the journal is new,
        and record changes other programs made while nobody was watching."""
        # A file another program holds is left for later (the first action that takes its
        # lock recovers and records it), so one held lock does not stop the rest.
        waiting: list[str] = []
        # A new journal snapshots every file: it waits for each as any action would (a
        # program appending to the queue in a loop must not make it give up after 1 s).
        wait = lock_wait() if self.count() == 0 else min(lock_wait(), 1.0)
        with contextlib.ExitStack() as stack:
            locked: list[StateKind] = []
            for kind in _KIND_ORDER:
                try:
                    stack.enter_context(file_lock(self.state_dir, kind, timeout=wait))
                except LockTimeout as exc:
                    waiting.append(str(exc))
                    continue
                locked.append(kind)
            stack.enter_context(self._locked())
            if waiting and self.count() == 0:
                raise LockTimeout(f"{waiting[0]} (a new journal snapshots every file)")
            report = self._recover_locked(only=set(locked))
            report.waiting = waiting
            if report.problem is not None:
                return report
            # Temp files of writers killed midway (their process is gone): ours to remove.
            report.temps_removed = remove_stale_temps(
                self.state_dir, [kind.filename for kind in locked] + [HEAD_NAME]
            )
            self._catch_up_locked()
            if self.count() == 0:
                self._snapshot_locked()
            else:
                self._note_external_locked(locked)
        return report

    def _catch_up_locked(self) -> int:
        """Bring the derived tables up to the head (the caller holds the journal lock)."""
        if not self.projector.projections:
            return 0
        with self._tx():
            return self.projector.catch_up(self.db.conn, self.head()[0])

    def rebuild_projections(self, tables: Iterable[str] | None = None) -> int:
        """Empty the derived tables (``tables``: those only) and fill them again from every
        event of the chain; returns how many events were read."""
        with self._locked(), self._tx():
            return self.projector.rebuild(self.db.conn, tables)

    def note_external_changes(self, kinds: Iterable[StateKind] | None = None) -> list[Event]:
        """Record as ``state.external_change`` any file that differs from what the journal saw."""
        chosen = sorted(set(kinds or _KIND_ORDER), key=_KIND_ORDER.index)
        with contextlib.ExitStack() as stack:
            for kind in chosen:
                stack.enter_context(file_lock(self.state_dir, kind))
            stack.enter_context(self._locked())
            if self._integrity_locked() is not None:
                return []  # nothing is recorded until an operator repairs the journal
            return self._note_external_locked(chosen)

    def _current_bytes(self, kind: StateKind) -> bytes | None:
        try:
            return read_bytes(self.state_dir, kind)
        except StateFileError:
            return None

    def _seen_now(self, kind: StateKind) -> _Seen:
        """The file as it is now, not read when it is as this process last read it and this
        journal knows its model; raises `StateFileError` if it does not load."""
        unchanged = known_sha(self.state_dir, kind)
        known = self._seen.get(kind)
        if unchanged is not None and known is not None and known.sha == unchanged:
            return known
        data, digest = read_hashed(self.state_dir, kind)
        return self._seen_file(kind, data, digest)

    def _snapshot_locked(self) -> list[Event]:
        files: dict[str, Any] = {}
        with self._tx():
            for kind in _KIND_ORDER:
                try:
                    data, digest = read_hashed(self.state_dir, kind)
                except StateFileError:
                    files[kind.filename] = None
                    continue
                files[kind.filename] = self._file_info(kind, data, store=True, digest=digest)
        return self._append_locked(
            "system", [EventDraft("journal.started", payload={"files": files})]
        )

    def _file_info(
        self, kind: StateKind, data: bytes, *, store: bool, digest: str | None = None
    ) -> dict[str, Any]:
        """The file's sha256 (``digest`` if the caller has it) and version; ``store``: its
        bytes kept in ``blobs``."""
        digest = digest or _sha(data)
        if store:
            self._store_blob(kind, data, digest)
        return {"sha256": digest, "version": file_version(data)}

    def _note_external_locked(
        self,
        kinds: Iterable[StateKind],
        read: dict[StateKind, tuple[bytes | None, str]] | None = None,
    ) -> list[Event]:
        """Record each of ``kinds`` that differs from its head; ``read`` (if given) receives
        the sha256 of each file that could be read, and its bytes unless this journal has
        the model of those very bytes (`known_sha`: the file is as this process last read
        it), for the caller to use."""
        drafts: list[EventDraft] = []
        with self._tx():
            for kind in kinds:
                unchanged = known_sha(self.state_dir, kind)
                if unchanged is not None and unchanged == self.file_head(kind):
                    if read is None:
                        continue
                    mine = self._seen.get(kind)
                    if mine is not None and mine.sha == unchanged:
                        read[kind] = (None, unchanged)  # the caller has its model
                        continue
                    # Else the caller needs the bytes: one read serves the check and the
                    # model (a second read after the check could take in a write the check
                    # never saw).
                data: bytes | None
                now: str | None
                try:
                    data, now = read_hashed(self.state_dir, kind)
                except StateFileError:
                    data, now = None, None
                if read is not None and data is not None and now is not None:
                    read[kind] = (data, now)
                if now == self.file_head(kind):
                    continue
                info: dict[str, Any] = {"file": kind.filename, "sha256": None, "version": None}
                if data is not None:
                    info.update(self._file_info(kind, data, store=True, digest=now))
                drafts.append(EventDraft("state.external_change", payload=info))
        if not drafts:
            return []
        events = self._append_locked("system", drafts)
        self._announce(
            [
                Change(d.payload["file"], d.payload["sha256"] or "", d.payload["version"],
                       events[-1].seq if events else None, origin())
                for d in drafts
            ]
        )  # fmt: skip
        return events

    def _seen_file(self, kind: StateKind, data: bytes, digest: str | None = None) -> _Seen:
        """The file as the journal last parsed it, if ``data`` (whose sha256 is ``digest``,
        if known) is still that; else parsed now."""
        digest = digest or _sha(data)
        known = self._seen.get(kind)
        if known is not None and known.sha == digest:
            return known
        shared = shared_load(self.state_dir, kind, digest)
        if shared is not None:
            # The desk's panes (or an action of this process) loaded these very bytes: their
            # model, not a second one (at 10,000 orders, 40 MB), and the queue's parsed JSON
            # (else parsed now, for the patches; the loader has checked it, duplicate keys
            # included).
            raw = shared.raw
            if raw is None:
                raw = parse_json(data.decode("utf-8"), check_duplicates=False)
            if isinstance(raw, dict):
                source = None
                if shared.text is not None and shared.spans is not None:
                    source = (shared.text, shared.spans)
                self._seen[kind] = _Seen(digest, raw, shared.model, source=source)
                return self._seen[kind]
        keep: list[Any] = []
        model = parse_model(kind, data, None, known.reuse() if known else None, keep=keep)
        # The parsed JSON is not touched by validation; patches are taken from it.
        self._seen[kind] = _Seen(digest, keep[0], model)
        return self._seen[kind]

    def _reference(
        self, kind: StateKind, known: dict[StateKind, StateFileModel | None] | None = None
    ) -> Reference:
        """What `reference_for` gives (the files ``kind`` refers to, each left out if it does
        not load or does not fit the files it refers to), through the file cache; ``known``
        keeps what was found across calls of one action, so each file is read once."""
        known = {} if known is None else known
        for dep in DEPENDS_ON[kind]:
            if dep in known:
                continue
            try:
                model: StateFileModel | None = self._seen_now(dep).model
            except StateFileError:
                model = None
            if model is not None and cross_check(dep, model, self._reference(dep, known)):
                model = None
            known[dep] = model
        vaults, followers = known.get(StateKind.VAULT), known.get(StateKind.FOLLOWERS)
        return Reference(
            vaults=vaults if isinstance(vaults, VaultFile) else None,
            followers=followers if isinstance(followers, FollowersFile) else None,
        )

    def _require_references(
        self,
        kind: StateKind,
        known: dict[StateKind, StateFileModel | None],
        changing: Mapping[StateKind, StateFileModel],
    ) -> None:
        """Refuse to write ``kind`` while a file it refers to does not load (a queue written
        while vault.json is broken could take an order for a vault that does not exist)."""
        for dep in DEPENDS_ON[kind]:
            if known.get(dep) is not None or dep in changing:
                continue
            problems: Sequence[Problem] = ()
            try:  # with its own references: it may load but not fit the files it refers to
                data = read_bytes(self.state_dir, dep)
                parse_model(dep, data, self._reference(dep, known))
            except StateFileError as exc:
                problems = exc.problems
            raise WriteRefused(
                kind.filename,
                f"it refers to {dep.filename}, which does not load now; fix that file first",
                problems,
            )

    def current(self, kind: StateKind) -> StateFileModel:
        """The file's model now (a copy the caller may change), parsed only if it changed
        since this journal last read or wrote it; raises `StateFileError` if it does not
        load."""
        # No lock: the cache only ever gains entries that match the bytes they were made of.
        return self._seen_now(kind).private_model()

    def peek(self, kind: StateKind) -> StateFileModel:
        """The file's model now, as `current` gives it, but the journal's own (no copy): for
        a reader that only reads (the executor's cycle at 10,000 orders), never to be
        changed."""
        return self._seen_now(kind).model

    def act(
        self,
        actor: str,
        kinds: Iterable[StateKind],
        plan: Callable[[dict[StateKind, StateFileModel]], Plan],
        *,
        lend_orders: bool = False,
    ) -> ActResult:
        """Run one audited action over ``kinds``: files and journal change together or not at all.

        ``plan`` receives the current models (private copies, loaded under the locks) and
        returns the new models and the events; it raises `PlanRefused` (the actions'
        ``ActionRefused``) to refuse: nothing is written. With ``lend_orders``, the queue's
        orders are the journal's own, lent read-only for the plan: it changes an order
        through `own_order` (its copy), and setting a field of a lent order raises
        `OrderLentError` (for an action that changes a few orders of a large queue).
        """
        chosen = sorted(set(kinds), key=_KIND_ORDER.index)
        with contextlib.ExitStack() as stack:
            locks = [stack.enter_context(file_lock(self.state_dir, kind)) for kind in chosen]
            stack.enter_context(self._locked())
            self._recover_locked(only=set(chosen))
            self._refuse_if_broken()
            read: dict[StateKind, tuple[bytes | None, str]] = {}
            self._note_external_locked(chosen, read)
            seen: dict[StateKind, _Seen] = {}
            models = _PrivateCopies(seen, lend_orders)
            for kind in chosen:
                # What the external-change check just found (under the same locks): the
                # file's bytes, or only its sha256 when it is as this process last read it.
                data, digest = read.get(kind) or (None, None)
                known = self._seen.get(kind)
                try:
                    if data is None and known is not None and known.sha == digest:
                        seen[kind] = known  # as this journal last read or wrote it
                    else:
                        if data is None:
                            data, digest = read_bytes(self.state_dir, kind), None
                        seen[kind] = self._seen_file(kind, data, digest)
                except StateFileError as exc:
                    raise WriteRefused(
                        kind.filename, "the file on disk does not load", exc.problems
                    ) from None
            # The plan gets its own copies (as it reads them); the journal's stay as the
            # files hold them.
            try:
                planned = plan(models)
            finally:
                models.give_back()
            if not planned.events:
                return ActResult([], {}, planned.result)
            changes: list[dict[str, Any]] = []
            afters: dict[StateKind, bytes] = {}
            written: dict[StateKind, _Seen] = {}
            refs: dict[StateKind, StateFileModel | None] = {}
            for kind, model in planned.models.items():
                if kind not in seen:
                    raise ValueError(f"{kind.filename} changed but was not locked")
                version = seen[kind].model.version + 1  # (not a copy made after give_back)
                new = model.model_copy(update={"version": version})
                ref = self._reference(kind, refs)
                self._require_references(kind, refs, planned.models)
                # Files changed by this same action are referred to as they will be.
                new_vaults = planned.models.get(StateKind.VAULT)
                if isinstance(new_vaults, VaultFile):
                    ref = dataclasses.replace(ref, vaults=new_vaults)
                new_followers = planned.models.get(StateKind.FOLLOWERS)
                if isinstance(new_followers, FollowersFile):
                    ref = dataclasses.replace(ref, followers=new_followers)
                try:
                    data, after, after_data_sha = seen[kind].render(new, ref)
                except StateFileError as exc:
                    raise WriteRefused(
                        kind.filename, "the new content would not load back", exc.problems
                    ) from None
                written[kind] = after
                changes.append(
                    {
                        "file": kind.filename,
                        "version": version,
                        "before": seen[kind].sha,
                        "after": after.sha,
                        "after_data": after_data_sha,
                        "patch": patches.diff(seen[kind].raw, after.raw),
                    }
                )
                afters[kind] = data
            first = planned.events[0]
            first.payload = {**first.payload, "changes": changes}
            ts = event_ts(self.clock())
            intent_id = secrets.token_hex(8)
            for draft in planned.events:
                draft.payload = redact_payload(draft.payload)
            body = {
                "ts": ts,
                "drafts": [_draft_to_dict(d) for d in planned.events],
                "changes": changes,
            }
            for lock in locks:
                lock.check()  # a replaced lock file: someone else may be in; write nothing
            self._lock.check()
            with self._tx():
                self.db.execute(
                    "INSERT INTO intents (intent_id, created, actor, body) VALUES (?,?,?,?)",
                    [intent_id, ts, actor, dumps_compact(body)],
                )
            for kind, data in afters.items():
                atomic_replace(state_path(self.state_dir, kind), data)
                self._seen[kind] = written[kind]
                loaded = written[kind].loaded(kind, len(data))
                if loaded is not None:
                    publish(self.state_dir, loaded)
                    self._published[kind] = loaded
            events = self._append_locked(
                actor, planned.events, ts=ts, intent_id=intent_id, redacted=True
            )
            last = events[-1].seq if events else None
            heard = [Change(c["file"], c["after"], c["version"], last, origin()) for c in changes]
            # A lending action's queue holds the journal's own orders: not handed out.
            result = ActResult(events, {} if lend_orders else planned.models, planned.result)
        self._announce(heard)  # the locks given back first: other writers need not wait
        return result

    # ----------------------------------------------------------------- recovery

    def recover(self) -> RecoveryReport:
        with contextlib.ExitStack() as stack:
            for kind in _KIND_ORDER:
                stack.enter_context(file_lock(self.state_dir, kind))
            stack.enter_context(self._locked())
            return self._recover_locked()

    def _recover_locked(self, only: set[StateKind] | None = None) -> RecoveryReport:
        report = RecoveryReport()
        report.problem = self._integrity_locked()
        if report.problem is not None:
            return report  # the evidence stays as it is; writes are refused
        self._repair_jsonl(report)
        rows = self.db.execute(
            "SELECT intent_id, actor, body FROM intents ORDER BY created"
        ).fetchall()
        for intent_id, actor, body_text in rows:
            body = parse_json(body_text)
            kinds = {_BY_FILENAME[c["file"]] for c in body["changes"]}
            if only is not None and not kinds <= only:
                continue  # its files are not locked by this caller; `start` will finish it
            self._finish_intent(intent_id, actor, body, report)
        return report

    def _finish_intent(
        self, intent_id: str, actor: str, body: dict[str, Any], report: RecoveryReport
    ) -> None:
        pending: list[tuple[StateKind, bytes]] = []
        drafts = [_draft_from_dict(d) for d in body["drafts"]]
        recorded = {c["file"]: c for c in drafts[0].payload.get("changes") or []}
        for change in body["changes"]:
            kind = _BY_FILENAME[change["file"]]
            current = self._current_bytes(kind)
            digest = _sha(current) if current is not None else None
            if digest == change["after"]:
                continue
            if digest == change["before"] and current is not None:
                data = patches.apply(parse_json(current.decode("utf-8")), change["patch"])
                if data_sha(data) == change["after_data"]:
                    new = dumps_pretty(data).encode("utf-8")
                    # Same data; if the text came out formatted otherwise, record its digest.
                    recorded[change["file"]]["after"] = _sha(new)
                    pending.append((kind, new))
                    continue
            reason = (
                f"{change['file']} holds neither the content before nor after the action "
                f"(sha256 {digest}); another program changed it"
            )
            with self._tx():
                self.db.execute("DELETE FROM intents WHERE intent_id = ?", [intent_id])
            self._append_locked(
                "system",
                [
                    EventDraft(
                        "journal.intent_abandoned",
                        payload={"intent_id": intent_id, "actor": actor, "reason": reason,
                                 "actions": [d.action for d in drafts]},
                    )
                ],
            )  # fmt: skip
            report.abandoned.append(intent_id)
            return
        for kind, data in pending:
            atomic_replace(state_path(self.state_dir, kind), data)
        self._append_locked(actor, drafts, ts=body["ts"], intent_id=intent_id, redacted=True)
        (report.rolled_forward if pending else report.completed).append(intent_id)

    def _repair_jsonl(self, report: RecoveryReport) -> None:
        """Make trade_log.jsonl end exactly where SQLite ends (SQLite is the record)."""
        db_seq, db_hash = self.head()
        last_seq, good_end = _last_jsonl_seq(self.log_path)
        if last_seq < 0:
            return
        size = self.log_path.stat().st_size if self.log_path.exists() else 0
        if good_end < size:
            with self.log_path.open("r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
            report.jsonl_torn_bytes = size - good_end
        if 0 <= last_seq < db_seq:
            rows = self.db.execute(
                "SELECT seq, ts, actor, action, vault_id, order_id, follower_id, payload, "
                "parents, prev_hash, hash FROM events WHERE seq > ? ORDER BY seq",
                [last_seq],
            ).fetchall()
            lines = [line_with_hash(canonical_from_row(tuple(r[:10])), r[10]) for r in rows]
            fd = os.open(
                self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600
            )
            try:
                os.write(fd, "".join(line + "\n" for line in lines).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            report.jsonl_lines_restored = len(lines)
        if db_seq and self.read_head_file() != (db_seq, db_hash):
            self._write_head(db_seq, db_hash)


_LEADING_VERSION = re.compile(
    rb'\A[ \t\n\r]*\{[ \t\n\r]*"version"[ \t\n\r]*:[ \t\n\r]*(-?(?:0|[1-9][0-9]*))[ \t\n\r]*[,}]'
)


def file_version(data: bytes) -> int | None:
    """A state file's top-level ``version``, as recorded with its sha256 (`_file_info`):
    an integer, else None. Read from the text's opening where the writer puts it
    (``{"version": N, ...``, the only ``"version"`` key in the text) without parsing the
    rest: 8 MB at 10,000 orders, for one number (a text that opens so but breaks further
    on gives N too). Any other text is parsed (None if it does not parse)."""
    found = _LEADING_VERSION.match(data)
    if found is not None and data.count(b'"version"') == 1:
        return int(found.group(1))
    try:
        raw = parse_json(data.decode("utf-8"))
    except Exception:
        return None
    version = raw.get("version") if isinstance(raw, dict) else None
    return version if isinstance(version, int) else None


def _draft_to_dict(draft: EventDraft) -> dict[str, Any]:
    return {
        "action": draft.action,
        "vault_id": draft.vault_id,
        "order_id": draft.order_id,
        "follower_id": draft.follower_id,
        "payload": draft.payload,
        "parents": draft.parents,
        "batch_parents": draft.batch_parents,
    }


def _draft_from_dict(data: dict[str, Any]) -> EventDraft:
    return EventDraft(
        action=data["action"],
        vault_id=data.get("vault_id"),
        order_id=data.get("order_id"),
        follower_id=data.get("follower_id"),
        payload=data.get("payload") or {},
        parents=data.get("parents"),
        batch_parents=list(data.get("batch_parents") or []),
    )


def _last_jsonl_seq(path: Path) -> tuple[int, int]:
    """(seq of the last complete line, byte offset just after it) of a JSONL file.

    A tail without a newline is a torn write (we write whole lines in one call); it lies past
    the returned offset. A last complete line that does not parse gives seq -1: that is not a
    crash artefact, and the repair leaves it for `audit verify` to report.
    """
    if not path.exists():
        return 0, 0
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        want = 1 << 16
        while True:
            start = max(0, size - want)
            handle.seek(start)
            data = handle.read(size - start)
            last_nl = data.rfind(b"\n")
            if last_nl < 0 and start > 0:
                want *= 2
                continue
            if last_nl < 0:
                return 0, 0
            prev_nl = data.rfind(b"\n", 0, last_nl)
            if prev_nl < 0 and start > 0:
                want *= 2
                continue
            line = data[prev_nl + 1 : last_nl]
            good_end = start + last_nl + 1
            try:
                return int(parse_json(line.decode("utf-8"))["seq"]), good_end
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                return -1, good_end
