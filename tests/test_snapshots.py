"""What the operator sees, compared with the stored snapshots (pytest-textual-snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vanta_tui.ui.screenshots import SCENARIOS, Scenario, shot_app


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_snapshot(scenario: Scenario, state_dir: Path, snap_compare: Any) -> None:
    app = shot_app(state_dir)
    assert snap_compare(app, terminal_size=scenario.size, run_before=scenario.prepare)
