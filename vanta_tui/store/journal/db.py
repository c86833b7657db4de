"""The SQLite mirror of the journal (`vanta.db`), opened through sqlite-utils.

WAL, ``synchronous=FULL``, file mode 0600. Tables: ``events`` (the chain), ``orders``
(current state of each order), ``fills``, ``overlay_history``, ``fee_ledger``, ``blobs``
(state-file contents, once per distinct sha256), ``file_heads`` (what the journal last saw
of each file), ``intents`` (actions begun but not yet recorded) and ``meta``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from vanta_tui.core.sqlite_wal import connect_wal

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    vault_id TEXT,
    order_id TEXT,
    follower_id TEXT,
    payload TEXT NOT NULL,
    parents TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS events_order ON events(order_id);
CREATE INDEX IF NOT EXISTS events_vault ON events(vault_id);
CREATE INDEX IF NOT EXISTS events_action ON events(action);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    vault_id TEXT,
    symbol TEXT,
    side TEXT,
    qty TEXT,
    order_type TEXT,
    limit_price TEXT,
    status TEXT,
    parent_id TEXT,
    follower_id TEXT,
    client_order_id TEXT,
    broker_order_id TEXT,
    filled_qty TEXT,
    avg_fill_price TEXT,
    updated_at TEXT,
    last_seq INTEGER,
    order_json TEXT
);
CREATE INDEX IF NOT EXISTS orders_parent ON orders(parent_id);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY,
    ts TEXT,
    order_id TEXT,
    vault_id TEXT,
    follower_id TEXT,
    symbol TEXT,
    side TEXT,
    qty TEXT,
    price TEXT
);
CREATE TABLE IF NOT EXISTS overlay_history (
    seq INTEGER PRIMARY KEY,
    ts TEXT,
    actor TEXT,
    action TEXT,
    vault_id TEXT,
    payload TEXT
);
CREATE TABLE IF NOT EXISTS fee_ledger (
    seq INTEGER PRIMARY KEY,
    ts TEXT,
    vault_id TEXT,
    follower_id TEXT,
    fee_type TEXT,
    perf_share TEXT,
    flat_usd TEXT,
    realized_pnl TEXT,
    fee_due TEXT,
    payload TEXT,
    period_start TEXT,
    period_end TEXT,
    entry TEXT
);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    file TEXT,
    size INTEGER,
    content BLOB
);
CREATE TABLE IF NOT EXISTS file_heads (
    file TEXT PRIMARY KEY,
    sha256 TEXT,
    version INTEGER,
    seq INTEGER
);
CREATE TABLE IF NOT EXISTS intents (
    intent_id TEXT PRIMARY KEY,
    created TEXT,
    actor TEXT,
    body TEXT
);
CREATE TABLE IF NOT EXISTS alarm_seen (
    alarm_id TEXT PRIMARY KEY,
    first_seen TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""


def open_db_read_only(path: Path) -> sqlite_utils.Database:
    """The journal database opened read-only (``mode=ro``): nothing in the directory is
    created or changed, and it works where this user cannot write. A directory without a
    journal gives an empty one in memory."""
    if not path.exists():
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.executescript(SCHEMA)
        return sqlite_utils.Database(conn)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not path.with_name(path.name + "-wal").exists():
        # No writer has the database open (the last one folded its -wal in and removed
        # it): the file alone is the whole journal. Read it as immutable, so SQLite makes
        # no -wal/-shm beside it (it would on a directory it may write) and needs none (it
        # cannot make them on one it may not).
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    return sqlite_utils.Database(conn)


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (creating with mode 0600) the journal database."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    conn = connect_wal(path, SCHEMA)
    _add_columns(conn, "fee_ledger", FEE_LEDGER_ADDED)
    return sqlite_utils.Database(conn)


FEE_LEDGER_ADDED = ("period_start", "period_end", "entry")
"""Columns ``fee_ledger`` gained after journals were already in use (fee periods):
``CREATE TABLE IF NOT EXISTS`` does not add them to an existing table. Rows written before
have them NULL; readers derive the period from the row's time (`actions/fees.py`)."""


def _add_columns(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for column in columns:
        if column in have:
            continue
        try:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        except sqlite3.OperationalError as exc:  # another process added it just now
            if "duplicate column" not in str(exc):
                raise
