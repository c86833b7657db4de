"""CLI basics: init, check, schema, --state-dir / VANTA_STATE_DIR, python -m."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vanta_tui.cli.main import main
from vanta_tui.core.state_files import StateKind
from vanta_tui.demo.bundled import DEMO_MARKER, build


def test_init_copies_the_demo_and_refuses_to_clobber(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "desk"
    assert main(["init", str(target)]) == 0
    assert {p.name for p in target.iterdir()} == {k.filename for k in StateKind} | {DEMO_MARKER}
    assert main(["init", str(target)]) == 65
    assert "--force" in capsys.readouterr().out
    assert main(["init", str(target), "--force"]) == 0


def test_check_on_the_demo_passes(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--state-dir", str(state_dir)]) == 0
    assert "all 7 state files" in capsys.readouterr().out


def test_tracked_state_dir_is_valid(tracked_state_copy: Path) -> None:
    assert main(["check", "--state-dir", str(tracked_state_copy)]) == 0


def test_state_dir_comes_from_the_environment(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VANTA_STATE_DIR", str(state_dir))
    assert main(["check"]) == 0
    assert str(state_dir) in capsys.readouterr().out


def test_state_dir_option_before_or_after_the_command(state_dir: Path) -> None:
    assert main(["--state-dir", str(state_dir), "check"]) == 0
    assert main(["check", "--state-dir", str(state_dir)]) == 0


def test_schema_writes_one_schema_per_file_that_accepts_the_demo(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "schemas"
    assert main(["schema", "--out", str(out)]) == 0
    demo = build()
    for kind in StateKind:
        schema = json.loads((out / f"{kind.value}.schema.json").read_text())
        assert schema["title"] == kind.filename
        jsonschema.validate(json.loads(demo[kind.filename]), schema)


def test_python_dash_m_runs_the_cli(state_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "check", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "all 7 state files" in done.stdout
