"""Crypto exchanges through ccxt (imported here only, when first used): ``ccxt:<exchange id>``.

Spot only. Sandbox mode where the exchange has one, unless the desk runs ``--live``. The
markets are loaded once per adapter and cached. Our client order id goes in
``params["clientOrderId"]`` (ccxt maps it to each exchange's field). ccxt's own retries
stay off (``maxRetriesOnFailure`` 0) and every ccxt error becomes one of ours: a network
error or timeout while creating an order is an `UnknownOutcome` (the executor looks the
order up by its client order id before any resend).

``VANTA_CCXT_<EXCHANGE>_URL`` (e.g. ``VANTA_CCXT_BINANCE_URL=http://127.0.0.1:9000``)
replaces scheme and host of every API URL of that exchange, for a proxy or a test server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
from vanta_tui.core.enums import OrderType, Side

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
CASH_CURRENCIES = ("USD", "USDT", "USDC")
"""Balances in these are cash; a holding of anything else is a position against them."""

_STATUS = {
    "open": BrokerStatus.ACCEPTED,
    "closed": BrokerStatus.FILLED,
    "canceled": BrokerStatus.CANCELLED,
    "cancelled": BrokerStatus.CANCELLED,
    "expired": BrokerStatus.CANCELLED,
    "rejected": BrokerStatus.REJECTED,
}


def url_env(exchange_id: str) -> str:
    return f"VANTA_CCXT_{exchange_id.upper()}_URL"


def _rehost(urls: Any, base: str) -> Any:
    """Every URL string in ``urls`` (nested dicts/lists) with scheme and host from ``base``."""
    if isinstance(urls, dict):
        return {key: _rehost(value, base) for key, value in urls.items()}
    if isinstance(urls, list):
        return [_rehost(value, base) for value in urls]
    if isinstance(urls, str) and urls.startswith(("http://", "https://")):
        new = urlsplit(base)
        old = urlsplit(urls)
        return urlunsplit((new.scheme, new.netloc, old.path, old.query, old.fragment))
    return urls


class CcxtBroker:
    """One account at one ccxt exchange."""

    def __init__(
        self,
        exchange_id: str,
        credentials: Credentials,
        *,
        live: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        base_url: str | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self.name = f"ccxt:{exchange_id}"
        self.account_ref = credentials.account_ref
        self.live = live
        self.timeout_s = timeout_s
        self.base_url = base_url or os.environ.get(url_env(exchange_id))
        self._credentials = credentials
        self._exchange: Any = None
        self._markets_loaded = False

    def __repr__(self) -> str:
        return f"CcxtBroker({self.exchange_id!r}, {self.account_ref!r}, live={self.live})"

    @property
    def exchange(self) -> Any:
        if self._exchange is None:
            import ccxt

            cls = getattr(ccxt, self.exchange_id, None)
            if cls is None or not isinstance(cls, type):
                raise BrokerError(f"ccxt has no exchange {self.exchange_id!r}")
            exchange = cls(
                {
                    "apiKey": self._credentials.api_key,
                    "secret": self._credentials.api_secret,
                    "timeout": int(self.timeout_s * 1000),
                    "enableRateLimit": True,
                }
            )
            options = exchange.options
            options["maxRetriesOnFailure"] = 0
            options["defaultType"] = "spot"
            if isinstance(options.get("fetchMarkets"), dict):
                options["fetchMarkets"] = {**options["fetchMarkets"], "types": ["spot"]}
            options["fetchMargins"] = False
            options["fetchCurrencies"] = False
            if not self.live and "test" in exchange.urls:
                exchange.set_sandbox_mode(True)
            if self.base_url:
                exchange.urls["api"] = _rehost(exchange.urls["api"], self.base_url)
            self._exchange = exchange
        return self._exchange

    def _markets(self) -> None:
        if not self._markets_loaded:
            self._call("load markets", self.exchange.load_markets)
            self._markets_loaded = True

    def _call(self, what: str, fn: Any, *args: Any, sending: bool = False, **kwargs: Any) -> Any:
        import ccxt

        try:
            return fn(*args, **kwargs)
        except ccxt.DuplicateOrderId as exc:
            raise DuplicateClientOrderId(f"{self.name}: {exc}") from exc
        except ccxt.OrderNotFound as exc:
            raise OrderNotFound(f"{self.name} {what}: {exc}") from exc
        except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
            raise CredentialsError(f"{self.name} {self.account_ref}: {what}: {exc}") from exc
        except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
            raise TemporaryBrokerError(f"{self.name} {what}: rate limited") from exc
        except ccxt.NetworkError as exc:  # timeouts, dropped connections, 5xx, maintenance
            error = f"{self.name} {what}: {type(exc).__name__}: {str(exc)[:200]}"
            raise (UnknownOutcome(error) if sending else TemporaryBrokerError(error)) from exc
        except (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.BadSymbol) as exc:
            if sending and "duplicate" in str(exc).lower():
                raise DuplicateClientOrderId(f"{self.name}: {exc}") from exc
            if sending:
                raise OrderRejected(f"{self.name}: {str(exc)[:300]}") from exc
            raise BrokerError(f"{self.name} {what}: {str(exc)[:300]}") from exc
        except ccxt.BaseError as exc:
            # Anything else (an exchange's 5xx "internal error", an operation that failed
            # for no stated reason) is an unclear answer: after a send, the order may exist.
            error = f"{self.name} {what}: {type(exc).__name__}: {str(exc)[:300]}"
            if sending:
                raise UnknownOutcome(error) from exc
            if isinstance(exc, ccxt.OperationFailed):
                raise TemporaryBrokerError(error) from exc
            raise BrokerError(error) from exc

    def _order(self, raw: dict[str, Any], fallback_client_id: str | None = None) -> BrokerOrder:
        status = _STATUS.get(str(raw.get("status")), BrokerStatus.ACCEPTED)
        filled = decimal_of(raw.get("filled"))
        amount = decimal_of(raw.get("amount"))
        if status is BrokerStatus.ACCEPTED and filled > 0:
            status = BrokerStatus.PARTIALLY_FILLED
        if status is BrokerStatus.CANCELLED and filled > 0 and filled < amount:
            status = BrokerStatus.CANCELLED
        average = raw.get("average")
        return BrokerOrder(
            broker_order_id=str(raw.get("id")),
            client_order_id=str(raw.get("clientOrderId") or fallback_client_id or ""),
            symbol=str(raw.get("symbol")),
            side=Side(str(raw.get("side"))),
            qty=amount,
            status=status,
            filled_qty=filled,
            avg_fill_price=decimal_of(average)
            if average not in (None, "") and filled > 0
            else None,
            reason=str(raw.get("status")) if status is BrokerStatus.REJECTED else None,
        )

    # ------------------------------------------------------------ interface

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self._markets()
        exchange = self.exchange
        kind = "limit" if request.order_type is OrderType.LIMIT else "market"
        price = float(request.limit_price) if request.limit_price is not None else None
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if kind == "limit":
            params["timeInForce"] = request.time_in_force.value.upper()
        raw = self._call(
            "submit",
            exchange.create_order,
            request.symbol,
            kind,
            request.side.value,
            float(request.qty),
            price,
            params,
            sending=True,
        )
        order = self._order(raw, request.client_order_id)
        if order.status is BrokerStatus.REJECTED:
            raise OrderRejected(f"{self.name} rejected {request.client_order_id}")
        return order

    def get_by_client_id(
        self, client_order_id: str, symbol: str | None = None
    ) -> BrokerOrder | None:
        if symbol is None:
            # Without a symbol, only working orders can be searched.
            for order in self.open_orders():
                if order.client_order_id == client_order_id:
                    return order
            return None
        self._markets()
        try:
            raw = self._call(
                "lookup",
                self.exchange.fetch_order,
                None,
                symbol,
                {"clientOrderId": client_order_id},
            )
        except OrderNotFound:
            return None
        return self._order(raw, client_order_id)

    def open_orders(self) -> list[BrokerOrder]:
        self._markets()
        exchange = self.exchange
        exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
        raw = self._call("open orders", exchange.fetch_open_orders)
        return [self._order(item) for item in raw]

    def cancel(self, broker_order_id: str, symbol: str | None = None) -> BrokerOrder:
        self._markets()
        self._call("cancel", self.exchange.cancel_order, broker_order_id, symbol)
        raw = self._call("cancel", self.exchange.fetch_order, broker_order_id, symbol)
        return self._order(raw)

    def positions(self) -> list[BrokerPosition]:
        """Spot holdings as positions against the markets' quote currencies (no average
        price: spot balances do not carry one)."""
        self._markets()
        balance = self._call("balance", self.exchange.fetch_balance)
        totals = balance.get("total") or {}
        markets = self.exchange.markets or {}
        out: list[BrokerPosition] = []
        for currency, amount in sorted(totals.items()):
            qty = decimal_of(amount)
            if qty == 0 or currency in CASH_CURRENCIES:
                continue
            symbol = next(
                (f"{currency}/{q}" for q in CASH_CURRENCIES if f"{currency}/{q}" in markets),
                currency,
            )
            out.append(BrokerPosition(symbol, qty, Decimal(0)))
        return out

    def account(self) -> BrokerAccount:
        self._markets()
        balance = self._call("balance", self.exchange.fetch_balance)
        free = balance.get("free") or {}
        cash = sum((decimal_of(free.get(q)) for q in CASH_CURRENCIES), Decimal(0))
        return BrokerAccount(cash=cash)

    def quotes(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """The last trade of each market (the bid/ask mid when there is no last)."""
        self._markets()
        markets = self.exchange.markets or {}
        out: dict[str, Decimal] = {}
        for symbol in symbols:
            if symbol not in markets:
                continue
            try:
                ticker = self._call("prices", self.exchange.fetch_ticker, symbol)
            except CredentialsError:
                raise
            except BrokerError as exc:
                if exc.retryable:
                    raise
                log.warning("%s: no price for %s: %s", self.name, symbol, exc)
                continue  # one market without a price does not hide the others
            last = ticker.get("last")
            bid, ask = ticker.get("bid"), ticker.get("ask")
            if last not in (None, 0):
                out[symbol] = decimal_of(last)
            elif bid and ask:
                out[symbol] = (decimal_of(bid) + decimal_of(ask)) / 2
        return out
