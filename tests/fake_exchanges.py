"""Fake crypto exchanges on 127.0.0.1 built from each venue's PUBLIC API documentation.

`FakeKraken` (Kraken Spot REST), `FakeOKX` (OKX v5) and `FakeCoinbase` (Coinbase Advanced
Trade v3) serve the same paths as the real hosts, so a ccxt client whose ``urls['api']`` has
had scheme and host replaced by ``fake.url`` talks to them unchanged. Each one is a
`fake_brokers.FakeBroker`: the same constructor (``prices`` keyed by unified symbols such as
``"BTC/USD"``), the same ``orders`` (by the client order id the client sent), ``posts``,
``created``, ``faults`` / ``faults_for`` (``"500"``, ``"500-after"``, ``"429"``, ``"hang"``,
``"drop"``) and ``fill()``.

The rules (ids accepted or refused, minimums, precision, error texts, order states) follow
the venue docs; each rule carries a comment naming the doc section. Where the docs were
silent and a choice had to be made, the comment says ``ASSUMPTION``.

Credentials: the fakes accept only ``KEYS = ("key-123", "secret-456")`` and the passphrase
``"pass-789"`` (OKX), in the form each venue's keys really have:

* Kraken secrets are base64 (API-Sign = HMAC-SHA512 keyed with the *decoded* secret), so the
  accepted secret is ``KRAKEN_SECRET`` = base64("secret-456"). The raw ``"secret-456"`` is
  not valid base64 and ccxt.kraken cannot even sign with it.
* Coinbase Advanced Trade takes only CDP keys: a key *name*
  (``organizations/{org}/apiKeys/{id}``) and an EC P-256 private key (PEM), sent as an
  ES256 JWT. The accepted pair is ``COINBASE_KEY_NAME`` / ``COINBASE_PRIVATE_KEY_PEM``
  (a fixed test key). Legacy HMAC headers (``CB-ACCESS-*``), which ccxt sends for a
  non-PEM secret such as ``"secret-456"``, are refused with 401.

Run one standalone (for a child process test):
``python tests/fake_exchanges.py kraken|okx|coinbase PORTFILE``.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import re
import sys
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fake_brokers import KEYS, FakeBroker, _Handler, _Server

PASSPHRASE = "pass-789"
"""The only OKX passphrase the fake accepts."""

KRAKEN_SECRET = base64.b64encode(KEYS[1].encode()).decode()
"""Kraken API secrets are base64 strings; this one decodes to ``"secret-456"``."""

COINBASE_KEY_NAME = f"organizations/vanta-test/apiKeys/{KEYS[0]}"
"""A CDP API key name (Coinbase keys are named ``organizations/{org}/apiKeys/{id}``)."""

_COINBASE_KEY = ec.derive_private_key(
    int.from_bytes(hashlib.sha256(KEYS[1].encode()).digest(), "big"), ec.SECP256R1()
)
COINBASE_PRIVATE_KEY_PEM = _COINBASE_KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
).decode()
"""The CDP key secret (``-----BEGIN EC PRIVATE KEY-----``) that goes with the key name."""

Reply = tuple[int, Any, str | None]


class _RawHandler(_Handler):
    """Passes the raw request target on: OKX signs the path *with* its query string."""

    def _handle(self, method: str) -> None:
        self.headers["X-Fake-Raw-Target"] = self.path
        super()._handle(method)

    def do_PUT(self) -> None:
        self._handle("PUT")


def _dec(value: Any) -> Decimal | None:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _places(value: Decimal) -> int:
    """How many decimal places ``value`` needs."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _multiple(value: Decimal, step: Decimal) -> bool:
    return (value / step) % 1 == 0


