"""Self-tests of tests/fake_venues.py, driven by the REAL clients (alpaca-py's TradingClient,
ccxt.binance; `requests` where a header is read), never by our adapters: the accounts are
separate, each venue's limits answer 429 beyond them as documented, answers come after the
latency, a hanging account hangs alone, and the times recorded are on the caller's clock."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import ccxt
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest
from fake_venues import FakeAlpacaAccounts, FakeBinanceAccounts, VenueProcess


def alpaca(fake: FakeAlpacaAccounts, account: str, timeout_s: float = 5.0) -> Any:
    """alpaca-py's client for one account of the fake, its own retries of a 429 off (they
    would sleep 3 s each) and a timeout on every request (alpaca-py sets none)."""
    key, secret = fake.keys_for(account)
    client = TradingClient(key, secret, raw_data=True, url_override=fake.url)
    client._retry_codes = []
    session: Any = client._session
    session.request = functools.partial(session.request, timeout=timeout_s)
    return client


def buy(client: Any, client_id: str, symbol: str = "AAPL", qty: int = 1) -> Any:
    return client.submit_order(
        MarketOrderRequest(
            symbol=symbol,
            qty=qty,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            client_order_id=client_id,
        )
    )


def binance(fake: FakeBinanceAccounts, account: str, secret: str | None = None) -> Any:
    """ccxt's binance for one account, every API URL's host replaced by the fake's."""
    key, real_secret = fake.keys_for(account)
    exchange = ccxt.binance(
        {"apiKey": key, "secret": secret or real_secret, "enableRateLimit": False}
    )
    exchange.options["fetchMarkets"] = {"types": ["spot"]}
    exchange.options["fetchCurrencies"] = False
    exchange.options["fetchMargins"] = False
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = re.sub(r"^https?://[^/]+", fake.url, url)
    return exchange


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpacaAccounts]:
    with FakeAlpacaAccounts(["a", "b"]) as fake:
        yield fake


@pytest.fixture
def fake_binance() -> Iterator[FakeBinanceAccounts]:
    # An hour's window: a test never straddles its start (Binance's windows follow the clock).
    with FakeBinanceAccounts(["a", "b"], weight_window_s=3600.0) as fake:
        yield fake


# -- Alpaca ----------------------------------------------------------------------------------


def test_alpaca_accounts_are_separate(fake_alpaca: FakeAlpacaAccounts) -> None:
    a, b = alpaca(fake_alpaca, "a"), alpaca(fake_alpaca, "b")
    order = buy(a, "same-id", qty=3)
    assert order["status"] == "filled" and order["filled_avg_price"] == "190.10"
    with pytest.raises(APIError) as refused:
        buy(a, "same-id")  # unique per account
    assert refused.value.status_code == 422
    assert buy(b, "same-id")["status"] == "filled"  # another account may use it
    assert a.get_order_by_client_id("same-id")["qty"] == "3"
    assert b.get_order_by_client_id("same-id")["qty"] == "1"
    assert Decimal(a.get_account()["cash"]) == Decimal(1_000_000) - 3 * Decimal("190.10")
    assert [p["qty"] for p in b.get_all_positions()] == ["1"]
    stranger = TradingClient("PKNOBODY", "nothing", raw_data=True, url_override=fake_alpaca.url)
    with pytest.raises(APIError) as denied:
        stranger.get_account()
    assert denied.value.status_code == 401
    assert {s.account for s in fake_alpaca.snapshot().orders} == {"a", "b"}


def test_alpaca_lists_orders_as_documented(fake_alpaca: FakeAlpacaAccounts) -> None:
    client = alpaca(fake_alpaca, "a")
    for index in range(3):
        buy(client, f"m{index}", symbol="MSFT" if index == 2 else "AAPL")
        time.sleep(0.002)
    working = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
            limit_price=150.0, client_order_id="rest",
        )
    )  # fmt: skip

    def ids(**fields: Any) -> list[str]:
        return [o["client_order_id"] for o in client.get_orders(GetOrdersRequest(**fields))]

    assert ids() == ["rest"]  # status defaults to open
    assert ids(status=QueryOrderStatus.CLOSED) == ["m2", "m1", "m0"]  # newest first
    assert ids(status=QueryOrderStatus.ALL, direction="asc", limit=2) == ["m0", "m1"]
    assert ids(status=QueryOrderStatus.ALL, symbols=["MSFT"]) == ["m2"]
    middle = datetime.fromisoformat(client.get_order_by_client_id("m1")["submitted_at"])
    assert ids(status=QueryOrderStatus.ALL, after=middle) == ["rest", "m2"]  # exclusive
    assert ids(status=QueryOrderStatus.ALL, until=middle) == ["m0"]
    assert ids(status=QueryOrderStatus.ALL, until=middle + timedelta(days=1))[-1] == "m0"
    client.cancel_order_by_id(working["id"])
    assert client.get_order_by_id(working["id"])["status"] == "canceled"
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(working["id"])
    assert refused.value.status_code == 422


