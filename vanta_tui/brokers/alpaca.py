"""Alpaca through alpaca-py's `TradingClient` (imported here only, when first used).

Exactly once: alpaca-py retries a POST answered 429 or 504 by itself, and a retried POST
can create a second order; its retries are off here (the executor retries, always under
the same client order id, after looking the order up). alpaca-py sets no timeout: every
request gets one, and a POST that times out is an `UnknownOutcome` (the executor then
looks the order up by its client order id before anything else).

Every request counts against the account's published limit (200 per minute, `pacing`),
and a host limit where one is set; a 429 slows that account only, for as long as Alpaca's
``X-RateLimit-Reset`` (or ``Retry-After``) says.

Responses are read as raw JSON (``raw_data=True``): quantities and prices stay exact
`Decimal` text instead of passing through floats.
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from vanta_tui.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    BrokerStatus,
    OrderRequest,
    decimal_of,
)
from vanta_tui.brokers.credentials import Credentials
from vanta_tui.brokers.errors import (
    BrokerError,
    CredentialsError,
    DuplicateClientOrderId,
    OrderNotFound,
    OrderRejected,
    TemporaryBrokerError,
    UnknownOutcome,
)
from vanta_tui.brokers.pacing import PACER, alpaca_rate, host_keys
from vanta_tui.core.enums import AssetClass, OrderType, Side, asset_class_of
from vanta_tui.core.ids import client_order_id as vanta_client_id
from vanta_tui.core.secrets import clip

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
URL_ENV = "VANTA_ALPACA_URL"
"""Overrides the host (for a proxy or a test server), without ``/v2``."""
DATA_URL = "https://data.alpaca.markets"
DATA_URL_ENV = "VANTA_ALPACA_DATA_URL"
"""Overrides the market data host (prices for the positions pane and PnL)."""
DEFAULT_TIMEOUT_S = 10.0

_STATUS = {
    "new": BrokerStatus.ACCEPTED,
    "accepted": BrokerStatus.ACCEPTED,
    "pending_new": BrokerStatus.ACCEPTED,
    "accepted_for_bidding": BrokerStatus.ACCEPTED,
    "calculated": BrokerStatus.ACCEPTED,
    "held": BrokerStatus.ACCEPTED,
    "stopped": BrokerStatus.ACCEPTED,
    "done_for_day": BrokerStatus.ACCEPTED,
    "pending_cancel": BrokerStatus.ACCEPTED,
    "pending_replace": BrokerStatus.ACCEPTED,
    "partially_filled": BrokerStatus.PARTIALLY_FILLED,
    "filled": BrokerStatus.FILLED,
    "canceled": BrokerStatus.CANCELLED,
    "expired": BrokerStatus.CANCELLED,
    "replaced": BrokerStatus.CANCELLED,
    "rejected": BrokerStatus.REJECTED,
    "suspended": BrokerStatus.REJECTED,
}
_CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")


@functools.cache
def _environment_for(base_url: str) -> tuple[dict[str, str], str | None]:
    """The proxies the environment sets for ``base_url`` (``NO_PROXY`` applied) and its CA
    bundle, read once per host for the process."""
    import requests.utils

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return dict(requests.utils.get_environ_proxies(base_url)), bundle


def _tamed(client: Any, timeout_s: float, base_url: str) -> Any:
    """An alpaca-py REST client with no retries of its own (a retried POST may create a
    second order) and a timeout on every request (alpaca-py sets none). The environment's
    proxy and CA settings are read once, for its host, instead of on every request
    (requests scans every environment variable each time: at 1,000 accounts whose keys
    are in the environment, that was most of a send's cost)."""
    client._retry = 0
    client._retry_codes = []
    session = client._session
    proxies, bundle = _environment_for(base_url)
    session.proxies = dict(proxies)
    if bundle:
        session.verify = bundle
    session.trust_env = False
    session.request = functools.partial(session.request, timeout=timeout_s)
    return client


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _symbol(raw: dict[str, Any]) -> str:
    """Alpaca answers crypto symbols without the slash (``BTCUSD``); the desk writes ``BTC/USD``."""
    symbol = str(raw.get("symbol") or "")
    if raw.get("asset_class") == "crypto" and "/" not in symbol:
        for quote in _CRYPTO_QUOTES:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return f"{symbol[: -len(quote)]}/{quote}"
    return symbol


def _message(error: Exception) -> str:
    """The broker's message, scrubbed then cut (`clip`): cut first, a key echoed across the
    cut would leave its first characters behind."""
    text = str(error)
    try:
        data = json.loads(text)
    except ValueError:
        return clip(text, 300)
    if isinstance(data, dict):
        return clip(str(data.get("message") or data), 300)
    return clip(text, 300)


def _asked_wait(error: Any) -> float | None:
    """How long a 429 asks to wait: ``Retry-After`` seconds, else Alpaca's
    ``X-RateLimit-Reset`` (the Unix time its window resets); None when it says neither."""
    response = getattr(getattr(error, "_http_error", None), "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if headers.get("Retry-After"):
            return max(float(headers["Retry-After"]), 0.0)
        if headers.get("X-RateLimit-Reset"):
            return max(float(headers["X-RateLimit-Reset"]) - time.time(), 0.0) + 0.05
    except ValueError:
        return None
    return None


_BUILDING = threading.Lock()
"""Held while an account's alpaca-py client is built (the executor's threads and the desk's
may ask for it at once)."""


class AlpacaBroker:
    """One Alpaca account (paper unless ``live``)."""

    name = "alpaca"
    parallel = True
    """A network API: the executor sends to many accounts at once (`executor.engine`)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        live: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        base_url: str | None = None,
    ) -> None:
        self.account_ref = credentials.account_ref
        self.live = live
        self.base_url = base_url or os.environ.get(URL_ENV) or (LIVE_URL if live else PAPER_URL)
        self.timeout_s = timeout_s
        self.data_url = os.environ.get(DATA_URL_ENV) or DATA_URL
        self._credentials = credentials
        self._client: Any = None
        self._data: dict[str, Any] = {}
        self._account_key = f"alpaca {self.base_url.rstrip('/')} {self.account_ref}"
        PACER.limit(self._account_key, alpaca_rate())
        self._keys = [self._account_key, *host_keys(self.base_url)]

    def __repr__(self) -> str:
        return f"AlpacaBroker({self.account_ref!r}, live={self.live}, url={self.base_url!r})"

    @property
    def mode(self) -> str:
        """ "live" or "sandbox" (Alpaca's paper trading endpoint)."""
        return "live" if self.live else "sandbox"

    def prepare(self) -> None:
        """Build alpaca-py's client ahead of the first request (no request is made)."""
        _ = self.client

    @property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        with _BUILDING:  # one client per account, whichever thread asks first
            if self._client is None:
                self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        from alpaca.trading.client import TradingClient

        client = TradingClient(
            self._credentials.api_key,
            self._credentials.api_secret,
            paper=not self.live,
            raw_data=True,
            url_override=self.base_url.rstrip("/"),
        )
        return _tamed(client, self.timeout_s, self.base_url)

    def _data_client(self, kind: str) -> Any:
        """alpaca-py's market data client (stocks or crypto), set up like the trading one."""
        if kind not in self._data:
            from alpaca.data.historical.crypto import CryptoHistoricalDataClient
            from alpaca.data.historical.stock import StockHistoricalDataClient

            cls: Any = CryptoHistoricalDataClient if kind == "crypto" else StockHistoricalDataClient
            client = cls(
                self._credentials.api_key,
                self._credentials.api_secret,
                raw_data=True,
                url_override=self.data_url.rstrip("/"),
            )
            self._data[kind] = _tamed(client, self.timeout_s, self.data_url)
        return self._data[kind]

    # ------------------------------------------------------------ translation

    def _call(self, what: str, fn: Any, *args: Any, sending: bool = False) -> Any:
        """Run one client call; every library error becomes one of ours."""
        import requests
        from alpaca.common.exceptions import APIError

        PACER.wait(self._keys)
        try:
            return fn(*args)
        except APIError as exc:
            status = exc.status_code or 0
            message = _message(exc)
            if status in (401, 403) and "buying power" not in message.lower():
                raise CredentialsError(f"alpaca {self.account_ref}: {what}: {message}") from exc
            if status == 404:
                raise OrderNotFound(f"alpaca {self.account_ref}: {what}: {message}") from exc
            if status == 422 and "client_order_id" in message and "unique" in message:
                raise DuplicateClientOrderId(f"alpaca: {message}") from exc
            if status == 429:
                # Rate limited: the order was not taken. Retried later under the same id;
                # this account's next requests wait as long as Alpaca asked.
                asked = _asked_wait(exc)
                PACER.slow_down(self._account_key, asked)
                after = f"; retry after {math.ceil(asked)} s" if asked else ""
                raise TemporaryBrokerError(
                    f"alpaca {what}: rate limited (429){after}", asked
                ) from exc
            if status >= 500:
                if sending:
                    raise UnknownOutcome(f"alpaca {what}: HTTP {status}: {message}") from exc
                raise TemporaryBrokerError(f"alpaca {what}: HTTP {status}: {message}") from exc
            if sending:
                raise OrderRejected(f"alpaca: HTTP {status}: {message}") from exc
            raise BrokerError(f"alpaca {what}: HTTP {status}: {message}") from exc
        except requests.Timeout as exc:
            error = f"alpaca {what}: no answer within {self.timeout_s:g} s"
            raise (UnknownOutcome(error) if sending else TemporaryBrokerError(error)) from exc
        except requests.RequestException as exc:
            # Connection refused before sending is harmless; a dropped connection after it
            # is not knowable from here: a send is always treated as possibly taken.
            error = f"alpaca {what}: {type(exc).__name__}"
            raise (UnknownOutcome(error) if sending else TemporaryBrokerError(error)) from exc

    @staticmethod
    def _order(raw: dict[str, Any]) -> BrokerOrder:
        status = _STATUS.get(str(raw.get("status")), BrokerStatus.ACCEPTED)
        filled = decimal_of(raw.get("filled_qty"))
        price = raw.get("filled_avg_price")
        return BrokerOrder(
            broker_order_id=str(raw["id"]),
            client_order_id=str(raw.get("client_order_id")),
            symbol=_symbol(raw),
            side=Side(str(raw.get("side"))),
            qty=decimal_of(raw.get("qty")),
            status=status,
            filled_qty=filled,
            avg_fill_price=decimal_of(price) if price not in (None, "") and filled > 0 else None,
            reason=str(raw["status"]) if status is BrokerStatus.REJECTED else None,
        )

    # ------------------------------------------------------------ interface

    def submit(self, request: OrderRequest) -> BrokerOrder:
        from alpaca.trading.enums import OrderSide
        from alpaca.trading.enums import TimeInForce as AlpacaTif
        from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

        fields: dict[str, Any] = {
            "symbol": request.symbol,
            "qty": float(request.qty)
            if request.qty != request.qty.to_integral()
            else int(request.qty),
            "side": OrderSide.BUY if request.side is Side.BUY else OrderSide.SELL,
            "time_in_force": AlpacaTif(request.time_in_force.value),
            "client_order_id": request.client_order_id,
        }
        if request.order_type is OrderType.LIMIT:
            assert request.limit_price is not None
            order_data: Any = LimitOrderRequest(limit_price=float(request.limit_price), **fields)
        else:
            order_data = MarketOrderRequest(**fields)
        raw = self._call("submit", self.client.submit_order, order_data, sending=True)
        order = self._order(raw)
        if order.status is BrokerStatus.REJECTED:
            raise OrderRejected(f"alpaca rejected {request.client_order_id}: {raw.get('status')}")
        return order

    def client_order_id_for(self, order_id: str) -> str:
        return vanta_client_id(order_id)

    def get_by_client_id(
        self,
        client_order_id: str,
        symbol: str | None = None,
        broker_order_id: str | None = None,
    ) -> BrokerOrder | None:
        try:
            raw = self._call("lookup", self.client.get_order_by_client_id, client_order_id)
        except OrderNotFound:
            return None
        return self._order(raw)

    def open_orders(self, symbols: Sequence[str] | None = None) -> list[BrokerOrder]:
        """Every working order (one list for the account, whatever ``symbols``)."""
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        raw = self._call(
            "open orders", self.client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN)
        )
        return [self._order(item) for item in raw]

    def cancel(self, broker_order_id: str, symbol: str | None = None) -> BrokerOrder:
        if not _is_uuid(broker_order_id):
            # Alpaca's order ids are UUIDs (alpaca-py refuses anything else with a bare
            # ValueError): an order another venue took (the venue changed since) is not here.
            raise OrderNotFound(f"alpaca {self.account_ref}: no order {broker_order_id}")
        self._call("cancel", self.client.cancel_order_by_id, broker_order_id)
        raw = self._call("cancel", self.client.get_order_by_id, broker_order_id)
        return self._order(raw)

    def positions(self) -> list[BrokerPosition]:
        raw = self._call("positions", self.client.get_all_positions)
        return [
            BrokerPosition(
                _symbol(item),
                decimal_of(item.get("qty")),  # negative for a short position
                decimal_of(item.get("avg_entry_price")),
            )
            for item in raw
        ]

    def poll(self) -> list[BrokerOrder]:
        """The venue works its orders itself: nothing to advance here."""
        return []

    def account(self) -> BrokerAccount:
        raw = self._call("account", self.client.get_account)
        return BrokerAccount(cash=decimal_of(raw.get("cash")), equity=decimal_of(raw.get("equity")))

    def quotes(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """The last trade price of each symbol Alpaca knows (stocks and crypto pairs)."""
        from alpaca.data.requests import CryptoLatestTradeRequest, StockLatestTradeRequest

        out: dict[str, Decimal] = {}
        pairs = [s for s in symbols if asset_class_of(s) is AssetClass.CRYPTO]
        stocks = [s for s in symbols if s not in pairs]
        if stocks:
            client = self._data_client("stock")
            raw = self._call(
                "prices",
                client.get_stock_latest_trade,
                StockLatestTradeRequest(symbol_or_symbols=stocks),
            )
            out.update({sym: decimal_of(trade.get("p")) for sym, trade in (raw or {}).items()})
        if pairs:
            client = self._data_client("crypto")
            raw = self._call(
                "prices",
                client.get_crypto_latest_trade,
                CryptoLatestTradeRequest(symbol_or_symbols=pairs),
            )
            out.update({sym: decimal_of(trade.get("p")) for sym, trade in (raw or {}).items()})
        return {sym: price for sym, price in out.items() if price > 0}
