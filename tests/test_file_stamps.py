"""A state file is read again only when it may have changed (issue 24): this process keeps
the sha256 of each file it read by the file's stamp (device, inode, size, modification and
change times), and a file whose stamp is the same is not read again: at 10,000 orders each
check read and hashed 8 MB. Any write changes the change time (the kernel sets it; ``touch``
cannot set it back), and a stamp vouches only for a file last changed at least a second
before it was read (a write in the same tick of the file system's clock could leave every
field as it was)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from vanta_tui.actions.context import ActionContext
from vanta_tui.core.models import QueueFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store import loader
from vanta_tui.store.errors import StateFileError

LATER_NS = 10_000_000_000


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files were written ten seconds ago (their stamps can be trusted)."""
    monkeypatch.setattr(loader, "_now_ns", lambda: time.time_ns() + LATER_NS)


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[StateKind]:
    reads: list[StateKind] = []
    real = loader.read_file

    def counting(state_dir: Path, kind: StateKind, *args: Any) -> Any:
        reads.append(kind)
        return real(state_dir, kind, *args)

    monkeypatch.setattr(loader, "read_file", counting)  # every read of a state file
    return reads


def _same_size_change(path: Path) -> None:
    """Another program changes the file in place, same size, and sets its mtime back."""
    before = path.stat()
    text = path.read_text()
    assert '"staged"' in text
    changed = text.replace('"staged"', '"STAGED"', 1)  # same length, not a valid status
    time.sleep(0.05)  # past the file system clock's tick of the last write
    with path.open("r+") as handle:
        handle.write(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


def test_an_unchanged_file_is_not_read_again(
    state_dir: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = ActionContext.open(state_dir, "executor")
    queue = ctx.journal.peek(StateKind.QUEUE)
    first = loader.load(state_dir, StateKind.QUEUE)  # the panes' first load
    reads = _count_reads(monkeypatch)
    assert ctx.journal.peek(StateKind.QUEUE) is queue
    assert loader.load(state_dir, StateKind.QUEUE, None, first) is first
    assert loader.load(state_dir, StateKind.QUEUE) is first  # another reader of the process
    ctx.journal.note_external_changes()
    assert reads == []
    data = (state_dir / "autotrade_queue.json").read_bytes()
    assert loader.known_sha(state_dir, StateKind.QUEUE) == hashlib.sha256(data).hexdigest()
    ctx.close()


def test_a_file_changed_in_place_with_its_mtime_set_back_is_read_again(
    state_dir: Path, later: None
) -> None:
    ctx = ActionContext.open(state_dir, "executor")
    queue = ctx.journal.peek(StateKind.QUEUE)
    assert loader.known_sha(state_dir, StateKind.QUEUE) is not None
    path = state_dir / "autotrade_queue.json"
    _same_size_change(path)
    assert loader.known_sha(state_dir, StateKind.QUEUE) is None
    recorded = ctx.journal.note_external_changes([StateKind.QUEUE])
    assert [e.action for e in recorded] == ["state.external_change"]
    assert recorded[0].payload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StateFileError, match="STAGED"):
        loader.load(state_dir, StateKind.QUEUE)
    assert isinstance(queue, QueueFile)
    ctx.close()


def test_a_file_changed_within_the_last_second_is_always_read(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written just now (as the test's copy of the demo is): its stamp vouches for nothing."""
    path = state_dir / "autotrade_queue.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data, indent=2) + "\n")
    ctx = ActionContext.open(state_dir, "executor")
    ctx.journal.peek(StateKind.QUEUE)
    assert loader.known_sha(state_dir, StateKind.QUEUE) is None
    reads = _count_reads(monkeypatch)
    ctx.journal.peek(StateKind.QUEUE)
    loader.load(state_dir, StateKind.QUEUE)
    assert reads == [StateKind.QUEUE, StateKind.QUEUE]
    ctx.close()


def test_an_action_reads_a_file_once_so_no_outside_write_slips_between_check_and_model(
    state_dir: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's head already says H2 (recorded by another reader of this process) but
    its own model is older: the action reads the file once, and an outside write that
    lands just before that read is recorded as an outside change, not taken into the
    action as if it were the head."""
    from vanta_tui.actions.execution import execution_step
    from vanta_tui.actions.orders import approve_orders
    from vanta_tui.core.enums import OrderStatus

    path = state_dir / "autotrade_queue.json"
    ctx = ActionContext.open(state_dir, "executor")
    staged = next(
        o
        for o in ctx.journal.peek(StateKind.QUEUE).orders  # type: ignore[attr-defined]
        if o.status is OrderStatus.STAGED and o.follower_id is None
    )
    approve_orders(ctx, [staged.order_id])
    ctx.journal.peek(StateKind.QUEUE)  # the journal's model: H1
    time.sleep(0.05)
    path.write_text(path.read_text().replace('"allocator"', '"allocatoR"', 1))
    ctx.journal.note_external_changes([StateKind.QUEUE])  # the head: H2, its stamp known
    assert loader.known_sha(state_dir, StateKind.QUEUE) is not None

    def outsider_first(real: Any) -> Any:
        def read(state: Path, kind: StateKind, *args: Any) -> Any:
            if kind is StateKind.QUEUE and not done:
                done.append(True)
                path.write_text(path.read_text().replace('"allocatoR"', '"outsider"', 1))
            return real(state, kind, *args)

        return read

    done: list[bool] = []
    monkeypatch.setattr(loader, "read_file", outsider_first(loader.read_file))
    result = execution_step(ctx, mark=[staged.order_id])
    [change] = result.events[0].payload["changes"]
    external = ctx.journal.db.execute(
        "SELECT payload FROM events WHERE action = 'state.external_change' ORDER BY seq DESC"
    ).fetchone()
    assert done and external is not None
    assert json.loads(external[0])["sha256"] == change["before"]  # H3, recorded first
    ctx.close()


def test_on_a_network_file_system_stamps_vouch_for_nothing(
    state_dir: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another machine's clock sets the change times there: every check reads the file."""
    monkeypatch.setattr(loader, "_STAMPS_TRUSTED", {})
    monkeypatch.setattr(loader, "_file_system", lambda _path: "nfs4")
    monkeypatch.setattr(loader, "_SHAS", {})
    loader.load(state_dir, StateKind.QUEUE)
    assert loader.known_sha(state_dir, StateKind.QUEUE) is None
    monkeypatch.setattr(loader, "_STAMPS_TRUSTED", {})
    monkeypatch.setattr(loader, "_file_system", lambda _path: "ext4")
    loader.load(state_dir, StateKind.QUEUE)
    assert loader.known_sha(state_dir, StateKind.QUEUE) is not None


def test_the_flip_mode_check_still_records_an_outside_change_to_the_overlays(
    state_dir: Path,
) -> None:
    """No flip mode due, so no action; but a halt another program wrote into the overlays
    is in the journal before the executor sends under it."""
    from vanta_tui.actions.overlays import expire_flip_modes
    from vanta_tui.core.clock import fixed_clock
    from vanta_tui.demo.bundled import DEMO_NOW

    ctx = ActionContext.open(state_dir, "executor", clock=fixed_clock(DEMO_NOW))
    path = state_dir / "vault_overlay.json"
    data = json.loads(path.read_text())
    first = next(iter(data["vaults"].values()))
    first["maintenance"]["enabled"] = True
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert expire_flip_modes(ctx).events == []
    rows = ctx.journal.db.execute(
        "SELECT payload FROM events WHERE action = 'state.external_change'"
    ).fetchall()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [json.loads(r[0])["sha256"] for r in rows][-1:] == [digest]
    ctx.close()
