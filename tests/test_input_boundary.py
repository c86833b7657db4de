"""Bad input at the boundary (issue 19, first part): files that are not regular files, JSON
nested too deeply, lone surrogates, a dependency that does not load, a closed pipe, a bad
timestamp argument and a desk started on a broken vault.json: each a clear error, nothing
written, no hang, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import loaded, make_app, wait_for

from vanta_tui.cli.main import main
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.loader import load

FILES = [k.filename for k in StateKind]


def snapshot(state_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(state_dir.iterdir()) if p.name.endswith(".json")}


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vanta_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("kind", list(StateKind), ids=lambda k: k.filename)
@pytest.mark.parametrize("shape", ["fifo", "directory"])
def test_a_state_file_that_is_not_a_regular_file_is_refused_at_once(
    state_dir: Path, kind: StateKind, shape: str
) -> None:
    path = state_dir / kind.filename
    path.unlink()
    if shape == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    result = run_cli("check", "--state-dir", str(state_dir), timeout=20)  # a hang fails here
    assert result.returncode == 1
    what = "a FIFO (named pipe)" if shape == "fifo" else "a directory"
    assert f"error {kind.filename}: $: is {what}, not a regular file" in result.stdout
    assert "Traceback" not in result.stderr


def test_json_nested_too_deeply(state_dir: Path) -> None:
    path = state_dir / "followers.json"
    text = path.read_text()
    path.write_text(
        text.replace('"followers": [', '"x": ' + "[" * 5000 + "]" * 5000 + ', "followers": [', 1)
    )
    with pytest.raises(StateFileError, match="nested too deeply"):
        load(state_dir, StateKind.FOLLOWERS)
    result = run_cli("check", "--state-dir", str(state_dir))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "followers.json: $: invalid JSON: nested too deeply" in result.stdout


def test_lone_surrogate_is_located_and_refused(state_dir: Path) -> None:
    path = state_dir / "autotrade_queue.json"
    path.write_text(path.read_text().replace("Dividend reinvestment", "Div \\ud800", 1))
    before = snapshot(state_dir)
    result = run_cli("check", "--state-dir", str(state_dir))
    assert result.returncode == 1
    assert "autotrade_queue.json:80: $.orders[2].reason_vector[0]: holds a lone surrogate" in (
        result.stdout
    )
    staged = run_cli("--state-dir", str(state_dir), "orders", "stage", "V_CORE", "AAPL", "buy", "1")
    assert staged.returncode != 0 and "Traceback" not in staged.stderr
    assert "lone surrogate" in staged.stdout
    assert snapshot(state_dir) == before
    # A pair (an emoji written as escapes) is text, and loads.
    path.write_text(
        (before["autotrade_queue.json"].decode()).replace("Div \\ud800", "Div \\ud83d\\ude00")
    )
    load(state_dir, StateKind.QUEUE)


def test_an_action_refuses_while_a_file_it_depends_on_does_not_load(state_dir: Path) -> None:
    vault = state_dir / "vault.json"
    vault.write_bytes(b"\xef\xbb\xbf" + vault.read_bytes())  # a BOM
    before = snapshot(state_dir)
    result = run_cli("--state-dir", str(state_dir), "orders", "stage", "V_NOPE", "AAPL", "buy", "1")
    assert result.returncode == 65
    assert (
        "refused: not writing autotrade_queue.json: it refers to vault.json, which does not "
        "load now; fix that file first: vault.json:1:1: $: invalid JSON: Unexpected UTF-8 BOM"
    ) in result.stdout
    assert snapshot(state_dir) == before


def test_oversize_file_says_mib(state_dir: Path) -> None:
    with (state_dir / "pnl_summary.json").open("ab") as handle:
        handle.write(b" " * (33 * 1024 * 1024))
    with pytest.raises(StateFileError, match=r"file is 33\.0 MiB, over the 32 MiB limit"):
        load(state_dir, StateKind.PNL)


def test_a_closed_pipe_ends_quietly(state_dir: Path) -> None:
    """The reader is gone before the first byte (`... | head -c 0`): no traceback, the
    shell's exit code for a closed pipe."""
    for args in (["status", "--json", "--no-probe"], ["audit", "export", "--format", "csv"]):
        child = subprocess.Popen(
            [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        stderr = child.stderr.read()
        assert child.wait(timeout=30) == 141, stderr
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_export_since_a_word_is_a_clear_error(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--state-dir", str(state_dir), "audit", "export", "--since", "yesterday"]) == 64
    assert "--since: not an ISO 8601 timestamp: 'yesterday'" in capsys.readouterr().err


async def test_desk_opens_on_a_truncated_vault_json(state_dir: Path) -> None:
    vault = state_dir / "vault.json"
    vault.write_bytes(vault.read_bytes()[:-40])
    app = make_app(state_dir)
    app.run_executor = True
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "vault.json" in app.vaults_pane.banner_text)
        assert app.header.executor_text.startswith("executor: off — a state file does not load")
        assert app.is_running


def test_ids_as_the_desk_shows_them(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vanta_tui.core.id_match import IdAmbiguous, IdNotFound, match_id

    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "approve", "00003e08", *args]) == 0  # the desk's 8, any case
    assert "approved 01M8696X600000000000003E08" in capsys.readouterr().out
    assert main(["orders", "reject", "01M869", *args]) == 65
    out = capsys.readouterr().out
    assert "'01M869' matches 3 orders: 01M8691DD00000000000003NQQ" in out
    assert main(["orders", "reject", "3E08", *args]) == 65
    assert "at least 6 of its first or last characters" in capsys.readouterr().out
    assert main(["audit", "show", "0003E08…", *args]) == 0
    assert "01M8696X600000000000003E08" in capsys.readouterr().out
    ids = ["01AAAAAA", "01AAAAAB"]
    assert match_id("01AAAAAB", ids) == "01AAAAAB"
    with pytest.raises(IdAmbiguous):
        match_id("01AAAA", ids)
    with pytest.raises(IdNotFound):
        match_id("ZZZZZZ", ids)


def test_an_action_with_a_fifo_state_file_is_refused_not_hung(state_dir: Path) -> None:
    (state_dir / "portfolio.json").unlink()
    os.mkfifo(state_dir / "portfolio.json")
    result = run_cli(
        "--state-dir", str(state_dir), "orders", "approve", "01M8696X600000000000003E08",
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 65 and "Traceback" not in result.stderr
    assert "portfolio.json: $: is a FIFO (named pipe), not a regular file" in result.stdout


@pytest.mark.parametrize(
    ("file", "old", "new", "where"),
    [
        ("portfolio.json", '"cash": 210000', '"cash": 1e1000000', "$.accounts.V_CORE.cash"),
        ("autotrade_queue.json", '"qty": 43', '"qty": 1e400', "$.orders[0].qty"),
        ("portfolio.json", '"cash": 210000', '"cash": 1e-1000000', "$.accounts.V_CORE.cash"),
        (
            "pnl_summary.json",
            '"nav": 280429.00',
            '"nav": 0.0000000000000000001',
            "$.vaults.V_CORE.nav",
        ),
    ],
)
def test_numbers_beyond_the_bounds_are_refused_where_they_are(
    state_dir: Path, file: str, old: str, new: str, where: str
) -> None:
    path = state_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    before = snapshot(state_dir)
    checked = run_cli("check", "--state-dir", str(state_dir))
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    line = next(li for li in checked.stdout.splitlines() if li.startswith(f"error {file}"))
    assert where in line and ("beyond ±10^15" in line or "more than 18 decimal places" in line)
    for argv in (["status", "--no-probe"], ["orders", "approve", "01M8696X600000000000003E08"]):
        result = run_cli("--state-dir", str(state_dir), *argv)
        assert "Traceback" not in result.stderr, result.stderr
    assert snapshot(state_dir) == before


def test_replay_steps_over_a_briefly_broken_file(state_dir: Path) -> None:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    overlay = state_dir / "vault_overlay.json"
    good = overlay.read_bytes()

    def stage(qty: str) -> None:
        assert run_cli(*args, "orders", "stage", "V_CORE", "JNJ", "buy", qty).returncode == 0

    stage("1")
    overlay.write_text('{"version": 1, broken')
    stage("2")  # records the outside change; the queue does not depend on the overlay
    still = run_cli(*args, "audit", "replay")  # while it is broken: the same bytes, fine
    assert still.returncode == 0, still.stdout
    overlay.write_bytes(good)
    stage("3")
    for _ in range(2):  # and on every later run
        result = run_cli(*args, "audit", "replay")
        assert result.returncode == 0, result.stdout
        assert (
            "vault_overlay.json was changed by another program into content that is not JSON"
            in (result.stdout)
        )
        assert "vault_overlay.json loads again (unreadable since seq" in result.stdout


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (
            lambda d: (d / "vanta.db").write_text("garbage"),
            "vanta.db cannot be opened as the journal",
        ),
        (lambda d: (d / "vanta.db").mkdir(), "vanta.db is a directory"),
        (
            lambda d: (d / "trade_log.jsonl").symlink_to(d.parent / "outside.jsonl"),
            "trade_log.jsonl is a symlink",
        ),
        (
            lambda d: (d / "vault.json.lock").symlink_to(d.parent / "elsewhere.lock"),
            "vault.json.lock is a symlink",
        ),
    ],
    ids=["garbage vanta.db", "directory vanta.db", "trade_log symlink", "lock symlink"],
)
def test_journal_and_lock_files_the_desk_cannot_use_are_refused(
    state_dir: Path, make: Any, words: str
) -> None:
    (state_dir.parent / "outside.jsonl").write_text("")
    make(state_dir)
    before = snapshot(state_dir)
    result = run_cli("--state-dir", str(state_dir), "orders", "stage", "V_CORE", "JNJ", "buy", "1")
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert words in result.stdout
    assert snapshot(state_dir) == before
    assert (state_dir.parent / "outside.jsonl").read_text() == ""  # nothing written outside
    assert not (state_dir.parent / "elsewhere.lock").exists()


