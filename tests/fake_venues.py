"""Fake venues for fan-out: one server on 127.0.0.1 holding many accounts, each under the
rate limits its venue publishes, answering after a set latency, some accounts hanging.

`FakeAlpacaAccounts` speaks the Alpaca Trading API (and the two market data paths the
adapter reads prices from); `FakeBinanceAccounts` the Binance Spot REST API, for the real
ccxt client. They are written from the venues' public documentation, never from what our
adapters send; each rule carries a comment naming its source, and where the docs are
silent the comment says ``ASSUMPTION``:

- Alpaca, orders: https://docs.alpaca.markets/reference/postorder and
  https://alpaca.markets/docs/api-references/trading-api/orders/ (GET /v2/orders: ``status``
  open|closed|all, default open; ``limit`` default 50, max 500; ``after``/``until``
  exclusive, on the submission time; ``direction`` asc|desc, default desc; ``nested``;
  ``side``; ``symbols`` comma-separated).
- Alpaca, limits: https://alpaca.markets/support/usage-limit-api-calls/ ("200 requests per
  minute, per account"; beyond it "429 - Too Many Requests"); the headers every Trading API
  response carries, ``X-Ratelimit-Limit``, ``X-Ratelimit-Remaining`` and
  ``X-Ratelimit-Reset`` (epoch seconds): https://forum.alpaca.markets/t/executing-orders/12029
  and https://docs.alpaca.markets/us/docs/broker-api-rate-limits. Market data has its own
  ceiling (https://docs.alpaca.markets/docs/about-market-data-api: 200 per minute on the
  free plan), counted apart from trading.
- Binance: https://developers.binance.com/docs/binance-spot-api-docs/rest-api (the GitHub
  copy: binance/binance-spot-api-docs ``rest-api.md``, ``errors.md``, ``enums.md`` and
  ``faqs/order_count_decrement.md``): request weight per IP (``REQUEST_WEIGHT`` 6000 per
  minute, ``X-MBX-USED-WEIGHT-1M`` on every response, 429 with ``Retry-After`` and code
  -1003 beyond it; "the limits on the API are based on the IPs, not the API keys"), the
  unfilled order count per account (``ORDERS``, ``X-MBX-ORDER-COUNT-10S``/``-1D``, 429 with
  -1015 beyond it, a filled order no longer counting), HMAC-SHA256 signatures, endpoint
  weights and error codes. (ccxt's binance raises ``DDoSProtection``, the parent of
  ``RateLimitExceeded``, for any 429, before it reads the code.)

Every fake records, for the benchmark and the tests: per order the monotonic time its
request arrived and the time it was accepted (taken into the book, just before the answer
leaves); per account how many requests it got, how many were answered 429, how many hung,
and the most requests it got (and was served) in any one window of its limit.
`time.monotonic` is the system's CLOCK_MONOTONIC on Linux, so a fake served by another
process (`VenueProcess`) stamps times the measuring process can compare with its own.

Latency: each request is counted against its limits when it arrives, then answered
``latency_s`` later. A hanging account's requests get no answer until the client gives up
(closes the connection), the fake is released (`release`: they are dropped, and the
account answers again), or it stops. `settle` (a benchmark done measuring) also lifts the
latency and the limits.

Keys: `keys_for(account)` gives each account's key pair, in the form the venue's keys have.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import multiprocessing
import re
import select
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

PRICES = {
    "AAPL": Decimal("190.10"),
    "MSFT": Decimal("415.50"),
    "NVDA": Decimal("142.30"),
    "BTC/USD": Decimal("64250"),
    "ETH/USD": Decimal("3210"),
}
"""The fixed prices market orders fill at (unified symbols)."""

HANG_MAX_S = 600.0
"""A hanging request is dropped after this long even if the client is still waiting."""


def _now_us() -> int:
    """The wall clock in whole microseconds (what a timestamp in an answer can carry)."""
    return time.time_ns() // 1000


def _wall_iso(micros: int | None = None) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z`` (Alpaca's timestamps)."""
    micros = _now_us() if micros is None else micros
    when = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dec(value: Any) -> Decimal | None:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _text(value: Decimal) -> str:
    """A decimal as plain text, without exponent or trailing zeros."""
    return format(value.normalize(), "f")


# ------------------------------------------------------------------------------------------
# What the fakes record
# ------------------------------------------------------------------------------------------


@dataclass
class AccountStats:
    """One account's traffic, as the venue saw it."""

    requests: int = 0
    """Every request of the account (the limited ones: trading for Alpaca, signed ones for
    Binance), answered or not."""
    throttled: int = 0
    """Requests answered 429 (its own limit, or for Binance also its address's weight)."""
    hung: int = 0
    """Requests left without an answer (a hanging account)."""
    max_seen: int = 0
    """The most requests it sent within any one window of its limit (429s included)."""
    max_served: int = 0
    """The most requests served (not 429) within any one window of its limit."""
    data_requests: int = 0
    """Alpaca market data requests (their own limit)."""


@dataclass
class OrderStamp:
    """One order's times at the venue (monotonic seconds)."""

    account: str
    client_order_id: str
    received: float
    """When its request arrived."""
    accepted: float
    """When the venue took it into the book (just before its answer left)."""
    status: str
    symbol: str
    qty: str


@dataclass
class Snapshot:
    """Everything a fake recorded, picklable (it crosses from a `VenueProcess`)."""

    accounts: dict[str, AccountStats]
    orders: list[OrderStamp]
    host_weight_max: int = 0
    """Binance: the most request weight one address used in any one minute window."""
    host_throttled: int = 0
    """Binance: requests answered 429 for their address's weight."""

    def by_account(self) -> dict[str, list[OrderStamp]]:
        out: dict[str, list[OrderStamp]] = {}
        for stamp in self.orders:
            out.setdefault(stamp.account, []).append(stamp)
        return out


