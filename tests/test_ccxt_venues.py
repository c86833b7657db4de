"""The ccxt adapter against four exchanges with different API styles, each a fake server on
127.0.0.1 written from that exchange's public documentation (`fake_brokers.FakeBinance`,
`fake_exchanges.FakeKraken`, `FakeOKX`, `FakeCoinbase`), through the real ccxt client and
the real executor: stage → approve → send → fill recorded once, positions and PnL updated,
reconciliation clean; a connection dropped after the exchange took the order; a refusal;
a missing passphrase; and (for Kraken) the SIGKILL crash test."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import KEYS, FakeBinance, FakeBroker
from fake_exchanges import (
    COINBASE_KEY_NAME,
    COINBASE_PRIVATE_KEY_PEM,
    KRAKEN_SECRET,
    PASSPHRASE,
    FakeCoinbase,
    FakeKraken,
    FakeOKX,
)
from test_executor_crash import WARM_RUNS, kill_mid_run, kill_window, recover_and_check

from vanta_tui.actions.brokers import brokers_for, missing_credentials
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.actions.reconcile import check as reconcile_check
from vanta_tui.brokers.ccxt_adapter import RATE_LIMIT_ENV, url_env
from vanta_tui.brokers.credentials import env_names, passphrase_env_name
from vanta_tui.brokers.errors import CredentialsError
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.core.enums import AssetClass, OrderStatus, Side
from vanta_tui.core.models import Order, PnlFile, PortfolioFile, QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update
from vanta_tui.store.journal.verify import verify

PRICES = {"BTC/USD": Decimal("64250"), "ETH/USD": Decimal("3210"), "SOL/USD": Decimal("148.20")}
VAULT = "V_CRYPTO"


@dataclass(frozen=True)
class VenueSetup:
    exchange_id: str
    fake: type[FakeBroker]
    key: str
    secret: str
    passphrase: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.exchange_id}-test"


VENUES = {
    "binance": VenueSetup("binance", FakeBinance, *KEYS),
    "kraken": VenueSetup("kraken", FakeKraken, KEYS[0], KRAKEN_SECRET),
    "okx": VenueSetup("okx", FakeOKX, *KEYS, PASSPHRASE),
    "coinbase": VenueSetup("coinbase", FakeCoinbase, COINBASE_KEY_NAME, COINBASE_PRIVATE_KEY_PEM),
}


class Clock:
    def __init__(self) -> None:
        self.now = DEMO_NOW + timedelta(minutes=10)

    def __call__(self) -> datetime:
        return self.now


def keys_env(setup: VenueSetup) -> dict[str, str]:
    key_var, secret_var = env_names(setup.ref)
    env = {key_var: setup.key, secret_var: setup.secret}
    if setup.passphrase:
        env[passphrase_env_name(setup.ref)] = setup.passphrase
    return env


def prepare(state_dir: Path, setup: VenueSetup, fake: FakeBroker) -> None:
    """V_CRYPTO trades at the venue: the exchange holds what portfolio.json says the vault
    holds; the demo's working orders of the vault (sent to the paper broker) are gone."""

    def to_venue(vaults: VaultFile) -> None:
        vault = vaults.get(VAULT)
        assert vault is not None
        vault.venues[AssetClass.CRYPTO] = Venue(
            adapter=f"ccxt:{setup.exchange_id}", account_ref=setup.ref
        )
        vault.risk.max_single_pos_pct = Decimal("0.9")  # room for the test's buys

    update(state_dir, VaultFile, to_venue)

    def without_working(queue: QueueFile) -> None:
        queue.orders[:] = [
            o
            for o in queue.orders
            if o.vault_id != VAULT
            or o.status not in {OrderStatus.SUBMITTING, OrderStatus.SUBMITTED}
        ]

    update(state_dir, QueueFile, without_working)
    account = load_model(state_dir, PortfolioFile).accounts[VAULT]
    fake.cash = account.cash
    fake.positions = {s: p.qty for s, p in account.positions.items()}


@pytest.fixture(params=sorted(VENUES))
def venue(
    request: pytest.FixtureRequest, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[VenueSetup, FakeBroker]]:
    setup = VENUES[request.param]
    with setup.fake(dict(PRICES)) as fake:
        prepare(state_dir, setup, fake)
        for name, value in keys_env(setup).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(url_env(setup.exchange_id), fake.url)
        fake.hang_s = 1.5
        yield setup, fake


