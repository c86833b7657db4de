"""The journal from the outside: sqlite-utils opens it as it is; one line when piped."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from journal_helpers import do_actions, without_followers

from vanta_tui.actions.context import ActionContext
from vanta_tui.cli.main import main


def test_sqlite_utils_cli_queries_the_journal_as_it_is(state_dir: Path) -> None:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 3)
    ctx.close()
    cli = shutil.which("sqlite-utils") or str(Path(sys.executable).parent / "sqlite-utils")
    done = subprocess.run(
        [
            cli,
            "query",
            str(state_dir / "vanta.db"),
            "select action, count(*) as n from events group by action order by action",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    counts = {row["action"]: row["n"] for row in json.loads(done.stdout)}
    assert counts == {
        "journal.started": 1,
        "order.approved": 2,
        "order.rejected": 1,
        "order.staged": 3,
    }


@pytest.mark.usefixtures("journal_backend")
def test_verify_output_is_one_line_when_piped(state_dir: Path) -> None:
    without_followers(state_dir)
    ctx = ActionContext.open(state_dir, "dana")
    do_actions(ctx, 1)
    ctx.close()
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "audit", "verify", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("OK 3 events ") and done.stdout.count("\n") == 1
    assert done.stderr == ""


@pytest.mark.usefixtures("journal_backend")
def test_read_only_cli_refuses_order_actions(state_dir: Path, capsys: object) -> None:
    before = (state_dir / "autotrade_queue.json").read_bytes()
    assert main(["orders", "stage", "V_CORE", "AAPL", "buy", "1", "--read-only",
                 "--state-dir", str(state_dir)]) == 77  # fmt: skip
    assert (state_dir / "autotrade_queue.json").read_bytes() == before
    assert not (state_dir / "vanta.db").exists()
