"""The Alpaca and ccxt adapters: the real alpaca-py and ccxt clients over HTTP to fake broker
servers on 127.0.0.1 (no client library is mocked), with faults on the order POST."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import FakeAlpaca, FakeBinance, FakeBroker

from vanta_tui.actions.activity import broker_times
from vanta_tui.actions.brokers import brokers_for, missing_credentials
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.alpaca import AlpacaBroker
from vanta_tui.brokers.base import BrokerStatus, OrderRequest
from vanta_tui.brokers.ccxt_adapter import CcxtBroker
from vanta_tui.brokers.credentials import Credentials, env_names, load_credentials
from vanta_tui.brokers.errors import (
    CredentialsError,
    DuplicateClientOrderId,
    OrderRejected,
    TemporaryBrokerError,
    UnknownOutcome,
)
from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.ids import client_order_id_of
from vanta_tui.core.models import PnlFile, PortfolioFile, QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update
from vanta_tui.store.journal.verify import verify

CREDS = Credentials("test-acct", "key-123", "secret-456", "environment")
PRICES = {
    "AAPL": Decimal("190.10"),
    "MSFT": Decimal("415.50"),
    "BTC/USD": Decimal("64250"),
    "ETH/USD": Decimal("3210"),
}


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    with FakeAlpaca(dict(PRICES)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def binance() -> Iterator[FakeBinance]:
    with FakeBinance(dict(PRICES)) as fake:
        yield fake  # type: ignore[misc]


# ------------------------------------------------------------------ the adapters alone


def test_alpaca_adapter_speaks_the_trading_api(alpaca: FakeAlpaca) -> None:
    broker = AlpacaBroker(CREDS, base_url=alpaca.url, timeout_s=2)
    filled = broker.submit(OrderRequest("vanta-A1", "AAPL", Side.BUY, Decimal(5)))
    assert filled.status is BrokerStatus.FILLED and filled.avg_fill_price == Decimal("190.10")
    assert broker.get_by_client_id("vanta-A1") == filled
    assert broker.get_by_client_id("vanta-never") is None
    with pytest.raises(DuplicateClientOrderId):
        broker.submit(OrderRequest("vanta-A1", "AAPL", Side.BUY, Decimal(5)))
    working = broker.submit(
        OrderRequest("vanta-A2", "MSFT", Side.BUY, Decimal(2), OrderType.LIMIT, Decimal(400))
    )
    assert working.status is BrokerStatus.ACCEPTED
    assert [o.client_order_id for o in broker.open_orders()] == ["vanta-A2"]
    assert broker.cancel(working.broker_order_id).status is BrokerStatus.CANCELLED
    assert {p.symbol: p.qty for p in broker.positions()} == {"AAPL": 5}
    assert broker.account().cash == Decimal(1_000_000) - 5 * Decimal("190.10")
    crypto = broker.submit(OrderRequest("vanta-A3", "BTC/USD", Side.BUY, Decimal("0.01")))
    assert crypto.symbol == "BTC/USD"  # Alpaca answers BTCUSD
    assert alpaca.posts == {"vanta-A1": 2, "vanta-A2": 1, "vanta-A3": 1}


def test_alpaca_refused_keys_are_a_credentials_error(alpaca: FakeAlpaca) -> None:
    broker = AlpacaBroker(Credentials("x", "key-123", "wrong", "environment"), base_url=alpaca.url)
    with pytest.raises(CredentialsError):
        broker.account()
    with pytest.raises(CredentialsError):
        broker.submit(OrderRequest("vanta-K1", "AAPL", Side.BUY, Decimal(1)))
    assert alpaca.orders == {}


def test_ccxt_refused_keys_are_a_credentials_error(binance: FakeBinance) -> None:
    bad = Credentials("x", "wrong", "wrong", "environment")
    broker = CcxtBroker("binance", bad, base_url=binance.url, timeout_s=2)
    with pytest.raises(CredentialsError):
        broker.submit(OrderRequest("vanta-K2", "BTC/USD", Side.BUY, Decimal(1)))
    assert binance.orders == {}


def test_ccxt_adapter_speaks_binance_spot(binance: FakeBinance) -> None:
    broker = CcxtBroker("binance", CREDS, base_url=binance.url, timeout_s=2)
    filled = broker.submit(OrderRequest("vanta-B1", "BTC/USD", Side.BUY, Decimal("0.01")))
    assert filled.status is BrokerStatus.FILLED and filled.filled_qty == Decimal("0.01")
    assert filled.avg_fill_price == Decimal("64250")
    assert broker.get_by_client_id("vanta-B1", "BTC/USD") == filled
    assert broker.get_by_client_id("vanta-never", "BTC/USD") is None
    day = OrderRequest("vanta-B2", "ETH/USD", Side.BUY, Decimal(1), OrderType.LIMIT, Decimal(3000))
    with pytest.raises(OrderRejected, match="time in force day"):  # Binance: GTC/IOC/FOK
        broker.submit(day)
    assert "vanta-B2" not in binance.posts  # refused before anything was sent
    working = broker.submit(dataclasses.replace(day, time_in_force=TimeInForce.GTC))
    assert working.status is BrokerStatus.ACCEPTED
    with pytest.raises(DuplicateClientOrderId):  # unique among open orders (Binance docs)
        broker.submit(dataclasses.replace(day, time_in_force=TimeInForce.GTC))
    assert [o.client_order_id for o in broker.open_orders()] == ["vanta-B2"]
    assert broker.get_by_client_id("vanta-B2") == working  # no symbol: searched among open
    assert broker.cancel(working.broker_order_id, "ETH/USD").status is BrokerStatus.CANCELLED
    assert {p.symbol: p.qty for p in broker.positions()} == {"BTC/USD": Decimal("0.01")}
    assert broker.account().cash == Decimal(1_000_000) - Decimal("642.5")
    # The markets were loaded once, whatever the number of calls.
    assert binance.market_loads == 1 and "BTC/USD" in broker.exchange.markets


def test_ccxt_unknown_symbol_is_a_rejection(binance: FakeBinance) -> None:
    broker = CcxtBroker("binance", CREDS, base_url=binance.url, timeout_s=2)
    with pytest.raises(OrderRejected):
        broker.submit(OrderRequest("vanta-B3", "DOGE/USD", Side.BUY, Decimal(1)))


@pytest.mark.parametrize("kind", ["alpaca", "binance"])
@pytest.mark.parametrize("fault", ["500", "429", "500-after", "hang", "drop"])
def test_a_faulty_send_says_whether_the_order_may_be_there(
    kind: str, fault: str, alpaca: FakeAlpaca, binance: FakeBinance
) -> None:
    fake: FakeBroker = alpaca if kind == "alpaca" else binance
    fake.hang_s = 1.5
    fake.faults.append(fault)
    broker: AlpacaBroker | CcxtBroker = (
        AlpacaBroker(CREDS, base_url=alpaca.url, timeout_s=0.5)
        if kind == "alpaca"
        else CcxtBroker("binance", CREDS, base_url=binance.url, timeout_s=0.5)
    )
    symbol = "AAPL" if kind == "alpaca" else "BTC/USD"
    request = OrderRequest("vanta-F1", symbol, Side.BUY, Decimal(1))
    expected = TemporaryBrokerError if fault == "429" else UnknownOutcome
    with pytest.raises(expected):
        broker.submit(request)
    assert fake.posts["vanta-F1"] == 1  # no retry of the client library's own
    taken = fault in {"500-after", "hang", "drop"}
    assert (broker.get_by_client_id("vanta-F1", symbol) is not None) is taken


# ------------------------------------------------------------------ through the executor


class Clock:
    def __init__(self) -> None:
        self.now = DEMO_NOW + timedelta(minutes=10)

    def __call__(self) -> datetime:
        return self.now


def use_venue(state_dir: Path, vault_id: str, asset: AssetClass, adapter: str, ref: str) -> None:
    def change(vaults: VaultFile) -> None:
        vault = vaults.get(vault_id)
        assert vault is not None
        vault.venues[asset] = Venue(adapter=adapter, account_ref=ref)

    update(state_dir, VaultFile, change)


def set_keys(monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    key_var, secret_var = env_names(ref)
    monkeypatch.setenv(key_var, "key-123")
    monkeypatch.setenv(secret_var, "secret-456")


@pytest.mark.parametrize("kind", ["alpaca", "binance"])
@pytest.mark.parametrize("fault", ["500", "429", "500-after", "hang", "drop"])
def test_executor_over_http_ends_with_one_order_per_client_id(
    kind: str,
    fault: str,
    state_dir: Path,
    alpaca: FakeAlpaca,
    binance: FakeBinance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind == "alpaca":
        fake: FakeBroker = alpaca
        use_venue(state_dir, "V_CORE", AssetClass.EQUITY, "alpaca", "alpaca-main")
        set_keys(monkeypatch, "alpaca-main")
        monkeypatch.setenv("VANTA_ALPACA_URL", alpaca.url)
        vault, symbol, qty = "V_CORE", "AAPL", Decimal(3)
    else:
        fake = binance
        use_venue(state_dir, "V_CRYPTO", AssetClass.CRYPTO, "ccxt:binance", "binance-main")
        set_keys(monkeypatch, "binance-main")
        monkeypatch.setenv("VANTA_CCXT_BINANCE_URL", binance.url)
        vault, symbol, qty = "V_CRYPTO", "ETH/USD", Decimal("0.5")
    fake.hang_s = 1.5
    clock = Clock()
    ctx = ActionContext.open(state_dir, "dana", clock=clock)
    order = stage_order(ctx, vault_id=vault, symbol=symbol, side=Side.BUY, qty=qty).result
    approve_orders(ctx, [order.order_id])
    # Alpaca takes vanta-<ULID>; Binance gets the ULID's 128 bits as 32 hex digits.
    client_id = (
        f"vanta-{order.order_id}" if kind == "alpaca" else client_order_id_of(order.order_id, "hex")
    )
    fake.faults_for[client_id] = [fault]
    executor = Executor(
        ActionContext.open(state_dir, "executor", clock=clock),
        brokers_for(state_dir, timeout_s=0.5),
        retry_after=(0, 0, 0, 0),
    )
    executor.run_once()
    # Exactly one order per client order id at the broker (the demo's other approved orders
    # of that vault went too), and no blind resend: a second POST only where the first one
    # was refused outright.
    assert client_id in fake.created and len(fake.created) == len(set(fake.created))
    assert fake.posts[client_id] == (2 if fault in {"500", "429"} else 1)
    at_broker = fake.orders[client_id]
    assert at_broker["status"] in {"filled", "FILLED"}
    done = load_model(state_dir, QueueFile).get(order.order_id)
    assert done is not None and done.status is OrderStatus.FILLED  # the queue tells the truth
    assert done.filled_qty == qty and done.broker_order_id is not None
    assert done.client_order_id == client_id  # the queue holds what was sent
    assert done.attempts == (2 if fault in {"500", "429"} else 1)
    assert verify(executor.ctx.journal).ok


def test_missing_keys_are_reported_at_start(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_venue(state_dir, "V_CORE", AssetClass.EQUITY, "alpaca", "alpaca-main")
    for name in env_names("alpaca-main"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    problems = missing_credentials(state_dir)
    assert len(problems) == 1
    assert "VANTA_ALPACA_MAIN_API_KEY" in problems[0] and "V_CORE" in problems[0]
    set_keys(monkeypatch, "alpaca-main")
    assert missing_credentials(state_dir) == []
    assert load_credentials("alpaca-main").source == "environment"
    assert "secret-456" not in repr(load_credentials("alpaca-main"))


def test_the_executor_refuses_to_start_without_keys(state_dir: Path) -> None:
    use_venue(state_dir, "V_CORE", AssetClass.EQUITY, "alpaca", "alpaca-main")
    env = {
        k: v for k, v in __import__("os").environ.items() if not k.startswith("VANTA_ALPACA_MAIN")
    }
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "executor", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 69, done.stderr
    assert "VANTA_ALPACA_MAIN_API_KEY" in done.stderr


# ------------------------------------------------------------------ market prices


def test_prices_of_non_paper_venues_come_from_their_broker(
    state_dir: Path, alpaca: FakeAlpaca, binance: FakeBinance, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_venue(state_dir, "V_CORE", AssetClass.EQUITY, "alpaca", "alpaca-main")
    use_venue(state_dir, "V_CRYPTO", AssetClass.CRYPTO, "ccxt:binance", "binance-main")
    set_keys(monkeypatch, "alpaca-main")
    set_keys(monkeypatch, "binance-main")
    monkeypatch.setenv("VANTA_ALPACA_URL", alpaca.url)
    monkeypatch.setenv("VANTA_ALPACA_DATA_URL", alpaca.url)
    monkeypatch.setenv("VANTA_CCXT_BINANCE_URL", binance.url)
    alpaca.prices.update({"AAPL": Decimal("200.00"), "BTC/USD": Decimal("70000")})
    binance.prices.update({"BTC/USD": Decimal("65000"), "ETH/USD": Decimal("3300")})
    before = load_model(state_dir, PnlFile).vaults["V_CORE"]
    executor = Executor(
        ActionContext.open(state_dir, "executor", clock=Clock()), brokers_for(state_dir)
    )
    report = executor.cycle()
    assert report.marked == 2, report.errors
    portfolio = load_model(state_dir, PortfolioFile)
    core, crypto = portfolio.accounts["V_CORE"], portfolio.accounts["V_CRYPTO"]
    assert core.positions["AAPL"].last_price == Decimal("200.00")  # from Alpaca's last trade
    # V_CORE's crypto venue is still paper: its BTC keeps the portfolio's own price.
    assert core.positions["BTC/USD"].last_price != Decimal("70000")
    assert crypto.positions["BTC/USD"].last_price == Decimal("65000")  # from Binance
    assert crypto.positions["ETH/USD"].last_price == Decimal("3300")
    after = load_model(state_dir, PnlFile).vaults["V_CORE"]
    assert after.nav == core.equity.quantize(Decimal("0.01")) and after.nav != before.nav
    rows = executor.ctx.journal.db.execute(
        "SELECT json_extract(payload, '$.account') FROM events WHERE action = 'prices.marked'"
    ).fetchall()
    assert {row[0] for row in rows} == {"V_CORE", "V_CRYPTO"}
    # The header's "priced" time: noted for the accounts their brokers priced.
    times = {t.account: t for t in broker_times(executor.ctx.journal, {"V_CORE": False,
             "V_CRYPTO": False, "V_INCOME": True})}  # fmt: skip
    assert times["V_CORE"].priced is not None and times["V_CRYPTO"].priced is not None
    assert times["V_INCOME"].priced is None and times["V_INCOME"].paper
    assert executor.cycle().marked == 0  # not due again before the interval
    assert verify(executor.ctx.journal).ok


def test_ccxt_leaves_the_threads_decimal_context_alone(binance: FakeBinance) -> None:
    """ccxt's decimal_to_precision sets the thread's context to ROUND_HALF_UP and traps
    Underflow: after our calls into it, our money arithmetic still rounds half-even."""
    import decimal

    before = decimal.getcontext().copy()
    broker = CcxtBroker("binance", CREDS, base_url=binance.url, timeout_s=2)
    broker.submit(OrderRequest("vanta-C1", "BTC/USD", Side.BUY, Decimal("0.01")))
    after = decimal.getcontext()
    assert after.rounding == before.rounding == decimal.ROUND_HALF_EVEN
    assert after.traps[decimal.Underflow] == before.traps[decimal.Underflow]
    assert f"{Decimal('1246.50'):,.0f}" == "1,246"


def test_ccxt_lookup_finds_an_expired_order_and_never_sends_it_again(
    binance: FakeBinance,
) -> None:
    """The answer to an IOC send is lost and the order expired at once: the lookup must find
    it among the finished orders (Binance's "closed" listing holds filled ones only), since a
    resend under the same client id would make a second order there (ids are unique among
    open orders only)."""
    broker = CcxtBroker("binance", CREDS, base_url=binance.url, timeout_s=2)
    ioc = OrderRequest(
        "0123456789abcdef0123456789abcdef", "BTC/USD", Side.BUY, Decimal("0.01"),
        OrderType.LIMIT, Decimal(1000), TimeInForce.IOC,
    )  # fmt: skip
    binance.faults.append("500-after")
    with pytest.raises(UnknownOutcome):
        broker.submit(ioc)
    found = broker.get_by_client_id(ioc.client_order_id, "BTC/USD")
    assert found is not None and found.status is BrokerStatus.CANCELLED
    assert binance.created == [ioc.client_order_id]


def test_ccxt_reloads_markets_before_refusing_on_old_limits(
    binance: FakeBinance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running executor judged orders by the limits it loaded at start: an order the
    old limits refuse is judged again on markets loaded now; within a minute of a load it is
    not (no reload storm), and markets are loaded again after the TTL anyway."""
    from vanta_tui.brokers import ccxt_adapter

    clock = [1000.0]
    monkeypatch.setattr(ccxt_adapter, "_monotonic", lambda: clock[0])
    binance.min_qty = "1.00000000"  # at start, the venue wants whole coins
    broker = CcxtBroker("binance", CREDS, base_url=binance.url, timeout_s=2)
    small = OrderRequest("vanta-R1", "BTC/USD", Side.BUY, Decimal("0.01"))
    with pytest.raises(OrderRejected, match="minimum"):
        broker.submit(small)  # limits just loaded: refused without asking again
    assert binance.market_loads == 1
    binance.min_qty = "0.00001000"  # the exchange lowered its minimum since
    clock[0] += 120
    filled = broker.submit(dataclasses.replace(small, client_order_id="vanta-R2"))
    assert filled.status is BrokerStatus.FILLED and binance.market_loads == 2
    clock[0] += ccxt_adapter.MARKETS_TTL_S + 1
    broker.submit(dataclasses.replace(small, client_order_id="vanta-R3"))
    assert binance.market_loads == 3
