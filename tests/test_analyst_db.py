"""`vanta.db` as an analyst opens it: typed views, declared links, indexes, a schema version
with migrations, and Datasette metadata that describes every table, view and column.

The journal is a real one: the demo written to a temp directory, its staged orders approved,
sent to the paper broker by the executor and filled (43, 12, 3, 1, 10, 4 shares, and
bitcoin and ether), a fee period closed; then read through the `datasette` package's own
API. A journal of schema version 0 (as the desk wrote it before versions were kept) is that
journal's rows under the old schema, kept below as it was; opening it upgrades it.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette  # type: ignore[import-untyped]
from datasette.utils import parse_metadata  # type: ignore[import-untyped]

import vanta_tui
from vanta_tui.actions.context import ActionContext
from vanta_tui.cli.main import main
from vanta_tui.core.models import QueueFile
from vanta_tui.demo.bundled import write_demo
from vanta_tui.desk import Desk
from vanta_tui.store import load_model
from vanta_tui.store.errors import JournalFileError
from vanta_tui.store.journal import EventDraft, Journal, schema
from vanta_tui.store.journal.analyst import VIEWS, number, utc_text
from vanta_tui.store.journal.db import open_db
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.schema import SCHEMA_VERSION, JournalSchemaTooNew
from vanta_tui.store.journal.verify import verify

DEC_1 = datetime(2026, 12, 1, 4, 16, 35, tzinfo=UTC)
METADATA_FILE = Path(vanta_tui.__file__).parent / "store" / "journal" / "datasette-metadata.yml"
FILL_QTYS = ["0.0020", "0.0050", "0.02", "1", "1.5", "10", "12", "3", "4", "43"]
"""The fills the busy day gives, as the journal keeps them (sorted as text)."""

# The journal's schema before versions were kept (user_version 0), as `sqlite_master` of a
# journal written by that code holds it: no links, no events(ts) or fills(order_id) index,
# no views.
V0_SCHEMA = """
CREATE TABLE events (
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
CREATE INDEX events_order ON events(order_id);
CREATE INDEX events_vault ON events(vault_id);
CREATE INDEX events_action ON events(action);
CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, file TEXT, size INTEGER, content BLOB);
CREATE TABLE file_heads (file TEXT PRIMARY KEY, sha256 TEXT, version INTEGER, seq INTEGER);
CREATE TABLE intents (intent_id TEXT PRIMARY KEY, created TEXT, actor TEXT, body TEXT);
CREATE TABLE alarm_seen (alarm_id TEXT PRIMARY KEY, first_seen TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY, vault_id TEXT, symbol TEXT, side TEXT, qty TEXT,
    order_type TEXT, limit_price TEXT, status TEXT, parent_id TEXT, follower_id TEXT,
    client_order_id TEXT, broker_order_id TEXT, filled_qty TEXT, avg_fill_price TEXT,
    updated_at TEXT, last_seq INTEGER, order_json TEXT
);
CREATE INDEX orders_parent ON orders(parent_id);
CREATE TABLE fills (
    seq INTEGER PRIMARY KEY, ts TEXT, order_id TEXT, vault_id TEXT, follower_id TEXT,
    symbol TEXT, side TEXT, qty TEXT, price TEXT
);
CREATE TABLE overlay_history (
    seq INTEGER PRIMARY KEY, ts TEXT, actor TEXT, action TEXT, vault_id TEXT, payload TEXT
);
CREATE TABLE fee_ledger (
    seq INTEGER PRIMARY KEY, ts TEXT, vault_id TEXT, follower_id TEXT, fee_type TEXT,
    perf_share TEXT, flat_usd TEXT, realized_pnl TEXT, fee_due TEXT, payload TEXT,
    period_start TEXT, period_end TEXT, entry TEXT
);
"""
V0_TABLES = (
    "events", "blobs", "file_heads", "intents", "alarm_seen", "meta",
    "orders", "fills", "overlay_history", "fee_ledger",
)  # fmt: skip


# ------------------------------------------------------------------------------ helpers


def busy_day(state: Path) -> None:
    """The demo, its staged orders approved, everything approved sent and filled by the
    paper broker, and the November fee period closed: every derived table gets rows."""
    write_demo(state)
    desk = Desk(state, operator="dana", clock=lambda: DEC_1)
    try:
        staged = [o.order_id for o in load_model(state, QueueFile).orders if o.status == "staged"]
        desk.approve(staged)
        desk.run_executor(threading.Event(), once=True)
        desk.close_fees()
    finally:
        desk.close()


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory after a busy day (shared: tests that change it take a copy)."""
    state = tmp_path_factory.mktemp("busy") / "state"
    busy_day(state)
    return state


