"""The conventions every command-line tool has: ``--version``, shell completion (with the
state directory's ids, through a real bash), ``NO_COLOR``/``--color`` and progress bars that
draw on a terminal and stay quiet when piped."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from ui_helpers import make_app

from vanta_tui.cli import color, completion
from vanta_tui.cli.main import build_parser, main
from vanta_tui.cli.progress import Bars

BIN = Path(sys.executable).parent
AT = "2026-11-24T08:10:00Z"
SGR_COLOUR = re.compile(r"\x1b\[([0-9;]*)m")


def _colours(text: str) -> list[str]:
    """The colour parameters (30–38, 90–97, 40–48) among the SGR sequences of ``text``."""
    found = []
    for params in SGR_COLOUR.findall(text):
        for p in params.split(";"):
            if p.isdigit() and (30 <= int(p) <= 48 or 90 <= int(p) <= 107):
                found.append(p)
    return found


# --- --version ----------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"vanta-tui {version('vanta-tui')}"


def test_version_of_the_installed_script() -> None:
    done = subprocess.run([BIN / "vanta-tui", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout == f"vanta-tui {version('vanta-tui')}\n"


# --- colour ---------------------------------------------------------------------------------


def _status(state_dir: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    """``vanta-tui status`` piped (stdout is not a terminal), as a user's shell runs it."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update(env or {})
    cmd = [str(BIN / "vanta-tui"), "status", "--no-probe", "--at", AT]
    done = subprocess.run(
        [*cmd, "--state-dir", str(state_dir), *extra], capture_output=True, text=True, env=environ
    )
    assert done.returncode in (0, 1, 2), done.stderr
    out: str = done.stdout
    return out