def _split(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    return base, quote or "USD"


class _Venue(FakeBroker):
    """Shared bits of the three fakes."""

    def __init__(
        self, prices: dict[str, Decimal] | None = None, cash: Decimal = Decimal(1_000_000)
    ):
        super().__init__(prices, cash)
        self.cash_ccy = _split(next(iter(self.prices), "BTC/USD"))[1]
        """The currency ``cash`` is held in: the quote currency of the first price."""
        self.all_orders: list[dict[str, Any]] = []
        """Every order created, oldest first (``orders`` keeps the newest per client id)."""
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request, to show what the client called."""

    def start(self, port: int = 0) -> _Venue:
        server = _Server(("127.0.0.1", port), _RawHandler)
        server.fake = self
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __enter__(self) -> _Venue:
        return self.start()

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> Reply:
        self.requests.append((method, path))
        lowered = {k.lower(): v for k, v in headers.items()}
        return self.serve(method, path, query, body, lowered)

    def serve(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> Reply:
        raise NotImplementedError

    def held(self, base: str) -> Decimal:
        return sum((q for s, q in self.positions.items() if _split(s)[0] == base), start=Decimal(0))

    def can_afford(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> bool:
        if side == "buy":
            return qty * price <= self.cash
        return qty <= self.positions.get(symbol, Decimal(0))


# --------------------------------------------------------------------------------------------
# Kraken
# --------------------------------------------------------------------------------------------

_KRAKEN_ASSETS = {"BTC": "XXBT", "ETH": "XETH", "USD": "ZUSD", "EUR": "ZEUR", "XBT": "XXBT"}
_KRAKEN_ALT = {"BTC": "XBT"}
_UUID_LONG = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_UUID_SHORT = re.compile(r"^[0-9a-fA-F]{32}$")
KRAKEN_DUPLICATE_CL_ORD_ID = "EOrder:Duplicate cl_ord_id"
"""ASSUMPTION: the docs say cl_ord_id must be unique among open orders but do not print the
refusal text; this is the fake's text (ccxt maps it to a plain ExchangeError)."""


class FakeKraken(_Venue):
    """Kraken Spot REST (https://docs.kraken.com/api/): ``/0/public/{Time,Assets,AssetPairs,
    Ticker}`` and ``/0/private/{Balance,BalanceEx,AddOrder,QueryOrders,OpenOrders,
    ClosedOrders,CancelOrder}``.

    Pairs are named the way Kraken names them: BTC/USD is ``XXBTZUSD`` (altname ``XBTUSD``,
    wsname ``XBT/USD``), ETH/USD ``XETHZUSD``, newer assets plain ``SOLUSD``.
    """

    LOT_DECIMALS = 8
    ORDERMIN = Decimal("0.00005")
    COSTMIN = Decimal("0.5")

    def __init__(
        self, prices: dict[str, Decimal] | None = None, cash: Decimal = Decimal(1_000_000)
    ):
        super().__init__(prices, cash)
        self.last_nonce = 0
        self.pairs: dict[str, dict[str, Any]] = {}
        for symbol in self.prices:
            base, quote = _split(symbol)
            b_id, q_id = _KRAKEN_ASSETS.get(base, base), _KRAKEN_ASSETS.get(quote, quote)
            legacy = b_id.startswith("X") and q_id.startswith("Z") and len(b_id) == 4
            pair_id = b_id + q_id if legacy else _KRAKEN_ALT.get(base, base) + quote
            self.pairs[pair_id] = {
                "symbol": symbol,
                "altname": _KRAKEN_ALT.get(base, base) + quote,
                "wsname": f"{_KRAKEN_ALT.get(base, base)}/{quote}",
                "base": b_id,
                "quote": q_id,
            }

    # -- helpers ---------------------------------------------------------------------------

    def _pair(self, name: str) -> str | None:
        """A pair by id or altname (AssetPairs/Ticker take either)."""
        for pair_id, info in self.pairs.items():
            if name in (pair_id, info["altname"], info["wsname"]):
                return pair_id
        return None

    def _tick(self, pair_id: str) -> Decimal:
        price = self.prices[self.pairs[pair_id]["symbol"]]
        return Decimal("0.1") if price >= 1000 else Decimal("0.01")

    @staticmethod
    def _err(*errors: str, status: int = 200) -> Reply:
        # Every response is {"error": [...], "result": {...}}; a non-empty error array means
        # failure, and Kraken answers it with HTTP 200 (Spot REST guide, "Responses").
        return status, {"error": list(errors), "result": {}}, None

    @staticmethod
    def _ok(result: Any) -> Reply:
        return 200, {"error": [], "result": result}, None

    # -- routing ---------------------------------------------------------------------------

    def serve(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> Reply:
        if path.startswith("/0/public/"):
            return self._public(path.removeprefix("/0/public/"), query)
        if not path.startswith("/0/private/") or method != "POST":
            return self._err("EGeneral:Unknown method", status=404)
        params, refusal = self._authenticate(path, body, headers)
        if refusal is not None:
            return refusal
        with self.lock:
            name = path.removeprefix("/0/private/")
            if name == "AddOrder":
                return self._add_order(params)
            if name in ("Balance", "BalanceEx"):
                return self._ok(self._balances(extended=name == "BalanceEx"))
            if name == "QueryOrders":
                wanted = [t for t in str(params.get("txid", "")).split(",") if t]
                found = {
                    o["txid"]: self._order_json(o) for o in self.all_orders if o["txid"] in wanted
                }
                if not found and wanted:
                    # Unknown txid: "EOrder:Unknown order" (Spot REST errors guide).
                    return self._err("EOrder:Unknown order")
                return self._ok(found)
            if name == "OpenOrders":
                return self._ok({"open": self._listing(params, open_=True)})
            if name == "ClosedOrders":
                closed = self._listing(params, open_=False)
                return self._ok({"closed": closed, "count": len(closed)})
            if name == "CancelOrder":
                return self._cancel(params)
        return self._err("EGeneral:Unknown method", status=404)

    def _public(self, name: str, query: dict[str, str]) -> Reply:
        if name == "Time":
            now = int(time.time())
            return self._ok({"unixtime": now, "rfc1123": formatdate(now, usegmt=True)})
        if name == "Assets":
            assets: dict[str, Any] = {}
            for info in self.pairs.values():
                for asset in (info["base"], info["quote"]):
                    fiat = asset.startswith("Z")
                    alt = asset[1:] if len(asset) == 4 and asset[0] in "XZ" else asset
                    assets[asset] = {
                        "aclass": "currency", "altname": alt, "decimals": 4 if fiat else 10,
                        "display_decimals": 2 if fiat else 5, "status": "enabled",
                    }  # fmt: skip
            return self._ok(assets)
        if name == "AssetPairs":
            wanted = [p for p in query.get("pair", "").split(",") if p]
            ids = [self._pair(p) for p in wanted] if wanted else list(self.pairs)
            if None in ids:
                return self._err("EQuery:Unknown asset pair")
            return self._ok({i: self._asset_pair(i) for i in ids if i is not None})
        if name == "Ticker":
            wanted = [p for p in query.get("pair", "").split(",") if p] or list(self.pairs)
            result = {}
            for name_ in wanted:
                pair_id = self._pair(name_)
                if pair_id is None:
                    # Get Ticker Information: an unknown pair is "EQuery:Unknown asset pair".
                    return self._err("EQuery:Unknown asset pair")
                last = str(self.prices[self.pairs[pair_id]["symbol"]])
                result[pair_id] = {
                    "a": [last, "1", "1.000"], "b": [last, "1", "1.000"], "c": [last, "0.001"],
                    "v": ["100", "100"], "p": [last, last], "t": [10, 10], "l": [last, last],
                    "h": [last, last], "o": last,
                }  # fmt: skip
            return self._ok(result)
        return self._err("EGeneral:Unknown method", status=404)

    def _asset_pair(self, pair_id: str) -> dict[str, Any]:
        # Get Tradable Asset Pairs: lot_decimals / pair_decimals / tick_size give precision,
        # ordermin the minimum volume (base), costmin the minimum cost (quote).
        info = self.pairs[pair_id]
        tick = self._tick(pair_id)
        return {
            "altname": info["altname"], "wsname": info["wsname"], "aclass_base": "currency",
            "base": info["base"], "aclass_quote": "currency", "quote": info["quote"],
            "lot": "unit", "cost_decimals": 5, "pair_decimals": _places(tick),
            "lot_decimals": self.LOT_DECIMALS, "lot_multiplier": 1, "leverage_buy": [],
            "leverage_sell": [], "fees": [[0, 0.26]], "fees_maker": [[0, 0.16]],
            "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
            "ordermin": str(self.ORDERMIN), "costmin": str(self.COSTMIN),
            "tick_size": str(tick), "status": "online",
        }  # fmt: skip

    # -- auth ------------------------------------------------------------------------------

    def _authenticate(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[dict[str, Any], Reply | None]:
        """Spot REST authentication guide: header API-Key, header API-Sign =
        base64(HMAC-SHA512(base64decode(secret), uri_path + SHA256(nonce + POST data))),
        and an always-increasing ``nonce`` in the POST data."""
        text = body.decode()
        if text.startswith("{"):
            params: dict[str, Any] = json.loads(text)
        else:
            params = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if headers.get("api-key") != KEYS[0]:
            return params, self._err("EAPI:Invalid key")
        nonce = str(params.get("nonce", ""))
        sign = headers.get("api-sign", "")
        if not nonce.isdigit() or not sign:
            return params, self._err("EAPI:Invalid nonce" if sign else "EAPI:Invalid signature")
        digest = hashlib.sha256((nonce + text).encode()).digest()
        expected = hmac.new(
            base64.b64decode(KRAKEN_SECRET), path.encode() + digest, hashlib.sha512
        ).digest()
        if not hmac.compare_digest(base64.b64encode(expected).decode(), sign):
            return params, self._err("EAPI:Invalid signature")
        with self.lock:
            # "EAPI:Invalid nonce": the nonce must exceed the last one used with the key.
            if int(nonce) <= self.last_nonce:
                return params, self._err("EAPI:Invalid nonce")
            self.last_nonce = int(nonce)
        return params, None

    # -- account ---------------------------------------------------------------------------

    def _balances(self, extended: bool) -> dict[str, Any]:
        cash_id = _KRAKEN_ASSETS.get(self.cash_ccy, self.cash_ccy)
        held_quote = sum(
            (Decimal(o["vol"]) * Decimal(o["limit"]) for o in self.all_orders
             if o["status"] == "open" and o["side"] == "buy"),
            start=Decimal(0),
        )  # fmt: skip
        rows = {cash_id: (self.cash, held_quote)}
        for pair in self.pairs.values():
            qty = self.positions.get(pair["symbol"], Decimal(0))
            if qty:
                rows[pair["base"]] = (qty, Decimal(0))
        if extended:
            # BalanceEx: {"ZUSD": {"balance": "...", "hold_trade": "..."}}.
            return {k: {"balance": str(b), "hold_trade": str(h)} for k, (b, h) in rows.items()}
        return {k: str(b) for k, (b, _) in rows.items()}

    # -- orders ----------------------------------------------------------------------------

    def _add_order(self, p: dict[str, Any]) -> Reply:
        cl_ord_id = p.get("cl_ord_id")
        userref = p.get("userref")
        client_id = str(cl_ord_id if cl_ord_id is not None else userref or "") or None
        key = client_id or f"kraken-{uuid.uuid4().hex[:12]}"
        self.posts[key] += 1
        fault = self.next_fault(key)
        if fault == "500":
            return self._err("EGeneral:Internal error", status=500)
        if fault == "429":
            return self._err("EAPI:Rate limit exceeded", status=429)
        pair_id = self._pair(str(p.get("pair", "")))
        if pair_id is None:
            return self._err("EQuery:Unknown asset pair")
        # Spot client order ids guide: cl_ord_id and userref are mutually exclusive.
        if cl_ord_id is not None and userref is not None:
            return self._err("EGeneral:Invalid arguments:cl_ord_id")
        if cl_ord_id is not None:
            cid = str(cl_ord_id)
            # Spot client order ids guide, "Format": a long UUID (32 hex + 4 dashes), a short
            # UUID (32 hex) or free text of at most 18 characters. Anything else is refused
            # with "EGeneral:Invalid arguments".
            free_text = 0 < len(cid) <= 18 and cid.isascii() and cid.isprintable()
            if not (_UUID_LONG.match(cid) or _UUID_SHORT.match(cid) or free_text):
                return self._err("EGeneral:Invalid arguments:cl_ord_id")
            # Guide, "Enforced uniqueness": open orders per client (a filled or cancelled
            # order's cl_ord_id may be used again).
            if any(o["cl_ord_id"] == cid and o["status"] == "open" for o in self.all_orders):
                return self._err(KRAKEN_DUPLICATE_CL_ORD_ID)
        if userref is not None:
            # AddOrder: userref is an int32; no uniqueness is enforced on it (guide table).
            try:
                ref = int(str(userref))
            except ValueError:
                return self._err("EGeneral:Invalid arguments:userref")
            if not -(2**31) <= ref < 2**31:
                return self._err("EGeneral:Invalid arguments:userref")
        side, ordertype = p.get("type"), p.get("ordertype")
        if side not in ("buy", "sell"):
            return self._err("EGeneral:Invalid arguments:type")
        # The fake trades market and limit orders only (AddOrder lists more types).
        if ordertype not in ("market", "limit"):
            return self._err("EGeneral:Invalid arguments:ordertype")
        # AddOrder: timeinforce is GTC (default), IOC or GTD (GTD needs expiretm).
        tif = str(p.get("timeinforce", "GTC"))
        if tif not in ("GTC", "IOC", "GTD") or (tif == "GTD" and not p.get("expiretm")):
            return self._err("EGeneral:Invalid arguments:timeinforce")
        if "viqc" in str(p.get("oflags", "")):
            return self._err("EGeneral:Invalid arguments:viqc")  # volume in quote: not faked
        volume = _dec(p.get("volume"))
        if volume is None or volume <= 0:
            return self._err("EGeneral:Invalid arguments:volume")
        # AssetPairs lot_decimals: the volume may not have more decimals.
        if _places(volume) > self.LOT_DECIMALS:
            return self._err("EGeneral:Invalid arguments:volume")
        # AssetPairs ordermin: "EOrder:Order minimum not met" (errors guide).
        if volume < self.ORDERMIN:
            return self._err("EOrder:Order minimum not met")
        symbol = self.pairs[pair_id]["symbol"]
        market = self.prices[symbol]
        limit: Decimal | None = None
        if ordertype == "limit":
            limit = _dec(p.get("price"))
            if limit is None or limit <= 0:
                return self._err("EGeneral:Invalid arguments:price")
            # AssetPairs tick_size: the price must be a multiple of it.
            if not _multiple(limit, self._tick(pair_id)):
                return self._err("EGeneral:Invalid arguments:price")
        # AssetPairs costmin: "EOrder:Cost minimum not met" (errors guide).
        if volume * (limit or market) < self.COSTMIN:
            return self._err("EOrder:Cost minimum not met")
        if not self.can_afford(symbol, str(side), volume, limit or market):
            return self._err("EOrder:Insufficient funds")
        if str(p.get("validate", "")).lower() == "true":
            return self._ok({"descr": {"order": self._descr(side, volume, pair_id, limit)}})
        # Kraken order ids look like "OUF4EM-FRGI2-MQMWZD" (6-5-6 characters, "O" first).
        raw = "O" + base64.b32encode(uuid.uuid4().bytes).decode()
        txid = f"{raw[:6]}-{raw[6:11]}-{raw[11:17]}"
        now = time.time()
        order: dict[str, Any] = {
            "txid": txid, "client_id": key,
            "cl_ord_id": None if cl_ord_id is None else str(cl_ord_id),
            "userref": None if userref is None else int(str(userref)), "pair": pair_id,
            "symbol": symbol, "side": side, "ordertype": ordertype, "vol": str(volume),
            "limit": str(limit) if limit is not None else "0", "status": "open",
            "vol_exec": "0.00000000", "avg": "0", "opentm": now, "closetm": None,
            "reason": None, "timeinforce": tif,
        }  # fmt: skip
        marketable = limit is None or (limit >= market if side == "buy" else limit <= market)
        if marketable:
            price = self.fill(symbol, str(side), volume)
            order.update(status="closed", vol_exec=str(volume), avg=str(price), closetm=now)
        elif tif == "IOC":
            order.update(status="canceled", closetm=now, reason="Insufficient liquidity")
        self.orders[key] = order
        self.all_orders.append(order)
        self.created.append(key)
        if fault == "500-after":
            return self._err("EGeneral:Internal error", status=500)
        # AddOrder response: {"descr": {"order": "buy 1.25 XBTUSD @ limit 27500.0"},
        # "txid": ["OUF4EM-FRGI2-MQMWZD"]}.
        result = {"descr": {"order": self._descr(side, volume, pair_id, limit)}, "txid": [txid]}
        return 200, {"error": [], "result": result}, fault

    def _descr(self, side: Any, volume: Decimal, pair_id: str, limit: Decimal | None) -> str:
        where = "market" if limit is None else f"limit {limit}"
        return f"{side} {volume:.8f} {self.pairs[pair_id]['altname']} @ {where}"

    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        # Query Orders Info / Get Open Orders: the order object (status pending, open,
        # closed, canceled, expired; vol_exec, cost, fee, price = average price).
        limit = None if o["ordertype"] == "market" else Decimal(o["limit"])
        filled, avg = Decimal(o["vol_exec"]), Decimal(o["avg"])
        out = {
            "refid": None, "userref": o["userref"], "status": o["status"], "reason": o["reason"],
            "opentm": o["opentm"], "starttm": 0, "expiretm": 0,
            "descr": {
                "pair": self.pairs[o["pair"]]["altname"], "type": o["side"],
                "ordertype": o["ordertype"], "price": o["limit"], "price2": "0",
                "leverage": "none", "close": "",
                "order": self._descr(o["side"], Decimal(o["vol"]), o["pair"], limit),
            },
            "vol": f"{Decimal(o['vol']):.8f}", "vol_exec": f"{filled:.8f}",
            "cost": f"{filled * avg:.5f}", "fee": "0.00000", "price": f"{avg:.5f}",
            "stopprice": "0.00000", "limitprice": "0.00000", "misc": "", "oflags": "fciq",
        }  # fmt: skip
        if o["cl_ord_id"] is not None:
            out["cl_ord_id"] = o["cl_ord_id"]
        if o["closetm"] is not None:
            out["closetm"] = o["closetm"]
        return out

    def _listing(self, p: dict[str, Any], open_: bool) -> dict[str, Any]:
        # OpenOrders / ClosedOrders take optional userref and cl_ord_id filters.
        out = {}
        for o in self.all_orders:
            if (o["status"] in ("open", "pending")) != open_:
                continue
            if "userref" in p and str(o["userref"]) != str(p["userref"]):
                continue
            if "cl_ord_id" in p and o["cl_ord_id"] != str(p["cl_ord_id"]):
                continue
            out[o["txid"]] = self._order_json(o)
        return out

    def _cancel(self, p: dict[str, Any]) -> Reply:
        # CancelOrder: txid is a Kraken order id or a userref (cancels every open order with
        # that userref); cl_ord_id cancels by client order id. Unknown: "EOrder:Unknown order".
        txid, cl = p.get("txid"), p.get("cl_ord_id")
        if (txid is None) == (cl is None):
            return self._err("EGeneral:Invalid arguments")
        hits = [
            o for o in self.all_orders
            if (cl is not None and o["cl_ord_id"] == str(cl))
            or (txid is not None and (o["txid"] == str(txid) or str(o["userref"]) == str(txid)))
        ]  # fmt: skip
        if not hits:
            return self._err("EOrder:Unknown order")
        count = 0
        for o in hits:
            if o["status"] in ("open", "pending"):
                o.update(status="canceled", closetm=time.time(), reason="User requested")
                count += 1
        return self._ok({"count": count})


# --------------------------------------------------------------------------------------------
# OKX
# --------------------------------------------------------------------------------------------

_CL_ORD_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_OKX_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class FakeOKX(_Venue):
    """OKX v5 (https://www.okx.com/docs-v5/en/): public ``time``, ``instruments``,
    ``market/ticker(s)``; private ``asset/currencies``, ``account/balance``,
    ``trade/order`` (POST, GET), ``trade/batch-orders``, ``trade/cancel-order``,
    ``trade/orders-pending``, ``trade/orders-history``. Spot instruments only; the instId is
    ``BASE-QUOTE`` of the unified symbol (``BTC/USD`` -> ``BTC-USD``, ``BTC/USDT`` ->
    ``BTC-USDT``)."""

    TICK = Decimal("0.1")
    LOT = Decimal("0.00000001")
    MIN_SZ = Decimal("0.00001")

    def __init__(
        self, prices: dict[str, Decimal] | None = None, cash: Decimal = Decimal(1_000_000)
    ):
        super().__init__(prices, cash)
        self.inst = {s.replace("/", "-"): s for s in self.prices}
        self.next_id = 600_000_000_000_000_000

    @staticmethod
    def _fail(http: int, code: str, msg: str) -> Reply:
        # REST error: {"code": "<code>", "msg": "<text>", "data": []} (Error Code section;
        # the HTTP status is the one listed there, 401 for auth, 400 for parameters).
        return http, {"code": code, "msg": msg, "data": []}, None

    @staticmethod
    def _ok(data: list[Any]) -> Reply:
        return 200, {"code": "0", "msg": "", "data": data}, None

    def serve(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> Reply:
        now_ms = str(int(time.time() * 1000))
        if path == "/api/v5/public/time":
            return self._ok([{"ts": now_ms}])
        if path == "/api/v5/public/instruments":
            # Get instruments: instType is required (50014 when missing).
            kind = query.get("instType")
            if not kind:
                return self._fail(400, "50014", "Parameter instType can not be empty")
            rows = [self._instrument(i) for i in self.inst] if kind == "SPOT" else []
            if query.get("instId"):
                rows = [r for r in rows if r["instId"] == query["instId"]]
            return self._ok(rows)
        if path in ("/api/v5/market/ticker", "/api/v5/market/tickers"):
            ids = list(self.inst) if path.endswith("tickers") else [query.get("instId", "")]
            if ids and ids[0] not in self.inst:
                return self._fail(400, "51001", "Instrument ID does not exist")
            return self._ok([self._ticker(i, now_ms) for i in ids])
        if not path.startswith("/api/v5/"):
            return self._fail(404, "50000", "Not found")
        refusal = self._authenticate(method, headers, body)
        if refusal is not None:
            return refusal
        with self.lock:
            return self._private(method, path, query, body)

    def _authenticate(self, method: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """REST Authentication: OK-ACCESS-KEY, OK-ACCESS-SIGN, OK-ACCESS-TIMESTAMP (ISO,
        UTC, ms) and OK-ACCESS-PASSPHRASE; sign = base64(HMAC-SHA256(secret,
        timestamp + method + requestPath + body)), requestPath with its query string.
        Error codes 50102-50113."""
        key, sign = headers.get("ok-access-key"), headers.get("ok-access-sign")
        stamp, phrase = headers.get("ok-access-timestamp"), headers.get("ok-access-passphrase")
        if not key:
            return self._fail(401, "50103", 'Request header "OK-ACCESS-KEY" cannot be empty')
        if not phrase:
            return self._fail(401, "50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty')
        if not sign:
            return self._fail(401, "50106", 'Request header "OK-ACCESS-SIGN" cannot be empty')
        if not stamp:
            return self._fail(401, "50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty')
        if not _OKX_TS.match(stamp):
            return self._fail(401, "50112", "Invalid OK-ACCESS-TIMESTAMP")
        sent = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
        # "Requests ... will expire 30 seconds after the timestamp" (50102).
        if abs(time.time() - sent) > 30:
            return self._fail(401, "50102", "Timestamp request expired")
        if key != KEYS[0]:
            return self._fail(401, "50111", "Invalid OK-ACCESS-KEY")
        if phrase != PASSPHRASE:
            return self._fail(401, "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect')
        target = headers.get("x-fake-raw-target", "")
        prehash = stamp + method + target + body.decode()
        expected = base64.b64encode(
            hmac.new(KEYS[1].encode(), prehash.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, sign):
            return self._fail(401, "50113", "Invalid Sign")
        return None

    def _private(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if path == "/api/v5/asset/currencies":
            ccys = {c for i in self.inst for c in i.split("-")}
            return self._ok(
                [
                    {"ccy": c, "chain": f"{c}-{c}", "name": c, "canDep": True, "canWd": True,
                     "canInternal": True, "minWd": "0.001", "maxWd": "1000", "minFee": "0",
                     "maxFee": "0", "mainNet": True, "wdTickSz": "8"}
                    for c in sorted(ccys)
                ]
            )  # fmt: skip
        if path == "/api/v5/account/balance":
            return self._ok([self._balance()])
        if path == "/api/v5/trade/order" and method == "POST":
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                return self._fail(400, "50002", "JSON syntax error")
            return self._place([data])
        if path == "/api/v5/trade/batch-orders" and method == "POST":
            data = json.loads(body or b"[]")
            # Place multiple orders: "at most 20 orders can be placed per request".
            if not isinstance(data, list) or not 1 <= len(data) <= 20:
                return self._fail(400, "51000", "Parameter data error")
            return self._place(data)
        if path == "/api/v5/trade/order":
            found, refusal = self._find(query)
            return refusal if found is None else self._ok([self._order_json(found)])
        if path == "/api/v5/trade/cancel-order" and method == "POST":
            return self._cancel(json.loads(body or b"{}"))
        if path == "/api/v5/trade/orders-pending":
            rows = [o for o in self._filtered(query) if o["state"] in ("live", "partially_filled")]
            return self._ok([self._order_json(o) for o in reversed(rows)])
        if path == "/api/v5/trade/orders-history":
            # Get order history (last 7 days): instType required; state filled | canceled.
            if not query.get("instType"):
                return self._fail(400, "50014", "Parameter instType can not be empty")
            states = [query["state"]] if query.get("state") else ["filled", "canceled"]
            rows = [o for o in self._filtered(query) if o["state"] in states]
            return self._ok([self._order_json(o) for o in reversed(rows)])
        return self._fail(404, "50000", f"no route {method} {path}")

    def _instrument(self, inst_id: str) -> dict[str, Any]:
        base, quote = inst_id.split("-")
        return {
            "instType": "SPOT", "instId": inst_id, "uly": "", "instFamily": "",
            "baseCcy": base, "quoteCcy": quote, "settleCcy": "", "ctVal": "", "ctMult": "",
            "ctValCcy": "", "optType": "", "stk": "", "listTime": "1606468572000",
            "expTime": "", "lever": "", "tickSz": str(self.TICK), "lotSz": str(self.LOT),
            "minSz": str(self.MIN_SZ), "ctType": "", "alias": "", "state": "live",
            "maxLmtSz": "9999999999", "maxMktSz": "1000000", "maxLmtAmt": "20000000",
            "maxMktAmt": "1000000", "maxTwapSz": "", "maxIcebergSz": "", "maxTriggerSz": "",
            "maxStopSz": "", "ruleType": "normal",
        }  # fmt: skip

    def _ticker(self, inst_id: str, now_ms: str) -> dict[str, Any]:
        last = str(self.prices[self.inst[inst_id]])
        return {
            "instType": "SPOT", "instId": inst_id, "last": last, "lastSz": "0.1",
            "askPx": last, "askSz": "1", "bidPx": last, "bidSz": "1", "open24h": last,
            "high24h": last, "low24h": last, "volCcy24h": "100", "vol24h": "100",
            "ts": now_ms, "sodUtc0": last, "sodUtc8": last,
        }  # fmt: skip

    def _balance(self) -> dict[str, Any]:
        # Get balance (trading account): details per ccy with eq, cashBal, availBal,
        # frozenBal, ordFrozen.
        frozen: dict[str, Decimal] = {}
        for o in self.all_orders:
            if o["state"] == "live":
                base, quote = o["instId"].split("-")
                ccy, amount = (
                    (quote, Decimal(o["sz"]) * Decimal(o["px"]))
                    if o["side"] == "buy"
                    else (base, Decimal(o["sz"]))
                )
                frozen[ccy] = frozen.get(ccy, Decimal(0)) + amount
        rows = {self.cash_ccy: self.cash}
        for symbol, qty in self.positions.items():
            if qty:
                rows[_split(symbol)[0]] = qty
        now_ms = str(int(time.time() * 1000))
        details = [
            {"ccy": c, "eq": str(q), "cashBal": str(q), "availBal": str(q - frozen.get(c, 0)),
             "availEq": str(q - frozen.get(c, 0)), "frozenBal": str(frozen.get(c, 0)),
             "ordFrozen": str(frozen.get(c, 0)), "uTime": now_ms, "upl": "0", "disEq": str(q),
             "eqUsd": str(q)}
            for c, q in rows.items()
        ]  # fmt: skip
        return {"uTime": now_ms, "totalEq": str(self.cash), "adjEq": "", "details": details}

    def _place(self, requests: list[Any]) -> Reply:
        # Place order / batch: per-order result {clOrdId, ordId, tag, ts, sCode, sMsg};
        # top-level code "0" all placed, "1" all failed, "2" some failed (HTTP 200).
        results: list[dict[str, Any]] = []
        fault: str | None = None
        for req in requests:
            if not isinstance(req, dict):
                return self._fail(400, "50002", "JSON syntax error")
            cid = str(req.get("clOrdId", ""))
            key = cid or f"okx-{uuid.uuid4().hex[:12]}"
            self.posts[key] += 1
            fault = self.next_fault(key)
            if fault == "500":
                return self._fail(500, "50026", "System error, please try again later.")
            if fault == "429":
                return self._fail(429, "50011", "Too Many Requests")
            s_code, s_msg, order = self._new_order(req, cid, key)
            results.append(
                {"clOrdId": cid, "ordId": order["ordId"] if order else "",
                 "tag": req.get("tag", ""), "ts": str(int(time.time() * 1000)),
                 "sCode": s_code, "sMsg": s_msg}
            )  # fmt: skip
            if fault == "500-after" and order is not None:
                return self._fail(500, "50026", "System error, please try again later.")
        failed = sum(r["sCode"] != "0" for r in results)
        code = "0" if not failed else "1" if failed == len(results) else "2"
        msg = (
            ""
            if code == "0"
            else "All operations failed"
            if code == "1"
            else "Batch partially succeeded"
        )
        return 200, {"code": code, "msg": msg, "data": results, "inTime": "", "outTime": ""}, fault

    def _new_order(
        self, r: dict[str, Any], cid: str, key: str
    ) -> tuple[str, str, dict[str, Any] | None]:
        inst_id = str(r.get("instId", ""))
        if inst_id not in self.inst:
            return "51001", "Instrument ID does not exist", None
        # Place order, clOrdId: "a combination of case-sensitive alphanumerics, all numbers,
        # or all letters of up to 32 characters".
        if "clOrdId" in r and not _CL_ORD_ID.match(cid):
            return "51000", "Parameter clOrdId error", None
        # 51016 "Duplicated clOrdId". ASSUMPTION: checked against every order of the account
        # (the docs do not limit it to live orders).
        if cid and any(o["clOrdId"] == cid for o in self.all_orders):
            return "51016", "Duplicated clOrdId", None
        # Place order, tdMode: spot in a cash (non-margin) account trades with "cash".
        if r.get("tdMode") != "cash":
            return "51000", "Parameter tdMode error", None
        side = r.get("side")
        if side not in ("buy", "sell"):
            return "51000", "Parameter side error", None
        # Place order, ordType: market, limit, post_only, fok, ioc, optimal_limit_ioc, ...
        # (time in force is carried by ordType; the fake trades these five).
        ord_type = r.get("ordType")
        if ord_type not in ("market", "limit", "post_only", "fok", "ioc"):
            return "51000", "Parameter ordType error", None
        symbol = self.inst[inst_id]
        market = self.prices[symbol]
        sz = _dec(r.get("sz"))
        if sz is None or sz <= 0:
            return "51000", "Parameter sz error", None
        # Place order, tgtCcy (spot market orders): base_ccy (default for sells) or
        # quote_ccy (default for buys) -- sz is then an amount of quote currency.
        tgt = r.get("tgtCcy") or (
            "quote_ccy" if ord_type == "market" and side == "buy" else "base_ccy"
        )
        if ord_type != "market" and tgt == "quote_ccy":
            return "51000", "Parameter tgtCcy error", None
        qty = sz if tgt == "base_ccy" else (sz / market).quantize(self.LOT)
        if tgt == "base_ccy" and not _multiple(sz, self.LOT):
            return "51121", "Order quantity must be a multiple of the lot size.", None
        if qty < self.MIN_SZ:
            return "51020", "Order amount should be greater than the min available amount.", None
        px: Decimal | None = None
        if ord_type != "market":
            px = _dec(r.get("px"))
            if px is None or px <= 0:
                return "51000", "Parameter px error", None
            if not _multiple(px, self.TICK):  # instrument tickSz
                return "51000", "Parameter px error", None
        if not self.can_afford(symbol, str(side), qty, px or market):
            return "51008", "Order failed. Insufficient balance.", None
        self.next_id += 1
        now = str(int(time.time() * 1000))
        order: dict[str, Any] = {
            "instId": inst_id, "symbol": symbol, "ordId": str(self.next_id), "clOrdId": cid,
            "tag": r.get("tag", ""), "px": str(px) if px is not None else "", "sz": str(sz),
            "qty": str(qty), "ordType": ord_type, "side": side, "tdMode": "cash",
            "tgtCcy": tgt if ord_type == "market" else "", "state": "live", "accFillSz": "0",
            "avgPx": "", "fillPx": "", "cTime": now, "uTime": now, "cancelSource": "",
        }  # fmt: skip
        crosses = px is None or (px >= market if side == "buy" else px <= market)
        if ord_type == "post_only" and crosses:
            # post_only that would take liquidity is cancelled (Place order, ordType).
            order.update(state="canceled", cancelSource="31")
        elif crosses:
            price = self.fill(symbol, str(side), qty)
            order.update(state="filled", accFillSz=str(qty), avgPx=str(price), fillPx=str(price))
        elif ord_type in ("fok", "ioc"):
            order.update(state="canceled", cancelSource="14")
        self.orders[key] = order
        self.all_orders.append(order)
        self.created.append(key)
        return "0", "Order placed", order

    def _find(self, q: dict[str, str]) -> tuple[dict[str, Any] | None, Reply]:
        # Get order details: instId required, ordId or clOrdId (ordId wins); 51603
        # "Order does not exist".
        if not q.get("instId"):
            return None, self._fail(400, "50014", "Parameter instId can not be empty")
        if not q.get("ordId") and not q.get("clOrdId"):
            return None, self._fail(400, "50015", "Either parameter ordId or clOrdId is required")
        for o in reversed(self.all_orders):
            same = o["ordId"] == q["ordId"] if q.get("ordId") else o["clOrdId"] == q["clOrdId"]
            if same and o["instId"] == q["instId"]:
                return o, self._ok([])
        return None, self._fail(200, "51603", "Order does not exist")

    def _filtered(self, q: dict[str, str]) -> list[dict[str, Any]]:
        if q.get("instType") not in (None, "", "SPOT"):
            return []
        return [o for o in self.all_orders if q.get("instId") in (None, "", o["instId"])]

    def _cancel(self, r: dict[str, Any]) -> Reply:
        # Cancel order: instId + ordId or clOrdId; 51400 does not exist, 51401 already
        # canceled, 51402 already completed.
        order, refusal = self._find({k: str(v) for k, v in r.items()})
        if order is None:
            if refusal[1].get("code") != "51603":
                return refusal
            code, msg = "51400", "Order cancellation failed as the order does not exist."
        elif order["state"] == "canceled":
            code, msg = "51401", "Order cancellation failed as the order is already canceled."
        elif order["state"] == "filled":
            code, msg = "51402", "Order cancellation failed as the order is already completed."
        else:
            order.update(state="canceled", cancelSource="1", uTime=str(int(time.time() * 1000)))
            code, msg = "0", ""
        row = {"clOrdId": str(r.get("clOrdId", order["clOrdId"] if order else "")),
               "ordId": order["ordId"] if order else str(r.get("ordId", "")),
               "sCode": code, "sMsg": msg, "ts": str(int(time.time() * 1000))}  # fmt: skip
        return 200, {"code": "0" if code == "0" else "1", "msg": "", "data": [row]}, None

    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        # Get order details: the order object.
        return {
            "instType": "SPOT", "instId": o["instId"], "tgtCcy": o["tgtCcy"], "ccy": "",
            "ordId": o["ordId"], "clOrdId": o["clOrdId"], "tag": o["tag"], "px": o["px"],
            "pxUsd": "", "pxVol": "", "pxType": "", "sz": o["sz"], "pnl": "0",
            "ordType": o["ordType"], "side": o["side"], "posSide": "net",
            "tdMode": o["tdMode"], "accFillSz": o["accFillSz"], "fillPx": o["fillPx"],
            "tradeId": "", "fillSz": o["accFillSz"], "fillTime": o["uTime"] if o["fillPx"] else "",
            "avgPx": o["avgPx"], "state": o["state"], "stpId": "", "stpMode": "",
            "lever": "", "attachAlgoClOrdId": "", "tpTriggerPx": "", "tpTriggerPxType": "",
            "tpOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "", "slOrdPx": "",
            "attachAlgoOrds": [], "feeCcy": o["instId"].split("-")[0], "fee": "0",
            "rebateCcy": "", "source": "", "rebate": "0", "category": "normal",
            "reduceOnly": "false", "isTpLimit": "false", "cancelSource": o["cancelSource"],
            "cancelSourceReason": "", "quickMgnType": "", "algoClOrdId": "", "algoId": "",
            "uTime": o["uTime"], "cTime": o["cTime"],
        }  # fmt: skip


# --------------------------------------------------------------------------------------------
# Coinbase Advanced Trade
# --------------------------------------------------------------------------------------------


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


class FakeCoinbase(_Venue):
    """Coinbase Advanced Trade v3 (https://docs.cdp.coinbase.com/advanced-trade/), plus the
    public v2 ``currencies``, ``currencies/crypto``, ``exchange-rates`` and ``time`` that
    ccxt.coinbase loads with its markets. Product ids are ``BASE-QUOTE`` (``BTC-USD``)."""

    BASE_INCREMENT = Decimal("0.00000001")
    BASE_MIN = Decimal("0.00000001")
    QUOTE_INCREMENT = Decimal("0.01")
    QUOTE_MIN = Decimal("1")
    CONFIGS = (
        "market_market_ioc", "limit_limit_gtc", "limit_limit_gtd", "limit_limit_fok",
        "sor_limit_ioc",
    )  # fmt: skip

    def __init__(
        self, prices: dict[str, Decimal] | None = None, cash: Decimal = Decimal(1_000_000)
    ):
        super().__init__(prices, cash)
        self.products = {s.replace("/", "-"): s for s in self.prices}
        self.public_key = _COINBASE_KEY.public_key()

    @staticmethod
    def _error(http: int, error: str, message: str) -> Reply:
        # Advanced Trade errors: {"error": "...", "error_details": "...", "message": "..."}.
        return http, {"error": error, "error_details": message, "message": message}, None

    def serve(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> Reply:
        now = time.time()
        if path == "/v2/time":
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            return 200, {"data": {"iso": stamp, "epoch": int(now)}}, None
        if path == "/api/v3/brokerage/time":
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            return 200, {"iso": stamp, "epochSeconds": str(int(now)),
                         "epochMillis": str(int(now * 1000))}, None  # fmt: skip
        if path == "/v2/accounts":
            # Coinbase App API v2 "List accounts" (ccxt's default for fetch_balance); it takes
            # the same CDP JWT.
            if not self._authorized(method, path, headers):
                return 401, None, None
            with self.lock:
                return 200, self._v2_accounts(), None
        if path.startswith("/v2/"):
            return self._v2_public(path)
        if path.startswith("/api/v3/brokerage/market/"):
            return self._products_api(path.removeprefix("/api/v3/brokerage/market"), query)
        if not path.startswith("/api/v3/brokerage/"):
            return self._error(404, "NOT_FOUND", "Not Found")
        if not self._authorized(method, path, headers):
            # 401 Unauthorized; the real service answers with a plain "Unauthorized" body.
            return 401, None, None
        with self.lock:
            return self._private(method, path.removeprefix("/api/v3/brokerage"), query, body)

    def _authorized(self, method: str, path: str, headers: dict[str, str]) -> bool:
        """CDP API key authentication (Advanced Trade "API key authentication"): header
        ``Authorization: Bearer <JWT>``; the JWT is ES256 with header ``kid`` = key name and
        a ``nonce``, claims ``sub`` = key name, ``iss`` "cdp" (ccxt sends the older
        "coinbase-cloud"), ``nbf``/``exp`` two minutes apart and ``uri`` =
        "METHOD host/path". The host cannot be api.coinbase.com here, so any host is taken.
        Legacy CB-ACCESS-* HMAC keys are not Advanced Trade keys: refused."""
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        try:
            head_b64, claims_b64, sig_b64 = auth.removeprefix("Bearer ").split(".")
            head = json.loads(_b64url(head_b64))
            claims = json.loads(_b64url(claims_b64))
            raw = _b64url(sig_b64)
        except (ValueError, json.JSONDecodeError):
            return False
        if head.get("alg") != "ES256" or head.get("kid") != COINBASE_KEY_NAME:
            return False
        if not head.get("nonce") or len(raw) != 64:
            return False
        now = time.time()
        if claims.get("sub") != COINBASE_KEY_NAME or claims.get("iss") not in (
            "cdp",
            "coinbase-cloud",
        ):
            return False
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(nbf, int) or not isinstance(exp, int):
            return False
        if not nbf - 5 <= now <= exp or exp - nbf > 120:
            return False
        uri = str(claims.get("uri", ""))
        verb, _, target = uri.partition(" ")
        target = re.sub(r"^https?://", "", target)
        if verb != method or "/" not in target or target[target.index("/") :] != path:
            return False
        signature = encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        try:
            self.public_key.verify(
                signature, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            return False
        return True

    def _v2_public(self, path: str) -> Reply:
        ccys = {c for p in self.products for c in p.split("-")}
        fiat = sorted(c for c in ccys if c in ("USD", "EUR", "GBP"))
        crypto = sorted(ccys - set(fiat))
        if path == "/v2/currencies":
            return 200, {"data": [{"id": c, "name": c, "min_size": "0.01"} for c in fiat]}, None
        if path == "/v2/currencies/crypto":
            return 200, {
                "data": [
                    {"code": c, "name": c, "color": "#F7931A", "sort_index": 100, "exponent": 8,
                     "type": "crypto", "address_regex": ".*",
                     "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, c))}
                    for c in crypto
                ]
            }, None  # fmt: skip
        if path == "/v2/exchange-rates":
            rates = {
                c: str(1 / self.prices[f"{c}/USD"]) for c in crypto if f"{c}/USD" in self.prices
            }
            return 200, {"data": {"currency": "USD", "rates": {"USD": "1", **rates}}}, None
        return 404, {"errors": [{"id": "not_found", "message": "Not found"}]}, None

    def _v2_accounts(self) -> dict[str, Any]:
        # v2 List accounts: {"pagination": {...}, "data": [{id, name, primary, type
        # ("wallet" | "fiat"), currency {code, ...}, balance {amount, currency}, ...}]}.
        rows = {self.cash_ccy: self.cash}
        for symbol, qty in self.positions.items():
            if qty:
                rows[_split(symbol)[0]] = qty
        data = [
            {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, c)), "name": f"{c} Wallet",
             "primary": c == self.cash_ccy,
             "type": "fiat" if c == self.cash_ccy else "wallet",
             "currency": {"code": c, "name": c, "type": "fiat" if c == self.cash_ccy else "crypto"},
             "balance": {"amount": str(q), "currency": c},
             "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
             "resource": "account", "resource_path": f"/v2/accounts/{c}"}
            for c, q in rows.items()
        ]  # fmt: skip
        pagination = {"ending_before": None, "starting_after": None, "limit": 250,
                      "order": "desc", "previous_uri": None, "next_uri": None}  # fmt: skip
        return {"pagination": pagination, "data": data}

    def _product(self, pid: str) -> dict[str, Any]:
        base, quote = pid.split("-")
        return {
            "product_id": pid, "price": str(self.prices[self.products[pid]]),
            "price_percentage_change_24h": "0", "volume_24h": "100",
            "volume_percentage_change_24h": "0", "base_increment": str(self.BASE_INCREMENT),
            "quote_increment": str(self.QUOTE_INCREMENT), "quote_min_size": str(self.QUOTE_MIN),
            "quote_max_size": "150000000", "base_min_size": str(self.BASE_MIN),
            "base_max_size": "3400", "base_name": base, "quote_name": quote, "watched": False,
            "is_disabled": False, "new": False, "status": "online", "cancel_only": False,
            "limit_only": False, "post_only": False, "trading_disabled": False,
            "auction_mode": False, "product_type": "SPOT", "quote_currency_id": quote,
            "base_currency_id": base, "fcm_trading_session_details": None,
            "mid_market_price": "", "alias": "", "alias_to": [], "base_display_symbol": base,
            "quote_display_symbol": quote, "view_only": False,
            "price_increment": str(self.QUOTE_INCREMENT), "display_name": f"{base}-{quote}",
            "product_venue": "CBE",
        }  # fmt: skip

    def _products_api(self, path: str, query: dict[str, str]) -> Reply:
        # List products / Get product / Get market trades (ticker) / best bid-ask; the same
        # shapes under /market (public) and without it (private).
        if path == "/products":
            if query.get("product_type", "SPOT") != "SPOT":
                return 200, {"products": [], "num_products": 0}, None
            rows = [self._product(p) for p in self.products]
            return 200, {"products": rows, "num_products": len(rows)}, None
        match = re.fullmatch(r"/products/([^/]+)(/ticker)?", path)
        if match:
            pid = match.group(1)
            if pid not in self.products:
                # Unknown product: 404 NOT_FOUND (Get Product).
                return self._error(404, "NOT_FOUND", "ProductID is invalid")
            if not match.group(2):
                return 200, self._product(pid), None
            last = str(self.prices[self.products[pid]])
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            trade = {"trade_id": "1", "product_id": pid, "price": last, "size": "0.01",
                     "time": stamp, "side": "BUY", "bid": last, "ask": last}  # fmt: skip
            return 200, {"trades": [trade], "best_bid": last, "best_ask": last}, None
        if path == "/best_bid_ask":
            books = [
                {"product_id": p, "bids": [{"price": str(self.prices[s]), "size": "1"}],
                 "asks": [{"price": str(self.prices[s]), "size": "1"}],
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                for p, s in self.products.items()
                if not query.get("product_ids") or p in query["product_ids"].split(",")
            ]  # fmt: skip
            return 200, {"pricebooks": books}, None
        return self._error(404, "NOT_FOUND", "Not Found")

    def _private(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if path == "/transaction_summary":
            return 200, {
                "total_volume": 0, "total_fees": 0, "fee_tier": {
                    "pricing_tier": "Advanced 1", "usd_from": "0", "usd_to": "1000",
                    "taker_fee_rate": "0.006", "maker_fee_rate": "0.004"},
                "margin_rate": None, "goods_and_services_tax": None,
                "advanced_trade_only_volume": 0, "advanced_trade_only_fees": 0,
                "coinbase_pro_volume": 0, "coinbase_pro_fees": 0,
            }, None  # fmt: skip
        if path == "/accounts":
            return 200, self._accounts(), None
        if path.startswith("/products") or path == "/best_bid_ask":
            return self._products_api(path, query)
        if path == "/orders" and method == "POST":
            return self._create(json.loads(body or b"{}"))
        if path == "/orders/batch_cancel" and method == "POST":
            return self._batch_cancel(json.loads(body or b"{}"))
        if path == "/orders/historical/batch":
            return 200, self._list_orders(query), None
        match = re.fullmatch(r"/orders/historical/([^/]+)", path)
        if match:
            found = next((o for o in self.all_orders if o["order_id"] == match.group(1)), None)
            if found is None:
                # Get Order: unknown id is a 404 NOT_FOUND.
                return self._error(404, "NOT_FOUND", "order with this orderID was not found")
            return 200, {"order": self._order_json(found)}, None
        return self._error(404, "NOT_FOUND", "Not Found")

    def _accounts(self) -> dict[str, Any]:
        # List Accounts: uuid, currency, available_balance {value, currency}, hold, ...
        held: dict[str, Decimal] = {}
        for o in self.all_orders:
            if o["status"] == "OPEN":
                base, quote = o["product_id"].split("-")
                size, px = Decimal(o["base_size"]), Decimal(o["limit_price"])
                ccy, amount = (quote, size * px) if o["side"] == "BUY" else (base, size)
                held[ccy] = held.get(ccy, Decimal(0)) + amount
        rows = {self.cash_ccy: self.cash}
        for symbol, qty in self.positions.items():
            if qty:
                rows[_split(symbol)[0]] = qty
        accounts = [
            {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, c)), "name": f"{c} Wallet",
             "currency": c, "available_balance": {"value": str(q - held.get(c, 0)), "currency": c},
             "default": True, "active": True, "created_at": "2024-01-01T00:00:00Z",
             "updated_at": "2024-01-01T00:00:00Z", "deleted_at": None,
             "type": "ACCOUNT_TYPE_FIAT" if c == self.cash_ccy else "ACCOUNT_TYPE_CRYPTO",
             "ready": True, "hold": {"value": str(held.get(c, 0)), "currency": c},
             "retail_portfolio_id": "11111111-1111-1111-1111-111111111111"}
            for c, q in rows.items()
        ]  # fmt: skip
        return {"accounts": accounts, "has_next": False, "cursor": "", "size": len(accounts)}

    @staticmethod
    def _refuse(req: dict[str, Any], error: str, message: str, preview: str = "") -> Reply:
        # Create Order: a refused order is HTTP 200 with success false and error_response
        # {error (a FailureReason), message, error_details, preview_failure_reason}.
        return 200, {
            "success": False, "failure_reason": error, "order_id": "",
            "error_response": {
                "error": error, "message": message, "error_details": message,
                "preview_failure_reason": preview or "UNKNOWN_PREVIEW_FAILURE_REASON",
                "new_order_failure_reason": "UNKNOWN_FAILURE_REASON"},
            "order_configuration": req.get("order_configuration"),
        }, None  # fmt: skip

    def _create(self, req: dict[str, Any]) -> Reply:
        cid = str(req.get("client_order_id", ""))
        key = cid or f"coinbase-{uuid.uuid4().hex[:12]}"
        self.posts[key] += 1
        fault = self.next_fault(key)
        if fault == "500":
            return self._error(500, "INTERNAL", "internal error")
        if fault == "429":
            return self._error(429, "RESOURCE_EXHAUSTED", "Too many requests")
        if not cid:
            # Create Order: client_order_id is required.
            return self._error(400, "INVALID_ARGUMENT", "client_order_id is required")
        # Create Order, client_order_id: "If the ID provided is not unique, the order will
        # not be created and the order with this ID will be returned instead."
        existing = next((o for o in self.all_orders if o["client_order_id"] == cid), None)
        if existing is not None:
            return 200, self._success(existing), None
        pid = str(req.get("product_id", ""))
        if pid not in self.products:
            return self._refuse(req, "INVALID_PRODUCT_ID", "Invalid product_id")
        side = req.get("side")
        if side not in ("BUY", "SELL"):
            return self._refuse(req, "INVALID_SIDE", "Invalid side")
        config = req.get("order_configuration")
        if not isinstance(config, dict) or len(config) != 1:
            return self._refuse(
                req, "UNSUPPORTED_ORDER_CONFIGURATION", "Invalid order configuration"
            )
        ((kind, conf),) = config.items()
        # Order configurations faked: market_market_ioc, limit_limit_gtc, limit_limit_gtd,
        # limit_limit_fok, sor_limit_ioc (the others in the reference are refused here).
        if kind not in self.CONFIGS or not isinstance(conf, dict):
            return self._refuse(
                req, "UNSUPPORTED_ORDER_CONFIGURATION", "Unsupported order configuration"
            )
        symbol = self.products[pid]
        market = self.prices[symbol]
        base_size, quote_size = _dec(conf.get("base_size")), _dec(conf.get("quote_size"))
        limit = _dec(conf.get("limit_price")) if kind != "market_market_ioc" else None
        if kind != "market_market_ioc":
            if limit is None or limit <= 0:
                return self._refuse(req, "INVALID_LIMIT_PRICE", "Invalid limit price")
            # Product quote_increment / price_increment: price precision.
            if not _multiple(limit, self.QUOTE_INCREMENT):
                return self._refuse(req, "INVALID_PRICE_PRECISION", "Invalid price precision",
                                    "PREVIEW_INVALID_PRICE_PRECISION")  # fmt: skip
            if kind == "limit_limit_gtd" and not conf.get("end_time"):
                return self._refuse(req, "INVALID_ARGUMENT", "end_time is required")
        if (base_size is None) == (quote_size is None):
            return self._refuse(req, "INVALID_ARGUMENT", "exactly one of base_size or quote_size")
        if quote_size is not None:
            if kind != "market_market_ioc" or side != "BUY":
                return self._refuse(req, "INVALID_ARGUMENT", "quote_size is for market buys")
            if not _multiple(quote_size, self.QUOTE_INCREMENT):
                return self._refuse(req, "INVALID_SIZE_PRECISION", "Invalid size precision",
                                    "PREVIEW_INVALID_QUOTE_SIZE_PRECISION")  # fmt: skip
            # Product quote_min_size.
            if quote_size < self.QUOTE_MIN:
                return self._refuse(req, "INVALID_ARGUMENT", "quote size too small",
                                    "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL")  # fmt: skip
            qty = (quote_size / market).quantize(self.BASE_INCREMENT)
        else:
            assert base_size is not None
            # Product base_increment / base_min_size.
            if not _multiple(base_size, self.BASE_INCREMENT):
                return self._refuse(req, "INVALID_SIZE_PRECISION", "Invalid size precision",
                                    "PREVIEW_INVALID_BASE_SIZE_PRECISION")  # fmt: skip
            if base_size < self.BASE_MIN or base_size * (limit or market) < self.QUOTE_MIN:
                return self._refuse(req, "INVALID_ARGUMENT", "size too small",
                                    "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL")  # fmt: skip
            qty = base_size
        lower = "buy" if side == "BUY" else "sell"
        if not self.can_afford(symbol, lower, qty, limit or market):
            return self._refuse(req, "INSUFFICIENT_FUND", "Insufficient balance in source account",
                                "PREVIEW_INSUFFICIENT_FUND")  # fmt: skip
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        order: dict[str, Any] = {
            "order_id": str(uuid.uuid4()), "client_order_id": cid, "product_id": pid,
            "symbol": symbol, "side": side, "kind": kind, "config": config,
            "base_size": str(qty), "limit_price": str(limit) if limit is not None else "",
            "status": "OPEN", "filled_size": "0", "average_filled_price": "0",
            "created_time": now, "last_fill_time": None,
        }  # fmt: skip
        crosses = limit is None or (limit >= market if side == "BUY" else limit <= market)
        post_only = bool(conf.get("post_only"))
        if crosses and post_only:
            # post_only limit that would take: refused (INVALID_LIMIT_PRICE_POST_ONLY).
            return self._refuse(req, "INVALID_LIMIT_PRICE_POST_ONLY", "post-only would cross")
        if crosses:
            price = self.fill(symbol, lower, qty)
            order.update(status="FILLED", filled_size=str(qty),
                         average_filled_price=str(price), last_fill_time=now)  # fmt: skip
        elif kind in ("limit_limit_fok", "sor_limit_ioc"):
            order.update(status="CANCELLED")
        self.orders[key] = order
        self.all_orders.append(order)
        self.created.append(key)
        if fault == "500-after":
            return self._error(500, "INTERNAL", "internal error")
        return 200, self._success(order), fault

    @staticmethod
    def _success(order: dict[str, Any]) -> dict[str, Any]:
        # Create Order success: {success, success_response {order_id, product_id, side,
        # client_order_id}, order_configuration}.
        return {
            "success": True, "failure_reason": "UNKNOWN_FAILURE_REASON",
            "order_id": order["order_id"],
            "success_response": {
                "order_id": order["order_id"], "product_id": order["product_id"],
                "side": order["side"], "client_order_id": order["client_order_id"]},
            "order_configuration": order["config"],
        }  # fmt: skip

    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        # Get Order: the order object (status OPEN, FILLED, CANCELLED, EXPIRED, FAILED, ...).
        filled, avg = Decimal(o["filled_size"]), Decimal(o["average_filled_price"])
        tif = {"market_market_ioc": "IMMEDIATE_OR_CANCEL", "sor_limit_ioc": "IMMEDIATE_OR_CANCEL",
               "limit_limit_gtc": "GOOD_UNTIL_CANCELLED", "limit_limit_gtd": "GOOD_UNTIL_DATE_TIME",
               "limit_limit_fok": "FILL_OR_KILL"}[o["kind"]]  # fmt: skip
        return {
            "order_id": o["order_id"], "product_id": o["product_id"],
            "user_id": "11111111-1111-1111-1111-111111111111",
            "order_configuration": o["config"], "side": o["side"],
            "client_order_id": o["client_order_id"], "status": o["status"],
            "time_in_force": tif, "created_time": o["created_time"],
            "completion_percentage": "100" if o["status"] == "FILLED" else "0",
            "filled_size": str(filled), "average_filled_price": str(avg), "fee": "",
            "number_of_fills": "1" if filled else "0", "filled_value": str(filled * avg),
            "pending_cancel": False, "size_in_quote": "quote_size" in o["config"][o["kind"]],
            "total_fees": "0", "size_inclusive_of_fees": False,
            "total_value_after_fees": str(filled * avg), "trigger_status": "INVALID_ORDER_TYPE",
            "order_type": "MARKET" if o["kind"] == "market_market_ioc" else "LIMIT",
            "reject_reason": "", "settled": o["status"] == "FILLED", "product_type": "SPOT",
            "reject_message": "", "cancel_message": "", "order_placement_source": "RETAIL_ADVANCED",
            "outstanding_hold_amount": "0", "is_liquidation": False,
            "last_fill_time": o["last_fill_time"], "edit_history": [], "leverage": "",
            "margin_type": "UNKNOWN_MARGIN_TYPE", "retail_portfolio_id": "",
        }  # fmt: skip

    def _list_orders(self, q: dict[str, str]) -> dict[str, Any]:
        # List Orders: filters order_status (repeatable), product_id(s); newest first.
        statuses = [s for s in q.get("order_status", "").split(",") if s]
        rows = [
            o for o in reversed(self.all_orders)
            if (not statuses or o["status"] in statuses)
            and q.get("product_id") in (None, "", o["product_id"])
        ]  # fmt: skip
        limit = int(q.get("limit", "1000") or 1000)
        return {"orders": [self._order_json(o) for o in rows[:limit]], "sequence": "0",
                "has_next": len(rows) > limit, "cursor": ""}  # fmt: skip

    def _batch_cancel(self, req: dict[str, Any]) -> Reply:
        # Cancel Orders: {"results": [{success, failure_reason, order_id}]} per id (max 100).
        ids = req.get("order_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            return self._error(400, "INVALID_ARGUMENT", "order_ids must hold 1 to 100 ids")
        results = []
        for oid in ids:
            order = next((o for o in self.all_orders if o["order_id"] == oid), None)
            if order is None:
                results.append({"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER",
                                "order_id": oid})  # fmt: skip
            elif order["status"] != "OPEN":
                results.append({"success": False, "failure_reason": "INVALID_CANCEL_REQUEST",
                                "order_id": oid})  # fmt: skip
            else:
                order["status"] = "CANCELLED"
                results.append({"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON",
                                "order_id": oid})  # fmt: skip
        return 200, {"results": results}, None


FAKES: dict[str, type[_Venue]] = {"kraken": FakeKraken, "okx": FakeOKX, "coinbase": FakeCoinbase}


def main() -> None:
    """Serve one fake exchange until killed; write its URL to PORTFILE."""
    kind, port_file = sys.argv[1], Path(sys.argv[2])
    quote = "USDT" if kind == "okx" else "USD"
    prices = {
        f"BTC/{quote}": Decimal("64250"),
        f"ETH/{quote}": Decimal("3120.5"),
        f"SOL/{quote}": Decimal("142.3"),
    }
    fake = FAKES[kind](prices).start()
    port_file.write_text(fake.url)
    threading.Event().wait()


if __name__ == "__main__":
    main()
