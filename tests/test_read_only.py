"""Read-only means read-only: nothing in the state directory changes, and the readers work
on a directory this user cannot write.

We run as root here, and root ignores a directory's write bits, so "a user who cannot write"
is made real: the commands run in a forked child that has switched to the unprivileged
``nobody`` user (skipped, saying so, only where there is no such user); run as another
user, the directory is made read-only (0555) instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import locale  # noqa: F401 - imported before the child drops its privileges
import os
import pwd
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from journal_helpers import do_actions

from vanta_tui.actions.context import ActionContext
from vanta_tui.cli.main import main

READERS = [
    ["status", "--no-probe"],
    ["status", "--no-probe", "--json"],
    ["audit", "verify"],
    ["audit", "replay"],
    ["audit", "export"],
    ["audit", "export", "--format", "csv"],
    ["audit", "anchor"],
    ["audit", "show", "01M868GY200000000000004WD2"],
    ["check"],
    ["followers", "list"],
    ["fees", "ledger"],
    ["stage", "V_CORE", "--dry-run"],
    ["reconcile", "V_CORE"],  # the paper book read from a copy in memory
]


def _tree(directory: Path) -> dict[str, tuple[int, str]]:
    """Every entry: (mode, sha256 of the content) — any change shows."""
    out = {}
    for path in sorted(directory.iterdir()):
        data = path.read_bytes() if path.is_file() else b""
        out[path.name] = (path.stat().st_mode, hashlib.sha256(data).hexdigest())
    return out


def _quiet(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def _run_as(uid: int | None, argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` in a forked child (as ``uid`` when given): (exit code, output)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        out = open(write_end, "w", buffering=1)  # noqa: SIM115 - closed by _exit
        sys.stdout = sys.stderr = out
        try:
            if uid is not None:
                os.setgid(pwd.getpwuid(uid).pw_gid)
                os.setuid(uid)
            code = main(argv)
        except BaseException:
            traceback.print_exc(file=out)
            code = 99
        out.flush()
        os._exit(code if isinstance(code, int) else 98)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


@pytest.fixture
def unwritable() -> Iterator[tuple[Path, int | None]]:
    """A state directory with a journal that the commands' user may read but not write
    (under /tmp itself: pytest's own temp root is its owner's only)."""
    base = Path(tempfile.mkdtemp(prefix="vanta-ro-", dir="/tmp"))
    try:
        yield _prepare(base)
    finally:
        for path in [base, *base.rglob("*")]:
            with contextlib.suppress(OSError):
                path.chmod(0o700 if path.is_dir() else 0o600)
        shutil.rmtree(base, ignore_errors=True)


def _prepare(base: Path) -> tuple[Path, int | None]:
    state = base / "state"
    assert _quiet(["init", str(state)]) == 0
    ctx = ActionContext.open(state, "dana")
    do_actions(ctx, 2)
    ctx.close()
    # Every lazily imported module is loaded now, before the child gives up its rights.
    warm = base / "warm"
    shutil.copytree(state, warm)
    for argv in READERS:
        _quiet(["--state-dir", str(warm), *argv])
    if os.geteuid() == 0:
        try:
            uid: int | None = pwd.getpwnam("nobody").pw_uid
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to drop to")
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable, not writable, by nobody
    else:
        uid = None
        for path in state.iterdir():
            path.chmod(0o444)
        state.chmod(0o555)
    return state, uid


@pytest.mark.parametrize("argv", READERS, ids=[" ".join(a) for a in READERS])
def test_readers_work_on_a_directory_this_user_cannot_write(
    unwritable: tuple[Path, int | None], argv: list[str]
) -> None:
    state, uid = unwritable
    if uid is not None:
        assert not os.access(state, os.W_OK) or os.geteuid() == 0  # root could; nobody cannot
    before = _tree(state)
    code, out = _run_as(uid, ["--state-dir", str(state), *argv])
    assert "Traceback" not in out and "readonly database" not in out, out
    assert code in (0, 1, 2, 65), (code, out)  # status: OK / WARN / FAIL; show: no such order (65)
    assert _tree(state) == before
    if argv == ["audit", "verify"]:
        assert code == 0 and out.splitlines()[-1].startswith("OK ")


def test_a_writer_on_such_a_directory_is_refused_with_a_message(
    unwritable: tuple[Path, int | None],
) -> None:
    state, uid = unwritable
    before = _tree(state)
    code, out = _run_as(uid, ["--state-dir", str(state), "orders", "stage", "V_CORE", "KO",
                              "buy", "1"])  # fmt: skip
    assert code == 77 and "read-only" in out and "Traceback" not in out, out
    assert _tree(state) == before


def test_read_only_status_on_a_fresh_directory_creates_nothing(state_dir: Path) -> None:
    before = _tree(state_dir)
    assert _quiet(["--read-only", "--state-dir", str(state_dir), "status", "--no-probe"]) in (1, 2)
    assert _quiet(["--read-only", "--state-dir", str(state_dir), "audit", "verify"]) == 0
    assert _tree(state_dir) == before  # no vanta.db, no executor.lease.lock


def test_read_only_verify_keeps_no_note_and_changes_no_byte(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 1)
    ctx.close()
    before = _tree(state_dir)
    for argv in READERS:
        _quiet(["--read-only", "--state-dir", str(state_dir), *argv])
    assert _tree(state_dir) == before


def test_a_journal_file_not_made_yet_reads_as_an_empty_journal(state_dir: Path) -> None:
    """The file a writer is creating this moment (no tables yet: a read-only desk's status
    ran into one while the desk recorded who opened it) reads as no journal, not as an
    error (was: "no such table: events")."""
    from vanta_tui.store.journal import Journal

    (state_dir / "vanta.db").write_bytes(b"")
    with Journal(state_dir, read_only=True) as journal:
        assert journal.head()[0] == 0
        assert journal.count() == 0
