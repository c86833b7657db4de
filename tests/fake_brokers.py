"""Fake broker servers on 127.0.0.1 that speak the real REST APIs, for adapter tests.

`FakeAlpaca` answers the Alpaca trading API paths alpaca-py calls; `FakeBinance` the Binance
spot paths ccxt calls. Both fill market orders at once at a fixed price, keep one order per
client order id (a reused id is refused the way the real API refuses it), and take faults
for the next order POSTs: ``"500"`` (refuse with a 500), ``"500-after"`` (take the order,
then answer 500), ``"429"``, ``"hang"`` (take the order, answer after the client gave up),
``"drop"`` (take the order, close the connection without an answer).

Run one standalone (for a child process test): ``python tests/fake_brokers.py alpaca PORTFILE``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOW = "2026-11-24T08:06:00Z"
KEYS = ("key-123", "secret-456")
"""The only keys the fake brokers accept."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.server.fake
        if fake.latency_s:
            time.sleep(fake.latency_s)  # a venue across the internet
        if fake.gate is not None and split.path == fake.gated_path:
            fake.arrived.set()  # a slow broker: this request waits until the test opens it
            fake.gate.wait(30)
        try:
            status, payload, fault = self.server.fake.route(
                method, split.path, query, body, dict(self.headers)
            )
        except Exception as exc:  # a bug in the fake must show in the test
            status, payload, fault = 599, {"message": f"fake error: {exc!r}"}, None
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "hang":
            time.sleep(self.server.fake.hang_s)
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client was killed on purpose (crash tests)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # as a venue's front: a thousand accounts connecting at once
    fake: FakeBroker


class FakeBroker:
    """Shared machinery: the HTTP server, the book and the faults."""

    def __init__(
        self, prices: dict[str, Decimal] | None = None, cash: Decimal = Decimal(1_000_000)
    ):
        self.prices = prices or {}
        self.cash = cash
        self.positions: dict[str, Decimal] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        """Orders by client order id."""
        self.posts: Counter[str] = Counter()
        """Order POSTs seen per client order id (retries included)."""
        self.created: list[str] = []
        """Client order id of every order created, in order (a double send would show twice
        here if the fake did not refuse reused ids the way the real APIs do)."""
        self.faults: list[str] = []
        """Faults for the next order POSTs, whatever their client order id."""
        self.faults_for: dict[str, list[str]] = {}
        """Faults for the next POSTs of one client order id."""
        self.hang_s = 2.0
        self.latency_s = 0.0
        """How long every request takes before it is answered."""
        self.gate: threading.Event | None = None
        """Set (with `gated_path`): requests of that path wait until the event is set."""
        self.gated_path = ""
        self.arrived = threading.Event()
        """Set when a request reached the gate."""
        self.lock = threading.Lock()
        self._server: _Server | None = None

    def start(self, port: int = 0) -> FakeBroker:
        server = _Server(("127.0.0.1", port), _Handler)
        server.fake = self
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def next_fault(self, client_id: str) -> str | None:
        mine = self.faults_for.get(client_id)
        if mine:
            return mine.pop(0)
        return self.faults.pop(0) if self.faults else None

    def fill(self, symbol: str, side: str, qty: Decimal) -> Decimal | None:
        price = self.prices.get(symbol)
        if price is None:
            return None
        signed = qty if side == "buy" else -qty
        self.positions[symbol] = self.positions.get(symbol, Decimal(0)) + signed
        self.cash -= signed * price
        return price

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        raise NotImplementedError


