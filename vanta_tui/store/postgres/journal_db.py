"""The journal's database on PostgreSQL (issue 25): `VANTA_JOURNAL_URL` (or ``--journal``).

The journal's code is written once, against the part of Python's ``sqlite3`` connection it
uses (`store.journal.db.JournalDB`); on PostgreSQL that connection is `PgJournalConnection`,
which speaks the same part over psycopg 3 and says in PostgreSQL's SQL what the journal
says in SQLite's:

- ``?`` placeholders become ``%s``; ``json_extract(col, '$.a.b')`` becomes
  ``(col::json #>> '{a,b}')`` and ``json_quote(col)`` ``COALESCE(to_json(col)::text,
  'null')``, ``json_each(?)`` of a list ``json_array_elements_text``;
- ``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING`` and ``INSERT OR REPLACE`` an
  upsert on the table's primary key (the table's one unique key besides ``events.hash``,
  which is never replaced);
- ``BEGIN IMMEDIATE`` (the journal's write transaction) becomes ``BEGIN`` and a
  transaction-scoped advisory lock on the journal (`APPEND_KEY`): appends from every
  process on every host are serialized, each reads the head under the lock and writes the
  next event before it lets go, so the chain stays gapless and in order. Why a lock and
  not a sequence plus a check: the next event's ``prev_hash`` is the head's hash, which a
  sequence cannot give; with a sequence, a writer that lost the race would have to
  recompute its events' hashes and retry, while the lock makes the loser wait a few
  milliseconds and then see the new head (the README, "Several hosts");
- errors come out as ``sqlite3``'s DB-API classes (a unique violation is an
  ``IntegrityError``, a missing table an ``OperationalError`` saying "no such table"), so
  the journal's handling of them is one.

The schema is the SQLite one with PostgreSQL's types (``BIGINT``, ``BYTEA``, ``DOUBLE
PRECISION``). Links between tables are not declared here: PostgreSQL would enforce them,
and the journal's derived tables must never refuse an event (`analyst`). The analyst's
typed views are SQLite's (they use its date and number functions): a PostgreSQL journal
has its tables only. The schema's version is ``meta``'s ``schema_version``.

psycopg is imported here and in the other modules of `store.postgres` only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from vanta_tui.store.errors import JournalFileError, JournalUnavailable
from vanta_tui.store.postgres.claims import session_options
from vanta_tui.store.postgres.location import (
    JOURNAL_URL_ENV,
    LOCATION_NAME,
    read_location,
    redact_url,
    write_location,
)


def key63(text: str) -> int:
    """A stable signed 64-bit advisory lock key for ``text`` (the one-key form: ``pg_locks``
    shows it with ``objsubid`` 1, apart from the workers' two-key claims)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


APPEND_KEY = key63("vanta.journal.append")
"""The lock every write transaction of the journal takes (its ``BEGIN IMMEDIATE``)."""


# --------------------------------------------------------------------------------- SQL

_JSON = re.compile(r"json_extract\((\w+), '\$\.([\w.]+)'\)")
_QUOTE = re.compile(r"json_quote\((\w+)\)")
_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.I)
_OR_REPLACE = re.compile(
    r"^\s*INSERT OR REPLACE INTO (\w+)\s*\(([^)]*)\)\s*VALUES\s*(\(.*\))\s*$", re.I | re.S
)
_TYPES = (
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)
_REFERENCES = re.compile(r"\s+REFERENCES\s+\w+\s*\(\w+\)", re.I)


def ddl(statement: str) -> str:
    """One SQLite ``CREATE`` statement of the journal's schema, in PostgreSQL's types (text
    compared byte by byte, as SQLite does, whatever the server's locale), its links left
    out."""
    for pattern, name in _TYPES:
        statement = pattern.sub(name, statement)
    return _REFERENCES.sub("", statement)


def _json_path(match: re.Match[str]) -> str:
    return f"({match.group(1)}::json #>> '{{{match.group(2).replace('.', ',')}}}')"


