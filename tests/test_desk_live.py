"""`--live`: the header says LIVE, the desk asks before trading, and missing keys stop the
executor at start with the reason on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import NOW, loaded, wait_for

from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import AssetClass
from vanta_tui.core.models import VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.store import update
from vanta_tui.ui.app import VantaApp
from vanta_tui.ui.screens.modals import ConfirmScreen
from vanta_tui.ui.settings import DeskSettings


def live_app(state_dir: Path) -> VantaApp:
    return VantaApp(
        state_dir,
        operator="dana",
        clock=fixed_clock(NOW),
        settings=DeskSettings(),
        settings_file=state_dir.parent / "settings.toml",
        watch=False,
        live=True,
        executor=True,
    )


async def test_live_desk_asks_first_and_cancel_closes_it(state_dir: Path) -> None:
    app = live_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert "LIVE" in app.header.render().plain and app.header.live
        assert isinstance(app.screen, ConfirmScreen)
        assert app.header.executor_text == ""  # nothing sent before the answer
        await pilot.press("n")
        await wait_for(pilot, lambda: app.return_value is not None)
    assert app.return_value == 1  # `vanta-tui --live` exits 1


async def test_live_desk_starts_the_executor_once_confirmed(state_dir: Path) -> None:
    app = live_app(state_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.header.executor_text.startswith("executor: running"))


async def test_missing_keys_keep_the_executor_off_with_the_reason(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def to_alpaca(vaults: VaultFile) -> None:
        core = vaults.get("V_CORE")
        assert core is not None
        core.venues[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref="alpaca-nokeys")

    update(state_dir, VaultFile, to_alpaca)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    app = VantaApp(
        state_dir,
        operator="dana",
        clock=fixed_clock(NOW),
        settings=DeskSettings(),
        settings_file=state_dir.parent / "settings.toml",
        watch=False,
        executor=True,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "missing keys" in app.header.executor_text)
        assert app.header.executor_level == "fail"
        messages = [n.message for n in app._notifications]
        assert any("VANTA_ALPACA_NOKEYS_API_KEY" in m for m in messages)
