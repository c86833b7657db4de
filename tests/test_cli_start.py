"""Issue 20: the command line starts without the heavy packages. `vanta-tui --help`, `check`
and `status --no-probe` import no data-frame stack (pandas, numpy, sqlite_utils), no broker
SDK (ccxt, alpaca: inside their adapters only) and not Textual (the desk's alone);
`bench/cli_start.py` times them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"pandas", "numpy", "ccxt", "alpaca", "sqlite_utils", "textual"}


def imported(argv: list[str]) -> set[str]:
    """The top-level packages a run of ``python -X importtime -m vanta_tui ARGV`` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vanta_tui", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr  # status may WARN/FAIL
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "vanta_tui" in names  # the report is there to read
    return names


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cli_start") / "demo"
    subprocess.run(
        [sys.executable, "-m", "vanta_tui", "init", str(target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


@pytest.mark.parametrize("command", [["--help"], ["check"], ["status", "--no-probe"]], ids=" ".join)
def test_the_command_imports_nothing_heavy(demo_copy: Path, command: list[str]) -> None:
    argv = command if command == ["--help"] else ["--state-dir", str(demo_copy), *command]
    assert imported(argv) & HEAVY == set()


def test_the_check_sees_a_heavy_import() -> None:
    """The parsing above is not blind: Python's own report names what it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json.decoder"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "json" in names
