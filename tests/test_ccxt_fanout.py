"""Many accounts at one ccxt exchange (the real ccxt client against the fake Binance over
HTTP on 127.0.0.1, `fake_venues.FakeBinanceAccounts`, written from Binance's published
API): the markets are loaded once for every account, open orders are listed market by
market where a listing without a symbol weighs more, the weight every account spends at the
address stays within the venue's limit, and a "too many requests" slows the account it was
meant for, or every account when it is the address's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from fake_venues import Admission, FakeBinanceAccounts, Request

from vanta_tui.brokers import ccxt_adapter, pacing
from vanta_tui.brokers.base import BrokerStatus, OrderRequest
from vanta_tui.brokers.ccxt_adapter import RATE_LIMIT_ENV, CcxtBroker
from vanta_tui.brokers.credentials import Credentials
from vanta_tui.brokers.errors import TemporaryBrokerError
from vanta_tui.brokers.pacing import Pacer
from vanta_tui.core.enums import OrderType, Side, TimeInForce


class CountingBinance(FakeBinanceAccounts):
    """The fake Binance counting every request by method and path, and the open-orders
    listings by whether they named a symbol."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paths: Counter[str] = Counter()

    def admit(self, request: Request) -> Admission:
        with self.lock:
            name = f"{request.method} {request.path}"
            if request.path == "/api/v3/openOrders":
                name += " symbol" if "symbol" in request.params else " every symbol"
            self.paths[name] += 1
        return super().admit(request)


@pytest.fixture(autouse=True)
def pacer(monkeypatch: pytest.MonkeyPatch) -> Pacer:
    """A pacer of the test's own: no budget or slow-down of another test carries over."""
    fresh = Pacer()
    monkeypatch.setattr(pacing, "PACER", fresh)
    monkeypatch.setattr(ccxt_adapter, "PACER", fresh)
    return fresh


def broker(fake: FakeBinanceAccounts, account: str) -> CcxtBroker:
    key, secret = fake.keys_for(account)
    credentials = Credentials(account, key, secret, "environment")
    return CcxtBroker("binance", credentials, base_url=fake.url, timeout_s=5)


def limit_buy(client_id: str, symbol: str, price: str) -> OrderRequest:
    """A buy far under the market: it stays working."""
    return OrderRequest(
        client_id, symbol, Side.BUY, Decimal("0.01"), OrderType.LIMIT, Decimal(price),
        TimeInForce.GTC,
    )  # fmt: skip


@pytest.fixture
def fake() -> Iterator[CountingBinance]:
    accounts = [f"acct-{n:02d}" for n in range(40)]
    # An hour's window: a test never straddles its start (Binance's windows follow the clock).
    with CountingBinance(accounts, weight_window_s=3600.0) as venue:
        yield venue


def test_many_accounts_load_the_markets_once(fake: CountingBinance) -> None:
    """Forty accounts sending at once cost one exchangeInfo (weight 20), not forty."""
    brokers = [broker(fake, name) for name in fake.accounts]

    def send(client: CcxtBroker) -> BrokerStatus:
        request = OrderRequest(f"fan-{client.account_ref}", "BTC/USD", Side.BUY, Decimal("0.01"))
        return client.submit(request).status

    with ThreadPoolExecutor(len(brokers)) as pool:
        statuses = list(pool.map(send, brokers))
    assert statuses == [BrokerStatus.FILLED] * len(brokers)
    assert fake.paths["GET /api/v3/exchangeInfo"] == 1
    assert fake.paths["POST /api/v3/order"] == len(brokers)
    # Every account judges orders by the same markets, limits and all.
    assert all(b.exchange.markets is brokers[0].exchange.markets for b in brokers)
    assert all(b.caps() is brokers[0].caps() for b in brokers)


def test_open_orders_are_listed_per_symbol(fake: CountingBinance) -> None:
    """Binance weighs a listing of every symbol 80 and one symbol's 6 (ccxt's description:
    ``noSymbol``): an account working orders in two markets lists those two."""
    client = broker(fake, "acct-00")
    btc = client.submit(limit_buy("lo-btc", "BTC/USD", "1000"))
    eth = client.submit(limit_buy("lo-eth", "ETH/USD", "200"))
    assert btc.status is eth.status is BrokerStatus.ACCEPTED
    listed = client.open_orders(["BTC/USD", "ETH/USD"])
    assert sorted(o.client_order_id for o in listed) == ["lo-btc", "lo-eth"]
    assert fake.paths["GET /api/v3/openOrders symbol"] == 2
    assert fake.paths["GET /api/v3/openOrders every symbol"] == 0
    # A market with nothing working lists nothing.
    client.cancel(eth.broker_order_id, "ETH/USD")
    assert [o.client_order_id for o in client.open_orders(["BTC/USD", "ETH/USD"])] == ["lo-btc"]
    assert fake.paths["GET /api/v3/openOrders symbol"] == 4
    # Without symbols (a caller that does not know the markets, another client of the
    # account): every market, at the venue's price for it, so nothing working is missed.
    assert [o.client_order_id for o in broker(fake, "acct-00").open_orders()] == ["lo-btc"]
    assert fake.paths["GET /api/v3/openOrders every symbol"] == 1