@pytest.fixture
def busy_copy(busy: Path, tmp_path: Path) -> Path:
    """A copy of the busy day's directory (the journal copied through SQLite: Datasette may
    have the shared one open)."""
    target = tmp_path / "state"
    shutil.copytree(busy, target, ignore=shutil.ignore_patterns("*.lock", "vanta.db*"))
    source, copy = connect(busy), sqlite3.connect(target / "vanta.db")
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    (target / "vanta.db").chmod(0o600)
    return target


def connect(state: Path) -> sqlite3.Connection:
    return sqlite3.connect(state / "vanta.db", isolation_level=None)


def query(state: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = connect(state)
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def rows_of(state: Path, table: str) -> list[tuple[Any, ...]]:
    return query(state, f"SELECT * FROM {table} ORDER BY rowid")


def shape(state: Path) -> dict[str, Any]:
    """The schema as SQLite reports it: each table's columns, links and indexes, each view's
    definition, and the version."""
    conn = connect(state)
    try:
        out: dict[str, Any] = {"user_version": schema.user_version(conn)}
        for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "AND type IN ('table', 'view') ORDER BY name"
        ):
            if kind == "view":
                out[name] = ("view", sql)
                continue
            indexes = sorted(
                (str(r[1]), int(r[2]), str(r[3]),
                 tuple(str(c[2]) for c in conn.execute(f"PRAGMA index_info('{r[1]}')")))
                for r in conn.execute(f"PRAGMA index_list({name})")
            )  # fmt: skip
            out[name] = (
                [tuple(r[1:]) for r in conn.execute(f"PRAGMA table_info({name})")],
                sorted(tuple(r[2:5]) for r in conn.execute(f"PRAGMA foreign_key_list({name})")),
                [i[1:] for i in indexes if i[0].startswith("sqlite_autoindex")]
                + [i for i in indexes if not i[0].startswith("sqlite_autoindex")],
            )
        return out
    finally:
        conn.close()


def make_v0(state: Path) -> None:
    """Turn the journal of ``state`` into a schema-0 one: the same rows, under the schema
    the desk wrote before versions were kept (user_version 0)."""
    db = state / "vanta.db"
    newer = state / "vanta.v1.db"
    db.rename(newer)
    for suffix in ("-wal", "-shm"):
        assert not (state / f"vanta.db{suffix}").exists()  # closed: the file is all of it
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(V0_SCHEMA)
    conn.execute("ATTACH DATABASE ? AS newer", [str(newer)])
    conn.execute("BEGIN")
    for table in V0_TABLES:
        columns = ", ".join(str(r[1]) for r in conn.execute(f"PRAGMA main.table_info({table})"))
        conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM newer.{table}")
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE newer")
    conn.close()
    db.chmod(0o600)
    newer.unlink()
    assert shape(state)["user_version"] == 0


@pytest.fixture
def v0(busy_copy: Path) -> Path:
    make_v0(busy_copy)
    return busy_copy


def metadata() -> dict[str, Any]:
    parsed: dict[str, Any] = parse_metadata(METADATA_FILE.read_text(encoding="utf-8"))
    return parsed


@pytest.fixture
async def datasette(busy: Path) -> Any:
    ds = Datasette(files=[str(busy / "vanta.db")], metadata=metadata())
    await ds.invoke_startup()
    return ds


async def get_rows(ds: Any, path: str) -> list[dict[str, Any]]:
    response = await ds.client.get(path + ("&" if "?" in path else "?") + "_shape=array")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