def stage_and_approve(state_dir: Path, clock: Clock, side: Side, qty: str) -> str:
    ctx = ActionContext.open(state_dir, "dana", clock=clock)
    order = stage_order(ctx, vault_id=VAULT, symbol="BTC/USD", side=side, qty=Decimal(qty))
    approve_orders(ctx, [order.result.order_id])
    ctx.close()
    return str(order.result.order_id)


def executor_for(state_dir: Path, clock: Clock) -> Executor:
    return Executor(
        ActionContext.open(state_dir, "executor", clock=clock),
        brokers_for(state_dir, timeout_s=1.0),
        retry_after=(0, 0, 0, 0),
        price_every_s=None,
        reconcile_every_s=None,
    )


def queue_order(state_dir: Path, order_id: str) -> Order:
    order = load_model(state_dir, QueueFile).get(order_id)
    assert order is not None
    return order


def assert_filled_once(
    state_dir: Path, executor: Executor, fake: FakeBroker, order_id: str, qty: Decimal
) -> None:
    done = queue_order(state_dir, order_id)
    assert done.status is OrderStatus.FILLED, (done.status, done.last_error)
    assert done.filled_qty == qty and done.broker_order_id
    assert done.client_order_id is not None
    # The queue holds what was sent, and the exchange got it once.
    assert fake.created.count(done.client_order_id) == 1
    assert len(fake.created) == len(set(fake.created))
    broker = brokers_for(state_dir).for_venue(
        load_model(state_dir, VaultFile).vaults[1].venues[AssetClass.CRYPTO], VAULT
    )
    assert done.client_order_id == broker.client_order_id_for(order_id)
    # The fill is in the portfolio and the PnL once, and the exchange agrees with both.
    account = load_model(state_dir, PortfolioFile).accounts[VAULT]
    assert account.positions["BTC/USD"].qty == Decimal("0.95") + qty
    assert account.positions["BTC/USD"].qty == fake.positions["BTC/USD"]
    pnl = load_model(state_dir, PnlFile).vaults[VAULT]
    assert pnl.nav == account.equity.quantize(Decimal("0.01"))
    assert reconcile_check(executor.ctx, VAULT, brokers_for(state_dir).for_venue) == []
    assert verify(executor.ctx.journal).ok
    fills = executor.ctx.journal.db.execute(
        "SELECT count(*) FROM events WHERE action = 'order.filled' AND order_id = ?", [order_id]
    ).fetchone()[0]
    assert fills == 1


def test_an_order_fills_once_positions_pnl_and_reconcile_agree(
    venue: tuple[VenueSetup, FakeBroker], state_dir: Path
) -> None:
    _, fake = venue
    clock = Clock()
    order_id = stage_and_approve(state_dir, clock, Side.BUY, "0.01")
    executor = executor_for(state_dir, clock)
    executor.run_once()
    executor.run_once()  # nothing more happens: no resend, no second fill
    assert_filled_once(state_dir, executor, fake, order_id, Decimal("0.01"))
    assert load_model(state_dir, PnlFile).asof == clock.now  # the fill went through PnL
    assert fake.posts[queue_order(state_dir, order_id).client_order_id or ""] == 1


@pytest.mark.parametrize("fault", ["drop", "500-after", "hang"])
def test_an_answer_lost_after_the_exchange_took_the_order_ends_with_one_order(
    venue: tuple[VenueSetup, FakeBroker], state_dir: Path, fault: str
) -> None:
    _, fake = venue
    clock = Clock()
    order_id = stage_and_approve(state_dir, clock, Side.BUY, "0.01")
    fake.faults.append(fault)
    executor = executor_for(state_dir, clock)
    executor.run_once()
    executor.run_once()
    assert_filled_once(state_dir, executor, fake, order_id, Decimal("0.01"))
    done = queue_order(state_dir, order_id)
    assert fake.posts[done.client_order_id or ""] == 1  # looked up, never resent
    assert done.attempts == 1


def test_a_refusal_is_final_with_the_exchanges_words(
    venue: tuple[VenueSetup, FakeBroker], state_dir: Path
) -> None:
    """A send the exchange refuses outright is final (never resent), ends ``broker_rejected``
    (through ``submitted``: the contract's way there) and says why in the exchange's words."""
    setup, fake = venue
    clock = Clock()
    order_id = stage_and_approve(state_dir, clock, Side.BUY, "0.01")
    fake.cash = Decimal(100)  # the exchange cannot pay for 0.01 BTC at 64250
    executor = executor_for(state_dir, clock)
    executor.run_once()
    done = queue_order(state_dir, order_id)
    assert done.status is OrderStatus.BROKER_REJECTED, (done.status, done.last_error)
    error = (done.last_error or "").lower()
    assert error.startswith(f"rejected: ccxt:{setup.exchange_id}")
    assert "insufficient" in error or "balance" in error or "fund" in error, error
    assert fake.posts[done.client_order_id or ""] == 1  # once: a refusal is final
    assert load_model(state_dir, PortfolioFile).accounts[VAULT].positions["BTC/USD"].qty == (
        Decimal("0.95")
    )