def test_alpaca_answers_429_beyond_the_accounts_limit() -> None:
    with FakeAlpacaAccounts(["a", "b"], rate_limit=5, window_s=0.6) as fake:
        a, b = alpaca(fake, "a"), alpaca(fake, "b")
        for _ in range(5):
            a.get_account()
        with pytest.raises(APIError) as limited:
            buy(a, "too-many")
        assert limited.value.status_code == 429
        headers = limited.value.response.headers
        assert headers["X-Ratelimit-Limit"] == "5" and headers["X-Ratelimit-Remaining"] == "0"
        assert int(headers["X-Ratelimit-Reset"]) >= int(time.time())
        b.get_account()  # the other account is not slowed
        time.sleep(0.65)  # the window moved on
        assert buy(a, "later")["status"] == "filled"
        stats = fake.snapshot().accounts
        assert (stats["a"].requests, stats["a"].throttled) == (7, 1)
        assert stats["a"].max_seen == 6 and stats["a"].max_served == 5
        assert [s.client_order_id for s in fake.snapshot().orders] == ["later"]
        key, secret = fake.keys_for("b")
        raw = requests.get(
            f"{fake.url}/v2/account",
            headers={"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret},
            timeout=5,
        )
        assert raw.headers["X-Ratelimit-Remaining"] == "4"  # on every answer
        fake.settle()  # a benchmark done measuring: no limits any more
        for _ in range(8):
            a.get_account()


def test_alpaca_latency_and_many_clients_at_once() -> None:
    accounts = [f"f{i}" for i in range(120)]
    with FakeAlpacaAccounts(accounts, latency_s=0.2) as fake:
        clients = {name: alpaca(fake, name) for name in accounts}
        start = time.monotonic()
        with ThreadPoolExecutor(120) as pool:
            answers = list(pool.map(lambda n: buy(clients[n], f"c-{n}"), accounts))
        took = time.monotonic() - start
        assert all(o["status"] == "filled" for o in answers)
        assert 0.2 <= took < 1.2  # each waited the latency, all at once
        stamps = fake.snapshot().orders
        assert len(stamps) == 120
        assert all(0.19 <= s.accepted - s.received < 1.0 for s in stamps)
        assert all(start <= s.received <= s.accepted <= start + took for s in stamps)


def test_alpaca_hanging_account_hangs_alone() -> None:
    with FakeAlpacaAccounts(["ok", "stuck"], hang={"stuck"}) as fake:
        stuck = alpaca(fake, "stuck", timeout_s=0.4)
        ok = alpaca(fake, "ok")
        start = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            hung = pool.submit(buy, stuck, "h1")
            time.sleep(0.05)
            assert buy(ok, "o1")["status"] == "filled"  # answered while the other hangs
            assert time.monotonic() - start < 0.4  # before the other gave up
            with pytest.raises(requests.Timeout):
                hung.result()
        stats = fake.snapshot().accounts
        assert stats["stuck"].hung == 1 and [s.account for s in fake.snapshot().orders] == ["ok"]
        fake.release()
        assert buy(stuck, "h2")["status"] == "filled"  # it answers again


def test_alpaca_release_drops_a_waiting_request() -> None:
    with FakeAlpacaAccounts(["stuck"], hang={"stuck"}) as fake:
        stuck = alpaca(fake, "stuck", timeout_s=5.0)
        timer = threading.Timer(0.2, fake.release)
        timer.start()
        start = time.monotonic()
        with pytest.raises(requests.ConnectionError):  # dropped: no answer at all
            buy(stuck, "h1")
        assert time.monotonic() - start < 2.0
        assert fake.snapshot().orders == []


# -- Binance ---------------------------------------------------------------------------------


def test_binance_accounts_are_separate_and_signed(fake_binance: FakeBinanceAccounts) -> None:
    a, b = binance(fake_binance, "a"), binance(fake_binance, "b")
    a.load_markets()
    b.load_markets()
    assert {"BTC/USD", "ETH/USD"} <= set(a.markets)
    order = a.create_order("BTC/USD", "market", "buy", 0.01, None, {"newClientOrderId": "x1"})
    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.01, 64250.0)
    assert a.fetch_balance()["total"]["BTC"] == 0.01
    assert b.fetch_balance()["total"].get("BTC", 0) == 0
    assert [o["clientOrderId"] for o in a.fetch_orders("BTC/USD")] == ["x1"]
    assert b.fetch_orders("BTC/USD") == []
    forged = binance(fake_binance, "a", secret="0" * 64)
    forged.markets = a.markets
    with pytest.raises(ccxt.AuthenticationError):  # -1022: the signature does not match
        forged.fetch_balance()
    nobody = ccxt.binance({"apiKey": "x" * 64, "secret": "y" * 64})
    nobody.urls["api"] = forged.urls["api"]
    nobody.markets = a.markets
    with pytest.raises(ccxt.AuthenticationError):  # -2015: unknown key
        nobody.fetch_balance()


