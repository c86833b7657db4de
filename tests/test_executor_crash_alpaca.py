"""The executor's SIGKILL test once more, with the fake Alpaca server in place of the paper
broker: the real alpaca-py client over HTTP, killed at random points while sending."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import FakeAlpaca
from test_executor_crash import (
    BATCH,
    SYMBOLS,
    WARM_RUNS,
    _approve_batch,
    kill_mid_run,
    kill_window,
    recover_and_check,
)

from vanta_tui.actions.brokers import brokers_for
from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.credentials import env_names
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.core.enums import AssetClass
from vanta_tui.core.models import PortfolioFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update

RUNS = 50
PRICES = {"AAPL": Decimal("190.10"), "MSFT": Decimal("415.50"), "NVDA": Decimal("142.30")}


def _run_executor(state_dir: str) -> None:
    cmd_executor(Path(state_dir), once=True, timeout_s=5)


@pytest.mark.xdist_group("kills")  # timed kill windows: never beside another such test
def test_sigkill_while_sending_to_alpaca_leaves_every_order_there_once(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = json.loads((state_dir / "vault.json").read_text())
    vault["vaults"][0]["risk"]["max_single_pos_pct"] = 0.5  # room for many small buys
    (state_dir / "vault.json").write_text(json.dumps(vault, indent=2))

    def to_alpaca(vaults: VaultFile) -> None:
        core = vaults.get("V_CORE")
        assert core is not None
        core.venues[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref="alpaca-crash")

    update(state_dir, VaultFile, to_alpaca)
    key_var, secret_var = env_names("alpaca-crash")
    monkeypatch.setenv(key_var, "key-123")
    monkeypatch.setenv(secret_var, "secret-456")
    start = load_model(state_dir, PortfolioFile).accounts["V_CORE"]
    held = {s: start.positions[s].qty for s in SYMBOLS}
    rng = random.Random(777)

    def recover(ctx: ActionContext) -> None:
        Executor(ctx, brokers_for(state_dir, timeout_s=5)).run_once()

    killed = 0
    interrupted = 0
    """Runs killed between marking orders `submitting` and recording the broker's answer."""
    sent: set[str] = set()
    with FakeAlpaca(dict(PRICES)) as fake:
        monkeypatch.setenv("VANTA_ALPACA_URL", fake.url)
        monkeypatch.setenv("VANTA_ALPACA_DATA_URL", fake.url)  # prices: no network
        # The fake has no request limit; Alpaca's 200 a minute would pace these hundreds.
        monkeypatch.setenv("VANTA_ALPACA_RATE_LIMIT", "100000/60")
        # Import alpaca-py here, so the forked children start sending at once.
        brokers_for(state_dir)
        __import__("alpaca.trading.client")
        # Runs left to finish tell how long a run takes on this machine; the kills then
        # fall anywhere within the fastest of them (a slower machine gets a longer window;
        # a run slowed down by a busy moment does not stretch it past what most runs take).
        window = [
            kill_window(
                state_dir,
                lambda extra: _approve_batch(state_dir, RUNS + extra),
                _run_executor,
                sent,
            )
        ]
        for run in range(RUNS):
            sent.update(_approve_batch(state_dir, run))
            died, cut = kill_mid_run(
                state_dir, _run_executor, rng.uniform(0.0, window[0]), sent, window
            )
            killed += died
            interrupted += cut
            recover_and_check(state_dir, recover, sent, fake.created)
            # The broker's fills are the portfolio's fills.
            account = load_model(state_dir, PortfolioFile).accounts["V_CORE"]
            for symbol in SYMBOLS:
                moved = account.positions[symbol].qty - held[symbol]
                assert moved == fake.positions.get(symbol, Decimal(0)), symbol
            assert start.cash - account.cash == Decimal(1_000_000) - fake.cash
    assert len(sent) == (RUNS + WARM_RUNS) * BATCH
    assert killed > RUNS // 2  # most runs really died mid-way
    assert interrupted >= 5, interrupted  # and some of them in the middle of sending