def test_colour_is_off_when_piped_on_with_always_and_no_color_wins_over_auto(
    state_dir: Path,
) -> None:
    piped = _status(state_dir)
    assert "OK" in piped and _colours(piped) == []
    always = _status(state_dir, "--color", "always")
    assert _colours(always), always
    assert SGR_COLOUR.sub("", always) == piped  # colour adds nothing but colour
    # The option is the more specific wish: always beats NO_COLOR, never beats a terminal.
    assert _colours(_status(state_dir, "--color", "always", env={"NO_COLOR": "1"}))
    assert _colours(_status(state_dir, "--color", "never")) == []
    # --color works before the subcommand too.
    done = subprocess.run(
        [BIN / "vanta-tui", "--color", "always", "check", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
    )
    assert _colours(done.stdout) and "ok" in SGR_COLOUR.sub("", done.stdout)


def test_auto_colours_a_terminal_unless_no_color_or_a_dumb_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    color.set_mode("auto")
    try:
        assert color.enabled(Tty()) and not color.enabled(io.StringIO())
        monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
        assert color.enabled(Tty())
        monkeypatch.setenv("NO_COLOR", "1")
        assert not color.enabled(Tty())
        monkeypatch.delenv("NO_COLOR")
        monkeypatch.setenv("TERM", "dumb")
        assert not color.enabled(Tty())
        color.set_mode("never")
        monkeypatch.setenv("TERM", "xterm")
        assert color.paint("FAIL", "fail", Tty()) == "FAIL"
        color.set_mode("always")
        assert color.paint("FAIL", "fail", io.StringIO()) != "FAIL"
    finally:
        color.set_mode("auto")


def test_the_desk_is_monochrome_with_color_never_or_no_color(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded first, so the test's end puts NO_COLOR back as it found it, whatever
    # `apply_to_desk` (and Textual, which pops it) did to os.environ meanwhile.
    monkeypatch.setenv("NO_COLOR", "recorded")
    monkeypatch.delenv("NO_COLOR")
    color.apply_to_desk("auto")
    assert make_app(state_dir).no_color is False
    color.apply_to_desk("never")
    assert make_app(state_dir).no_color is True
    monkeypatch.setenv("NO_COLOR", "1")
    color.apply_to_desk("auto")
    assert make_app(state_dir).no_color is True
    monkeypatch.setenv("NO_COLOR", "1")
    color.apply_to_desk("always")
    assert make_app(state_dir).no_color is False
    monkeypatch.setenv("NO_COLOR", "")
    color.apply_to_desk("auto")
    assert make_app(state_dir).no_color is False


# --- progress -------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_stays_quiet_when_piped() -> None:
    color.set_mode("auto")
    piped = io.StringIO()
    bars = Bars(piped)
    bar = bars("verify", 100)
    bar(50)
    bar(100)
    bars.finish()
    assert piped.getvalue() == ""

    tty = _Tty()
    bars = Bars(tty)
    bar = bars("verify", 100)
    bar(100)
    bars.finish()
    drawn = tty.getvalue()
    assert "verify" in drawn and "100/100" in drawn


def test_progress_has_no_colour_with_color_never() -> None:
    color.set_mode("never")
    try:
        tty = _Tty()
        bars = Bars(tty)
        bars("export", 10)(10)
        bars.finish()
    finally:
        color.set_mode("auto")
    assert "export" in tty.getvalue() and _colours(tty.getvalue()) == []


def test_a_long_command_draws_its_bar_on_a_terminal_and_not_when_piped(state_dir: Path) -> None:
    """``audit export`` run for real: under a pseudo-terminal its stderr shows the bar (and
    leaves the screen clean); piped, stderr is empty and stdout is only the export."""
    import pty

    assert main(["orders", "approve", "--state-dir", str(state_dir), _staged(state_dir)[0]]) == 0
    cmd = [str(BIN / "vanta-tui"), "audit", "export", "--state-dir", str(state_dir)]
    piped = subprocess.run(cmd, capture_output=True, text=True)
    assert piped.returncode == 0
    assert "\x1b" not in piped.stderr and "\r" not in piped.stderr  # no bar drawn
    assert all(json.loads(line) for line in piped.stdout.splitlines())

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=follower, text=True, env={**os.environ}
        )
        os.close(follower)
        follower = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0
    assert done.stdout == piped.stdout
    assert b"export" in drawn and b"\x1b[" in drawn  # the bar, drawn and cleared


# --- completion -----------------------------------------------------------------------------


def _staged(state_dir: Path) -> list[str]:
    queue = json.loads((state_dir / "autotrade_queue.json").read_text())
    return [o["order_id"] for o in queue["orders"] if o["status"] == "staged"]


def _bash_complete(words: list[str], env: dict[str, str]) -> list[str]:
    """What a real bash offers for TAB after ``words`` (the last one being typed), with the
    script ``vanta-tui completion bash`` prints sourced as a user would."""
    bash = shutil.which("bash")
    assert bash is not None
    script = subprocess.run(
        [BIN / "vanta-tui", "completion", "bash"], capture_output=True, text=True, check=True
    ).stdout
    line = " ".join(words)
    quoted = " ".join(f"'{w}'" for w in words)
    program = f"""
{script}
spec=$(complete -p vanta-tui)
fn=$(sed -E 's/.* -F ([^ ]+) .*/\\1/' <<<"$spec")
COMP_WORDS=({quoted})
COMP_CWORD={len(words) - 1}
COMP_LINE='{line}'
COMP_POINT={len(line)}
COMP_TYPE=9
"$fn" vanta-tui '{words[-1]}' '{words[-2]}'
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    environ = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    done = subprocess.run([bash, "--norc", "-c", program], capture_output=True, text=True,
                          env=environ, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [w.strip() for w in done.stdout.splitlines() if w.strip()]


def test_bash_completes_commands_and_staged_order_ids_from_the_state_dir(state_dir: Path) -> None:
    env = {"VANTA_STATE_DIR": str(state_dir)}
    assert "orders" in _bash_complete(["vanta-tui", "ord"], env)
    assert set(_bash_complete(["vanta-tui", "orders", "ap"], env)) == {"approve"}
    staged = _staged(state_dir)
    assert len(staged) >= 2
    offered = _bash_complete(["vanta-tui", "orders", "approve", ""], env)
    assert sorted(offered) == sorted(staged)
    prefix = staged[0][:-2]
    expected = sorted(i for i in staged if i.startswith(prefix))
    assert sorted(_bash_complete(["vanta-tui", "orders", "approve", prefix], env)) == expected
    # The state directory named on the line wins over the environment.
    elsewhere = {"VANTA_STATE_DIR": str(state_dir.parent / "nothing-here")}
    words = ["vanta-tui", "orders", "reject", "--state-dir", str(state_dir), ""]
    assert sorted(_bash_complete(words, elsewhere)) == sorted(staged)
    assert _bash_complete(["vanta-tui", "orders", "approve", ""], elsewhere) == []
    vaults = json.loads((state_dir / "vault.json").read_text())["vaults"]
    assert sorted(_bash_complete(["vanta-tui", "orders", "stage", ""], env)) == sorted(
        v["vault_id"] for v in vaults
    )


def test_completion_offers_only_the_orders_the_command_can_act_on(state_dir: Path) -> None:
    staged = _staged(state_dir)
    assert main(["orders", "approve", "--state-dir", str(state_dir), staged[0]]) == 0
    assert main(["orders", "reject", "--state-dir", str(state_dir), staged[1]]) == 0
    assert completion.order_ids_of(state_dir, completion.STAGED) == staged[2:]
    env = {"VANTA_STATE_DIR": str(state_dir)}
    assert sorted(_bash_complete(["vanta-tui", "orders", "approve", ""], env)) == sorted(staged[2:])
    every = completion.order_ids_of(state_dir)
    assert sorted(_bash_complete(["vanta-tui", "audit", "show", ""], env)) == sorted(every)


def test_completion_reads_a_broken_file_silently_and_writes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "autotrade_queue.json").write_text('{"orders": [ {"order_id": "X1"')
    env = {"VANTA_STATE_DIR": str(broken)}
    assert _bash_complete(["vanta-tui", "orders", "approve", ""], env) == []
    assert sorted(p.name for p in broken.iterdir()) == ["autotrade_queue.json"]


def test_completion_scripts_for_three_shells() -> None:
    for shell in completion.SHELLS:
        done = subprocess.run(
            [BIN / "vanta-tui", "completion", shell], capture_output=True, text=True
        )
        assert done.returncode == 0 and "vanta-tui" in done.stdout, shell
        checker = shutil.which(shell)
        if checker is not None:  # a syntax check where the shell is installed
            path = Path(os.environ.get("TMPDIR", "/tmp")) / f"vanta-completion-test.{shell}"
            path.write_text(done.stdout)
            try:
                assert subprocess.run([checker, "-n", str(path)]).returncode == 0, shell
            finally:
                path.unlink()
    assert main(["completion", "tcsh"]) == 64


def test_every_id_completer_names_a_real_argument() -> None:
    parser = build_parser()
    for path, dest, _ in completion._ID_ARGUMENTS:
        sub = completion._subparser(parser, path)
        assert sub is not None, path
        assert dest in {a.dest for a in sub._actions}, (path, dest)
