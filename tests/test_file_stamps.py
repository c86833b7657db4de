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
from vanta_tui.store.journal import journal as journal_module

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

    monkeypatch.setattr(loader, "read_file", counting)
    monkeypatch.setattr(journal_module, "read_file", counting)
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