def test_binance_weight_per_address_answers_429_with_retry_after() -> None:
    with FakeBinanceAccounts(["a", "b"], weight_limit=100, weight_window_s=3600.0) as fake:
        a, b = binance(fake, "a"), binance(fake, "b")
        a.load_markets()  # 20
        for _ in range(4):
            a.fetch_balance()  # 20 each: 100
        assert a.last_response_headers["X-MBX-USED-WEIGHT-1H"] == "100"
        b.markets = a.markets
        # ccxt's binance raises DDoSProtection (RateLimitExceeded's parent) for any 429.
        with pytest.raises(ccxt.DDoSProtection):  # the address, not the key, is limited
            b.fetch_balance()
        assert int(b.last_response_headers["Retry-After"]) >= 1
        shot = fake.snapshot()
        assert shot.host_throttled == 1 and shot.host_weight_max == 120
        assert shot.accounts["b"].throttled == 1 and shot.accounts["a"].throttled == 0


def test_binance_unfilled_order_count_per_account() -> None:
    with FakeBinanceAccounts(["a", "b"], order_limits=((3, 3600.0),)) as fake:
        a, b = binance(fake, "a"), binance(fake, "b")
        a.load_markets()
        b.markets = a.markets
        for index in range(5):  # filled orders leave the count: no limit reached
            a.create_order("ETH/USD", "market", "buy", 0.1, None, {"newClientOrderId": f"m{index}"})
        for index in range(3):
            a.create_order("ETH/USD", "limit", "buy", 0.1, 3000, {"newClientOrderId": f"l{index}"})
        assert a.last_response_headers["X-MBX-ORDER-COUNT-1H"] == "3"
        with pytest.raises(ccxt.DDoSProtection, match="-1015"):  # the fourth unfilled one
            a.create_order("ETH/USD", "limit", "buy", 0.1, 3000, {"newClientOrderId": "l3"})
        b.create_order("ETH/USD", "limit", "buy", 0.1, 3000, {"newClientOrderId": "l0"})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate"):  # unique among open orders
            b.create_order("ETH/USD", "limit", "buy", 0.1, 3000, {"newClientOrderId": "l0"})


def test_binance_latency_and_hang() -> None:
    with FakeBinanceAccounts(["ok", "stuck"], latency_s=0.1, hang={"stuck"}) as fake:
        ok, stuck = binance(fake, "ok"), binance(fake, "stuck")
        ok.load_markets()  # public: answered after the latency, for anyone
        stuck.markets = ok.markets
        stuck.timeout = 300  # ms
        start = time.monotonic()
        with pytest.raises(ccxt.RequestTimeout):
            stuck.create_order("BTC/USD", "market", "buy", 0.01)
        assert 0.3 <= time.monotonic() - start < 1.5
        start = time.monotonic()
        ok.create_order("BTC/USD", "market", "buy", 0.01)
        assert 0.1 <= time.monotonic() - start < 1.0
        shot = fake.snapshot()
        assert shot.accounts["stuck"].hung == 1
        assert [s.account for s in shot.orders] == ["ok"]


# -- in a process of its own -----------------------------------------------------------------


def test_venue_process_stamps_times_on_our_clock() -> None:
    with VenueProcess("alpaca", accounts=["a"], latency_s=0.1) as venue:
        key, secret = FakeAlpacaAccounts.keys_for("a")
        client = TradingClient(key, secret, raw_data=True, url_override=venue.url)
        before = time.monotonic()
        buy(client, "p1")
        after = time.monotonic()
        (stamp,) = venue.snapshot().orders
        assert before <= stamp.received < stamp.accepted <= after
        assert stamp.accepted - stamp.received >= 0.1
        venue.settle()
        assert venue.snapshot().accounts["a"].requests == 1