def test_the_address_stays_within_its_weight_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight accounts at one address each sending as fast as ccxt lets one client go: the
    fake answers 429 beyond 50 request weight a second, and sees no more than that. (An
    exchange whose ccxt description has a one-second window and 100 ms a cost unit, that
    is 10 units a second, 50 of Binance's weight; the fake holds the same limit.)"""
    import ccxt

    described = ccxt.binance.describe
    monkeypatch.setattr(
        ccxt.binance, "describe", lambda self: {**described(self), "rollingWindowSize": 1000.0}
    )
    monkeypatch.setenv(RATE_LIMIT_ENV, "100")
    accounts = [f"busy-{n}" for n in range(8)]
    with CountingBinance(accounts, weight_limit=50, weight_window_s=1.0) as venue:
        brokers = [broker(venue, name) for name in accounts]

        def send(client: CcxtBroker) -> list[BrokerStatus]:
            return [
                client.submit(
                    OrderRequest(f"{client.account_ref}-{n}", "BTC/USD", Side.BUY, Decimal("0.01"))
                ).status
                for n in range(8)
            ]

        with ThreadPoolExecutor(len(brokers)) as pool:
            sent = [status for statuses in pool.map(send, brokers) for status in statuses]
        shot = venue.snapshot()
    assert sent == [BrokerStatus.FILLED] * 64  # 20 for the markets, then 64 orders of 1
    assert shot.host_throttled == 0 and shot.host_weight_max <= 50


def test_a_429_slows_its_account_only_unless_the_address_is_limited(pacer: Pacer) -> None:
    """Binance's unfilled order count is the account's: its 429 (-1015, Retry-After) slows
    that account, and another account sends at once. The request weight is the address's:
    once a second account is refused while the first still waits, the host waits as long as
    the venue said."""
    accounts = ["hasty", "calm"]
    limits = ((1, 3600.0),)  # one unfilled order an hour per account
    with CountingBinance(accounts, weight_window_s=3600.0, order_limits=limits) as fake:
        hasty, calm = (broker(fake, name) for name in accounts)
        assert hasty.submit(limit_buy("hasty-1", "BTC/USD", "1000")).status.working
        with pytest.raises(TemporaryBrokerError, match="rate limited"):
            hasty.submit(limit_buy("hasty-2", "BTC/USD", "1000"))
        assert set(pacer._until) == {hasty._account_key}  # only the account waits
        assert pacer._until[hasty._account_key] > time.monotonic() + 0.5  # Retry-After
        # Nothing the other account's request passes through waits (not timed: it goes).
        assert calm.submit(limit_buy("calm-1", "BTC/USD", "1000")).status.working
        assert set(pacer._until) == {hasty._account_key}
        # The address's weight is spent (say, by another program on this machine): a
        # second account refused while the first still waits, so the host waits too.
        fake.weight_limit = 0
        with pytest.raises(TemporaryBrokerError, match="rate limited"):
            calm.submit(limit_buy("calm-2", "BTC/USD", "1000"))
        host_keys = set(pacer._until) - {hasty._account_key, calm._account_key}
        assert host_keys, "the host was not slowed"
        assert min(pacer._until[k] for k in host_keys) > time.monotonic() + 0.5
        assert fake.host_throttled == 1


def test_a_lookup_asks_each_endpoint_once(fake: CountingBinance) -> None:
    """ccxt's closed, cancelled, closed-and-cancelled and all-orders listings are one
    `allOrders` request on Binance (weight 20): a lookup of an order the account does not
    have asks it once, not four times (50 hung accounts' lookups spent the address's
    minute of weight)."""
    client = broker(fake, "acct-00")
    assert client.submit(limit_buy("there", "BTC/USD", "1000")).status.working
    assert client.get_by_client_id("never-sent", "BTC/USD") is None
    assert fake.paths["GET /api/v3/allOrders"] == 1
    assert fake.paths["GET /api/v3/openOrders symbol"] == 1
    # The one request still finds what is there, finished or not.
    found = client.get_by_client_id("there", "BTC/USD")
    assert found is not None and found.client_order_id == "there"
