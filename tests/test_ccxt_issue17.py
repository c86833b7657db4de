"""Issue 17's reproductions ("ccxt for the exchanges people use, not only Binance"), each
through the real ccxt client against a fake exchange written from the venue's own
documentation (or against nothing, where the point is that nothing is called). Each one
failed before the fix; they use only interfaces that existed then, so they fail there on
the symptom, not on an import."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import KEYS, FakeBroker
from fake_exchanges import KRAKEN_SECRET, PASSPHRASE, FakeKraken, FakeOKX

from vanta_tui.actions.brokers import brokers_for
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.orders import approve_orders, edit_order, stage_order
from vanta_tui.actions.reconcile import check as reconcile_check
from vanta_tui.brokers.credentials import env_names
from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.models import PortfolioFile, QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update

PRICES = {"BTC/USD": Decimal("64250"), "ETH/USD": Decimal("3210"), "SOL/USD": Decimal("148.20")}
NO_SANDBOX = (
    "kraken has no sandbox in ccxt: use --live, or a test server through VANTA_CCXT_KRAKEN_URL"
)


class Clock:
    def __init__(self) -> None:
        self.now = DEMO_NOW + timedelta(minutes=10)

    def __call__(self) -> datetime:
        return self.now


def on_exchange(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, exchange: str, url: str | None
) -> None:
    """V_CRYPTO at ``ccxt:<exchange>`` (account ``<exchange>-main``, its keys set; OKX's
    passphrase too), its paper working orders gone, room under its position cap."""

    def change(vaults: VaultFile) -> None:
        vault = vaults.get("V_CRYPTO")
        assert vault is not None
        vault.venues[AssetClass.CRYPTO] = Venue(
            adapter=f"ccxt:{exchange}", account_ref=f"{exchange}-main"
        )
        vault.risk.max_single_pos_pct = Decimal("0.9")

    update(state_dir, VaultFile, change)

    def without_working(queue: QueueFile) -> None:
        queue.orders[:] = [
            o
            for o in queue.orders
            if o.vault_id != "V_CRYPTO"
            or o.status not in {OrderStatus.SUBMITTING, OrderStatus.SUBMITTED}
        ]

    update(state_dir, QueueFile, without_working)
    key_var, secret_var = env_names(f"{exchange}-main")
    monkeypatch.setenv(key_var, KEYS[0])
    monkeypatch.setenv(secret_var, KRAKEN_SECRET if exchange == "kraken" else KEYS[1])
    monkeypatch.setenv(f"VANTA_{exchange.upper()}_MAIN_API_PASSPHRASE", PASSPHRASE)
    if url is None:
        monkeypatch.delenv(f"VANTA_CCXT_{exchange.upper()}_URL", raising=False)
    else:
        monkeypatch.setenv(f"VANTA_CCXT_{exchange.upper()}_URL", url)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def seeded(fake: FakeBroker, state_dir: Path) -> None:
    account = load_model(state_dir, PortfolioFile).accounts["V_CRYPTO"]
    fake.cash = account.cash
    fake.positions = {s: p.qty for s, p in account.positions.items()}


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(dict(PRICES)) as fake:
        yield fake  # type: ignore[misc]


def approved(state_dir: Path, clock: Clock, vault: str, symbol: str, qty: str) -> str:
    ctx = ActionContext.open(state_dir, "dana", clock=clock)
    order = stage_order(ctx, vault_id=vault, symbol=symbol, side=Side.BUY, qty=Decimal(qty))
    approve_orders(ctx, [order.result.order_id])
    ctx.close()
    return str(order.result.order_id)


def cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


# 1. Sandbox honestly -------------------------------------------------------------------


def test_1_without_live_kraken_is_refused_and_the_other_vaults_still_trade(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_exchange(state_dir, monkeypatch, "kraken", url=None)
    clock = Clock()
    paper = approved(state_dir, clock, "V_CORE", "AAPL", "3")
    waiting = approved(state_dir, clock, "V_CRYPTO", "BTC/USD", "0.01")
    done = cli(state_dir, "executor", "--once")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert NO_SANDBOX in done.stderr + done.stdout
    queue = load_model(state_dir, QueueFile)
    assert queue.get(paper).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert queue.get(waiting).status is OrderStatus.APPROVED  # type: ignore[union-attr]


def test_1_the_desks_executor_cycle_keeps_running(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_exchange(state_dir, monkeypatch, "kraken", url=None)
    clock = Clock()
    paper = approved(state_dir, clock, "V_CORE", "AAPL", "3")
    approved(state_dir, clock, "V_CRYPTO", "BTC/USD", "0.01")
    executor = Executor(
        ActionContext.open(state_dir, "executor", clock=clock), brokers_for(state_dir)
    )
    reports = executor.run_once()  # the desk's header showed "'NoneType' ... not iterable"
    assert any(NO_SANDBOX in e for r in reports for e in r.errors)
    assert load_model(state_dir, QueueFile).get(paper).status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_1_status_follows_live_and_says_so_per_account(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, kraken: FakeKraken
) -> None:
    on_exchange(state_dir, monkeypatch, "kraken", url=None)
    sandbox = cli(state_dir, "status")
    assert "Traceback" not in sandbox.stderr, sandbox.stderr
    line = next(x for x in sandbox.stdout.splitlines() if "ccxt:kraken" in x)
    assert "FAIL" in line and NO_SANDBOX in line
    # --live reaches the exchange (here the fake, standing in for Kraken's live host).
    monkeypatch.setenv("VANTA_CCXT_KRAKEN_URL", kraken.url)
    live = cli(state_dir, "--live", "status")
    line = next(x for x in live.stdout.splitlines() if "ccxt:kraken" in x)
    assert "Traceback" not in live.stderr, live.stderr
    assert "live" in line and "reachable" in line and "FAIL" not in line, line


# 2 and 3. Client ids in each exchange's form; lookup that works there ----------------------


@pytest.mark.parametrize("exchange", ["kraken", "okx"])
@pytest.mark.parametrize("fault", [None, "drop"])
def test_2_3_an_order_at_kraken_or_okx_fills_once_even_when_the_answer_is_lost(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, exchange: str, fault: str | None
) -> None:
    with (FakeKraken if exchange == "kraken" else FakeOKX)(dict(PRICES)) as fake:
        on_exchange(state_dir, monkeypatch, exchange, url=fake.url)
        seeded(fake, state_dir)
        clock = Clock()
        order_id = approved(state_dir, clock, "V_CRYPTO", "BTC/USD", "0.01")
        if fault:
            fake.faults.append(fault)
        executor = Executor(  # live: the fake stands in for the live host (no sandbox asked)
            ActionContext.open(state_dir, "executor", clock=clock),
            brokers_for(state_dir, timeout_s=1, live=True),
            retry_after=(0, 0, 0, 0),
        )
        executor.run_once()
        executor.run_once()
        order = load_model(state_dir, QueueFile).get(order_id)
        assert order is not None
        assert order.status is OrderStatus.FILLED, (order.status, order.last_error)
        assert fake.created == [order.client_order_id]  # once, under the id the queue holds
        portfolio = load_model(state_dir, PortfolioFile).accounts["V_CRYPTO"]
        assert portfolio.positions["BTC/USD"].qty == Decimal("0.96")  # not 0.95
        venues = brokers_for(state_dir, live=True).for_venue
        assert reconcile_check(executor.ctx, "V_CRYPTO", venues) == []


# 4. Capabilities at staging -----------------------------------------------------------------


def test_4_what_kraken_cannot_take_is_refused_at_staging(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, kraken: FakeKraken
) -> None:
    on_exchange(state_dir, monkeypatch, "kraken", url=kraken.url)
    ctx = ActionContext.open(state_dir, "dana", clock=Clock())
    with pytest.raises(ActionRefused, match=r"time in force day.*gtc"):
        stage_order(
            ctx, vault_id="V_CRYPTO", symbol="BTC/USD", side=Side.BUY, qty=Decimal("0.01"),
            order_type=OrderType.LIMIT, limit_price=Decimal(60000),
        )  # fmt: skip
    with pytest.raises(ActionRefused, match=r"below the minimum 0\.00005"):
        stage_order(
            ctx, vault_id="V_CRYPTO", symbol="BTC/USD", side=Side.BUY, qty=Decimal("0.00001")
        )
    order = stage_order(
        ctx, vault_id="V_CRYPTO", symbol="BTC/USD", side=Side.BUY, qty=Decimal("0.01"),
        order_type=OrderType.LIMIT, limit_price=Decimal(60000), time_in_force=TimeInForce.GTC,
    ).result  # fmt: skip
    with pytest.raises(ActionRefused, match="time in force day"):
        edit_order(ctx, order.order_id, {"time_in_force": TimeInForce.DAY})
    with pytest.raises(ActionRefused, match=r"not a multiple of the tick 0\.1"):
        edit_order(ctx, order.order_id, {"limit_price": Decimal("60000.05")})


# 5. Passphrases --------------------------------------------------------------------------------


def test_5_okx_without_its_passphrase_is_refused_at_start(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_exchange(state_dir, monkeypatch, "okx", url="http://127.0.0.1:9")
    monkeypatch.delenv("VANTA_OKX_MAIN_API_PASSPHRASE")
    done = cli(state_dir, "executor", "--once")
    assert done.returncode == 69, (done.stdout, done.stderr)
    assert "VANTA_OKX_MAIN_API_PASSPHRASE" in done.stderr
