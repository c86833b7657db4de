"""Every exchange of the installed ccxt: building the adapter, in sandbox and live modes,
raises nothing but the desk's own errors (no network: building never calls out), and the
decisions it takes come from what ccxt declares (``urls``, ``requiredCredentials``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt
import pytest

from vanta_tui.brokers.ccxt_adapter import (
    CcxtBroker,
    credentials_problem,
    url_env,
    venue_problem,
)
from vanta_tui.brokers.credentials import Credentials
from vanta_tui.brokers.errors import (
    BrokerError,
    CredentialsError,
    OrderRejected,
    TemporaryBrokerError,
    UnknownOutcome,
    VenueRefused,
)

ORDER_ID = "01M869YPX0Z8R97824WAYEF2NJ"
CREDS = Credentials("any", "key-123", "secret-456", "environment", "pass-789")


def _declared(exchange_id: str) -> tuple[bool, list[str]]:
    exchange = getattr(ccxt, exchange_id)()
    required = [k for k, v in exchange.requiredCredentials.items() if v]
    return bool(exchange.urls.get("test")), required


@pytest.mark.parametrize("live", [False, True], ids=["sandbox", "live"])
@pytest.mark.parametrize("exchange_id", ccxt.exchanges)
def test_building_the_adapter_raises_only_our_errors(
    exchange_id: str, live: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(url_env(exchange_id), raising=False)
    has_sandbox, required = _declared(exchange_id)
    signs_otherwise = [k for k in required if k not in {"apiKey", "secret", "password"}]
    broker = CcxtBroker(exchange_id, CREDS, live=live)
    client_id = broker.client_order_id_for(ORDER_ID)
    assert client_id and len(client_id) <= 36
    try:
        exchange = broker.exchange
    except VenueRefused as exc:
        message = str(exc)
        assert message == venue_problem(exchange_id, live=live)
        if signs_otherwise:
            assert "does not hold" in message
        else:
            assert not live and not has_sandbox
            assert message == (
                f"{exchange_id} has no sandbox in ccxt: use --live, or a test server "
                f"through {url_env(exchange_id)}"
            )
        return
    except BrokerError as exc:  # ours, naming the exchange
        assert exchange_id in str(exc)
        return
    assert not signs_otherwise
    assert live or has_sandbox
    assert exchange.options["maxRetriesOnFailure"] == 0
    assert exchange.isSandboxModeEnabled is (not live)
    assert exchange.password == "pass-789"


@pytest.mark.parametrize("exchange_id", ccxt.exchanges)
def test_a_test_server_url_stands_in_for_a_missing_sandbox(
    exchange_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(url_env(exchange_id), "http://127.0.0.1:9")
    _, required = _declared(exchange_id)
    if any(k not in {"apiKey", "secret", "password"} for k in required):
        with pytest.raises(VenueRefused):
            assert CcxtBroker(exchange_id, CREDS).exchange is None
        return
    try:
        exchange = CcxtBroker(exchange_id, CREDS).exchange
    except BrokerError as exc:
        assert exchange_id in str(exc)
        return
    # Every API URL now points at the test server, whatever ccxt's defaults were.
    urls = exchange.urls["api"]
    flat = list(urls.values()) if isinstance(urls, dict) else [urls]
    strings = [u for u in flat if isinstance(u, str) and u.startswith("http")]
    assert all(u.startswith("http://127.0.0.1:9") for u in strings), strings


@pytest.mark.parametrize("exchange_id", ccxt.exchanges)
def test_a_required_passphrase_is_asked_for(exchange_id: str) -> None:
    _, required = _declared(exchange_id)
    without = Credentials("acct", "key-123", "secret-456", "environment")
    problem = credentials_problem(exchange_id, without)
    if "password" in required:
        assert problem is not None and "VANTA_ACCT_API_PASSPHRASE" in problem
        assert "acct:api_passphrase" in problem
    else:
        assert problem is None
    assert credentials_problem(exchange_id, CREDS) is None


def _raising(exc: BaseException) -> Callable[[], Any]:
    def fn() -> Any:
        raise exc

    return fn


@pytest.mark.parametrize(
    ("raised", "sending", "ours"),
    [
        (TypeError("'NoneType' object is not iterable"), False, BrokerError),
        (TypeError("'NoneType' object is not iterable"), True, UnknownOutcome),
        (KeyError("txid"), False, BrokerError),
        (ccxt.BadRequest('kraken {"error":["EGeneral:Invalid arguments"]}'), True, OrderRejected),
        (ccxt.ExchangeError("kraken EGeneral:Invalid arguments:cl_ord_id"), True, OrderRejected),
        (ccxt.InvalidOrder("okx 51000 Parameter clOrdId error"), True, OrderRejected),
        (ccxt.InsufficientFunds("EOrder:Insufficient funds"), True, OrderRejected),
        (ccxt.NetworkError("connection reset"), True, UnknownOutcome),
        (ccxt.RequestTimeout("timed out"), True, UnknownOutcome),
        (ccxt.NetworkError("connection reset"), False, TemporaryBrokerError),
        (ccxt.AuthenticationError("EAPI:Invalid key"), True, CredentialsError),
        (ccxt.PermissionDenied("EGeneral:Permission denied"), False, CredentialsError),
        (ccxt.RateLimitExceeded("EAPI:Rate limit exceeded"), True, TemporaryBrokerError),
        (ccxt.DDoSProtection("slow down"), False, TemporaryBrokerError),
    ],
)  # fmt: skip
def test_errors_are_mapped_by_meaning(
    raised: BaseException, sending: bool, ours: type[BrokerError]
) -> None:
    broker = CcxtBroker("kraken", CREDS, live=True)
    with pytest.raises(ours) as caught:
        broker._call("submit" if sending else "lookup", _raising(raised), sending=sending)
    assert type(caught.value) is ours
    assert "ccxt:kraken" in str(caught.value)  # the exchange is named
    if ours is OrderRejected:
        assert str(raised)[:20] in str(caught.value)  # in the exchange's words