def test_a_garbage_paper_book_is_a_broker_error_not_a_crash(state_dir: Path) -> None:
    (state_dir / "paper_book.db").write_text("junk")
    result = run_cli("--state-dir", str(state_dir), "executor", "--once")
    assert "Traceback" not in result.stderr, result.stderr
    assert "paper book paper_book.db cannot be opened (file is not a database)" in (
        result.stdout + result.stderr
    )
    reconcile = run_cli("--state-dir", str(state_dir), "reconcile", "V_CORE")
    assert "Traceback" not in reconcile.stderr, reconcile.stderr
    assert reconcile.returncode == 69  # the broker could not be asked
    assert "cannot reconcile V_CORE: paper book paper_book.db cannot be opened" in reconcile.stdout
    assert (state_dir / "paper_book.db").read_text() == "junk"  # left as it was


def test_recovery_removes_temp_files_of_killed_writes(state_dir: Path) -> None:
    stale = state_dir / ".portfolio.json.999999.deadbeef.tmp"  # no process 999999
    live = state_dir / ".portfolio.json.1.cafef00d.tmp"  # pid 1 runs: maybe mid-write
    other = state_dir / ".notes.txt.999999.deadbeef.tmp"  # not a file of ours
    for path in (stale, live, other):
        path.write_text("{partial")
    result = run_cli("--state-dir", str(state_dir), "orders", "stage", "V_CORE", "JNJ", "buy", "1")
    assert result.returncode == 0, result.stdout
    assert not stale.exists() and live.exists() and other.exists()


