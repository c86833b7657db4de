"""The executor's SIGKILL test once more, with the fake Alpaca server in place of the paper
broker: the real alpaca-py client over HTTP, killed at random points while sending."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import FakeAlpaca
from test_executor_crash import BATCH, SYMBOLS, WARM_RUNS, _approve_batch, kill_window

from vanta_tui.actions.brokers import brokers_for
from vanta_tui.actions.context import ActionContext
from vanta_tui.brokers.credentials import env_names
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.core.enums import AssetClass, OrderStatus
from vanta_tui.core.models import PortfolioFile, QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_all, load_model, update
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify

RUNS = 50
PRICES = {"AAPL": Decimal("190.10"), "MSFT": Decimal("415.50"), "NVDA": Decimal("142.30")}


def _run_executor(state_dir: str) -> None:
    cmd_executor(Path(state_dir), once=True, timeout_s=5)


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
    fork = multiprocessing.get_context("fork")
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
        span = kill_window(
            state_dir, lambda extra: _approve_batch(state_dir, RUNS + extra), _run_executor, sent
        )
        for run in range(RUNS):
            sent.update(_approve_batch(state_dir, run))
            child = fork.Process(target=_run_executor, args=(str(state_dir),))
            child.start()
            time.sleep(rng.uniform(0.0, span))
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            child.join()
            killed += child.exitcode == -signal.SIGKILL
            before = load_model(state_dir, QueueFile)
            interrupted += any(
                o.status is OrderStatus.SUBMITTING for o in before.orders if o.order_id in sent
            )

            ctx = ActionContext.open(state_dir, "executor")  # journal recovery
            Executor(ctx, brokers_for(state_dir, timeout_s=5)).run_once()
            assert verify(ctx.journal).ok
            result = replay(ctx.journal)
            assert result.ok, (result.problems, result.differences)
            ctx.close()
            assert load_all(state_dir).ok
            queue = load_model(state_dir, QueueFile)
            mine = [o for o in queue.orders if o.order_id in sent]
            assert all(o.status is OrderStatus.FILLED for o in mine), [
                (o.status, o.last_error) for o in mine if o.status is not OrderStatus.FILLED
            ]
            # Exactly once at the broker, and the broker's fills are the portfolio's fills.
            assert len(fake.created) == len(set(fake.created))
            assert {o.client_order_id for o in mine} <= set(fake.created)
            account = load_model(state_dir, PortfolioFile).accounts["V_CORE"]
            for symbol in SYMBOLS:
                moved = account.positions[symbol].qty - held[symbol]
                assert moved == fake.positions.get(symbol, Decimal(0)), symbol
            assert start.cash - account.cash == Decimal(1_000_000) - fake.cash
    assert len(sent) == (RUNS + WARM_RUNS) * BATCH
    assert killed > RUNS // 2  # most runs really died mid-way
    assert interrupted >= 5, interrupted  # and some of them in the middle of sending