class FakeAlpaca(FakeBroker):
    """``/v2/orders``, ``/v2/orders:by_client_order_id``, ``/v2/orders/{id}``, ``/v2/account``,
    ``/v2/positions``."""

    def _order_json(self, order: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": order["id"],
            "client_order_id": order["client_order_id"],
            "created_at": NOW,
            "updated_at": NOW,
            "submitted_at": NOW,
            "filled_at": NOW if order["status"] == "filled" else None,
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
            "symbol": order["symbol"].replace("/", "")
            if "/" in order["symbol"]
            else order["symbol"],
            "asset_class": "crypto" if "/" in order["symbol"] else "us_equity",
            "qty": order["qty"],
            "filled_qty": order["filled_qty"],
            "filled_avg_price": order["filled_avg_price"],
            "order_class": "simple",
            "order_type": order["type"],
            "type": order["type"],
            "side": order["side"],
            "time_in_force": order["time_in_force"],
            "limit_price": order.get("limit_price"),
            "stop_price": None,
            "status": order["status"],
            "extended_hours": False,
        }

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        lowered = {k.lower(): v for k, v in headers.items()}
        if (lowered.get("apca-api-key-id"), lowered.get("apca-api-secret-key")) != KEYS:
            return 401, {"code": 40110000, "message": "request is not authorized"}, None
        with self.lock:
            if method == "GET" and path in (
                "/v2/stocks/trades/latest",
                "/v1beta3/crypto/us/latest/trades",
            ):
                wanted = [x for x in query.get("symbols", "").split(",") if x]
                trades = {
                    sym: {"t": NOW, "x": "V", "p": float(self.prices[sym]), "s": 100, "i": 1}
                    for sym in wanted
                    if sym in self.prices
                }
                return 200, {"trades": trades}, None
            if method == "POST" and path == "/v2/orders":
                return self._post_order(json.loads(body))
            if method == "GET" and path == "/v2/orders:by_client_order_id":
                order = self.orders.get(query.get("client_order_id", ""))
                if order is None:
                    return 404, {"code": 40410000, "message": "order not found"}, None
                return 200, self._order_json(order), None
            if method == "GET" and path == "/v2/orders":
                working = [o for o in self.orders.values() if o["status"] in {"new", "accepted"}]
                return 200, [self._order_json(o) for o in working], None
            if path.startswith("/v2/orders/"):
                order_id = path.rsplit("/", 1)[1]
                found = next((o for o in self.orders.values() if o["id"] == order_id), None)
                if found is None:
                    return 404, {"code": 40410000, "message": "order not found"}, None
                if method == "DELETE":
                    if found["status"] in {"new", "accepted"}:
                        found["status"] = "canceled"
                    return 204, None, None
                return 200, self._order_json(found), None
            if method == "GET" and path == "/v2/account":
                return 200, {
                    "id": "a1b2", "account_number": "PA1", "status": "ACTIVE",
                    "currency": "USD", "cash": str(self.cash), "equity": str(self.cash),
                    "buying_power": str(self.cash),
                }, None  # fmt: skip
            if method == "GET" and path == "/v2/positions":
                return (
                    200,
                    [
                        {
                            "symbol": s.replace("/", ""),
                            "asset_class": "crypto" if "/" in s else "us_equity",
                            "qty": str(q),
                            "avg_entry_price": str(self.prices.get(s, 0)),
                            "side": "long" if q > 0 else "short",
                        }
                        for s, q in self.positions.items()
                        if q != 0
                    ],
                    None,
                )
        return 404, {"code": 40410000, "message": f"no route {method} {path}"}, None

    def _post_order(self, data: dict[str, Any]) -> tuple[int, Any, str | None]:
        client_id = str(data.get("client_order_id") or uuid.uuid4())
        self.posts[client_id] += 1
        fault = self.next_fault(client_id)
        if fault in {"500", "429"}:
            return int(fault), {"code": 50010000, "message": "internal"}, None
        if client_id in self.orders:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}, None
        qty = Decimal(str(data["qty"]))
        order: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "client_order_id": client_id,
            "symbol": data["symbol"],
            "qty": str(data["qty"]),
            "side": data["side"],
            "type": data["type"],
            "time_in_force": data["time_in_force"],
            "limit_price": data.get("limit_price"),
            "status": "accepted",
            "filled_qty": "0",
            "filled_avg_price": None,
        }
        if data["type"] == "market":
            price = self.fill(data["symbol"], data["side"], qty)
            if price is None:
                order["status"] = "rejected"
            else:
                order.update(status="filled", filled_qty=str(qty), filled_avg_price=str(price))
        self.orders[client_id] = order
        self.created.append(client_id)
        if fault == "500-after":
            return 500, {"code": 50010000, "message": "internal"}, None
        return 200, self._order_json(order), fault