def test_a_broken_followers_json_is_the_only_error_reported(state_dir: Path) -> None:
    from vanta_tui.store.snapshot import load_all

    (state_dir / "followers.json").write_text('{"version": 1, "followers": [')
    result = load_all(state_dir)
    assert set(result.problems) == {StateKind.FOLLOWERS}  # no cascade into the accounts
    assert StateKind.PORTFOLIO in result.files and StateKind.PNL in result.files


async def test_the_desk_keeps_positions_and_pnl_while_followers_json_is_broken(
    state_dir: Path,
) -> None:
    from vanta_tui.ui.table import KeyedTable

    (state_dir / "followers.json").write_text('{"version": 1, "followers": [')
    app = make_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "followers.json" in app.vaults_pane.banner_text)
        positions = app.query_one("#positions", KeyedTable)
        assert positions.row_count > 0
        assert "NAV" in app.pnl_pane.figures_text


def test_negative_cash_is_kept_but_never_silent(state_dir: Path) -> None:
    """The broker's truth is kept (a margin loan, an overdraft), but `check` warns (exit 1)
    and status raises a WARN alarm."""
    path = state_dir / "portfolio.json"
    path.write_text(path.read_text().replace('"cash": 210000', '"cash": -120.50', 1))
    checked = run_cli("check", "--state-dir", str(state_dir))
    assert checked.returncode == 1
    assert "warn  portfolio.json: $.accounts.V_CORE.cash: negative (-120.50)" in checked.stdout
    status = run_cli("--state-dir", str(state_dir), "status", "--json", "--no-probe")
    import json as _json

    alarms = {a["id"]: a for a in _json.loads(status.stdout)["alarms"]}
    assert alarms["negative_cash:V_CORE"]["level"] == "WARN"
    assert "V_CORE's cash is negative (-120.50)" in alarms["negative_cash:V_CORE"]["message"]