@functools.lru_cache(maxsize=1024)
def translate(sql: str, keys: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> str:
    """``sql`` (the journal's SQLite) in PostgreSQL's; ``keys``: (table, primary key
    columns) for ``INSERT OR REPLACE``."""
    text = _JSON.sub(_json_path, sql)
    text = _QUOTE.sub(r"COALESCE(to_json(\1)::text, 'null')", text)
    text = text.replace("json_each(?)", "json_array_elements_text(CAST(? AS json))")
    text = text.replace("%", "%%").replace("?", "%s")
    if _OR_IGNORE.match(text):
        return _OR_IGNORE.sub("INSERT INTO", text, count=1) + " ON CONFLICT DO NOTHING"
    found = _OR_REPLACE.match(text)
    if found:
        table, columns, values = found.groups()
        names = [c.strip() for c in columns.split(",")]
        key = dict(keys).get(table)
        if not key:
            raise sqlite3.OperationalError(f"no such table: {table} (or it has no primary key)")
        rest = [n for n in names if n not in key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{n} = EXCLUDED.{n}" for n in rest)
            if rest
            else "DO NOTHING"
        )
        return (
            f"INSERT INTO {table} ({', '.join(names)}) VALUES {values} "
            f"ON CONFLICT ({', '.join(key)}) {action}"
        )
    return text


def _param(value: Any) -> Any:
    # SQLite keeps a bool as the integer it is; PostgreSQL would refuse it for a BIGINT.
    return int(value) if isinstance(value, bool) else value


def _params(parameters: Sequence[Any]) -> list[Any]:
    return [_param(v) for v in parameters]


@functools.lru_cache(maxsize=1)
def _error_map() -> tuple[tuple[type[Exception], type[Exception]], ...]:
    return (
        (pg_errors.IntegrityError, sqlite3.IntegrityError),
        (pg_errors.UndefinedTable, sqlite3.OperationalError),
        (pg_errors.OperationalError, sqlite3.OperationalError),
        (pg_errors.ProgrammingError, sqlite3.ProgrammingError),
    )


def _as_sqlite(exc: psycopg.Error) -> Exception:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pg_errors.OperationalError) and not isinstance(
        exc, pg_errors.LockNotAvailable | pg_errors.QueryCanceled
    ):
        return JournalUnavailable(f"the PostgreSQL journal cannot be reached: {message}")
    if isinstance(exc, pg_errors.UndefinedTable):
        message = f"no such table ({message})"
    for theirs, ours in _error_map():
        if isinstance(exc, theirs):
            return ours(f"PostgreSQL journal: {message}")
    return sqlite3.DatabaseError(f"PostgreSQL journal: {message}")


