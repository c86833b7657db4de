"""Tamper evidence that survives the next start: the head never moves back, signed
checkpoints catch a recomputed chain, an anchor kept elsewhere catches the rest, and an
older vanta.db put back is called a rollback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from journal_helpers import (
    db_name,
    do_actions,
    open_raw,
    put_back_database,
    save_database,
    without_followers,
)

from vanta_tui.actions.context import ActionContext
from vanta_tui.store.journal import EventDraft, Journal
from vanta_tui.store.journal.events import canonical_from_row, hash_text, line_with_hash
from vanta_tui.store.journal.verify import verify

pytestmark = pytest.mark.usefixtures("journal_backend")

KEY = "correct horse battery staple, audit edition"
CHECKPOINTS_NAME = "trade_log.checkpoints"


def _cli(state_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    import os

    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stdout + done.stderr


def _drop_last_event(state_dir: Path) -> None:
    """What the issue's intruder did: the last row of vanta.db and the last line of the log."""
    conn = open_raw(state_dir)
    conn.execute("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)")
    conn.commit()
    conn.close()
    log = state_dir / "trade_log.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:-1]))


def _recompute_chain(state_dir: Path, seq: int, actor: str) -> None:
    """Rewrite event ``seq``'s actor and recompute every hash after it, in both sinks and the
    head: what anyone without the signing key can do."""
    conn = open_raw(state_dir)
    rows = conn.execute(
        "SELECT seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, "
        "prev_hash, hash FROM events ORDER BY seq"
    ).fetchall()
    prev = "0" * 64
    lines = []
    for row in rows:
        fields = list(row[:10])
        if fields[0] == seq:
            fields[2] = actor
        fields[9] = prev
        canonical = canonical_from_row(tuple(fields))
        digest = hash_text(canonical)
        conn.execute(
            "UPDATE events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            [fields[2], prev, digest, fields[0]],
        )
        lines.append(line_with_hash(canonical, digest) + "\n")
        prev = digest
    conn.commit()
    conn.close()
    (state_dir / "trade_log.jsonl").write_text("".join(lines))
    (state_dir / "trade_log.head").write_text(
        json.dumps({"hash": prev, "seq": len(rows)}, separators=(",", ":")) + "\n"
    )


def _events(state_dir: Path) -> list[tuple[int, str]]:
    conn = open_raw(state_dir)
    rows = [
        (int(s), str(a)) for s, a in conn.execute("SELECT seq, action FROM events ORDER BY seq")
    ]
    conn.close()
    return rows


# --- the head never moves back ------------------------------------------------------------


def test_a_truncation_is_not_erased_by_the_next_open(state_dir: Path) -> None:
    """The issue's reproduction, step for step through the CLI."""
    assert _cli(state_dir, "orders", "stage", "V_CORE", "AAPL", "buy", "1")[0] == 0
    assert _cli(state_dir, "--operator", "mallory", "alarm", "ack", "dead_letters")[0] == 0
    _drop_last_event(state_dir)
    head_before = (state_dir / "trade_log.head").read_bytes()
    code, out = _cli(state_dir, "audit", "verify")
    assert code == 1 and "BROKEN at seq 3" in out
    status_code, status = _cli(state_dir, "status", "--no-probe")
    # Opening the journal (status, any action) leaves the evidence as it is ...
    assert (state_dir / "trade_log.head").read_bytes() == head_before
    code, out = _cli(state_dir, "audit", "verify")
    assert code == 1 and "BROKEN at seq 3" in out
    # ... says so (status FAIL, naming the recorded head) ...
    assert status_code == 2 and "FAIL journal" in status and "records seq 3" in status, status
    # ... and refuses to write, with its own exit code.
    events = _events(state_dir)
    code, out = _cli(state_dir, "orders", "stage", "V_CORE", "MSFT", "buy", "1")
    assert code == 65 and "events were removed" in out and "audit repair" in out, out
    assert _events(state_dir) == events
    code, out = _cli(state_dir, "executor", "--once")
    assert code == 65 and "not starting" in out
    assert _events(state_dir) == events