class _MovingWindow:
    """Requests within the last ``window_s`` seconds (a moving window)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.times: deque[float] = deque()
        self.most = 0

    def prune(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.window_s:
            self.times.popleft()

    def add(self, now: float) -> None:
        self.times.append(now)
        self.most = max(self.most, len(self.times))

    def __len__(self) -> int:
        return len(self.times)


# ------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: str
    """The raw query string (Binance signs it as sent)."""
    body: bytes
    headers: dict[str, str]
    """Lower-cased names."""
    client: str
    received: float

    @property
    def params(self) -> dict[str, str]:
        """Query string then body (a form body, as Binance takes it); the query string
        wins (Binance: "If a parameter sent in both ... the query string parameter will be
        used")."""
        out = dict(parse_qsl(self.body.decode(errors="replace"), keep_blank_values=True))
        if self.headers.get("content-type", "").startswith("application/json"):
            out = {}
        out.update(parse_qsl(self.query, keep_blank_values=True))
        return out

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Reply:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Admission:
    """What a request meets on arrival: its account, an answer already decided (a refusal
    or a 429), whether it hangs, and headers every answer to it carries."""

    account: str | None = None
    reply: Reply | None = None
    hang: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real hosts
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _handle(self, method: str) -> None:
        received = time.monotonic()
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=method,
            path=split.path,
            query=split.query,
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
            client=self.client_address[0],
            received=received,
        )
        fake = self.server.fake
        try:
            admission = fake.admit(request)
        except Exception as exc:  # a bug in the fake must show in the test
            admission = Admission(reply=Reply(599, {"message": f"fake error: {exc!r}"}))
        if admission.hang:
            self._hang(fake)
            return
        if fake.latency_s > 0:
            time.sleep(fake.latency_s)
        reply = admission.reply
        if reply is None:
            try:
                reply = fake.serve(request, admission.account)
            except Exception as exc:
                reply = Reply(599, {"message": f"fake error: {exc!r}"})
        self._send(reply, admission.headers)

    def _hang(self, fake: FakeVenue) -> None:
        """No answer until the client closes its end (it gave up), the fake is released or
        stops; then the connection is dropped."""
        sock = self.connection
        deadline = time.monotonic() + HANG_MAX_S
        while not fake.released.is_set() and not fake.stopping.is_set():
            if time.monotonic() > deadline:
                break
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        break  # the client closed the connection
                except OSError:
                    break
                time.sleep(0.05)  # it sent more (a pipelined request): still no answer
        self.close_connection = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def _send(self, reply: Reply, extra: Mapping[str, str]) -> None:
        data = b"" if reply.payload is None else json.dumps(reply.payload).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in {**extra, **reply.headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up meanwhile

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up `stop`
    request_queue_size = 4096  # a thousand clients connecting at once
    allow_reuse_address = True
    fake: FakeVenue


class FakeVenue:
    """The server, the latency, the hanging accounts and the records; a venue's subclass
    decides what each request meets on arrival (`admit`) and what it is answered (`serve`)."""

    def __init__(
        self,
        accounts: Iterable[str] = (),
        *,
        prices: Mapping[str, Decimal] | None = None,
        latency_s: float = 0.0,
        hang: Iterable[str] = (),
        cash: Decimal = Decimal(1_000_000),
    ) -> None:
        self.prices = dict(PRICES if prices is None else prices)
        self.latency_s = latency_s
        self.hang = set(hang)
        """Accounts whose requests get no answer."""
        self.limited = True
        """The venue's limits apply (off after `settle`)."""
        self.cash = cash
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.stopping = threading.Event()
        self.stats: dict[str, AccountStats] = {}
        self.stamps: list[OrderStamp] = []
        self._server: _Server | None = None
        for name in accounts:
            self.add_account(name)

    # -- life -------------------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        server = _Server(("127.0.0.1", port), _Handler)
        server.fake = self
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def release(self) -> None:
        """Hanging requests are dropped now, and the hanging accounts answer again."""
        self.hang.clear()
        self.released.set()

    def settle(self) -> None:
        """Answer everything at once from now on (no latency, no hangs, no limits): what a
        benchmark does once it has measured, so the client finishes quickly."""
        self.latency_s = 0.0
        self.limited = False
        self.release()

    # -- accounts -----------------------------------------------------------------------------

    @staticmethod
    def keys_for(account: str) -> tuple[str, str]:
        raise NotImplementedError

    def add_account(self, name: str) -> tuple[str, str]:
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        with self.lock:
            return Snapshot(
                accounts={k: AccountStats(**asdict(v)) for k, v in self.stats.items()},
                orders=list(self.stamps),
            )

    # -- requests -----------------------------------------------------------------------------

    def admit(self, request: Request) -> Admission:
        raise NotImplementedError

    def serve(self, request: Request, account: str | None) -> Reply:
        raise NotImplementedError

    def _stamp(
        self, account: str, client_order_id: str, request: Request, status: str, symbol: str
    ) -> float:
        accepted = time.monotonic()
        raw = request.params.get("quantity")
        if request.headers.get("content-type", "").startswith("application/json"):
            raw = request.json().get("qty")
        qty = _dec(raw)
        self.stamps.append(
            OrderStamp(
                account, client_order_id, request.received, accepted, status, symbol,
                "" if qty is None else _text(qty),
            )
        )  # fmt: skip
        return accepted


# ------------------------------------------------------------------------------------------
# Alpaca
# ------------------------------------------------------------------------------------------

_ALPACA_OPEN = {
    "new", "accepted", "pending_new", "accepted_for_bidding", "partially_filled",
    "pending_cancel", "pending_replace", "held", "calculated", "stopped",
}  # fmt: skip
_ALPACA_TYPES = {"market", "limit", "stop", "stop_limit", "trailing_stop"}
_ALPACA_TIF = {"day", "gtc", "opg", "cls", "ioc", "fok"}


@dataclass
class _AlpacaAccount:
    name: str
    secret: str
    cash: Decimal
    trading: _MovingWindow
    trading_seen: _MovingWindow
    data: _MovingWindow
    positions: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By client order id, oldest first."""


def _alpaca_error(status: int, code: int, message: str) -> Reply:
    # Alpaca's error body: {"code": <8 digits>, "message": "..."} (Trading API errors).
    return Reply(status, {"code": code, "message": message})


def _parse_time(text: str) -> int | None:
    """An ``after``/``until`` value (RFC 3339, or a date) in epoch microseconds."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    whole = moment.replace(microsecond=0)
    return int(whole.timestamp()) * 1_000_000 + moment.microsecond


class FakeAlpacaAccounts(FakeVenue):
    """Alpaca's Trading API for many accounts, one per key pair (``APCA-API-KEY-ID`` /
    ``APCA-API-SECRET-KEY``): ``POST/GET /v2/orders``, ``GET /v2/orders:by_client_order_id``,
    ``GET/DELETE /v2/orders/{id}``, ``GET /v2/account``, ``GET /v2/positions``; and the
    market data paths ``/v2/stocks/trades/latest`` and ``/v1beta3/crypto/us/latest/trades``
    (point ``VANTA_ALPACA_DATA_URL`` at the same server).

    ``rate_limit`` requests per ``window_s`` per account (Alpaca: 200 per minute), counted
    over a moving window of every trading request of the account, whatever its path.
    ASSUMPTION: Alpaca does not say whether its window is fixed or moving, nor whether a
    refused request counts; a moving window is the stricter reading (a client within it is
    within a fixed one too), and a refused request does not use the budget (``max_seen``
    still counts it)."""

    def __init__(
        self,
        accounts: Iterable[str] = (),
        *,
        prices: Mapping[str, Decimal] | None = None,
        latency_s: float = 0.0,
        hang: Iterable[str] = (),
        cash: Decimal = Decimal(1_000_000),
        rate_limit: int = 200,
        window_s: float = 60.0,
        data_rate_limit: int = 200,
    ) -> None:
        self.rate_limit = rate_limit
        self.window_s = window_s
        self.data_rate_limit = data_rate_limit
        self.accounts: dict[str, _AlpacaAccount] = {}
        self.by_key: dict[str, _AlpacaAccount] = {}
        super().__init__(accounts, prices=prices, latency_s=latency_s, hang=hang, cash=cash)

    @staticmethod
    def keys_for(account: str) -> tuple[str, str]:
        """Alpaca's paper keys look like ``PK`` + 18 capitals and digits, with a secret of
        40 characters."""
        digest = hashlib.sha256(f"alpaca:{account}".encode()).hexdigest().upper()
        return "PK" + digest[:18], hashlib.sha256(digest.encode()).hexdigest()[:40]

    def add_account(self, name: str) -> tuple[str, str]:
        key, secret = self.keys_for(name)
        account = _AlpacaAccount(
            name=name,
            secret=secret,
            cash=self.cash,
            trading=_MovingWindow(self.window_s),
            trading_seen=_MovingWindow(self.window_s),
            data=_MovingWindow(self.window_s),
        )
        self.accounts[name] = account
        self.by_key[key] = account
        self.stats[name] = AccountStats()
        return key, secret

    # -- arrival ------------------------------------------------------------------------------

    def admit(self, request: Request) -> Admission:
        key = request.headers.get("apca-api-key-id", "")
        secret = request.headers.get("apca-api-secret-key", "")
        account = self.by_key.get(key)
        if account is None or not hmac.compare_digest(account.secret, secret):
            # Authentication: both headers, else 401 {"message": "unauthorized"}
            # (alpaca.markets/learn/how-to-fix-common-trading-api-errors-at-alpaca).
            return Admission(reply=_alpaca_error(401, 40110000, "request is not authorized"))
        is_data = request.path.startswith(("/v2/stocks/", "/v1beta3/crypto/"))
        now = request.received
        with self.lock:
            stats = self.stats[account.name]
            if is_data:
                # Market data has its own ceiling, apart from trading's.
                stats.data_requests += 1
                window, limit = account.data, self.data_rate_limit
                window.prune(now)
                over = self.limited and len(window) >= limit
                if not over:
                    window.add(now)
            else:
                stats.requests += 1
                window, limit = account.trading, self.rate_limit
                window.prune(now)
                account.trading_seen.prune(now)
                account.trading_seen.add(now)
                stats.max_seen = account.trading_seen.most
                over = self.limited and len(window) >= limit
                if not over:
                    window.add(now)
                    stats.max_served = window.most
            # X-Ratelimit-Reset: "the next time (in seconds epoch time) when the rate
            # counter will reset": here, when the oldest request leaves the window.
            oldest = window.times[0] if window.times else now
            reset = time.time() + max(oldest + self.window_s - now, 0.0)
            headers = {
                "X-Ratelimit-Limit": str(limit),
                "X-Ratelimit-Remaining": str(max(limit - len(window), 0)),
                "X-Ratelimit-Reset": str(math.ceil(reset)),
            }
            if over:
                stats.throttled += 1
                # ASSUMPTION: the code; the text is the "429 rate limit exceeded" Alpaca's
                # staff quote (forum, "Executing Orders").
                reply = _alpaca_error(429, 42910000, "rate limit exceeded")
                return Admission(account.name, reply, headers=headers)
            hang = account.name in self.hang
            if hang:
                stats.hung += 1
        return Admission(account.name, None, hang, headers)

    # -- answers ------------------------------------------------------------------------------

    def serve(self, request: Request, account: str | None) -> Reply:
        assert account is not None
        path, method = request.path, request.method
        with self.lock:
            acct = self.accounts[account]
            if method == "GET" and path in (
                "/v2/stocks/trades/latest",
                "/v1beta3/crypto/us/latest/trades",
            ):
                return self._latest_trades(request)
            if path == "/v2/orders" and method == "POST":
                return self._post_order(acct, request)
            if path == "/v2/orders" and method == "GET":
                return self._list_orders(acct, request.params)
            if path == "/v2/orders:by_client_order_id" and method == "GET":
                order = acct.orders.get(request.params.get("client_order_id", ""))
                if order is None:
                    return _alpaca_error(404, 40410000, "order not found")
                return Reply(200, self._order_json(order))
            if path.startswith("/v2/orders/"):
                order_id = path.rsplit("/", 1)[1]
                found = next((o for o in acct.orders.values() if o["id"] == order_id), None)
                if found is None:
                    return _alpaca_error(404, 40410000, "order not found")
                if method == "DELETE":
                    if found["status"] not in _ALPACA_OPEN:
                        # ASSUMPTION: the text (a finished order cannot be cancelled: 422).
                        return _alpaca_error(
                            422, 42210000, f'order is already in "{found["status"]}" state'
                        )
                    found.update(status="canceled", canceled_at=_wall_iso())
                    return Reply(204)
                if method == "GET":
                    return Reply(200, self._order_json(found))
            if path == "/v2/account" and method == "GET":
                equity = acct.cash + sum(
                    (q * self.prices.get(s, Decimal(0)) for s, q in acct.positions.items()),
                    start=Decimal(0),
                )
                return Reply(
                    200,
                    {
                        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, acct.name)),
                        "account_number": "PA" + acct.name.upper()[:10],
                        "status": "ACTIVE", "currency": "USD", "cash": str(acct.cash),
                        "equity": str(equity), "portfolio_value": str(equity),
                        "buying_power": str(acct.cash), "pattern_day_trader": False,
                        "trading_blocked": False, "transfers_blocked": False,
                        "account_blocked": False, "created_at": "2026-01-02T15:00:00Z",
                        "shorting_enabled": False, "multiplier": "1",
                    },
                )  # fmt: skip
            if path == "/v2/positions" and method == "GET":
                return Reply(200, [self._position_json(s, q) for s, q in acct.positions.items()])
        return _alpaca_error(404, 40410000, "endpoint not found")

    def _latest_trades(self, request: Request) -> Reply:
        wanted = [s for s in request.params.get("symbols", "").split(",") if s]
        trades = {
            sym: {"t": _wall_iso(), "x": "V", "p": float(self.prices[sym]), "s": 100, "i": 1}
            for sym in wanted
            if sym in self.prices
        }
        return Reply(200, {"trades": trades})

    def _post_order(self, acct: _AlpacaAccount, request: Request) -> Reply:
        try:
            data = request.json()
        except ValueError:
            return _alpaca_error(400, 40010000, "request body format is invalid")
        symbol = str(data.get("symbol") or "")
        side = str(data.get("side") or "")
        kind = str(data.get("type") or "")
        tif = str(data.get("time_in_force") or "")
        qty = _dec(data.get("qty"))
        if not symbol or side not in {"buy", "sell"} or kind not in _ALPACA_TYPES:
            return _alpaca_error(422, 40010000, "invalid order: symbol, side and type are required")
        if tif not in _ALPACA_TIF:
            return _alpaca_error(422, 40010000, "invalid time_in_force")
        if qty is None or qty <= 0:
            # Postorder: qty (or notional) is the number of shares to trade.
            return _alpaca_error(422, 40010000, "qty must be > 0")
        client_id = str(data.get("client_order_id") or uuid.uuid4())
        if len(client_id) > 128:
            # Postorder: client_order_id "<= 128 characters".
            return _alpaca_error(
                422, 40010000, "client_order_id must be no more than 128 characters"
            )
        if client_id in acct.orders:
            # A client order id is unique per account (Orders: "Each order has a unique
            # identifier provided by the client").
            return _alpaca_error(422, 40010001, "client_order_id must be unique")
        unified = symbol if symbol in self.prices else self._unified(symbol)
        price = self.prices.get(unified)
        if price is None:
            # ASSUMPTION: the text of an unknown asset's refusal.
            return _alpaca_error(422, 40010001, f'asset "{symbol}" not found')
        limit = _dec(data.get("limit_price"))
        if kind in {"limit", "stop_limit"} and limit is None:
            return _alpaca_error(422, 40010000, "limit_price is required")
        if side == "buy" and qty * (limit or price) > acct.cash:
            # "insufficient buying power" (403): the error guide, buying power section.
            return _alpaca_error(403, 40310000, "insufficient buying power")
        now = _now_us()
        order: dict[str, Any] = {
            "id": str(uuid.uuid4()), "client_order_id": client_id, "symbol": symbol,
            "unified": unified, "qty": _text(qty), "side": side, "type": kind,
            "time_in_force": tif, "limit_price": None if limit is None else _text(limit),
            "status": "accepted", "filled_qty": "0", "filled_avg_price": None,
            "submitted": now, "filled_at": None, "canceled_at": None,
        }  # fmt: skip
        if kind == "market":
            # A market order fills at once at the fixed price (the fake's market).
            signed = qty if side == "buy" else -qty
            acct.positions[unified] = acct.positions.get(unified, Decimal(0)) + signed
            acct.cash -= signed * price
            order.update(
                status="filled", filled_qty=_text(qty), filled_avg_price=str(price),
                filled_at=_wall_iso(now),
            )  # fmt: skip
        acct.orders[client_id] = order
        self._stamp(acct.name, client_id, request, order["status"], unified)
        return Reply(200, self._order_json(order))

    @staticmethod
    def _unified(symbol: str) -> str:
        for quote in ("USDT", "USDC", "USD"):
            if symbol.endswith(quote) and "/" not in symbol and len(symbol) > len(quote):
                return f"{symbol[: -len(quote)]}/{quote}"
        return symbol

    def _list_orders(self, acct: _AlpacaAccount, params: Mapping[str, str]) -> Reply:
        status = params.get("status", "open")
        if status not in {"open", "closed", "all"}:
            return _alpaca_error(422, 40010000, "invalid status")
        try:
            limit = int(params.get("limit") or 50)
        except ValueError:
            return _alpaca_error(422, 40010000, "invalid limit")
        limit = max(1, min(limit, 500))  # "Defaults to 50 and max is 500."
        direction = params.get("direction", "desc")
        if direction not in {"asc", "desc"}:
            return _alpaca_error(422, 40010000, "invalid direction")
        after = _parse_time(params["after"]) if params.get("after") else None
        until = _parse_time(params["until"]) if params.get("until") else None
        symbols = {s for s in params.get("symbols", "").split(",") if s}
        side = params.get("side")
        chosen = []
        for order in acct.orders.values():
            is_open = order["status"] in _ALPACA_OPEN
            if (status == "open" and not is_open) or (status == "closed" and is_open):
                continue
            # after/until: "submitted after/until this timestamp (exclusive)".
            if after is not None and order["submitted"] <= after:
                continue
            if until is not None and order["submitted"] >= until:
                continue
            if symbols and order["symbol"] not in symbols and order["unified"] not in symbols:
                continue
            if side and order["side"] != side:
                continue
            chosen.append(order)
        chosen.sort(key=lambda o: o["submitted"], reverse=direction == "desc")
        return Reply(200, [self._order_json(o) for o in chosen[:limit]])

    @staticmethod
    def _order_json(order: dict[str, Any]) -> dict[str, Any]:
        crypto = "/" in order["unified"]
        submitted = _wall_iso(order["submitted"])
        return {
            "id": order["id"], "client_order_id": order["client_order_id"],
            "created_at": submitted, "updated_at": order["filled_at"] or submitted,
            "submitted_at": submitted, "filled_at": order["filled_at"], "expired_at": None,
            "canceled_at": order["canceled_at"], "failed_at": None, "replaced_at": None,
            "replaced_by": None, "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, order["unified"])),
            "symbol": order["unified"].replace("/", "") if crypto else order["symbol"],
            "asset_class": "crypto" if crypto else "us_equity", "notional": None,
            "qty": order["qty"], "filled_qty": order["filled_qty"],
            "filled_avg_price": order["filled_avg_price"], "order_class": "simple",
            "order_type": order["type"], "type": order["type"], "side": order["side"],
            "time_in_force": order["time_in_force"], "limit_price": order["limit_price"],
            "stop_price": None, "status": order["status"], "extended_hours": False,
            "legs": None, "trail_percent": None, "trail_price": None, "hwm": None,
        }  # fmt: skip

    def _position_json(self, symbol: str, qty: Decimal) -> dict[str, Any]:
        price = self.prices.get(symbol, Decimal(0))
        crypto = "/" in symbol
        return {
            "symbol": symbol.replace("/", ""),
            "asset_class": "crypto" if crypto else "us_equity", "qty": _text(qty),
            "avg_entry_price": str(price), "side": "long" if qty > 0 else "short",
            "market_value": str(qty * price), "current_price": str(price),
        }  # fmt: skip


