"""The journal's derived tables are projections the actions register: kept in the transaction
that appends the events, caught up when a journal fell behind, rebuilt from the events to
the very same rows. Real SQLite files on a temp copy of the demo."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import vanta_tui.store.journal.journal as journal_module
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.fees import close_fee_cycle, ledger
from vanta_tui.actions.orders import approve_orders, reject_orders, stage_order
from vanta_tui.actions.overlays import set_maintenance
from vanta_tui.actions.projections import (
    FEE_LEDGER,
    ORDERS,
    PROJECTIONS,
    child_orders,
    fee_ledger,
    in_fee_ledger,
    order_ids,
)
from vanta_tui.core.enums import OrderType, Side
from vanta_tui.store.journal import EventDraft, Journal, Projection, export
from vanta_tui.store.journal.db import open_db
from vanta_tui.store.journal.projection import MARK_PREFIX, registered

DEC_1 = datetime(2026, 12, 1, 4, 16, 35, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("journal_backend")


TABLES = [p.table for p in PROJECTIONS]


def rows(journal: Journal) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived table's rows, by key (read directly: what the file holds)."""
    return {
        p.table: journal.db.execute(f"SELECT * FROM {p.table} ORDER BY {p.key}").fetchall()
        for p in PROJECTIONS
    }


def marks(journal: Journal) -> dict[str, int]:
    found = journal.db.execute(
        "SELECT key, value FROM meta WHERE key LIKE ?", [MARK_PREFIX + "%"]
    ).fetchall()
    return {str(k)[len(MARK_PREFIX) :]: int(v) for k, v in found}


def busy_day(ctx: ActionContext, now: list[datetime]) -> str:
    """Orders staged, approved (mirrored to followers) and rejected, maintenance on and off,
    a fee period closed and a fill recorded: every derived table gets rows. Returns the id
    of the approved vault order."""
    first = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=Decimal(20))
    second = stage_order(
        ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=Decimal("1.5"),
        order_type=OrderType.LIMIT, limit_price=Decimal("190.10"),
    )  # fmt: skip
    approve_orders(ctx, [first.result.order_id])
    reject_orders(ctx, [second.result.order_id], reason="not today")
    set_maintenance(ctx, "V_CORE", True, "broker upgrade")
    set_maintenance(ctx, "V_CORE", False)
    now[0] += timedelta(seconds=1)
    close_fee_cycle(ctx, "V_CORE")
    ctx.journal.record(
        "executor",
        [
            EventDraft(
                "order.partially_filled",
                vault_id="V_CORE",
                order_id=first.result.order_id,
                payload={"fill": {"qty": Decimal("1.0"), "price": Decimal("101.25"),
                                  "symbol": "AAPL", "side": "buy"}},
            )
        ],
    )  # fmt: skip
    return str(first.result.order_id)


def opened(state_dir: Path, now: list[datetime]) -> ActionContext:
    return ActionContext.open(state_dir, "dana", clock=lambda: now[0])


def test_the_actions_register_their_four_tables() -> None:
    assert {p.table for p in registered()} >= set(TABLES)


def test_every_table_gets_its_rows_and_a_rebuild_gives_the_same(state_dir: Path) -> None:
    now = [DEC_1]
    ctx = opened(state_dir, now)
    try:
        vault_order = busy_day(ctx, now)
        kept = rows(ctx.journal)
        assert all(kept[t] for t in TABLES), {t: len(kept[t]) for t in TABLES}
        head = ctx.journal.head()[0]
        assert marks(ctx.journal) == {t: head for t in TABLES}
        # The readings of the tables.
        assert vault_order in order_ids(ctx.journal)
        children = child_orders(ctx.journal, vault_order)
        assert children and all(
            c in order_ids(ctx.journal) for c in children
        )  # mirrored to V_CORE's followers
        # The trail finds the same children in the chain itself (no derived table).
        assert export.child_orders(ctx.journal, vault_order) == children
        tree = export.order_tree(ctx.journal, vault_order)
        assert tree == export.order_tree(ctx.journal, vault_order, children)
        assert all(any(f"child order {c}" in line for line in tree) for c in children)
        fill = ctx.journal.db.execute("SELECT qty, price FROM fills").fetchall()
        assert fill == [("1.0", "101.25")]
        assert [e.vault_id for e in ledger(ctx.journal, vault_id="V_CORE")] != []
        assert in_fee_ledger(ctx.journal, vault_id="V_CORE")
        assert not in_fee_ledger(ctx.journal, follower_id="NOBODY")
        assert fee_ledger(ctx.journal, vault_id="NOBODY") == []

        assert ctx.journal.rebuild_projections() == head
        assert rows(ctx.journal) == kept
        assert marks(ctx.journal) == {t: head for t in TABLES}
    finally:
        ctx.close()