# ---------------------------------------------------------------- the views, in Datasette


async def test_datasette_sorts_the_views_amounts_as_numbers(datasette: Any) -> None:
    # The table keeps the exact text, so it sorts as text (the 43, 4, 3, 12, 10) ...
    as_text = await get_rows(datasette, "/vanta/fills.json?_sort_desc=qty")
    assert [r["qty"] for r in as_text][:5] == ["43", "4", "3", "12", "10"]
    # ... and the view sorts numbers.
    rows = await get_rows(datasette, "/vanta/fills_v.json?_sort_desc=qty")
    assert [r["qty"] for r in rows] == [43, 12, 10, 4, 3, 1.5, 1, 0.02, 0.005, 0.002]
    assert [r["qty_text"] for r in rows][-3:] == ["0.02", "0.0050", "0.0020"]  # exact text kept
    up = await get_rows(datasette, "/vanta/fills_v.json?_sort=qty")
    assert [r["qty"] for r in up] == [r["qty"] for r in reversed(rows)]
    fees = await get_rows(datasette, "/vanta/fee_ledger_v.json?_sort_desc=fee_due&_size=3")
    assert [r["fee_due"] for r in fees] == [2685, 2000, 2000]  # as text '25.00' beat '2000.00'


async def test_datasette_filters_the_views_amounts_as_numbers(datasette: Any) -> None:
    as_text = await get_rows(datasette, "/vanta/fills.json?qty__gt=10")
    assert sorted(r["qty"] for r in as_text) == ["12", "3", "4", "43"]  # the bug
    rows = await get_rows(datasette, "/vanta/fills_v.json?qty__gt=10&_sort=qty")
    assert [(r["symbol"], r["qty"]) for r in rows] == [("MSFT", 12), ("AAPL", 43)]
    small = await get_rows(datasette, "/vanta/fills_v.json?qty__lt=1&_sort=qty")
    assert [r["qty_text"] for r in small] == ["0.0020", "0.0050", "0.02"]
    events = await get_rows(datasette, "/vanta/events_v.json?fill_qty__gte=10&_sort=fill_qty")
    assert [(r["action"], r["fill_qty"]) for r in events] == [
        ("order.filled", 10), ("order.filled", 12), ("order.filled", 43)
    ]  # fmt: skip


async def test_sums_through_datasette_are_the_exact_sums(datasette: Any, busy: Path) -> None:
    exact = query(busy, "SELECT qty, price FROM fills")
    qty = sum(Decimal(q) for q, _ in exact)
    notional = sum(Decimal(q) * Decimal(p) for q, p in exact)
    fees = sum(Decimal(f) for (f,) in query(busy, "SELECT fee_due FROM fee_ledger "
                                                  "WHERE entry = 'charged'"))  # fmt: skip
    assert (qty, notional, fees) == (Decimal("74.527"), Decimal("24033.45"), Decimal("5625.00"))
    sql = (
        "select (select round(sum(qty), 8) from fills_v) as qty, "
        "(select round(sum(notional), 2) from fills_v) as notional, "
        "(select sum(fee_due) from fee_ledger_v where entry = 'charged') as fees"
    )
    response = await datasette.client.get("/vanta.json", params={"sql": sql, "_shape": "array"})
    (row,) = response.json()
    assert (row["qty"], row["notional"], row["fees"]) == (74.527, 24033.45, 5625)
    by_symbol = await get_rows(
        datasette,
        "/vanta.json?sql=select+symbol,+sum(qty)+as+qty+from+fills_v+group+by+symbol"
        "+order+by+qty+desc",
    )
    assert [(r["symbol"], r["qty"]) for r in by_symbol][:2] == [("AAPL", 57), ("MSFT", 16)]


async def test_datasette_links_fills_and_events_to_their_order(datasette: Any) -> None:
    db = datasette.get_database("vanta")
    for table in ("fills", "events"):
        assert await db.foreign_keys_for_table(table) == [
            {"column": "order_id", "other_table": "orders", "other_column": "order_id"}
        ]
    (fill,) = await get_rows(datasette, "/vanta/fills.json?qty=43")
    response = await datasette.client.get(
        f"/vanta/orders/{fill['order_id']}.json?_extras=foreign_key_tables"
    )
    incoming = {t["other_table"]: t["count"] for t in response.json()["foreign_key_tables"]}
    assert incoming["fills"] == 1 and incoming["events"] >= 3  # approved, submitting, filled