def test_an_explicit_repair_is_audited_and_keeps_the_evidence(state_dir: Path) -> None:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)
    ctx.close()
    recorded = json.loads((state_dir / "trade_log.head").read_text())
    _drop_last_event(state_dir)
    code, out = _cli(state_dir, "--operator", "sam", "audit", "repair", "--reason", "INC-7")
    assert code == 0 and "repaired (truncated)" in out, out
    assert _cli(state_dir, "audit", "verify")[0] == 0
    with Journal(state_dir) as journal:
        row = journal.db.execute(
            "SELECT actor, payload FROM events WHERE action = 'journal.repaired'"
        ).fetchone()
    payload = json.loads(row[1])
    assert row[0] == "sam" and payload["reason"] == "INC-7" and payload["kind"] == "truncated"
    assert payload["recorded_head"] == {"seq": recorded["seq"], "hash": recorded["hash"]}
    kept = [p.name for p in state_dir.iterdir() if ".before-repair-" in p.name]
    assert any(name.startswith("trade_log.head.") for name in kept)
    old_head = next(p for p in state_dir.iterdir() if p.name.startswith("trade_log.head.before"))
    assert json.loads(old_head.read_text()) == recorded
    # Writing works again.
    assert _cli(state_dir, "orders", "stage", "V_CORE", "KO", "buy", "1")[0] == 0


def test_the_head_file_removed_with_the_tail_is_still_caught(state_dir: Path) -> None:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)
    ctx.close()
    _drop_last_event(state_dir)
    (state_dir / "trade_log.head").unlink()
    from vanta_tui.store.errors import JournalIntegrityError

    ctx = ActionContext.open(state_dir, "dana")
    assert ctx.recovery is not None and ctx.recovery.problem is not None
    assert "missing" in ctx.recovery.problem.message
    with pytest.raises(JournalIntegrityError):
        ctx.journal.record("dana", [EventDraft("note.added")])
    ctx.close()
    assert not (state_dir / "trade_log.head").exists()


# --- signed checkpoints -------------------------------------------------------------------