class _NoRows:
    """The cursor of a statement that returns nothing (as ``sqlite3``'s: fetches give
    nothing)."""

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class _Rows:
    """A statement's rows, read at once (the connection is shared between calls)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        rows, self._rows = self._rows, []
        return iter(rows)


class PgJournalConnection:
    """One session with the journal's PostgreSQL database, speaking the part of
    ``sqlite3.Connection`` the journal uses (autocommit, as the journal opens SQLite)."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self._closed = False
        try:
            self._pg = psycopg.connect(url, autocommit=True, **session_options(10))
        except psycopg.Error as exc:
            raise _as_sqlite(exc) from None
        self.read_only = read_only
        self._keys: dict[str, tuple[str, ...]] = {}
        self._lock = threading.RLock()
        """The session is one: a statement and its rows are taken together."""
        self._in_tx = False
        """A write transaction (``BEGIN IMMEDIATE``) is open: until its COMMIT or ROLLBACK,
        a broken session is never silently replaced (its work is gone, and says so)."""
        self._configure(self._pg)

    def _configure(self, conn: Any) -> None:
        """Every session of the journal: waits for a lock or the append bounded as
        SQLite's (30 s), a transaction its process left open ended by the server after a
        minute (its locks with it), a commit durable when it returns."""
        try:
            for setting in (
                "SET lock_timeout = '30s'",
                "SET idle_in_transaction_session_timeout = '60s'",
                "SET synchronous_commit = on",
                *(["SET default_transaction_read_only = on"] if self.read_only else []),
            ):
                conn.execute(setting)
        except psycopg.Error as exc:
            raise _as_sqlite(exc) from None

    # ------------------------------------------------------------------ sqlite3's part

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        statement = sql.strip()
        verb = statement.upper()
        if verb == "BEGIN IMMEDIATE":
            with self._lock:
                if self._in_tx:
                    raise sqlite3.OperationalError(
                        "cannot start a transaction within a transaction"
                    )
                self._run("BEGIN", [])
                try:
                    self._run("SELECT pg_advisory_xact_lock(%s)", [APPEND_KEY])
                except BaseException:  # not begun, as SQLite's BEGIN IMMEDIATE that failed
                    if not self._pg.broken and self.in_transaction:
                        self._run("ROLLBACK", [])
                    raise
                self._in_tx = True
            return _NoRows()
        if verb in {"COMMIT", "ROLLBACK"}:
            with self._lock:
                was, self._in_tx = self._in_tx, False
                if self._pg.broken or self._pg.closed:
                    if verb == "ROLLBACK" or not was:
                        return _NoRows()  # the server rolled it back with the session
                    raise JournalUnavailable(
                        "the PostgreSQL journal's session broke in the middle of a write: "
                        "nothing of it was committed"
                    )
                return self._run(verb, [])
        if statement.upper().startswith("PRAGMA"):
            return self._pragma(statement)
        if statement == _TABLES_SQL:
            return _Rows([(name,) for name in sorted(self.tables())])
        return self._run(self._sql(statement), _params(parameters))

    def executemany(self, sql: str, seq_of_parameters: Any) -> None:
        rows = [_params(p) for p in seq_of_parameters]
        if not rows:
            return
        with self._lock:
            self._live()
            try:
                with self._pg.cursor() as cursor:
                    cursor.executemany(self._sql(sql.strip()), rows)
            except psycopg.Error as exc:
                raise _as_sqlite(exc) from None

    def executescript(self, script: str) -> None:
        for statement in script.split(";\n"):
            if statement.strip():
                self.execute(statement)

    def close(self) -> None:
        self._closed = True
        self._pg.close()

    def commit(self) -> None:
        if self._in_tx or self.in_transaction:
            self.execute("COMMIT")

    def __enter__(self) -> PgJournalConnection:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if self._in_tx or self.in_transaction:
            self.execute("ROLLBACK" if kind is not None else "COMMIT")

    @property
    def in_transaction(self) -> bool:
        return self._pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    # --------------------------------------------------------------------- ours

    def session_lock(self, key: int) -> None:
        """Take the session-level advisory lock ``key`` (waits for it)."""
        self._run("SELECT pg_advisory_lock(%s)", [key])

    def session_unlock(self, key: int) -> None:
        self._run("SELECT pg_advisory_unlock(%s)", [key])

    def tables(self) -> set[str]:
        rows = self._run(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            [],
        )
        return {str(r[0]) for r in rows}

    def columns(self, table: str) -> list[str]:
        rows = self._run(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            [table],
        )
        return [str(r[0]) for r in rows]

    def _primary_key(self, table: str) -> tuple[str, ...]:
        if table not in self._keys:
            rows = self._run(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary",
                [table],
            )
            self._keys[table] = tuple(str(r[0]) for r in rows)
        return self._keys[table]

    def _sql(self, statement: str) -> str:
        if statement[:6].upper() in {"CREATE", "ALTER "}:
            statement = ddl(statement)
        found = _OR_REPLACE.match(statement)
        keys = ((found.group(1), self._primary_key(found.group(1))),) if found else ()
        return translate(statement, keys)

    def _pragma(self, statement: str) -> Any:
        name = statement[len("PRAGMA") :].strip()
        if name.startswith("table_info("):
            table = name[len("table_info(") : -1]
            # (cid, name, ...) as SQLite gives it; the journal reads the names.
            return _Rows([(i, c) for i, c in enumerate(self.columns(table))])
        busy = re.fullmatch(r"busy_timeout\s*=\s*(\d+)", name)
        if busy:  # how long a statement waits for a lock, in ms: as SQLite's
            return self._run(f"SET lock_timeout = {int(busy.group(1))}", [])
        if name.startswith("foreign_keys") or name.startswith("legacy_alter_table"):
            return _NoRows()  # links are not declared on PostgreSQL
        raise sqlite3.OperationalError(f"PostgreSQL journal: no PRAGMA {name}")

    def _reconnect(self) -> None:
        """A new session in place of one that broke (the server restarted, the network
        went): the statement that found it broken failed, and said so; the next ones go on
        the new session. Nothing is retried here (a statement may have run before the
        break); a transaction cut short was rolled back by the server."""
        try:
            fresh = psycopg.connect(self.url, autocommit=True, **session_options(10))
        except psycopg.Error as exc:
            raise _as_sqlite(exc) from None
        self._configure(fresh)
        self._pg = fresh
        self._keys.clear()

    def _live(self) -> None:
        """A new session if the last one broke (the statement that found it broken failed,
        and said so); never in the middle of a write transaction: its work went with the
        session, and every statement until its ROLLBACK says so."""
        if self._pg.broken or self._pg.closed:
            if self._closed:
                raise sqlite3.ProgrammingError("PostgreSQL journal: the connection is closed")
            if self._in_tx:
                raise JournalUnavailable(
                    "the PostgreSQL journal's session broke in the middle of a write: nothing "
                    "of it was committed"
                )
            self._reconnect()

    def _run(self, sql: str, parameters: Sequence[Any]) -> Any:
        with self._lock:
            self._live()
            # Outside a transaction, a statement that changes nothing (a read, BEGIN, a
            # lock, a setting) is tried again once on a new session when the old one turns
            # out broken (the server restarted since): it cannot have taken effect twice.
            again = not self.in_transaction and _HARMLESS.match(sql) is not None
            try:
                cursor = self._pg.execute(sql, parameters)
            except psycopg.OperationalError as exc:
                if not (again and self._pg.broken):
                    raise _as_sqlite(exc) from None
                self._reconnect()
                try:
                    cursor = self._pg.execute(sql, parameters)
                except psycopg.Error as retry:
                    raise _as_sqlite(retry) from None
            except psycopg.Error as exc:
                raise _as_sqlite(exc) from None
            if cursor.description is None:
                return _NoRows()
            try:
                return _Rows(cursor.fetchall())
            except psycopg.Error as exc:
                raise _as_sqlite(exc) from None