def test_keys_are_checked_at_start_with_the_passphrase_where_required(
    venue: tuple[VenueSetup, FakeBroker], state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, _ = venue
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert missing_credentials(state_dir) == []
    monkeypatch.delenv(passphrase_env_name(setup.ref), raising=False)
    problems = missing_credentials(state_dir)
    if setup.passphrase is None:  # ccxt's requiredCredentials wants no password here
        assert problems == []
        return
    assert len(problems) == 1 and passphrase_env_name(setup.ref) in problems[0], problems
    assert f"{setup.ref}:api_passphrase" in problems[0]
    with pytest.raises(CredentialsError, match="passphrase"):
        brokers_for(state_dir).for_venue(
            Venue(adapter=f"ccxt:{setup.exchange_id}", account_ref=setup.ref), VAULT
        )
    env = {k: v for k, v in os.environ.items() if k != passphrase_env_name(setup.ref)}
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "executor", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 69, (done.stdout, done.stderr)
    assert passphrase_env_name(setup.ref) in done.stderr


# ------------------------------------------------------------------ SIGKILL, at Kraken

RUNS = 30
BATCH = 6
SYMBOLS = ["BTC/USD", "ETH/USD", "SOL/USD"]


def _run_executor(state_dir: str) -> None:
    cmd_executor(Path(state_dir), once=True, timeout_s=5)


def _approve_batch(state_dir: Path) -> list[str]:
    ctx = ActionContext.open(state_dir, "dana")
    ids = []
    for index in range(BATCH):
        side = Side.BUY if index % 2 else Side.SELL
        order = stage_order(
            ctx, vault_id=VAULT, symbol=SYMBOLS[index % 3], side=side, qty=Decimal("0.01"),
            allow_duplicate=True,
        ).result  # fmt: skip
        ids.append(order.order_id)
    approve_orders(ctx, ids)
    ctx.close()
    return ids


@pytest.mark.xdist_group("kills")  # timed kill windows: never beside another such test
def test_sigkill_while_sending_to_kraken_leaves_every_order_there_once(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = VENUES["kraken"]
    start = load_model(state_dir, PortfolioFile).accounts[VAULT]
    held = {s: start.positions[s].qty for s in SYMBOLS}
    rng = random.Random(4242)

    def recover(ctx: ActionContext) -> None:
        executor = Executor(ctx, brokers_for(state_dir, timeout_s=5))
        executor.run_once()
        executor.run_once()  # Kraken answers AddOrder with the txid: fills come next

    killed = interrupted = 0
    sent: set[str] = set()
    with FakeKraken(dict(PRICES)) as fake:
        prepare(state_dir, setup, fake)
        start_cash = fake.cash
        for name, value in keys_env(setup).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(url_env("kraken"), fake.url)
        monkeypatch.setenv(RATE_LIMIT_ENV, "0")  # a test server: no pacing (Kraken's is 3 s)
        __import__("ccxt")  # imported before the fork, so the children send at once
        window = [kill_window(state_dir, lambda _: _approve_batch(state_dir), _run_executor, sent)]
        for _ in range(RUNS):
            sent.update(_approve_batch(state_dir))
            died, cut = kill_mid_run(
                state_dir, _run_executor, rng.uniform(0.0, window[0]), sent, window
            )
            killed += died
            interrupted += cut
            recover_and_check(state_dir, recover, sent, fake.created)
            account = load_model(state_dir, PortfolioFile).accounts[VAULT]
            for symbol in SYMBOLS:
                assert account.positions[symbol].qty == fake.positions[symbol], symbol
                assert account.positions[symbol].qty - held[symbol] == (
                    fake.positions[symbol] - held[symbol]
                )
            assert start.cash - account.cash == start_cash - fake.cash
    assert len(sent) == (RUNS + WARM_RUNS) * BATCH
    assert killed > RUNS // 2
    assert interrupted >= 3, interrupted