# ------------------------------------------------------------------------------------------
# Binance
# ------------------------------------------------------------------------------------------

_BINANCE_WEIGHTS = {
    # Weights from rest-api.md ("Weight:" of each endpoint).
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/account"): 20,
}
_INTERVALS = {"S": "SECOND", "M": "MINUTE", "H": "HOUR", "D": "DAY"}
_SIGNED = {"/api/v3/order", "/api/v3/openOrders", "/api/v3/allOrders", "/api/v3/account"}
_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_SIGNATURE = re.compile(r"(^|&)signature=[^&]*")


def _binance_error(status: int, code: int, msg: str) -> Reply:
    # "Any endpoint can return an ERROR": {"code": -1121, "msg": "Invalid symbol."}.
    return Reply(status, {"code": code, "msg": msg})


def _weight(request: Request) -> int:
    params = request.params
    key = (request.method, request.path)
    if request.path == "/api/v3/openOrders":
        return 6 if "symbol" in params else 80
    if request.path == "/api/v3/ticker/24hr":
        return 2 if "symbol" in params else 80
    if request.path == "/api/v3/ticker/price":
        return 2 if "symbol" in params else 4
    return _BINANCE_WEIGHTS.get(key, 1)


@dataclass
class _FixedWindow:
    """A count that starts again every ``window_s`` seconds of the clock (Binance: "a
    1 MINUTE interval starts every minute")."""

    window_s: float
    started: float = -1.0
    count: int = 0
    most: int = 0

    def roll(self, wall: float) -> None:
        start = math.floor(wall / self.window_s) * self.window_s
        if start != self.started:
            self.started, self.count = start, 0

    def add(self, n: int) -> None:
        self.count += n
        self.most = max(self.most, self.count)

    def retry_after(self, wall: float) -> int:
        return max(math.ceil(self.started + self.window_s - wall), 1)