async def test_the_views_parse_timestamps(busy_copy: Path) -> None:
    """Times as recorded, and parsed: ``_utc`` sorts in time order whatever the precision or
    offset of the text (a broker's fill time may carry either), ``_epoch`` is seconds."""
    with Journal(busy_copy, clock=lambda: DEC_1) as journal:
        (order_id,) = query(busy_copy, "SELECT order_id FROM fills WHERE qty = '43'")[0]
        fills = [
            {"qty": Decimal(1), "price": Decimal(190), "symbol": "AAPL", "side": "buy",
             "ts": ts}
            for ts in ("2026-12-01T06:16:35.5+02:00", "2026-12-01T04:16:35Z")
        ]  # fmt: skip
        journal.record(
            "executor",
            [EventDraft("order.partially_filled", vault_id="V_CORE", order_id=order_id,
                        payload={"fill": fill}) for fill in fills],
        )  # fmt: skip
    rows = query(
        busy_copy, "SELECT ts, ts_utc, ts_epoch FROM fills_v WHERE price = 190 ORDER BY ts_utc"
    )
    assert rows == [
        ("2026-12-01T04:16:35Z", "2026-12-01 04:16:35.000", DEC_1.timestamp()),
        ("2026-12-01T06:16:35.5+02:00", "2026-12-01 04:16:35.500", DEC_1.timestamp() + 0.5),
    ]
    period = query(busy_copy, "SELECT period_start_utc, period_end_epoch FROM fee_ledger_v "
                              "WHERE entry = 'charged' LIMIT 1")  # fmt: skip
    assert period == [("2026-11-01 00:00:00.000", datetime(2026, 12, 1, tzinfo=UTC).timestamp())]
    in_order = query(busy_copy, "SELECT seq FROM events_v ORDER BY ts_utc, seq")
    assert in_order == sorted(in_order)
    # Text that is not a plain decimal or a time is NULL, never 0.
    texts = ("'NaN'", "''", "'Infinity'", "'1E+2'", "'-0.50'")
    amounts = ", ".join(number(text) for text in texts)
    assert query(busy_copy, f"SELECT {amounts}, {utc_text(repr('soon'))}") == [
        (None, None, None, 100, -0.5, None)
    ]


# ------------------------------------------------------------------ links and indexes


def test_links_are_declared_not_enforced_and_what_holds_is_checked(busy_copy: Path) -> None:
    conn = connect(busy_copy)
    try:
        for table in ("fills", "events"):
            links = conn.execute(f"PRAGMA foreign_key_list({table})").fetchall()
            assert [(r[2], r[3], r[4]) for r in links] == [("orders", "order_id", "order_id")]
        # On the busy day every fill's and every event's order has its row.
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (0,)
    finally:
        conn.close()
    # An event may name an order the orders table lacks (here one the journal never saw):
    # it is recorded (the journal of record never refuses a true event), and the check
    # names exactly it.
    with Journal(busy_copy, clock=lambda: DEC_1) as journal:
        journal.record(
            "executor", [EventDraft("alarm.raised", order_id="01NOTANORDER", payload={})]
        )
        seq = journal.head()[0]
        assert journal.rebuild_projections() == seq  # orders emptied and refilled: allowed
    assert query(busy_copy, "PRAGMA foreign_key_check") == [("events", seq, "orders", 0)]


def test_indexes_for_an_orders_fills_and_events_by_time(busy: Path) -> None:
    plans = {
        "fills": query(busy, "EXPLAIN QUERY PLAN SELECT * FROM fills WHERE order_id = 'x'"),
        "events": query(
            busy, "EXPLAIN QUERY PLAN SELECT * FROM events WHERE ts >= '2026-12-01' "
            "AND ts < '2026-12-02'"
        ),
    }  # fmt: skip
    assert "INDEX fills_order" in str(plans["fills"])
    assert "INDEX events_ts" in str(plans["events"])