_HARMLESS = re.compile(r"\s*(SELECT|BEGIN|SET)\b", re.I)
"""Statements that change nothing by themselves (``SELECT pg_advisory_…`` takes a lock that
the broken session lost anyway)."""


# ------------------------------------------------------------------------------ schema

SCHEMA_META = "schema_version"
"""``meta`` key of the schema's version (SQLite keeps it in ``PRAGMA user_version``)."""
JOURNAL_ID_META = "journal_id"
"""``meta`` key of the journal's identity, also written in its state directory's
`LOCATION_NAME`: a database is the journal of one state directory."""
_TABLES_SQL = "SELECT name FROM sqlite_master WHERE type='table'"


class JournalLocationError(RuntimeError):
    """This state directory and this journal database do not belong together."""


def _version(conn: PgJournalConnection) -> int:
    if "meta" not in conn.tables():
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [SCHEMA_META]).fetchone()
    return int(row[0]) if row else 0


def check_version(conn: PgJournalConnection, url: str) -> None:
    from vanta_tui.store.journal.schema import SCHEMA_VERSION, JournalSchemaTooNew

    version = _version(conn)
    if version > SCHEMA_VERSION:
        raise JournalSchemaTooNew(
            f"the PostgreSQL journal at {redact_url(url)} has schema version {version} (meta "
            f"{SCHEMA_META}), newer than the {SCHEMA_VERSION} this desk knows: it was written "
            "by a newer vanta-tui. Nothing was changed; use that version (or newer)"
        )


def upgrade(conn: PgJournalConnection, url: str, projections: Sequence[Any]) -> None:
    """Bring the journal's database to this code's schema with the tables of
    ``projections``: one transaction under the append lock (two processes opening it at once
    make it once)."""
    from vanta_tui.store.journal.analyst import INDEXES
    from vanta_tui.store.journal.projection import prepare
    from vanta_tui.store.journal.schema import SCHEMA_VERSION, STORE_SCHEMA

    conn.execute("BEGIN IMMEDIATE")
    try:
        check_version(conn, url)
        for statement in STORE_SCHEMA.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        prepare(conn, projections)  # type: ignore[arg-type]
        tables = conn.tables()
        for index in INDEXES:
            if index.table in tables:
                conn.execute(index.ddl())
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [SCHEMA_META, str(SCHEMA_VERSION)],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _journal_id(conn: PgJournalConnection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [JOURNAL_ID_META]).fetchone()
    return None if row is None else str(row[0])