def test_a_table_rebuilt_alone_leaves_the_others(state_dir: Path) -> None:
    now = [DEC_1]
    ctx = opened(state_dir, now)
    try:
        busy_day(ctx, now)
        kept = rows(ctx.journal)
        ctx.journal.db.execute("DELETE FROM fills")  # lost, say
        ctx.journal.rebuild_projections(["fills"])
        assert rows(ctx.journal) == kept
    finally:
        ctx.close()


def test_a_journal_written_without_the_projections_catches_up(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch, another_journal: Any
) -> None:
    """A process that registered no projection (a tool on the store alone) appends events
    and leaves the tables behind; the next journal that keeps them catches them up, to the
    rows a journal that always kept them has."""
    reference_dir = tmp_path / "reference"
    shutil.copytree(state_dir, reference_dir)

    now = [DEC_1]
    with monkeypatch.context() as patch:
        patch.setattr(journal_module, "registered", lambda: ())
        ctx = opened(state_dir, now)
        try:
            busy_day(ctx, now)
            tables = {
                r[0]
                for r in ctx.journal.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            assert not set(TABLES) & tables  # nothing derived: the store keeps its own
        finally:
            ctx.close()

    ctx = opened(state_dir, [DEC_1 + timedelta(minutes=5)])  # start() catches up
    try:
        caught_up = rows(ctx.journal)
        assert marks(ctx.journal) == {t: ctx.journal.head()[0] for t in TABLES}
        ctx.journal.rebuild_projections()
        assert rows(ctx.journal) == caught_up
    finally:
        ctx.close()

    another_journal()
    reference = opened(reference_dir, [DEC_1])
    try:
        busy_day(reference, [DEC_1])
        # Same actions, other ids and times: the same number of rows in every table.
        assert {t: len(r) for t, r in rows(reference.journal).items()} == {
            t: len(r) for t, r in caught_up.items()
        }
    finally:
        reference.close()


def test_a_table_left_behind_by_another_process_catches_up_before_the_next_append(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [DEC_1]
    keeper = opened(state_dir, now)  # keeps the tables; stays open meanwhile
    try:
        with monkeypatch.context() as patch:
            patch.setattr(journal_module, "registered", lambda: ())
            other = opened(state_dir, now)
            try:
                stage_order(other, vault_id="V_CORE", symbol="MSFT", side=Side.BUY,
                            qty=Decimal(2))  # fmt: skip
            finally:
                other.close()
        behind = marks(keeper.journal)["orders"]
        assert behind < keeper.journal.head()[0]
        staged = stage_order(keeper, vault_id="V_CORE", symbol="IBM", side=Side.BUY, qty=Decimal(1))
        assert marks(keeper.journal)["orders"] == keeper.journal.head()[0]
        ids = set(order_ids(keeper.journal))
        assert staged.result.order_id in ids
        assert len(ids) == len(
            {r[0] for r in keeper.journal.db.execute("SELECT order_id FROM orders")}
        )
        symbols = {r[0] for r in keeper.journal.db.execute("SELECT symbol FROM orders")}
        assert {"MSFT", "IBM"} <= symbols  # the other process's order caught up
    finally:
        keeper.close()


def test_tables_from_before_the_marks_are_taken_as_they_are(state_dir: Path) -> None:
    """A journal from before projections were marked (its tables made by the old schema):
    opening it marks them at the head, without writing any row again."""
    now = [DEC_1]
    ctx = opened(state_dir, now)
    try:
        busy_day(ctx, now)
        kept = rows(ctx.journal)
        ctx.journal.db.execute("DELETE FROM meta WHERE key LIKE ?", [MARK_PREFIX + "%"])
        head = ctx.journal.head()[0]
    finally:
        ctx.close()
    again = opened(state_dir, [DEC_1 + timedelta(hours=1)])
    try:
        assert marks(again.journal) == {t: head for t in TABLES}
        assert rows(again.journal) == kept
        stage_order(again, vault_id="V_CORE", symbol="MSFT", side=Side.BUY, qty=Decimal(1))
        assert len(rows(again.journal)["orders"]) == len(kept["orders"]) + 1
    finally:
        again.close()


def test_a_column_a_projection_gained_is_added_to_an_older_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(How ``fee_ledger`` gained its period columns.) Rows written before have it NULL."""

    def row(event: Any) -> tuple[Any, ...] | None:
        return (event.seq, event.action) if event.action == "note" else None

    def row3(event: Any) -> tuple[Any, ...] | None:
        return (event.seq, event.action, "new") if event.action == "note" else None

    old = Projection("notes", (("seq", "INTEGER"), ("action", "TEXT")), row)
    new = Projection("notes", (("seq", "INTEGER"), ("action", "TEXT"), ("extra", "TEXT")), row3)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setattr(journal_module, "registered", lambda: (old,))
    with Journal(state) as journal:
        journal.record("dana", [EventDraft("note")])
    monkeypatch.setattr(journal_module, "registered", lambda: (new,))
    with Journal(state) as journal:
        journal.record("dana", [EventDraft("note"), EventDraft("other")])
        assert journal.db.execute("SELECT * FROM notes ORDER BY seq").fetchall() == [
            (1, "note", None),
            (2, "note", "new"),
        ]
        assert journal.rows_of(new, columns=("seq",), where={"extra": None}) == [(1,)]
        assert journal.rows_of(new, where={"action": "note"}, limit=1) == [(1, "note", None)]
        with pytest.raises(ValueError, match="no column 'nope'"):
            journal.rows_of(new, columns=("nope",))


def test_a_projection_that_fails_appends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are written in the transaction that appends the events: a projection that
    raises leaves the chain and every table as they were."""

    def fragile(event: Any) -> tuple[Any, ...] | None:
        if event.payload.get("boom"):
            raise RuntimeError("boom")
        return (event.seq, event.action)

    notes = Projection("notes", (("seq", "INTEGER"), ("action", "TEXT")), fragile)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setattr(journal_module, "registered", lambda: (notes,))
    with Journal(state) as journal:
        journal.record("dana", [EventDraft("a")])
        with pytest.raises(RuntimeError, match="boom"):
            journal.record("dana", [EventDraft("b"), EventDraft("c", payload={"boom": True})])
        assert journal.count() == 1
        journal.record("dana", [EventDraft("d")])
        assert journal.db.execute("SELECT * FROM notes ORDER BY seq").fetchall() == [
            (1, "a"),
            (2, "d"),
        ]


def test_a_journal_read_only_without_the_tables_reads_them_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(journal_module, "registered", lambda: ())
        with Journal(state) as journal:
            journal.record("dana", [EventDraft("fee.charged", vault_id="V_CORE")])
    with Journal(state, read_only=True) as journal:
        assert fee_ledger(journal) == []
        assert order_ids(journal) == []
    with Journal(state) as journal:  # writable: caught up
        journal.start()
        assert [r.vault_id for r in fee_ledger(journal)] == ["V_CORE"]
    with Journal(tmp_path / "nowhere", read_only=True) as journal:  # no journal at all
        assert journal.rows_of(ORDERS) == []


def test_open_db_makes_the_registered_tables(tmp_path: Path) -> None:
    db = open_db(tmp_path / "j.db")
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.conn.close()
    assert {"events", "meta", "intents", "alarm_seen", *TABLES} <= tables
    bare = open_db(tmp_path / "bare.db", projections=())
    try:
        tables = {r[0] for r in bare.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        bare.conn.close()
    assert not set(TABLES) & tables


def test_projection_names_are_plain() -> None:
    with pytest.raises(ValueError, match="not a plain name"):
        Projection("x; DROP TABLE events", (("seq", "INTEGER"),), lambda e: None)
    assert FEE_LEDGER.key == "seq" and ORDERS.key == "order_id"