# ------------------------------------------------------------------ versions, migrations


def test_a_fresh_journal_has_this_codes_schema_version(state_dir: Path) -> None:
    ActionContext.open(state_dir, "dana").close()
    found = shape(state_dir)
    assert found["user_version"] == SCHEMA_VERSION == 1
    assert {v.name for v in VIEWS} <= set(found)


def test_a_version_0_journal_is_upgraded_on_open_and_still_verifies_and_replays(
    v0: Path, busy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = rows_of(v0, "events")
    trade_log = (v0 / "trade_log.jsonl").read_bytes()
    before = shape(v0)
    assert before["user_version"] == 0
    assert all(before[t][1] == [] for t in ("events", "fills"))  # no links yet
    assert not set(before) & {v.name for v in VIEWS}

    args = ["--state-dir", str(v0), "--operator", "auditor"]
    assert main(["audit", "verify", *args]) == 0  # the first open upgrades it
    assert main(["audit", "replay", *args]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "every state file matches" in out, out

    after = shape(v0)
    assert after["user_version"] == SCHEMA_VERSION
    assert after["events"][1] == after["fills"][1] == [("orders", "order_id", "order_id")]
    assert {v.name for v in VIEWS} <= set(after)
    assert after == shape(busy)  # the very schema of a journal this code made
    assert rows_of(v0, "events")[: len(events)] == events  # every event as it was
    assert (v0 / "trade_log.jsonl").read_bytes()[: len(trade_log)] == trade_log
    for table in ("fills", "orders", "fee_ledger", "blobs"):
        assert rows_of(v0, table) == rows_of(busy, table)
    with Journal(v0) as journal:
        assert verify(journal).ok and replay(journal).ok


def test_the_upgrade_keeps_what_others_added_to_a_table_it_rebuilds(v0: Path) -> None:
    """A column, an index, a trigger and a view someone added over ``fills`` survive the
    rebuild that declares its link."""
    conn = connect(v0)
    conn.executescript(
        "ALTER TABLE fills ADD COLUMN note TEXT NOT NULL DEFAULT 'none';"
        "CREATE INDEX my_fills_symbol ON fills(symbol);"
        "CREATE TABLE my_log (seq INTEGER);"
        "CREATE TRIGGER my_fill_log AFTER INSERT ON fills BEGIN "
        "INSERT INTO my_log VALUES (new.seq); END;"
        "CREATE VIEW my_big_fills AS SELECT seq, qty FROM fills WHERE CAST(qty AS REAL) > 10;"
    )
    conn.close()
    before = query(v0, "SELECT * FROM my_big_fills ORDER BY seq")
    open_db(v0 / "vanta.db").conn.close()
    after = shape(v0)
    assert after["fills"][1] == [("orders", "order_id", "order_id")]
    assert ("note", "TEXT", 1, "'none'", 0) in after["fills"][0]
    assert ("my_fills_symbol", 0, "c", ("symbol",)) in after["fills"][2]
    assert query(v0, "SELECT * FROM my_big_fills ORDER BY seq") == before != []
    assert query(v0, "SELECT name FROM sqlite_master WHERE type = 'trigger'") == [("my_fill_log",)]


def test_an_upgrade_that_fails_half_way_changes_nothing(
    v0: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (shape(v0), rows_of(v0, "events"), rows_of(v0, "fills"))
    real = schema._rebuild_with_links

    def rebuild_then_fail(conn: sqlite3.Connection, table: str, links: Any) -> None:
        real(conn, table, links)
        if table == "fills":  # after events was rebuilt too
            raise JournalFileError("disk trouble")

    monkeypatch.setattr(schema, "_rebuild_with_links", rebuild_then_fail)
    with pytest.raises(JournalFileError, match="disk trouble"):
        open_db(v0 / "vanta.db")
    assert (shape(v0), rows_of(v0, "events"), rows_of(v0, "fills")) == before


CRASH = """
import os, sys
from pathlib import Path
import vanta_tui.actions  # the derived tables, as the desk registers them
from vanta_tui.store.journal import schema
from vanta_tui.store.journal.db import open_db

real = schema._upgrade_in_transaction

def upgrade_then_die(conn, projections):
    real(conn, projections)  # everything done, user_version set: only COMMIT is left
    os._exit(9)

schema._upgrade_in_transaction = upgrade_then_die
open_db(Path(sys.argv[1]))
"""


def test_a_process_killed_before_the_upgrade_commits_leaves_version_0(v0: Path) -> None:
    before = (shape(v0), rows_of(v0, "events"), rows_of(v0, "fills"))
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(v0 / "vanta.db")], capture_output=True, timeout=60
    )
    assert done.returncode == 9, done.stderr
    assert (shape(v0), rows_of(v0, "events"), rows_of(v0, "fills")) == before
    with Journal(v0) as journal:  # upgraded at the next open
        assert verify(journal).ok
    assert shape(v0)["user_version"] == SCHEMA_VERSION


def test_processes_opening_a_version_0_journal_at_once_upgrade_it_once(v0: Path) -> None:
    events = rows_of(v0, "events")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        barrier.wait()
        try:
            open_db(v0 / "vanta.db").conn.close()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert shape(v0)["user_version"] == SCHEMA_VERSION
    assert rows_of(v0, "events") == events


@pytest.fixture
def from_the_future(busy_copy: Path) -> Iterator[Path]:
    conn = connect(busy_copy)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    yield busy_copy


def test_a_journal_newer_than_the_code_is_refused_and_left_alone(
    from_the_future: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = from_the_future / "vanta.db"
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    names = sorted(p.name for p in from_the_future.iterdir())
    newer = f"schema version {SCHEMA_VERSION + 1}"
    with pytest.raises(JournalSchemaTooNew, match=newer):
        Journal(from_the_future)
    with pytest.raises(JournalSchemaTooNew, match="written by a newer vanta-tui"):
        Journal(from_the_future, read_only=True)
    assert main(["audit", "verify", "--state-dir", str(from_the_future)]) == 65
    printed = capsys.readouterr()
    assert newer in printed.out + printed.err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in from_the_future.iterdir() if p.suffix != ".lock") == [
        n for n in names if not n.endswith(".lock")
    ]
    assert query(from_the_future, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]


# ------------------------------------------------------------------------------ metadata


def described(meta: dict[str, Any]) -> dict[str, list[str]]:
    tables: dict[str, Any] = meta["databases"]["vanta"]["tables"]
    return {name: list(spec["columns"]) for name, spec in tables.items()}


def in_the_journal(state: Path) -> dict[str, list[str]]:
    names = query(
        state,
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%'",
    )
    return {
        name: [str(r[1]) for r in query(state, f"PRAGMA table_info({name})")] for (name,) in names
    }


def test_the_metadata_describes_every_table_view_and_column(state_dir: Path, busy: Path) -> None:
    ActionContext.open(state_dir, "dana").close()  # a fresh journal, as the desk makes it
    meta = metadata()
    assert described(meta) == in_the_journal(state_dir) == in_the_journal(busy)
    for name, spec in meta["databases"]["vanta"]["tables"].items():
        assert isinstance(spec["description"], str) and spec["description"].strip(), name
        for column, text in spec["columns"].items():
            assert isinstance(text, str) and text.strip(), f"{name}.{column}"


async def test_datasette_shows_the_metadata(datasette: Any) -> None:
    assert "exact decimal text" in datasette.table_metadata("vanta", "fills")["columns"]["qty"]
    page = await datasette.client.get("/vanta/fills_v")
    assert page.status_code == 200
    assert "Quantity filled (number)." in page.text


def test_the_cli_prints_the_metadata_without_a_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "nowhere"
    assert main(["audit", "datasette-metadata", "--state-dir", str(nowhere)]) == 0
    out = capsys.readouterr().out
    assert out == METADATA_FILE.read_text(encoding="utf-8")
    assert parse_metadata(out) == metadata()
    assert not nowhere.exists()
