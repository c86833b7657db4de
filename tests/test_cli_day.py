"""The command line's readings of what happened (`activity`, `fills`, `profit`) and
`orders unstage`: thin fronts over the same Desk methods as the desk's views."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vanta_tui.cli.main import main


def _ids(state_dir: Path, status: str) -> list[str]:
    data = json.loads((state_dir / "autotrade_queue.json").read_text())
    return [o["order_id"] for o in data["orders"] if o["status"] == status]


def test_activity_fills_profit_and_unstage_from_the_command_line(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--state-dir", str(state_dir), "--operator", "dana"]
    staged = _ids(state_dir, "staged")
    assert main([*common, "orders", "approve", staged[0]]) == 0
    assert main([*common, "orders", "unstage", staged[1]]) == 0
    assert main([*common, "executor", "--once"]) == 0
    capsys.readouterr()

    assert main([*common, "activity", "--actor", "dana", "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "dana unstaged" in lines[0] and "dana approved" in lines[1]
    assert staged[1] not in _ids(state_dir, "staged")
    # Refused once approved: the exit code of a refusal, the queue unchanged.
    before = (state_dir / "autotrade_queue.json").read_bytes()
    assert main([*common, "orders", "unstage", staged[0]]) != 0
    assert (state_dir / "autotrade_queue.json").read_bytes() == before
    assert "only staged orders can be unstaged" in capsys.readouterr().out

    assert main([*common, "fills"]) == 0
    fills = capsys.readouterr().out
    assert staged[0] in fills  # the follower copies name their parent
    assert main([*common, "--read-only", "profit", "--period", "month"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\d{4}-\d{2} +V_CORE ", out, re.MULTILINE), out