@dataclass
class _BinanceAccount:
    name: str
    key: str
    secret: str
    balances: dict[str, Decimal]
    order_counts: list[tuple[int, float, _FixedWindow]]
    """(limit, interval in seconds, window) of each ORDERS limit."""
    seen: _MovingWindow
    served: _MovingWindow
    orders: list[dict[str, Any]] = field(default_factory=list)
    """Every order, oldest first."""


class FakeBinanceAccounts(FakeVenue):
    """Binance Spot REST for many accounts, one per API key (``X-MBX-APIKEY``, requests
    signed with HMAC-SHA256 of the query string and body): ``/api/v3/{ping,time,
    exchangeInfo,ticker/24hr,ticker/price}``, ``/api/v3/order`` (POST, GET, DELETE),
    ``/api/v3/openOrders``, ``/api/v3/allOrders``, ``/api/v3/account``.

    Limits as the docs publish them: the request weight of each address (``weight_limit``
    per ``weight_window_s``: 6000 per minute; every endpoint's documented weight, counted on
    arrival), and each account's unfilled order count (``order_limits``: 100 per 10 seconds
    and 200,000 per day; a new order adds one, its first fill takes it off again). Symbols
    are ``BASEQUOTE`` (``BTCUSD``) for the unified ``BTC/USD`` of `prices`.
    ASSUMPTION: the weight of a request refused 429 still counts (it was received); the
    automated ban (418) of an address that keeps sending after a 429 is not played, but
    counted (``after_429``)."""

    def __init__(
        self,
        accounts: Iterable[str] = (),
        *,
        prices: Mapping[str, Decimal] | None = None,
        latency_s: float = 0.0,
        hang: Iterable[str] = (),
        cash: Decimal = Decimal(1_000_000),
        weight_limit: int = 6000,
        weight_window_s: float = 60.0,
        order_limits: tuple[tuple[int, float], ...] = ((100, 10.0), (200_000, 86_400.0)),
    ) -> None:
        self.weight_limit = weight_limit
        self.weight_window_s = weight_window_s
        self.order_limits = order_limits
        self.accounts: dict[str, _BinanceAccount] = {}
        self.by_key: dict[str, _BinanceAccount] = {}
        self.hosts: dict[str, _FixedWindow] = {}
        self.host_throttled = 0
        self.after_429 = 0
        """Requests an address sent after a 429 in the same window (Binance bans for it)."""
        self._throttled_in: dict[str, float] = {}
        self.next_id = 1000
        super().__init__(accounts, prices=prices, latency_s=latency_s, hang=hang, cash=cash)
        self.markets = {
            s.replace("/", ""): s for s in self.prices if "/" in s
        }  # exchange symbol → unified

    @staticmethod
    def keys_for(account: str) -> tuple[str, str]:
        """Binance HMAC keys: 64 letters and digits each."""
        key = hashlib.sha256(f"binance-key:{account}".encode()).hexdigest()
        secret = hashlib.sha256(f"binance-secret:{account}".encode()).hexdigest()
        return key, secret

    def add_account(self, name: str) -> tuple[str, str]:
        key, secret = self.keys_for(name)
        account = _BinanceAccount(
            name=name,
            key=key,
            secret=secret,
            balances={"USD": self.cash},
            order_counts=[
                (limit, seconds, _FixedWindow(seconds)) for limit, seconds in self.order_limits
            ],
            seen=_MovingWindow(self.weight_window_s),
            served=_MovingWindow(self.weight_window_s),
        )
        self.accounts[name] = account
        self.by_key[key] = account
        self.stats[name] = AccountStats()
        return key, secret

    @staticmethod
    def _interval_suffix(seconds: float) -> str:
        # intervalNum + intervalLetter (S, M, H, D) of the headers: "10S", "1M", "1D".
        for span, letter in ((86_400, "D"), (3600, "H"), (60, "M")):
            if seconds >= span and seconds % span == 0:
                return f"{int(seconds // span)}{letter}"
        return f"{max(int(seconds), 1)}S"

    @classmethod
    def _interval_words(cls, seconds: float) -> str:
        """``10 SECOND``, ``1 MINUTE``: how the error texts name an interval."""
        suffix = cls._interval_suffix(seconds)
        return f"{suffix[:-1]} {_INTERVALS[suffix[-1]]}"

    def snapshot(self) -> Snapshot:
        shot = super().snapshot()
        with self.lock:
            shot.host_weight_max = max((w.most for w in self.hosts.values()), default=0)
            shot.host_throttled = self.host_throttled
        return shot

    # -- arrival ------------------------------------------------------------------------------

    def admit(self, request: Request) -> Admission:
        wall = time.time()
        weight = _weight(request)
        with self.lock:
            host = self.hosts.setdefault(request.client, _FixedWindow(self.weight_window_s))
            host.roll(wall)
            host.add(weight)
            suffix = self._interval_suffix(self.weight_window_s)
            headers = {f"X-MBX-USED-WEIGHT-{suffix}": str(host.count)}
            account = None
            if request.path in _SIGNED:
                found = self.by_key.get(request.headers.get("x-mbx-apikey", ""))
                if found is not None:
                    account = found.name
                    stats = self.stats[found.name]
                    stats.requests += 1
                    found.seen.prune(request.received)
                    found.seen.add(request.received)
                    stats.max_seen = found.seen.most
            if self.limited and host.count > self.weight_limit:
                # IP Limits: 429, Retry-After (seconds), -1003 TOO_MANY_REQUESTS.
                self.host_throttled += 1
                if self._throttled_in.get(request.client) == host.started:
                    self.after_429 += 1
                self._throttled_in[request.client] = host.started
                if account is not None:
                    self.stats[account].throttled += 1
                reply = _binance_error(
                    429,
                    -1003,
                    f"Too much request weight used; current limit is {self.weight_limit} "
                    f"request weight per {self._interval_words(self.weight_window_s)}. Please "
                    "use WebSocket Streams for live updates to avoid polling the API.",
                )
                reply.headers["Retry-After"] = str(host.retry_after(wall))
                return Admission(account, reply, headers=headers)
            if account is not None:
                served = self.accounts[account].served
                served.prune(request.received)
                served.add(request.received)
                self.stats[account].max_served = served.most
                if account in self.hang:
                    self.stats[account].hung += 1
                    return Admission(account, None, True, headers)
        return Admission(account, None, False, headers)

    # -- answers ------------------------------------------------------------------------------

    def serve(self, request: Request, account: str | None) -> Reply:
        params = request.params
        path, method = request.path, request.method
        if path == "/api/v3/ping":
            return Reply(200, {})
        if path == "/api/v3/time":
            return Reply(200, {"serverTime": int(time.time() * 1000)})
        if path == "/api/v3/exchangeInfo":
            return Reply(200, self._exchange_info())
        if path in ("/api/v3/ticker/24hr", "/api/v3/ticker/price"):
            return self._ticker(path, params)
        if path not in _SIGNED:
            return _binance_error(404, -1000, f"no route {method} {path}")
        acct = self.by_key.get(request.headers.get("x-mbx-apikey", ""))
        if acct is None:
            return _binance_error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        refusal = self._check_signature(request, acct, params)
        if refusal is not None:
            return refusal
        with self.lock:
            if path == "/api/v3/order" and method == "POST":
                return self._new_order(acct, request, params)
            if path == "/api/v3/order" and method in ("GET", "DELETE"):
                order = self._find(acct, params)
                if order is None:
                    if method == "DELETE":
                        return _binance_error(400, -2011, "Unknown order sent.")
                    return _binance_error(400, -2013, "Order does not exist.")
                if method == "DELETE":
                    if order["status"] not in {"NEW", "PARTIALLY_FILLED"}:
                        return _binance_error(400, -2011, "Unknown order sent.")
                    order["status"] = "CANCELED"
                return Reply(200, self._order_json(order))
            if path == "/api/v3/openOrders":
                symbol = params.get("symbol")
                working = [
                    o
                    for o in acct.orders
                    if o["status"] in {"NEW", "PARTIALLY_FILLED"}
                    and (symbol is None or o["symbol"] == symbol)
                ]
                return Reply(200, [self._order_json(o) for o in working])
            if path == "/api/v3/allOrders":
                if "symbol" not in params:
                    return _binance_error(
                        400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, "
                        "or malformed.",
                    )  # fmt: skip
                mine = [o for o in acct.orders if o["symbol"] == params["symbol"]]
                limit = min(int(params.get("limit") or 500), 1000)
                return Reply(200, [self._order_json(o) for o in mine[-limit:]])
            if path == "/api/v3/account":
                balances = [
                    {"asset": asset, "free": _text(qty), "locked": "0"}
                    for asset, qty in acct.balances.items()
                ]
                return Reply(
                    200,
                    {
                        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                        "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                        "canDeposit": True, "updateTime": int(time.time() * 1000),
                        "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"],
                        "uid": int(hashlib.sha256(acct.name.encode()).hexdigest()[:8], 16),
                    },
                )  # fmt: skip
        return _binance_error(404, -1000, f"no route {method} {path}")

    def _check_signature(
        self, request: Request, acct: _BinanceAccount, params: Mapping[str, str]
    ) -> Reply | None:
        # SIGNED endpoints: signature = HMAC SHA256 (secret, totalParams), totalParams the
        # query string concatenated with the request body; "not case sensitive".
        signature = params.get("signature", "")
        body = request.body.decode(errors="replace")
        query = _SIGNATURE.sub("", request.query).lstrip("&")
        total = query + _SIGNATURE.sub("", body).lstrip("&")
        wanted = hmac.new(acct.secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(wanted, signature.lower()):
            return _binance_error(400, -1022, "Signature for this request is not valid.")
        # Timing security: timestamp < serverTime + 1 s and serverTime - timestamp <=
        # recvWindow (default 5000 ms, at most 60000).
        try:
            stamp = float(params.get("timestamp", ""))
            window = float(params.get("recvWindow") or 5000)
        except ValueError:
            return _binance_error(400, -1102, "Mandatory parameter 'timestamp' was not sent.")
        if stamp > 1e14:
            stamp /= 1000  # microseconds
        server = time.time() * 1000
        if window > 60_000 or not (stamp < server + 1000 and server - stamp <= window):
            return _binance_error(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return None

    def _exchange_info(self) -> dict[str, Any]:
        symbols = []
        for exchange_symbol, unified in self.markets.items():
            base, quote = unified.split("/")
            symbols.append(
                {
                    "symbol": exchange_symbol, "status": "TRADING",
                    "baseAsset": base, "baseAssetPrecision": 8,
                    "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": True,
                    "ocoAllowed": True, "otoAllowed": True, "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": False, "cancelReplaceAllowed": True,
                    "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                         "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                        {"filterType": "LOT_SIZE", "minQty": "0.00001000",
                         "maxQty": "9000.00000000", "stepSize": "0.00001000"},
                        {"filterType": "NOTIONAL", "minNotional": "1.00000000",
                         "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                         "applyMaxToMarket": False, "avgPriceMins": 5},
                    ],
                    "permissions": [], "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER"],
                }
            )  # fmt: skip
        limits: list[dict[str, Any]] = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": self.weight_limit},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
             "limit": 61000},
        ]  # fmt: skip
        for limit, seconds in self.order_limits:
            suffix = self._interval_suffix(seconds)
            limits.append(
                {"rateLimitType": "ORDERS", "interval": _INTERVALS[suffix[-1]],
                 "intervalNum": int(suffix[:-1]), "limit": limit}
            )  # fmt: skip
        return {
            "timezone": "UTC", "serverTime": int(time.time() * 1000), "rateLimits": limits,
            "exchangeFilters": [], "symbols": symbols,
        }  # fmt: skip

    def _ticker(self, path: str, params: Mapping[str, str]) -> Reply:
        symbol = params.get("symbol", "")
        unified = self.markets.get(symbol)
        if unified is None:
            return _binance_error(400, -1121, "Invalid symbol.")
        last = str(self.prices[unified])
        if path.endswith("/price"):
            return Reply(200, {"symbol": symbol, "price": last})
        now = int(time.time() * 1000)
        return Reply(
            200,
            {
                "symbol": symbol, "priceChange": "0", "priceChangePercent": "0",
                "weightedAvgPrice": last, "prevClosePrice": last, "lastPrice": last,
                "lastQty": "1", "bidPrice": last, "bidQty": "1", "askPrice": last,
                "askQty": "1", "openPrice": last, "highPrice": last, "lowPrice": last,
                "volume": "100", "quoteVolume": "100", "openTime": now - 86_400_000,
                "closeTime": now, "firstId": 1, "lastId": 2, "count": 2,
            },
        )  # fmt: skip

    @staticmethod
    def _find(acct: _BinanceAccount, params: Mapping[str, str]) -> dict[str, Any] | None:
        symbol = params.get("symbol")
        mine = [o for o in acct.orders if o["symbol"] == symbol]
        if "orderId" in params:
            return next((o for o in mine if str(o["orderId"]) == params["orderId"]), None)
        wanted = params.get("origClientOrderId")
        # The newest order with that client id (an id is unique among open orders only).
        return next((o for o in reversed(mine) if o["clientOrderId"] == wanted), None)

    def _new_order(
        self, acct: _BinanceAccount, request: Request, params: Mapping[str, str]
    ) -> Reply:
        symbol = params.get("symbol", "")
        unified = self.markets.get(symbol)
        if unified is None:
            return _binance_error(400, -1121, "Invalid symbol.")
        side, kind = params.get("side", ""), params.get("type", "")
        if side not in {"BUY", "SELL"} or kind not in {"MARKET", "LIMIT", "LIMIT_MAKER"}:
            return _binance_error(400, -1102, "Mandatory parameter 'side' or 'type' is invalid.")
        qty = _dec(params.get("quantity"))
        if qty is None or qty <= 0:
            return _binance_error(400, -1102, "Mandatory parameter 'quantity' was not sent.")
        # LOT_SIZE: quantity >= minQty and a multiple of stepSize.
        step, least = Decimal("0.00001"), Decimal("0.00001")
        if qty < least or (qty / step) % 1 != 0:
            return _binance_error(400, -1013, "Filter failure: LOT_SIZE")
        client_id = params.get("newClientOrderId") or uuid.uuid4().hex[:22]
        if not _CLIENT_ID.match(client_id):
            return _binance_error(
                400,
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        # newClientOrderId: "A unique id among open orders".
        if any(
            o["clientOrderId"] == client_id and o["status"] in {"NEW", "PARTIALLY_FILLED"}
            for o in acct.orders
        ):
            return _binance_error(400, -2010, "Duplicate order sent.")
        wall = time.time()
        for limit, seconds, window in acct.order_counts:
            window.roll(wall)
            if self.limited and window.count >= limit:
                # Unfilled order count exceeded: 429, -1015, with Retry-After.
                self.stats[acct.name].throttled += 1
                reply = _binance_error(
                    429, -1015, f"Too many new orders; current limit is {limit} orders per "
                    f"{self._interval_words(seconds)}.",
                )  # fmt: skip
                reply.headers["Retry-After"] = str(window.retry_after(wall))
                return reply
        price = self.prices[unified]
        limit_price = _dec(params.get("price"))
        base, quote = unified.split("/")
        if kind != "MARKET" and limit_price is None:
            return _binance_error(400, -1102, "Mandatory parameter 'price' was not sent.")
        cost = qty * (limit_price or price)
        if (side == "BUY" and cost > acct.balances.get(quote, Decimal(0))) or (
            side == "SELL" and qty > acct.balances.get(base, Decimal(0))
        ):
            return _binance_error(
                400, -2010, "Account has insufficient balance for requested action."
            )
        self.next_id += 1
        order: dict[str, Any] = {
            "symbol": symbol, "orderId": self.next_id, "clientOrderId": client_id,
            "price": _text(limit_price) if limit_price is not None else "0.00000000",
            "origQty": _text(qty), "executedQty": "0", "cummulativeQuoteQty": "0",
            "status": "NEW", "timeInForce": params.get("timeInForce", "GTC"), "type": kind,
            "side": side, "time": int(wall * 1000), "fill_price": None,
        }  # fmt: skip
        for _, _, window in acct.order_counts:
            window.add(1)
        if kind == "MARKET":
            signed = qty if side == "BUY" else -qty
            acct.balances[base] = acct.balances.get(base, Decimal(0)) + signed
            acct.balances[quote] = acct.balances.get(quote, Decimal(0)) - signed * price
            order.update(
                status="FILLED", executedQty=_text(qty),
                cummulativeQuoteQty=_text(qty * price), fill_price=price,
            )  # fmt: skip
            # "When an order is filled for the first time ... your unfilled order count is
            # decremented by one order for all intervals" (order_count_decrement.md).
            for _, _, window in acct.order_counts:
                window.count -= 1
        acct.orders.append(order)
        self._stamp(acct.name, client_id, request, order["status"], unified)
        reply = Reply(200, self._new_order_json(order, params.get("newOrderRespType")))
        for _, seconds, window in acct.order_counts:
            reply.headers[f"X-MBX-ORDER-COUNT-{self._interval_suffix(seconds)}"] = str(window.count)
        return reply

    def _new_order_json(self, order: dict[str, Any], kind: str | None) -> dict[str, Any]:
        # newOrderRespType: ACK, RESULT or FULL; MARKET and LIMIT default to FULL.
        kind = kind or ("FULL" if order["type"] in {"MARKET", "LIMIT"} else "ACK")
        ack = {
            "symbol": order["symbol"], "orderId": order["orderId"], "orderListId": -1,
            "clientOrderId": order["clientOrderId"], "transactTime": order["time"],
        }  # fmt: skip
        if kind == "ACK":
            return ack
        result = {**self._order_json(order), **ack}
        if kind == "FULL":
            price = order["fill_price"]
            result["fills"] = (
                []
                if price is None
                else [
                    {"price": str(price), "qty": order["executedQty"], "commission": "0",
                     "commissionAsset": "BNB", "tradeId": order["orderId"]}
                ]
            )  # fmt: skip
        return result

    @staticmethod
    def _order_json(order: dict[str, Any]) -> dict[str, Any]:
        return {
            "symbol": order["symbol"], "orderId": order["orderId"], "orderListId": -1,
            "clientOrderId": order["clientOrderId"], "price": order["price"],
            "origQty": order["origQty"], "executedQty": order["executedQty"],
            "cummulativeQuoteQty": order["cummulativeQuoteQty"], "status": order["status"],
            "timeInForce": order["timeInForce"], "type": order["type"], "side": order["side"],
            "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": order["time"],
            "updateTime": order["time"], "isWorking": True, "workingTime": order["time"],
            "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE",
        }  # fmt: skip


# ------------------------------------------------------------------------------------------
# A fake in its own process
# ------------------------------------------------------------------------------------------

KINDS: dict[str, type[FakeVenue]] = {
    "alpaca": FakeAlpacaAccounts,
    "binance": FakeBinanceAccounts,
}


def _serve(conn: Connection, kind: str, options: dict[str, Any]) -> None:
    """The child process: start the fake, say its URL, then do what the parent asks."""
    fake = KINDS[kind](**options).start()
    conn.send(fake.url)
    try:
        while True:
            try:
                command = conn.recv()
            except EOFError:
                break
            if command == "snapshot":
                conn.send(fake.snapshot())
            elif command == "release":
                fake.release()
                conn.send(None)
            elif command == "settle":
                fake.settle()
                conn.send(None)
            else:  # "stop"
                conn.send(None)
                break
    finally:
        fake.stop()


class VenueProcess:
    """A fake venue served by a child process: its hundreds of threads do not compete for
    the measured process's interpreter lock. ``kind`` is a key of `KINDS`; ``options`` go
    to its constructor (picklable)."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.options = options
        self.url = ""
        self._conn: Connection | None = None
        self._proc: Any = None

    def start(self) -> VenueProcess:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.kind, self.options), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        try:
            if not parent.poll(60):
                raise EOFError
            self.url = parent.recv()
        except EOFError:
            self.stop()
            raise RuntimeError(f"the fake {self.kind} did not start (its error is above)") from None
        return self

    def _ask(self, command: str) -> Any:
        assert self._conn is not None
        self._conn.send(command)
        return self._conn.recv()

    def snapshot(self) -> Snapshot:
        shot: Snapshot = self._ask("snapshot")
        return shot

    def release(self) -> None:
        self._ask("release")

    def settle(self) -> None:
        self._ask("settle")

    def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(EOFError, OSError):
                self._ask("stop")
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
            self._proc = None

    def __enter__(self) -> VenueProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
