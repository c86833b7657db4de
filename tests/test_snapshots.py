"""What the operator sees, compared with the stored snapshots (pytest-textual-snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vanta_tui.ui.screenshots import SCENARIOS, Scenario, main_screen, shot_app


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_snapshot(scenario: Scenario, state_dir: Path, snap_compare: Any) -> None:
    app = shot_app(state_dir)
    assert snap_compare(app, terminal_size=scenario.size, run_before=scenario.prepare)


def test_the_main_screen_is_shot_at_three_sizes() -> None:
    sizes = {s.size for s in SCENARIOS if s.prepare is main_screen}
    assert sizes == {(80, 24), (120, 40), (160, 50)}


async def test_every_screenshot_shows_one_moment_of_one_desk(state_dir: Path) -> None:
    """The main screen shows V_CRYPTO as the status view does (tripped, a FAIL alarm): the
    scenarios share one state, prepared before the desk opens."""
    app = shot_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await main_screen(pilot)
        assert app.vaults_pane.get_row("V_CRYPTO")[2].plain == "tripped"
        assert app.status_report is not None
        assert any(a.kind == "tripped" for a in app.status_report.alarms)