def test_a_recomputed_chain_passes_without_a_key_and_fails_with_it(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    ctx.journal.checkpoint_every = 4
    do_actions(ctx, 5)  # 11 events: a checkpoint every 4 (at 4 and 8) and at the close
    ctx.close()
    from vanta_tui.store.journal.anchor import read_checkpoints

    checkpoints = read_checkpoints(state_dir / CHECKPOINTS_NAME)
    assert [c.seq for c in checkpoints if c] == [4, 8, 11]
    code, out = _cli(state_dir, "audit", "verify", env={"VANTA_AUDIT_KEY": KEY})
    assert code == 0 and "signed through seq 11 (3 checkpoints)" in out, out
    # The intruder rewrites seq 6's actor, recomputes every hash after it, and rewrites the
    # checkpoints' hashes too (it cannot make their signatures).
    _recompute_chain(state_dir, 6, "mallory")
    new_hashes = {s: h for s, h in open_raw(state_dir).execute(
        "SELECT seq, hash FROM events")}  # fmt: skip
    lines = (state_dir / CHECKPOINTS_NAME).read_text().splitlines()
    forged = []
    for line in lines:
        data = json.loads(line)
        data["hash"] = new_hashes[data["seq"]]
        forged.append(json.dumps(data, separators=(",", ":"), sort_keys=True))
    (state_dir / CHECKPOINTS_NAME).write_text("\n".join(forged) + "\n")
    code, out = _cli(state_dir, "audit", "verify", env={"VANTA_AUDIT_KEY": ""})
    assert code == 0 and "only hash-chained" in out, out  # what a chain alone can prove
    code, out = _cli(state_dir, "audit", "verify", env={"VANTA_AUDIT_KEY": KEY})
    assert code == 1, out
    assert "BROKEN at seq 8: checkpoint 2 (seq 8)" in out and "signature" in out, out
    # The journal refuses to write for whoever holds the key.
    ctx = ActionContext.open(state_dir, "dana")
    assert ctx.recovery is not None and ctx.recovery.problem is not None
    assert ctx.recovery.problem.kind == "checkpoint"
    ctx.close()


def test_a_recomputed_chain_is_caught_by_unforged_checkpoints(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 3)
    ctx.close()
    _recompute_chain(state_dir, 3, "mallory")
    journal = Journal(state_dir)
    result = verify(journal)
    assert not result.ok and result.bad_seq == 7 and "checkpoint 1 (seq 7)" in result.reason
    assert journal.integrity() is not None and journal.integrity().kind == "rewritten"  # type: ignore[union-attr]
    journal.close()


def test_verify_says_when_history_is_not_signed(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VANTA_AUDIT_KEY", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    ctx = ActionContext.open(state_dir, "dana")
    ctx.close()
    code, out = _cli(
        state_dir, "audit", "verify",
        env={"VANTA_AUDIT_KEY": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )  # fmt: skip
    assert code == 0 and "not signed" in out and "only hash-chained" in out
    assert not (state_dir / CHECKPOINTS_NAME).exists()


def test_the_key_is_never_written_beside_the_journal(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)
    ctx.close()
    for path in state_dir.iterdir():
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path.name


# --- an anchor kept elsewhere -------------------------------------------------------------


def test_anchor_and_expect_head(state_dir: Path) -> None:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)
    ctx.close()
    code, out = _cli(state_dir, "audit", "anchor")
    assert code == 0
    anchor = out.splitlines()[0]
    seq, digest = anchor.split(":")
    assert seq == "5" and len(digest) == 64
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 1)  # the chain grows past the anchor: still fine
    ctx.close()
    code, out = _cli(state_dir, "audit", "verify", "--expect-head", anchor)
    assert code == 0 and "expected head seq 5 matches" in out, out
    _recompute_chain(state_dir, 4, "mallory")  # passes the chain checks alone ...
    assert _cli(state_dir, "audit", "verify")[0] == 0
    code, out = _cli(state_dir, "audit", "verify", "--expect-head", anchor)
    assert code == 1 and "BROKEN at seq 5" in out and "expected head" in out, out
    code, out = _cli(state_dir, "audit", "verify", "--expect-head", "99:" + digest)
    assert code == 1 and "ends at seq 7" in out
    assert _cli(state_dir, "audit", "verify", "--expect-head", "nonsense")[0] == 64


# --- rollback -----------------------------------------------------------------------------


def test_an_older_database_put_back_is_reported_as_a_rollback(state_dir: Path) -> None:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)
    ctx.close()  # the last connection: SQLite folds the WAL into vanta.db
    saved = save_database(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)  # the queue file moves on
    ctx.close()
    put_back_database(state_dir, saved)
    before = _events(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    report = ctx.recovery
    ctx.close()
    # Not absorbed as outside changes: nothing was recorded ...
    assert _events(state_dir) == before
    assert all(action != "state.external_change" for _, action in before)
    # ... it is called a rollback.
    problem = getattr(report, "problem", None)
    assert problem is not None and problem.kind == "rollback"
    assert f"older {db_name()}" in problem.message
    result = verify(Journal(state_dir))
    assert not result.ok and "rollback" in result.reason
    code, out = _cli(state_dir, "status", "--no-probe")
    assert code == 2 and "rollback" in out


# --- issue 18 review: the checkpoints removed, the repair, the cost per action ------------


def _drop_trace(state_dir: Path) -> None:
    """The thorough intruder also deletes vanta.db's note of the last checkpoint."""
    conn = open_raw(state_dir)
    conn.execute("DELETE FROM meta WHERE key = 'checkpoint.last'")
    conn.commit()
    conn.close()


def test_removing_the_checkpoints_does_not_defeat_the_key(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rm trade_log.checkpoints` with the key set: verify FAILs, and the journal does not
    start a new checkpoint chain over the history (it refuses to write until a repair)."""
    from vanta_tui.store.errors import JournalIntegrityError

    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 2)
    ctx.close()
    assert _cli(state_dir, "audit", "verify", env={"VANTA_AUDIT_KEY": KEY})[0] == 0
    (state_dir / CHECKPOINTS_NAME).unlink()
    code, out = _cli(state_dir, "audit", "verify", env={"VANTA_AUDIT_KEY": KEY})
    assert code == 1 and "BROKEN at seq" in out and "checkpoints were removed" in out, out
    # Without the key too: the file's disappearance is evidence by itself.
    code, out = _cli(state_dir, "audit", "verify", env={"VANTA_AUDIT_KEY": ""})
    assert code == 1 and "checkpoints were removed" in out, out
    events = _events(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    assert ctx.recovery is not None and ctx.recovery.problem is not None
    assert ctx.recovery.problem.kind == "checkpoint"
    with pytest.raises(JournalIntegrityError):
        ctx.journal.record("dana", [EventDraft("note.added")])
    ctx.close()
    assert _events(state_dir) == events
    assert not (state_dir / CHECKPOINTS_NAME).exists()  # no fresh chain over the history


def test_a_full_rewrite_with_every_trace_of_signing_removed_fails_with_the_key(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History rewritten and hashes recomputed, checkpoints and vanta.db's trace of them
    removed: more events unsigned than a crash leaves (2 x checkpoint_every) FAIL."""
    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    ctx.journal.checkpoint_every = 4
    do_actions(ctx, 5)  # 11 events
    ctx.close()
    _recompute_chain(state_dir, 6, "mallory")
    (state_dir / CHECKPOINTS_NAME).unlink()
    _drop_trace(state_dir)
    journal = Journal(state_dir)
    journal.checkpoint_every = 4
    result = verify(journal)
    assert not result.ok and result.bad_seq == 1, result
    assert "events 1–11 (11) are not covered by a signed checkpoint" in result.reason
    problem = journal.integrity()
    assert problem is not None and problem.kind == "unsigned"
    journal.close()
    assert not (state_dir / CHECKPOINTS_NAME).exists()


def test_more_unsigned_events_than_a_crash_leaves_fail_with_the_key(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest checkpoints cut off (not the events): the tail past the last signed one
    is longer than a crash explains."""
    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    ctx.journal.checkpoint_every = 2
    do_actions(ctx, 5)  # 11 events, a checkpoint every 2 and at the close
    ctx.close()
    lines = (state_dir / CHECKPOINTS_NAME).read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    assert first["seq"] == 2
    (state_dir / CHECKPOINTS_NAME).write_text(lines[0])
    conn = open_raw(state_dir)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'checkpoint.last'",
        [json.dumps({"mac": first["mac"], "seq": 2}, separators=(",", ":"))],
    )
    conn.commit()
    conn.close()
    journal = Journal(state_dir)
    journal.checkpoint_every = 2
    result = verify(journal)
    assert not result.ok and result.bad_seq == 3 and "a crash leaves at most 4" in result.reason
    assert journal.integrity() is not None and journal.integrity().kind == "unsigned"  # type: ignore[union-attr]
    journal.close()


def test_a_repair_continues_the_signed_chain_and_verify_names_it(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vanta_tui.store.journal.anchor import read_checkpoints

    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    ctx.journal.checkpoint_every = 4
    do_actions(ctx, 5)  # 11 events; checkpoints at 4, 8, 11
    ctx.close()
    before = read_checkpoints(state_dir / CHECKPOINTS_NAME)
    _drop_last_event(state_dir)  # seq 11 goes: checkpoint 3 is past the chain
    env = {"VANTA_AUDIT_KEY": KEY}
    code, out = _cli(
        state_dir, "--operator", "sam", "audit", "repair", "--reason", "INC-9", env=env
    )
    assert code == 0 and "repaired (truncated)" in out, out
    after = read_checkpoints(state_dir / CHECKPOINTS_NAME)
    # Checkpoints 1 and 2 still hold and are kept; the next one follows checkpoint 2.
    assert after[:2] == before[:2] and len(after) == 3
    assert after[2] is not None and before[1] is not None and after[2].prev == before[1].mac
    code, out = _cli(state_dir, "audit", "verify", env=env)
    assert code == 0 and "signed through seq 11 (3 checkpoints)" in out, out
    assert "repaired at seq 11" in out, out
    with Journal(state_dir) as journal:
        payload = json.loads(
            journal.db.execute(
                "SELECT payload FROM events WHERE action = 'journal.repaired'"
            ).fetchone()[0]
        )
    assert payload["checkpoints_kept"] == 2 and payload["signed_from"]["seq"] == 8
    # The checkpoints removed, then repaired: writing and signing go on, verify says so.
    (state_dir / CHECKPOINTS_NAME).unlink()
    code, out = _cli(
        state_dir, "--operator", "sam", "audit", "repair", "--reason", "INC-10", env=env
    )
    assert code == 0 and "repaired (checkpoint)" in out, out
    assert _cli(state_dir, "orders", "stage", "V_CORE", "KO", "buy", "1", env=env)[0] == 0
    code, out = _cli(state_dir, "audit", "verify", env=env)
    assert code == 0 and "signed through seq 13" in out and "repaired at seq 11, 12" in out, out


def test_an_action_reads_only_the_end_of_the_checkpoint_file(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-action cost does not grow with the checkpoint file: the bytes read from it by
    an action are the same for 3 lines and for 40,003 (never the whole file)."""
    from vanta_tui.store.journal import anchor

    monkeypatch.setenv("VANTA_AUDIT_KEY", KEY)
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 1)
    ctx.close()
    read: list[int] = []
    real_read_at = anchor._read_at

    def counting(fd: int, offset: int, length: int) -> bytes:
        data = real_read_at(fd, offset, length)
        read.append(len(data))
        return data

    def whole_file(path: Path) -> list[anchor.Checkpoint | None]:
        raise AssertionError(f"an action read all of {path.name}")

    monkeypatch.setattr(anchor, "_read_at", counting)
    monkeypatch.setattr(anchor, "read_checkpoints", whole_file)

    def one_action() -> int:
        anchor._TAIL_CACHE.clear()  # a new process, as for every CLI action
        read.clear()
        ctx = ActionContext.open(state_dir, "dana")
        do_actions(ctx, 1)
        ctx.close()
        return sum(read)

    small = one_action()
    path = state_dir / CHECKPOINTS_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] * 40_000 + b"".join(lines))  # ~10 MB before the real lines
    assert path.stat().st_size > 8_000_000
    large = one_action()
    assert 0 < small <= 4096 and 0 < large <= 4096, (small, large)
    assert len(read) <= 2, read  # one tail read at open; the rest come from the cache