def _has_events(conn: PgJournalConnection) -> bool:
    return conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None


def open_journal(
    url: str, state_dir: Path, projections: Sequence[Any], *, read_only: bool
) -> PgJournalConnection | None:
    """The journal of ``state_dir`` in the PostgreSQL database at ``url``: brought to this
    code's schema (writing), or None when it is opened read-only and holds no journal yet.
    The database and the directory must belong together (`location`), checked before
    anything is written: a database that is another directory's journal is refused, and
    so is a directory whose journal is another database."""
    where = redact_url(url)
    note = read_location(state_dir)
    if read_only and note is None:
        return None  # no journal made for this directory yet (as without a vanta.db)
    conn = PgJournalConnection(url, read_only=read_only)
    try:
        check_version(conn, url)
        ours = _journal_id(conn) if "meta" in conn.tables() else None
        if note is not None and note["journal_id"] != ours:
            raise JournalFileError(
                f"{LOCATION_NAME} says this directory's journal is {note['journal_id']} (at "
                f"{note.get('url')}), but the database at {where} holds "
                f"{'journal ' + ours if ours else 'no journal'}: set {JOURNAL_URL_ENV} to this "
                "directory's database"
            )
        if read_only:
            return conn
        if note is None and ours is not None and _resume_migration(conn, state_dir, where, ours):
            note = read_location(state_dir)
        if note is None and ours is not None:  # refused before anything is written there
            raise JournalFileError(
                f"the PostgreSQL journal at {where} is the journal of another state directory "
                f"(journal id {ours}; {state_dir} has no {LOCATION_NAME}): give each state "
                "directory a database of its own, or put back this directory's note"
            )
        upgrade(conn, url, projections)
        if note is None:
            _adopt(conn, state_dir, where)
        return conn
    except BaseException:
        conn.close()
        raise


def _resume_migration(conn: PgJournalConnection, state_dir: Path, where: str, ours: str) -> bool:
    """``audit migrate`` stopped between keeping ``vanta.db`` aside and writing the note:
    the file kept aside ends where this database does (the same last event and hash). The
    note is written and the journal opens. False when that is not so."""
    import sqlite3 as sqlite

    if (state_dir / "vanta.db").exists() or "events" not in conn.tables():
        return False
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return False
    for kept in sorted(state_dir.glob("vanta.db.migrated-*"), reverse=True):
        try:
            with contextlib.closing(
                sqlite.connect(f"{kept.resolve().as_uri()}?mode=ro", uri=True)
            ) as old:
                last = old.execute(
                    "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
                ).fetchone()
        except sqlite.DatabaseError:
            continue
        if last is not None and (int(last[0]), str(last[1])) == (int(row[0]), str(row[1])):
            write_location(state_dir, where, ours)
            return True
    return False


def _adopt(conn: PgJournalConnection, state_dir: Path, where: str) -> None:
    """Make the (new) database this directory's journal: its id, and the directory's note,
    written under the append lock before the id commits (two processes starting on a new
    database at once: the second finds both). A database that is already a journal (an id
    or events) and that the directory's note does not name is another directory's:
    refused."""
    conn.execute("BEGIN IMMEDIATE")
    wrote = False
    try:
        ours = _journal_id(conn)
        note = read_location(state_dir)
        if note is not None and ours is not None and note["journal_id"] == ours:
            conn.execute("ROLLBACK")  # another process adopted it a moment ago
            return
        if ours is not None or _has_events(conn) or note is not None:
            raise JournalFileError(
                f"the PostgreSQL journal at {where} is the journal of another state directory "
                f"(journal id {ours}; {state_dir} has no {LOCATION_NAME}): give each state "
                "directory a database of its own, or put back this directory's note"
            )
        ours = secrets.token_hex(16)
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [JOURNAL_ID_META, ours])
        write_location(state_dir, where, ours)
        wrote = True
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        if wrote:
            (state_dir / LOCATION_NAME).unlink(missing_ok=True)
        raise