class FakeBinance(FakeBroker):
    """Binance spot: ``/api/v3/exchangeInfo``, ``/api/v3/account``, ``/api/v3/order``
    (POST, GET, DELETE), ``/api/v3/openOrders`` and ``/api/v3/allOrders``. Symbols are
    ``BASEQUOTE`` (``BTCUSD``)."""

    MARKETS = (("BTC", "USD"), ("ETH", "USD"), ("SOL", "USD"))

    def __init__(
        self, prices: dict[str, Decimal] | None = None, cash: Decimal = Decimal(1_000_000)
    ):
        super().__init__(prices, cash)
        self.next_id = 1000
        self.market_loads = 0
        self.min_qty = "0.00001000"
        """LOT_SIZE minQty of every market (exchangeInfo); a test may change it."""
        self.history: list[dict[str, Any]] = []
        """Every order ever created, oldest first (`orders` keeps the newest per client id:
        Binance lets a client id be used again once its order is no longer open)."""

    @staticmethod
    def _unified(exchange_symbol: str) -> str:
        for base, quote in FakeBinance.MARKETS:
            if exchange_symbol == base + quote:
                return f"{base}/{quote}"
        return exchange_symbol

    def _exchange_info(self) -> dict[str, Any]:
        symbols = []
        for base, quote in self.MARKETS:
            symbols.append(
                {
                    "symbol": base + quote, "status": "TRADING",
                    "baseAsset": base, "baseAssetPrecision": 8,
                    "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"], "icebergAllowed": True,
                    "ocoAllowed": True, "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                         "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                        {"filterType": "LOT_SIZE", "minQty": self.min_qty,
                         "maxQty": "9000.00000000", "stepSize": "0.00001000"},
                    ],
                    "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
                }
            )  # fmt: skip
        return {
            "timezone": "UTC",
            "serverTime": 1795000000000,
            "rateLimits": [],
            "symbols": symbols,
        }

    def _order_json(self, order: dict[str, Any]) -> dict[str, Any]:
        return {
            "symbol": order["symbol"], "orderId": order["orderId"], "orderListId": -1,
            "clientOrderId": order["clientOrderId"], "price": order["price"],
            "origQty": order["origQty"], "executedQty": order["executedQty"],
            "cummulativeQuoteQty": order["cummulativeQuoteQty"], "status": order["status"],
            "timeInForce": order["timeInForce"], "type": order["type"], "side": order["side"],
            "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": 1795000000000,
            "updateTime": 1795000000000, "isWorking": True, "transactTime": 1795000000000,
            "origQuoteOrderQty": "0.00000000", "workingTime": 1795000000000,
            "selfTradePreventionMode": "NONE",
        }  # fmt: skip

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        params = dict(query)
        if body:
            params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        if path == "/api/v3/exchangeInfo":
            self.market_loads += 1
            return 200, self._exchange_info(), None
        if path == "/api/v3/ticker/24hr":
            unified = self._unified(params.get("symbol", ""))
            if unified not in self.prices:
                return 400, {"code": -1121, "msg": "Invalid symbol."}, None
            last = str(self.prices[unified])
            return 200, {
                "symbol": params["symbol"], "priceChange": "0", "priceChangePercent": "0",
                "weightedAvgPrice": last, "prevClosePrice": last, "lastPrice": last,
                "lastQty": "1", "bidPrice": last, "bidQty": "1", "askPrice": last,
                "askQty": "1", "openPrice": last, "highPrice": last, "lowPrice": last,
                "volume": "100", "quoteVolume": "100", "openTime": 1795000000000,
                "closeTime": 1795000000000, "firstId": 1, "lastId": 2, "count": 2,
            }, None  # fmt: skip
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("x-mbx-apikey") != KEYS[0] or "signature" not in params:
            return (
                401,
                {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
                None,
            )
        with self.lock:
            if path == "/api/v3/order" and method == "POST":
                return self._post_order(params)
            if path == "/api/v3/order":
                order = self._find(params)
                if order is None:
                    return 400, {"code": -2013, "msg": "Order does not exist."}, None
                if method == "DELETE" and order["status"] in {"NEW", "PARTIALLY_FILLED"}:
                    order["status"] = "CANCELED"
                return 200, self._order_json(order), None
            if path == "/api/v3/openOrders":
                working = [o for o in self.orders.values() if o["status"] == "NEW"]
                return 200, [self._order_json(o) for o in working], None
            if path == "/api/v3/allOrders":  # one symbol (required), oldest first, ≤ limit
                if "symbol" not in params:
                    return 400, {"code": -1102, "msg": "Mandatory parameter 'symbol'"}, None
                mine = [o for o in self.history if o["symbol"] == params["symbol"]]
                mine = sorted(mine, key=lambda o: int(o["orderId"]))
                limit = min(int(params.get("limit") or 500), 1000)
                return 200, [self._order_json(o) for o in mine[-limit:]], None
            if path == "/api/v3/account":
                balances = [{"asset": "USD", "free": str(self.cash), "locked": "0"}]
                for symbol, qty in self.positions.items():
                    balances.append(
                        {"asset": symbol.split("/")[0], "free": str(qty), "locked": "0"}
                    )
                return 200, {
                    "makerCommission": 10, "takerCommission": 10, "canTrade": True,
                    "canWithdraw": True, "canDeposit": True, "updateTime": 1795000000000,
                    "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"],
                }, None  # fmt: skip
        return 404, {"code": -1, "msg": f"no route {method} {path}"}, None

    def _find(self, params: dict[str, str]) -> dict[str, Any] | None:
        if "origClientOrderId" in params:
            return self.orders.get(params["origClientOrderId"])
        wanted = params.get("orderId")
        return next((o for o in self.orders.values() if str(o["orderId"]) == wanted), None)

    def _post_order(self, params: dict[str, str]) -> tuple[int, Any, str | None]:
        client_id = params.get("newClientOrderId") or uuid.uuid4().hex
        self.posts[client_id] += 1
        fault = self.next_fault(client_id)
        if fault in {"500", "429"}:
            return (
                int(fault),
                {"code": -1001, "msg": "Internal error; unable to process your request."},
                None,
            )
        # Binance, POST /api/v3/order: newClientOrderId is "a unique id among open orders"
        # (Spot API docs): once that order is filled, cancelled or expired the id may be
        # used again, and makes a second order.
        earlier = self.orders.get(client_id)
        if earlier is not None and earlier["status"] in {"NEW", "PARTIALLY_FILLED"}:
            return 400, {"code": -2010, "msg": "Duplicate order sent."}, None
        qty = Decimal(params["quantity"])
        self.next_id += 1
        order: dict[str, Any] = {
            "symbol": params["symbol"], "orderId": self.next_id, "clientOrderId": client_id,
            "price": params.get("price", "0.00000000"), "origQty": params["quantity"],
            "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000",
            "status": "NEW", "timeInForce": params.get("timeInForce", "GTC"),
            "type": params["type"], "side": params["side"],
        }  # fmt: skip
        unified = self._unified(params["symbol"])
        if (
            params["type"] == "MARKET"
            and params["side"] == "BUY"
            and unified in self.prices
            and qty * self.prices[unified] > self.cash
        ):
            # Spot error codes: -2010 NEW_ORDER_REJECTED with this message.
            return (
                400,
                {"code": -2010, "msg": "Account has insufficient balance for requested action."},
                None,
            )
        if params["type"] == "MARKET":
            price = self.fill(unified, params["side"].lower(), qty)
            if price is None:
                order["status"] = "REJECTED"
            else:
                order.update(
                    status="FILLED", executedQty=str(qty), cummulativeQuoteQty=str(qty * price)
                )
        if order["status"] == "NEW" and order["timeInForce"] in {"IOC", "FOK"}:
            # Time in force IOC/FOK (Spot API docs, "Time in force"): what cannot fill at
            # once expires; this fake fills nothing resting, so the order expires.
            order["status"] = "EXPIRED"
        self.orders[client_id] = order
        self.history.append(order)
        self.created.append(client_id)
        if fault == "500-after":
            return (
                500,
                {"code": -1001, "msg": "Internal error; unable to process your request."},
                None,
            )
        return 200, self._order_json(order), fault


def main() -> None:
    """Serve one fake broker until killed; write its URL to PORTFILE."""
    kind, port_file = sys.argv[1], Path(sys.argv[2])
    prices = {"AAPL": Decimal("190.10"), "MSFT": Decimal("415.50"), "NVDA": Decimal("142.30")}
    fake = (FakeAlpaca if kind == "alpaca" else FakeBinance)(prices).start()
    port_file.write_text(fake.url)
    threading.Event().wait()


if __name__ == "__main__":
    main()
