"""The audit journal: chain, sinks, tampering, recovery, redaction, CLI."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from journal_helpers import db_name, do_actions, raw_journal_db, without_followers

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.cli.main import main
from vanta_tui.core.enums import Side
from vanta_tui.core.models import QueueFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store import load_model
from vanta_tui.store.journal import EventDraft, Journal
from vanta_tui.store.journal.events import canonical_from_row, event_from_line
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify

pytestmark = pytest.mark.usefixtures("journal_backend")


@pytest.fixture
def ctx(state_dir: Path) -> Iterator[ActionContext]:
    without_followers(state_dir)
    context = ActionContext.open(state_dir, "dana")
    yield context
    context.close()


def test_journal_starts_with_a_snapshot_of_every_file(ctx: ActionContext) -> None:
    row = ctx.journal.db.execute("SELECT action, payload FROM events WHERE seq = 1").fetchone()
    assert row[0] == "journal.started"
    files = json.loads(row[1])["files"]
    assert set(files) == {k.filename for k in StateKind}
    for name, info in files.items():
        blob = ctx.journal.blob(info["sha256"])
        assert blob == (ctx.state_dir / name).read_bytes()


def test_actions_chain_and_both_sinks_agree(ctx: ActionContext) -> None:
    do_actions(ctx, 6)
    lines = (ctx.state_dir / "trade_log.jsonl").read_text().splitlines()
    rows = ctx.journal.db.execute(
        "SELECT seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, "
        "prev_hash, hash FROM events ORDER BY seq"
    ).fetchall()
    assert len(lines) == len(rows) == 1 + 6 * 2
    prev = "0" * 64
    for line, row in zip(lines, rows, strict=True):
        event = event_from_line(line)
        assert event.hash == row[10] and event.prev_hash == prev
        assert canonical_from_row(tuple(row[:10])) in line.replace(f',"hash":"{row[10]}"', "")
        prev = event.hash
    result = verify(ctx.journal)
    assert result.ok and result.events == 13 and result.head == prev
    assert str(result) == f"OK 13 events {prev}"
    assert replay(ctx.journal).ok


def test_every_event_names_actor_ids_and_parents(ctx: ActionContext) -> None:
    order = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=Decimal(2))
    approved = approve_orders(ctx, [order.result.order_id])
    staged_event, approved_event = order.events[0], approved.events[0]
    assert staged_event.actor == "dana" and staged_event.vault_id == "V_CORE"
    assert approved_event.order_id == order.result.order_id
    assert approved_event.parents == [staged_event.seq]
    row = ctx.journal.db.execute(
        "SELECT status, approved FROM (SELECT status, json_extract(order_json, '$.approved_by')"
        " AS approved FROM orders WHERE order_id = ?) AS o",
        [order.result.order_id],
    ).fetchone()
    assert row == ("approved", "dana")


def test_database_is_wal_full_sync_and_private(ctx: ActionContext, journal_backend: str) -> None:
    if journal_backend == "postgresql":
        assert not (ctx.state_dir / "vanta.db").exists()  # its durability is the server's
        return
    conn = ctx.journal.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    mode = stat.S_IMODE((ctx.state_dir / "vanta.db").stat().st_mode)
    assert mode == 0o600


def test_external_changes_are_recorded_once_per_content(ctx: ActionContext) -> None:
    path = ctx.state_dir / "vault_allocation.json"
    data = json.loads(path.read_text())
    data["source"] = "manual_override"
    path.write_text(json.dumps(data, indent=2))
    events = ctx.journal.note_external_changes()
    assert [e.action for e in events] == ["state.external_change"]
    assert events[0].payload["file"] == "vault_allocation.json"
    assert ctx.journal.note_external_changes() == []  # nothing new
    assert replay(ctx.journal).ok


def test_replay_reports_a_file_changed_behind_the_journals_back(ctx: ActionContext) -> None:
    do_actions(ctx, 2)
    path = ctx.state_dir / "autotrade_queue.json"
    data = json.loads(path.read_text())
    data["orders"][0]["qty"] = 999
    path.write_text(json.dumps(data, indent=2))
    result = replay(ctx.journal)
    assert not result.ok
    assert any("orders[0].qty" in d for d in result.differences["autotrade_queue.json"])
    assert main(["audit", "replay", "--state-dir", str(ctx.state_dir)]) == 1


# --- tampering: verify fails at the right seq --------------------------------------------


def _tamper_setup(ctx: ActionContext) -> Path:
    do_actions(ctx, 5)  # 11 events
    assert verify(ctx.journal).ok
    return ctx.state_dir / "trade_log.jsonl"


def test_an_edited_row_is_caught_at_its_seq(ctx: ActionContext) -> None:
    _tamper_setup(ctx)
    with raw_journal_db(ctx.state_dir) as conn:
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 6")
    result = verify(ctx.journal)
    assert not result.ok and result.bad_seq == 6 and db_name() in result.reason


def test_an_edited_line_is_caught_at_its_seq(ctx: ActionContext) -> None:
    log = _tamper_setup(ctx)
    lines = log.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace('"qty":', '"qty":1', 1)
    log.write_text("".join(lines))
    result = verify(ctx.journal)
    assert not result.ok and result.bad_seq == 4


def test_a_deleted_line_is_caught(ctx: ActionContext) -> None:
    log = _tamper_setup(ctx)
    lines = log.read_text().splitlines(keepends=True)
    del lines[6]
    log.write_text("".join(lines))
    result = verify(ctx.journal)
    assert not result.ok and result.bad_seq == 7 and "missing" in result.reason


def test_reordered_lines_are_caught(ctx: ActionContext) -> None:
    log = _tamper_setup(ctx)
    lines = log.read_text().splitlines(keepends=True)
    lines[4], lines[5] = lines[5], lines[4]
    log.write_text("".join(lines))
    result = verify(ctx.journal)
    assert not result.ok and result.bad_seq == 5 and "out of order" in result.reason


def test_a_truncated_file_is_caught(ctx: ActionContext) -> None:
    log = _tamper_setup(ctx)
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:8]))
    result = verify(ctx.journal)
    assert not result.ok and result.bad_seq == 9 and "truncated" in result.reason


def test_removing_the_tail_of_both_sinks_is_caught_by_the_head(ctx: ActionContext) -> None:
    log = _tamper_setup(ctx)
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:9]))
    with raw_journal_db(ctx.state_dir) as conn:
        conn.execute("DELETE FROM events WHERE seq > 9")
    result = verify(ctx.journal)
    assert not result.ok and result.bad_seq == 10 and "head" in result.reason


def test_cli_verify_prints_ok_or_the_break(
    ctx: ActionContext, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _tamper_setup(ctx)
    assert main(["audit", "verify", "--state-dir", str(ctx.state_dir)]) == 0
    assert capsys.readouterr().out.startswith("OK 11 events ")
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:5] + lines[6:]))
    assert main(["audit", "verify", "--state-dir", str(ctx.state_dir)]) == 1
    assert "seq 6" in capsys.readouterr().out


# --- recovery ------------------------------------------------------------------------------


def test_a_torn_jsonl_tail_and_missing_lines_are_repaired(ctx: ActionContext) -> None:
    do_actions(ctx, 3)
    log = ctx.state_dir / "trade_log.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:4]) + lines[4][:50])  # lost two lines and tore one
    report = ctx.journal.recover()
    assert report.jsonl_torn_bytes == 50 and report.jsonl_lines_restored == len(lines) - 4
    assert log.read_text() == "".join(lines)
    assert verify(ctx.journal).ok


def test_an_intent_whose_file_was_written_is_completed(ctx: ActionContext) -> None:
    journal = ctx.journal
    real_append = journal._append_locked
    calls = {"n": 0}

    def crash_after_write(*args: object, **kwargs: object) -> object:
        if kwargs.get("intent_id") and calls["n"] == 0:
            calls["n"] += 1
            raise KeyboardInterrupt  # the process dies after the file write
        return real_append(*args, **kwargs)  # type: ignore[arg-type]

    journal._append_locked = crash_after_write  # type: ignore[method-assign,assignment]
    with pytest.raises(KeyboardInterrupt):
        stage_order(ctx, vault_id="V_CORE", symbol="KO", side=Side.BUY, qty=Decimal(3))
    journal._append_locked = real_append  # type: ignore[method-assign]
    queue = load_model(ctx.state_dir, QueueFile)
    assert queue.orders[-1].symbol == "KO"  # the file holds the new order ...
    assert not any(
        e == "order.staged" for (e,) in journal.db.execute("SELECT action FROM events").fetchall()
    )  # ... but the journal does not, yet
    report = journal.recover()
    assert len(report.completed) == 1
    assert verify(journal).ok and replay(journal).ok
    staged = journal.db.execute("SELECT COUNT(*) FROM events WHERE action='order.staged'")
    assert staged.fetchone()[0] == 1


def _stage_but_die_before_the_file_write(
    ctx: ActionContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stage XOM, with the process "killed" after the intent but before the queue write."""
    import vanta_tui.store.journal.journal as journal_module

    def die(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(journal_module, "atomic_replace", die)
    with pytest.raises(KeyboardInterrupt):
        stage_order(ctx, vault_id="V_CORE", symbol="XOM", side=Side.SELL, qty=Decimal(1))
    monkeypatch.undo()


def test_an_intent_whose_file_was_not_written_rolls_forward(
    ctx: ActionContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stage_but_die_before_the_file_write(ctx, monkeypatch)
    assert all(o.symbol != "XOM" for o in load_model(ctx.state_dir, QueueFile).orders)
    report = ctx.journal.recover()
    assert len(report.rolled_forward) == 1
    assert load_model(ctx.state_dir, QueueFile).orders[-1].symbol == "XOM"
    assert verify(ctx.journal).ok and replay(ctx.journal).ok


def test_an_intent_overtaken_by_another_writer_is_abandoned_with_a_reason(
    ctx: ActionContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stage_but_die_before_the_file_write(ctx, monkeypatch)
    path = ctx.state_dir / "autotrade_queue.json"
    data = json.loads(path.read_text())
    data["orders"].pop()
    path.write_text(json.dumps(data, indent=2))
    report = ctx.journal.start()
    assert len(report.abandoned) == 1
    actions = [a for (a,) in ctx.journal.db.execute("SELECT action FROM events ORDER BY seq")]
    assert "journal.intent_abandoned" in actions and "order.staged" not in actions
    assert verify(ctx.journal).ok and replay(ctx.journal).ok


# --- redaction -----------------------------------------------------------------------------


def test_secrets_never_reach_sqlite_jsonl_or_logs(
    ctx: ActionContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-DO-NOT-LEAK-4242"
    ctx.journal.record(
        "dana",
        [
            EventDraft(
                "follower.added",
                follower_id="F_9",
                payload={
                    "packet": {"account_ref": "alpaca_F9", "api_key": secret},
                    "credentials": [{"API_SECRET": secret, "passphrase": secret}],
                    "note": "keys moved to keyring",
                },
            )
        ],
    )
    for path in ctx.state_dir.iterdir():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path.name
    assert secret not in caplog.text
    row = ctx.journal.db.execute("SELECT payload FROM events WHERE action='follower.added'")
    payload = json.loads(row.fetchone()[0])
    assert payload["packet"] == {"account_ref": "alpaca_F9", "api_key": "[redacted]"}


# --- show / export -------------------------------------------------------------------------


def test_show_draws_the_orders_dag(ctx: ActionContext, capsys: pytest.CaptureFixture[str]) -> None:
    order = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=Decimal(4))
    oid = order.result.order_id
    approve_orders(ctx, [oid])
    assert main(["audit", "show", oid, "--state-dir", str(ctx.state_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"order {oid}"
    assert "order.staged" in out[1] and "buy 4 AAPL" in out[1] and out[1].startswith("├─ ")
    assert "order.approved" in out[2] and out[2].startswith("└─ ") and "by dana" in out[2]
    assert main(["audit", "show", "NOPE", "--state-dir", str(ctx.state_dir)]) == 65


def test_export_filters_by_vault_and_time(
    ctx: ActionContext, capsys: pytest.CaptureFixture[str]
) -> None:
    do_actions(ctx, 2)
    ctx.journal.record("sam", [EventDraft("note.added", vault_id="V_CRYPTO", payload={})])
    capsys.readouterr()
    assert main(["audit", "export", "--vault", "V_CRYPTO", "--state-dir", str(ctx.state_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and event_from_line(lines[0]).action == "note.added"
    assert main(["audit", "export", "--format", "csv", "--state-dir", str(ctx.state_dir)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("seq,ts,actor,action") and len(rows) == 1 + 6
    assert (
        main(
            [
                "audit",
                "export",
                "--since",
                "2999-01-01T00:00:00Z",
                "--state-dir",
                str(ctx.state_dir),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""


def test_journal_lines_round_trip_exact_numbers(ctx: ActionContext) -> None:
    ctx.journal.record("sam", [EventDraft("note.added", payload={"x": Decimal("0.00000001")})])
    line = (ctx.state_dir / "trade_log.jsonl").read_text().splitlines()[-1]
    assert '"x":0.00000001' in line


def test_two_journals_in_one_directory_share_one_chain(state_dir: Path) -> None:
    first = Journal(state_dir)
    second = Journal(state_dir)
    first.start()
    first.record("a", [EventDraft("note.added")])
    second.record("b", [EventDraft("note.added")])
    first.record("a", [EventDraft("note.added")])
    assert verify(second).ok and verify(second).events == 4
    first.close()
    second.close()
