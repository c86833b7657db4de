"""The store's named readings of the journal (what the actions ask instead of writing SQL),
the lease seen from below the executor, and where `ActionRefused` lives. Real SQLite files
on a temp copy of the demo."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from journal_helpers import raw_journal_db

from vanta_tui.actions.context import ActionContext, ReadOnlyRefused
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.orders import dismiss_failed, retry_failed
from vanta_tui.core.models import QueueFile
from vanta_tui.executor.lease import Lease
from vanta_tui.store import load_model
from vanta_tui.store.errors import PlanRefused, StoreError
from vanta_tui.store.journal import EventDraft, Journal, Plan, queries
from vanta_tui.store.lease_info import LEASE_NAME, lease_held, lease_holder

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("journal_backend")


@pytest.fixture
def journal(state_dir: Path) -> Journal:
    j = Journal(state_dir)
    j.start()
    return j


def test_meta_is_the_note_kept_or_none(journal: Journal) -> None:
    with journal:
        assert queries.meta(journal, "executor.last_cycle") is None
        journal.set_meta("executor.last_cycle", "2026-11-24T09:00:00Z")
        assert queries.meta(journal, "executor.last_cycle") == "2026-11-24T09:00:00Z"


def test_events_of_filters_orders_and_limits(journal: Journal) -> None:
    with journal:
        journal.record(
            "dana",
            [
                EventDraft("reconcile.checked", vault_id="V_CORE", payload={"mismatches": []}),
                EventDraft("alarm.acknowledged", payload={"alarm_id": "a1"}),
                EventDraft("reconcile.checked", vault_id="V_INCOME", payload={"n": 2}),
                EventDraft("reconcile.accepted", vault_id="V_CORE", follower_id="F_1042"),
            ],
        )
        both = ("reconcile.checked", "reconcile.accepted")
        found = queries.events_of(journal, both)
        assert [(e.action, e.vault_id) for e in found] == [
            ("reconcile.checked", "V_CORE"),
            ("reconcile.checked", "V_INCOME"),
            ("reconcile.accepted", "V_CORE"),
        ]
        assert found[1].payload == {"n": 2} and found[0].seq < found[1].seq < found[2].seq
        assert found[2].follower_id == "F_1042" and found[2].actor == "dana"
        assert [e.vault_id for e in queries.events_of(journal, both, vault_id="V_CORE")] == [
            "V_CORE",
            "V_CORE",
        ]
        newest = queries.events_of(journal, both, newest_first=True, limit=2)
        assert [e.seq for e in newest] == [found[2].seq, found[1].seq]
        assert queries.events_of(journal, both, follower_id="F_1042") == [found[2]]
        assert queries.events_of(journal, []) == []
        assert queries.first_event(journal, "reconcile.checked") == found[0]
        assert queries.first_event(journal, "reconcile.checked", latest=True) == found[1]
        assert queries.first_event(journal, "nothing.ever") is None
        started = queries.first_event(journal, "journal.started")
        assert started is not None and started.seq == 1 and "files" in started.payload


def failed_order(state_dir: Path) -> str:
    return next(o.order_id for o in load_model(state_dir, QueueFile).orders if o.status == "failed")


def test_retry_and_dismissal_links(state_dir: Path) -> None:
    failed = failed_order(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    try:
        journal = ctx.journal
        assert queries.retry_of(journal, failed) is None
        assert queries.retried_orders(journal) == set()
        assert queries.dismissed_orders(journal) == set()
        again = retry_failed(ctx, failed).result
        assert queries.retry_of(journal, failed) == again.order_id
        assert queries.retried_orders(journal) == {failed}
        dismiss_failed(ctx, failed, reason="handled by phone")
        assert queries.dismissed_orders(journal) == {failed}
        dismissal = queries.first_event(journal, "order.dead_letter_dismissed", order_id=failed)
        assert dismissal is not None and dismissal.actor == "dana"
        assert dismissal.payload["reason"] == "handled by phone"
    finally:
        ctx.close()


def test_alarms_seen_keep_their_first_sighting(journal: Journal, state_dir: Path) -> None:
    with journal:
        assert queries.alarm_first_seen(journal) == {}
        queries.note_alarms_seen(journal, ["a", "b"], T0)
        later = T0 + timedelta(minutes=5)
        queries.note_alarms_seen(journal, ["b", "c", "c"], later)
        assert queries.alarm_first_seen(journal) == {"b": T0, "c": later}
        queries.note_alarms_seen(journal, [], later)
        assert queries.alarm_first_seen(journal) == {}
        queries.note_alarms_seen(journal, ["d"], later)
        # The same alarms open again (every status refresh): nothing written, and the write
        # lock is not taken (another writer holds it here: no wait).
        with raw_journal_db(state_dir) as other:
            other.execute("BEGIN IMMEDIATE")
            journal.db.conn.execute("PRAGMA busy_timeout = 50")
            try:
                queries.note_alarms_seen(journal, ["d", "d"], later + timedelta(minutes=1))
            finally:
                other.execute("ROLLBACK")
        assert queries.alarm_first_seen(journal) == {"d": later}
    with Journal(state_dir, read_only=True) as reader:
        queries.note_alarms_seen(reader, ["e"], later)  # not kept, and no error
        assert queries.alarm_first_seen(reader) == {"d": later}


def test_the_lease_seen_without_the_executor(state_dir: Path) -> None:
    assert not lease_held(state_dir)
    assert lease_holder(state_dir) is None
    lease = Lease(state_dir, "executor")
    with lease:
        assert lease_held(state_dir)
        who = lease_holder(state_dir)
        assert who is not None and who.startswith("executor (pid ")
        assert lease.current() == who
        assert (state_dir / LEASE_NAME).exists()
    assert not lease_held(state_dir)
    assert not lease_held(state_dir / "missing")
    (state_dir / LEASE_NAME).write_text("not json")
    assert lease_holder(state_dir) is None


def test_action_refused_is_the_actions_and_a_store_error(journal: Journal) -> None:
    assert issubclass(ActionRefused, PlanRefused) and issubclass(PlanRefused, StoreError)
    assert issubclass(ReadOnlyRefused, ActionRefused)
    with journal:
        before = journal.count()

        def refuse(_models: object) -> Plan:
            raise ActionRefused("no, because")

        with pytest.raises(StoreError, match="no, because"):
            journal.act("dana", [], refuse)
        assert journal.count() == before


def test_the_journal_imports_no_sqlite_utils_pandas_or_numpy() -> None:
    """sqlite-utils imports pandas and numpy where they are installed: half a second of every
    start. The journal, the status and the loader use sqlite3 alone."""
    code = (
        "import sys\n"
        "import vanta_tui.store.journal, vanta_tui.actions.status, vanta_tui.store.loader\n"
        "print(','.join(sorted(m for m in ('sqlite_utils', 'pandas', 'numpy') "
        "if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_snapshot_names_a_vault_or_refuses_as_the_actions_do(state_dir: Path) -> None:
    from vanta_tui.actions.reading import read_context
    from vanta_tui.store.errors import UnknownVault
    from vanta_tui.store.snapshot import StateSnapshot, reload

    state = reload(state_dir, StateSnapshot())
    assert state.vault("V_CORE").vault_id == "V_CORE"
    with pytest.raises(UnknownVault) as refused:
        state.vault("V_NOPE")
    assert isinstance(read_context(state_dir), StateSnapshot)  # one current-state type
    with pytest.raises(UnknownVault) as same:
        read_context(state_dir).vault("V_NOPE")
    assert str(refused.value) == str(same.value)
    assert str(refused.value) == "unknown vault V_NOPE (known: V_CORE, V_CRYPTO, V_INCOME)"
    assert isinstance(refused.value, PlanRefused)
    assert state.account("V_CORE") == read_context(state_dir).account("V_CORE") is not None
    assert state.account("NOBODY") is None
    with pytest.raises(UnknownVault, match=r"known: none"):
        StateSnapshot().vault("V_CORE")
