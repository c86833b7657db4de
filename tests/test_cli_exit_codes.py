"""Issue 19: every bad input is a clear error with its code from one table (README, Command
line; `cli.exit_codes`): no traceback, no pydantic text or Python repr, nothing written;
a crash is 70 with one line naming the log; the log has one line per event."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vanta_tui.cli import exit_codes
from vanta_tui.cli.main import main
from vanta_tui.core.enums import OrderStatus as S
from vanta_tui.core.models import QueueFile
from vanta_tui.core.order_states import check_move
from vanta_tui.store.loader import load_model

STAGED = "01M8696X600000000000003E08"
LEAKS = ("Traceback", "errors.pydantic.dev", "validation error for", "Decimal(", "input_value")


def _tree(state_dir: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(state_dir.iterdir())
        if p.is_file() and p.suffix == ".json"
    }


def _run(state_dir: Path, *argv: str, log: Path | None = None) -> tuple[int, str]:
    env = {**os.environ, "XDG_STATE_HOME": str(state_dir.parent / "xdg")}
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir),
         *(["--log", str(log)] if log else []), *argv],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    out = done.stdout + done.stderr
    for leak in LEAKS:
        assert leak not in out, out
    return done.returncode, out


def _filled(state_dir: Path) -> str:
    return next(o.order_id for o in load_model(state_dir, QueueFile).orders if o.status == "filled")


def test_the_table_is_the_issues_table() -> None:
    codes = {
        name: value for name, value in vars(exit_codes).items()
        if name.isupper() and isinstance(value, int)
    }  # fmt: skip
    assert sorted(codes.values()) == [0, 1, 2, 3, 64, 65, 69, 70, 75, 77]
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for code in codes.values():
        assert f"| {code} |" in readme, code


@pytest.mark.parametrize(
    ("argv", "code", "said"),
    [
        (["orders", "approve", "{filled}"], 65, "is filled; only staged orders can be approved"),
        (["orders", "reject", "{filled}"], 65, "is filled; only staged orders can be rejected"),
        (["orders", "stage", "V_NOPE", "AAPL", "buy", "1"], 65,
         "unknown vault V_NOPE (known: V_CORE, V_CRYPTO, V_INCOME)"),
        (["orders", "stage", "V_CORE", "AAPL", "buy", "1", "--limit", "1e20"], 65,
         "order not staged: limit_price: 100000000000000000000 is beyond ±10^15"),
        (["orders", "stage", "V_CORE", "AAPL", "buy", "0.00000000000000000001"], 65,
         "has more than 18 decimal places"),
        (["orders", "edit", STAGED, "--qty", "-3"], 65, "qty: must be greater than 0 (found -3)"),
        (["orders", "approve", "ZZZZZZZZ"], 65, "no order matches"),
        (["alarm", "ack", "nope"], 65, "no open alarm nope (open: "),
        (["fees", "ledger", "--vault", "V_NOPE"], 65, "unknown vault V_NOPE (known: V_CORE"),
        (["fees", "ledger", "--follower", "F_NOPE"], 65, "unknown follower F_NOPE (known: "),
        (["reconcile", "V_NOPE"], 65, "unknown vault V_NOPE (known: "),
        (["orders", "approve", STAGED, "--bogus"], 64, "usage: vanta-tui orders approve"),
        (["orders", "approve"], 64, "usage: vanta-tui orders approve"),
        (["orders", "stage", "V_CORE", "AAPL", "buy", "abc"], 64,
         'vanta-tui orders stage: error: qty must be a number, not "abc"'),
        (["orders", "edit", STAGED], 64, "nothing to edit"),
        (["status", "--at", "2026-13-01"], 64, "usage: vanta-tui status"),
        (["fees", "close-cycle", "--as-of", "yesterday"], 64, "usage: vanta-tui fees close-cycle"),
        (["executor", "--once", "--retry-after", "x"], 64, "usage: vanta-tui executor"),
        (["orders", "approve", STAGED, "--read-only"], 77, "read-only mode"),
        (["alarm", "ack", "dead_letters", "--read-only"], 77, "read-only mode"),
    ],
)  # fmt: skip
def test_a_bad_input_is_one_clear_line_with_its_code(
    state_dir: Path, argv: list[str], code: int, said: str
) -> None:
    argv = [a.replace("{filled}", _filled(state_dir)) for a in argv]
    before = _tree(state_dir)
    got, out = _run(state_dir, *argv)
    assert got == code and said in out, (got, out)
    assert _tree(state_dir) == before
    if code == 64 and "usage:" in said:
        assert "usage: vanta-tui [-h]" not in out  # the subcommand's usage, not the top's


def test_alarm_ack_of_an_open_alarm_still_works(state_dir: Path) -> None:
    code, out = _run(state_dir, "alarm", "ack", "dead_letters")
    assert code == 0 and "acknowledged dead_letters" in out


def test_no_state_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, out = _run(tmp_path / "nowhere", "status")
    assert code == 64 and "does not exist" in out


def test_a_lock_held_past_wait_is_temporary_75(state_dir: Path) -> None:
    from vanta_tui.store.errors import LockTimeout

    assert exit_codes.refusal(LockTimeout("queue.json is locked by pid 1"))[0] == 75  # type: ignore[index]


def test_a_crash_is_70_with_one_line_naming_the_log(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from vanta_tui.cli import status_cmds

    def boom(*_args: object, **_kwargs: object) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(status_cmds, "handle_status", boom)
    log = tmp_path / "desk.log"
    code = main(["--state-dir", str(state_dir), "--log", str(log), "status", "--no-probe"])
    captured = capsys.readouterr()
    assert code == exit_codes.INTERNAL
    assert "Traceback" not in captured.out + captured.err
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert "internal error: KeyError in 'status'" in captured.err and str(log) in captured.err
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = [line for line in log.read_text().splitlines() if "failed" in line]
    assert len(lines) == 1, lines  # the traceback on the event's one line
    assert f"pid={os.getpid()}" in lines[0] and f"state={state_dir.resolve()}" in lines[0]
    assert "Traceback" in lines[0] and "KeyError" in lines[0]


def test_check_move_words_the_refusal_for_an_operator() -> None:
    with pytest.raises(ValueError) as raised:
        check_move("01JD", S.FILLED, S.APPROVED)
    assert str(raised.value) == "order 01JD is filled; only staged orders can be approved"
    with pytest.raises(ValueError) as raised:
        check_move("01JD", S.FILLED, S.CANCELLED)
    assert "only submitted or partially_filled orders can be cancelled" in str(raised.value)


def test_check_shows_values_as_written_not_as_python_reprs(state_dir: Path) -> None:
    path = state_dir / "autotrade_queue.json"
    data = json.loads(path.read_text())
    data["orders"][0]["qty"] = -5
    data["orders"][1]["created_at"] = "soon"
    text = json.dumps(data, indent=2)
    path.write_text(text.replace('"qty": 10', '"qty": 0.00000000000000000000001', 1))
    code, out = _run(state_dir, "check")  # _run: no "Decimal(" anywhere
    assert code == 1, out
    assert "$.orders[0].qty: must be greater than 0 (found -5)" in out
    assert "has more than 18 decimal places (found 0.0000000" in out
    assert "Input should be" not in out and "Field required" not in out


def test_a_file_that_stays_broken_is_logged_once_and_once_when_fixed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from vanta_tui.core.logs import Lapse

    lapse = Lapse(logging.getLogger("t"), "executor cycle")
    with caplog.at_level(logging.INFO, logger="t"):
        for _ in range(5):
            lapse.failed("queue.json: $: invalid JSON")
        for _ in range(3):
            lapse.ok()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "executor cycle: queue.json: $: invalid JSON",
        "executor cycle: working again (was: queue.json: $: invalid JSON)",
    ]


def test_the_headless_executor_says_a_broken_file_once(state_dir: Path, tmp_path: Path) -> None:
    """The long-running executor with vault.json broken for a while: one line when it breaks,
    none while it stays broken, one when it is fixed; no traceback, it keeps running."""
    import time

    vault = state_dir / "vault.json"
    good = vault.read_bytes()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    log = tmp_path / "exec.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "--log", str(log),
         "executor"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:

        def wait_for(text: str, count: int = 1) -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if log.exists() and log.read_text().count(text) >= count:
                    return
                time.sleep(0.2)
            raise AssertionError(f"no {text!r} in the log")

        wait_for("by executor")  # its first cycle sends the demo's approved orders
        vault.write_text("{ not json")
        wait_for("executor cycle: ")
        time.sleep(4)  # some four cycles with the file broken
        vault.write_bytes(good)
        wait_for("working again")
        time.sleep(2)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    text = out + err
    assert "Traceback" not in text, text
    assert text.count("executor: waiting: ") == 1, text
    assert text.count("the state files load again") == 1, text
    logged = log.read_text().splitlines()
    assert sum("executor cycle:" in line for line in logged) == 2, logged
