"""Self-tests of tests/fake_exchanges.py, driven by the REAL ccxt clients (not our adapter).

Each client gets the scheme and host of every API URL replaced by the fake's URL, the way
the desk rewrites ``exchange.urls['api']``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fake_brokers import KEYS
from fake_exchanges import (
    COINBASE_KEY_NAME,
    COINBASE_PRIVATE_KEY_PEM,
    KRAKEN_SECRET,
    PASSPHRASE,
    FakeCoinbase,
    FakeKraken,
    FakeOKX,
)

PRICES = {"BTC/USD": Decimal("64250"), "ETH/USD": Decimal("3120.5")}


def _rewrite(exchange: Any, url: str) -> Any:
    api = exchange.urls["api"]
    if isinstance(api, dict):
        for key, value in api.items():
            if isinstance(value, str) and re.match(r"^https?://", value):
                api[key] = re.sub(r"^https?://[^/]+", url, value)
    else:
        exchange.urls["api"] = re.sub(r"^https?://[^/]+", url, api)
    return exchange


def kraken(fake: FakeKraken, key: str = KEYS[0], secret: str = KRAKEN_SECRET) -> Any:
    return _rewrite(
        ccxt.kraken({"apiKey": key, "secret": secret, "enableRateLimit": False}), fake.url
    )


def okx(fake: FakeOKX, **creds: str) -> Any:
    config = {"apiKey": KEYS[0], "secret": KEYS[1], "password": PASSPHRASE, **creds}
    return _rewrite(ccxt.okx({**config, "enableRateLimit": False}), fake.url)


def coinbase(
    fake: FakeCoinbase, key: str = COINBASE_KEY_NAME, secret: str = COINBASE_PRIVATE_KEY_PEM
) -> Any:
    return _rewrite(
        ccxt.coinbase({"apiKey": key, "secret": secret, "enableRateLimit": False}), fake.url
    )


@pytest.fixture
def fake_kraken() -> Iterator[FakeKraken]:
    fake = FakeKraken(dict(PRICES))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_okx() -> Iterator[FakeOKX]:
    fake = FakeOKX(dict(PRICES))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_coinbase() -> Iterator[FakeCoinbase]:
    fake = FakeCoinbase(dict(PRICES))
    fake.start()
    yield fake
    fake.stop()


def _round_trip(ex: Any, market_params: dict[str, Any], price: float | None = None) -> Any:
    """load_markets .. cancel, the same for every venue; returns the market order."""
    ex.load_markets()
    assert {"BTC/USD", "ETH/USD"} <= set(ex.markets)
    assert ex.fetch_balance()["total"]["USD"] == 1_000_000
    assert ex.fetch_ticker("BTC/USD")["last"] == 64250
    order = ex.create_order("BTC/USD", "market", "buy", 0.01, price, market_params)
    fetched = ex.fetch_order(order["id"], "BTC/USD")
    assert fetched["id"] == order["id"]
    assert fetched["status"] == "closed"
    assert fetched["filled"] == 0.01
    assert fetched["average"] == 64250
    resting = ex.create_order("BTC/USD", "limit", "buy", 0.01, 60000)
    assert [o["id"] for o in ex.fetch_open_orders("BTC/USD")] == [resting["id"]]
    assert [o["id"] for o in ex.fetch_closed_orders("BTC/USD")] == [order["id"]]
    ex.cancel_order(resting["id"], "BTC/USD")
    assert ex.fetch_open_orders("BTC/USD") == []
    balance = ex.fetch_balance()["total"]
    assert balance["BTC"] == 0.01
    assert balance["USD"] == pytest.approx(1_000_000 - 642.5)
    return fetched


# --- Kraken -----------------------------------------------------------------------------


def test_kraken_round_trip_with_cl_ord_id(fake_kraken: FakeKraken) -> None:
    ex = kraken(fake_kraken)
    fetched = _round_trip(ex, {"cl_ord_id": "desk-000001"})
    assert fetched["clientOrderId"] == "desk-000001"
    assert fake_kraken.orders["desk-000001"]["status"] == "closed"
    assert fake_kraken.posts["desk-000001"] == 1


def test_kraken_cl_ord_id_formats(fake_kraken: FakeKraken) -> None:
    ex = kraken(fake_kraken)
    ex.load_markets()
    for good in ("6d47a5f0-6fd4-4b84-b56e-c23f0f689c20", "6d47a5f06fd44b84b56ec23f0f689c20"):
        ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"cl_ord_id": good})
    for bad in ("desk-0000000000000001", "", "6d47a5f0-6fd4-4b84-b56e-c23f0f689c2z"):
        with pytest.raises(ccxt.ExchangeError, match=r"EGeneral:Invalid arguments:cl_ord_id"):
            ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"cl_ord_id": bad})
    with pytest.raises(ccxt.ExchangeError, match="cl_ord_id"):  # mutually exclusive
        ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"cl_ord_id": "a", "userref": 1})


def test_kraken_cl_ord_id_unique_among_open_orders_only(fake_kraken: FakeKraken) -> None:
    ex = kraken(fake_kraken)
    ex.load_markets()
    ex.create_order("BTC/USD", "limit", "buy", 0.001, 60000, {"cl_ord_id": "rest-1"})
    with pytest.raises(ccxt.ExchangeError, match="Duplicate cl_ord_id"):
        ex.create_order("BTC/USD", "limit", "buy", 0.001, 60000, {"cl_ord_id": "rest-1"})
    ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"cl_ord_id": "mkt-1"})
    ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"cl_ord_id": "mkt-1"})  # filled
    assert fake_kraken.created == ["rest-1", "mkt-1", "mkt-1"]


def test_kraken_userref_is_int32_and_not_unique(fake_kraken: FakeKraken) -> None:
    ex = kraken(fake_kraken)
    ex.load_markets()
    first = ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"userref": 42})
    ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"userref": 42})
    assert fake_kraken.created == ["42", "42"]
    assert ex.fetch_order(first["id"])["clientOrderId"] == "42"
    with pytest.raises(ccxt.ExchangeError, match="userref"):
        ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"userref": 2**31})


def test_kraken_refusals(fake_kraken: FakeKraken) -> None:
    ex = kraken(fake_kraken)
    ex.load_markets()
    with pytest.raises(ccxt.InvalidOrder, match="Order minimum not met"):
        ex.create_order("BTC/USD", "market", "buy", 0.00001)
    with pytest.raises(ccxt.InvalidOrder, match="Invalid arguments:volume"):
        ex.privatePostAddOrder(
            {"pair": "XXBTZUSD", "type": "buy", "ordertype": "market", "volume": "0.000000001"}
        )
    with pytest.raises(ccxt.InvalidOrder, match="Invalid arguments:price"):
        ex.privatePostAddOrder(
            {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01",
             "price": "60000.05"}
        )  # fmt: skip
    with pytest.raises(ccxt.ExchangeError, match="timeinforce"):
        ex.create_order("BTC/USD", "limit", "buy", 0.01, 60000, {"timeInForce": "FOK"})
    with pytest.raises(ccxt.ExchangeError, match="Unknown asset pair"):
        ex.publicGetTicker({"pair": "DOGEUSD"})
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USD", "market", "buy", 100)
    with pytest.raises(ccxt.InvalidOrder, match="Unknown order"):
        ex.cancel_order("OAAAAA-BBBBB-CCCCCC")
    assert fake_kraken.created == []


def test_kraken_bad_credentials(fake_kraken: FakeKraken) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="EAPI:Invalid key"):
        kraken(fake_kraken, key="key-999").fetch_balance()
    wrong = base64.b64encode(b"secret-999").decode()
    # ccxt has no entry for "EAPI:Invalid signature": it surfaces as a bare ExchangeError.
    with pytest.raises(ccxt.ExchangeError, match="EAPI:Invalid signature") as raised:
        kraken(fake_kraken, secret=wrong).fetch_balance()
    assert not isinstance(raised.value, ccxt.AuthenticationError)
    with pytest.raises(ValueError):  # "secret-456" is not base64: ccxt cannot sign at all
        kraken(fake_kraken, secret=KEYS[1]).fetch_balance()


# --- OKX --------------------------------------------------------------------------------


def test_okx_round_trip_with_cl_ord_id(fake_okx: FakeOKX) -> None:
    ex = okx(fake_okx)
    fetched = _round_trip(ex, {"clOrdId": "desk000001"})
    assert fetched["clientOrderId"] == "desk000001"
    by_client = ex.fetch_order(None, "BTC/USD", {"clOrdId": "desk000001"})
    assert by_client["id"] == fetched["id"]
    assert fake_okx.orders["desk000001"]["state"] == "filled"
    assert ("POST", "/api/v5/trade/batch-orders") in fake_okx.requests


def test_okx_cl_ord_id_rules(fake_okx: FakeOKX) -> None:
    ex = okx(fake_okx)
    ex.load_markets()
    for bad in ("desk-0001", "a" * 33, "desk_0001"):
        with pytest.raises(ccxt.BadRequest, match="51000"):
            ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"clOrdId": bad})
    ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"clOrdId": "A" * 32})
    with pytest.raises(ccxt.InvalidOrder, match="51016"):
        ex.create_order("BTC/USD", "market", "buy", 0.001, None, {"clOrdId": "A" * 32})
    assert fake_okx.created == ["A" * 32]
    assert fake_okx.posts["A" * 32] == 2


def test_okx_refusals(fake_okx: FakeOKX) -> None:
    ex = okx(fake_okx)
    ex.load_markets()
    with pytest.raises(ccxt.InvalidOrder, match="51020"):
        ex.create_order("BTC/USD", "market", "buy", 0.000001)
    base = {"instId": "BTC-USD", "tdMode": "cash", "side": "buy", "tgtCcy": "base_ccy"}
    with pytest.raises(ccxt.InvalidOrder, match="51121"):
        ex.privatePostTradeOrder({**base, "ordType": "market", "sz": "0.000000001"})
    with pytest.raises(ccxt.BadSymbol, match="51001"):
        ex.privatePostTradeOrder({**base, "instId": "DOGE-USD", "ordType": "market", "sz": "1"})
    with pytest.raises(ccxt.BadRequest, match="ordType"):  # TIF lives in ordType: no "gtd"
        ex.privatePostTradeOrder({**base, "ordType": "gtd", "sz": "0.01", "px": "60000"})
    with pytest.raises(ccxt.BadRequest, match="px"):
        ex.privatePostTradeOrder({**base, "ordType": "limit", "sz": "0.01", "px": "60000.05"})
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USD", "market", "buy", 100)
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order("123", "BTC/USD")
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("123", "BTC/USD")
    ioc = ex.create_order("BTC/USD", "limit", "buy", 0.01, 60000, {"timeInForce": "IOC"})
    assert ex.fetch_order(ioc["id"], "BTC/USD")["status"] == "canceled"


def test_okx_bad_credentials(fake_okx: FakeOKX) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="50111"):
        okx(fake_okx, apiKey="key-999").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="50105"):
        okx(fake_okx, password="pass-000").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="50113"):
        okx(fake_okx, secret="secret-999").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="password"):  # ccxt refuses locally
        okx(fake_okx, password="").fetch_balance()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    request = urllib.request.Request(
        fake_okx.url + "/api/v5/account/balance",
        headers={"OK-ACCESS-KEY": KEYS[0], "OK-ACCESS-SIGN": "x", "OK-ACCESS-TIMESTAMP": stamp},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 401
    assert json.loads(raised.value.read())["code"] == "50104"


# --- Coinbase ---------------------------------------------------------------------------


def test_coinbase_round_trip_with_client_order_id(fake_coinbase: FakeCoinbase) -> None:
    ex = coinbase(fake_coinbase)
    fetched = _round_trip(ex, {"client_order_id": "desk-000001"}, price=64250)
    assert fetched["clientOrderId"] == "desk-000001"
    assert fake_coinbase.orders["desk-000001"]["status"] == "FILLED"


def test_coinbase_reused_client_order_id_returns_the_first_order(
    fake_coinbase: FakeCoinbase,
) -> None:
    ex = coinbase(fake_coinbase)
    ex.load_markets()
    first = ex.create_order("BTC/USD", "market", "buy", 0.01, 64250, {"client_order_id": "c-1"})
    again = ex.create_order("BTC/USD", "market", "buy", 0.02, 64250, {"client_order_id": "c-1"})
    assert again["id"] == first["id"]
    assert fake_coinbase.created == ["c-1"]
    assert fake_coinbase.posts["c-1"] == 2
    # ccxt drops the unified clientOrderId param and sends its own "ccxt-<uuid>".
    ex.create_order("BTC/USD", "market", "buy", 0.01, 64250, {"clientOrderId": "mine"})
    assert fake_coinbase.created[-1].startswith("ccxt-")


def test_coinbase_refusals(fake_coinbase: FakeCoinbase) -> None:
    ex = coinbase(fake_coinbase)
    ex.load_markets()
    with pytest.raises(ccxt.ExchangeError, match="QUOTE_SIZE_TOO_SMALL"):
        ex.create_order("BTC/USD", "market", "buy", 0.00001, 64250)
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USD", "market", "buy", 100, 64250)

    def post(product: str, config: dict[str, Any]) -> Any:
        return ex.v3PrivatePostBrokerageOrders(
            {"client_order_id": "x-1", "product_id": product, "side": "BUY",
             "order_configuration": config}
        )  # fmt: skip

    with pytest.raises(ccxt.ExchangeError, match="INVALID_PRODUCT_ID"):
        post("DOGE-USD", {"market_market_ioc": {"base_size": "1"}})
    with pytest.raises(ccxt.ExchangeError, match="UNSUPPORTED_ORDER_CONFIGURATION"):
        post("BTC-USD", {"limit_limit_ioc": {"base_size": "0.01", "limit_price": "60000"}})
    with pytest.raises(ccxt.ExchangeError, match="BASE_SIZE_PRECISION"):
        post("BTC-USD", {"market_market_ioc": {"base_size": "0.000000001"}})
    with pytest.raises(ccxt.ExchangeError, match="PRICE_PRECISION"):
        post("BTC-USD", {"limit_limit_gtc": {"base_size": "0.01", "limit_price": "60000.001"}})
    # Unknown order id: 404 NOT_FOUND; ccxt's "not found" pattern does not match it, so it
    # surfaces as a bare ExchangeError rather than OrderNotFound.
    with pytest.raises(ccxt.ExchangeError, match="NOT_FOUND") as raised:
        ex.fetch_order("00000000-0000-0000-0000-000000000000")
    assert not isinstance(raised.value, ccxt.OrderNotFound)
    done = ex.create_order("BTC/USD", "market", "buy", 0.01, 64250)
    with pytest.raises(ccxt.BadRequest):
        ex.cancel_order(done["id"])
    assert len(fake_coinbase.created) == 1


def test_coinbase_bad_credentials(fake_coinbase: FakeCoinbase) -> None:
    with pytest.raises(ccxt.AuthenticationError):  # legacy HMAC (CB-ACCESS-*) keys
        coinbase(fake_coinbase, key=KEYS[0], secret=KEYS[1]).fetch_balance()
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(ccxt.AuthenticationError):  # a JWT signed with the wrong key
        coinbase(fake_coinbase, secret=other.decode()).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError):  # right key, wrong key name
        coinbase(fake_coinbase, key="organizations/x/apiKeys/y").fetch_balance()


# --- shared machinery -------------------------------------------------------------------


def test_faults_take_the_order_then_fail(
    fake_kraken: FakeKraken, fake_okx: FakeOKX, fake_coinbase: FakeCoinbase
) -> None:
    cases: list[tuple[Any, Any, dict[str, Any], str]] = [
        (fake_kraken, kraken(fake_kraken), {"cl_ord_id": "f-1"}, "f-1"),
        (fake_okx, okx(fake_okx), {"clOrdId": "f1"}, "f1"),
        (fake_coinbase, coinbase(fake_coinbase), {"client_order_id": "f-1"}, "f-1"),
    ]
    for fake, ex, params, cid in cases:
        ex.load_markets()
        price = 64250 if isinstance(fake, FakeCoinbase) else None
        fake.faults_for[cid] = ["429", "500-after"]
        with pytest.raises(ccxt.BaseError):  # 429: refused, nothing taken
            ex.create_order("BTC/USD", "market", "buy", 0.01, price, params)
        assert fake.created == []
        with pytest.raises(ccxt.BaseError):  # 500-after: taken, then a 500
            ex.create_order("BTC/USD", "market", "buy", 0.01, price, params)
        assert fake.created == [cid]
        assert fake.posts[cid] == 2


def test_main_serves_from_a_child_process(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    script = Path(__file__).with_name("fake_exchanges.py")
    child = subprocess.Popen([sys.executable, str(script), "kraken", str(port_file)])
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with urllib.request.urlopen(port_file.read_text() + "/0/public/Time", timeout=5) as r:
            assert json.loads(r.read())["error"] == []
    finally:
        child.kill()
        child.wait()
