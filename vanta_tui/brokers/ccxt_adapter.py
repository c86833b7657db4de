"""Crypto exchanges through ccxt (imported here only, when first used): ``ccxt:<exchange id>``.

Spot only. Decisions come from what ccxt declares of each exchange, not from its name:
- **Sandbox.** Without ``--live`` the adapter turns on the exchange's sandbox where ccxt has
  one (``urls["test"]``); an exchange without one is refused for that venue
  (`VenueRefused`), unless ``VANTA_CCXT_<EXCHANGE>_URL`` points at a test server.
- **Credentials.** ``requiredCredentials`` says which secrets the exchange wants; the desk
  holds key, secret and passphrase (ccxt's ``password``). A missing one is found at start.
- **Lookup.** By the exchange's order id once known (``fetchOrder``); before that,
  ``fetchOrderWithClientOrderId`` where ``has`` says so, else the open orders and the
  closed (or all recent) orders of the market, filtered by client order id.
- **Capabilities.** Order types from ``has``, time in force from ``features``, minimum
  amount and cost and precision from the loaded markets (`caps`, checked at staging).

The client order id is the one thing ccxt does not describe: its form and field come from
each venue's documentation (`CLIENT_IDS`; by default the ULID's 128 bits as 32 hex digits,
accepted by Binance, Kraken, OKX, KuCoin, Bybit...).

Markets are loaded once per exchange (same ccxt class, same API URLs) and shared by every
account's client of the process (`_SharedMarkets`): a thousand accounts cost one load,
not a thousand. Open orders are listed market by market where ccxt's description of the
endpoint prices a listing without a symbol higher (Binance: ``noSymbol``), for the markets
the account works orders in. Every request of every account at one host counts against
that host's budget, in ccxt's own cost units (`pacing.host_budget`); a "too many requests"
slows the account, or the host when it is the address that is limited (`Pacer.too_many`).

ccxt's own retries stay off (``maxRetriesOnFailure``
0) and every error, ccxt's or a ``TypeError``/``KeyError`` from inside it, becomes one of
ours, with the exchange named: a refusal (``BadRequest``, ``InvalidOrder``,
``InsufficientFunds``) is `OrderRejected` with the exchange's words; a network error or
timeout while creating an order is an `UnknownOutcome` (looked up before any resend);
``AuthenticationError``/``PermissionDenied`` a `CredentialsError`; a rate limit a
`TemporaryBrokerError` carrying the exchange's Retry-After.

``VANTA_CCXT_<EXCHANGE>_URL`` (e.g. ``VANTA_CCXT_BINANCE_URL=http://127.0.0.1:9000``)
replaces scheme and host of every API URL of that exchange, for a proxy or a test server;
``VANTA_CCXT_RATE_LIMIT_MS`` replaces ccxt's pacing between requests (0: none).
"""

from __future__ import annotations

import copy
import dataclasses
import decimal
import functools
import json
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from vanta_tui.brokers.credentials import Credentials, passphrase_env_name
from vanta_tui.brokers.errors import (
    BrokerError,
    CredentialsError,
    DuplicateClientOrderId,
    OrderNotFound,
    OrderRejected,
    RefusedBeforeSend,
    TemporaryBrokerError,
    UnknownOutcome,
    VenueRefused,
)
from vanta_tui.brokers.pacing import PACER, host_budget, host_keys, units_of, weight_key
from vanta_tui.core.enums import OrderType, Side, TimeInForce
from vanta_tui.core.ids import client_order_id_of
from vanta_tui.core.secrets import clip
from vanta_tui.core.venue_caps import MarketLimits, VenueCaps, venue_refusal

log = logging.getLogger(__name__)

MARKETS_TTL_S = 900.0
"""Markets (limits, precision, trading status) are loaded again after this long."""
RELOAD_BEFORE_REFUSING_S = 60.0
"""An order our limits would refuse is judged again on fresh markets if they are older."""
_monotonic = time.monotonic

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

_HELD = {"apiKey": "key", "secret": "secret", "password": "passphrase"}
"""ccxt's credential names the desk can hold, and what the desk calls them."""

_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
"""ccxt's ``features`` time-in-force keys the desk's orders can carry."""


@dataclass(frozen=True)
class ClientIdRule:
    """How one venue wants its client order id: the form (`core.ids.CLIENT_ID_FORMS`), an
    optional prefix, and the create-order parameter that carries it."""

    form: str = "hex"
    prefix: str = ""
    param: str = "clientOrderId"
    source: str = ""
    """Where the venue documents the rule."""


DEFAULT_CLIENT_ID = ClientIdRule(
    source="32 letters and digits fit every venue below that is not listed: Binance "
    "newClientOrderId (^[.A-Z:/a-z0-9_-]{1,36}$), Kraken cl_ord_id (a UUID, 32 hex digits, or "
    "up to 18 characters of text), OKX clOrdId (1-32 letters and digits), KuCoin clientOid "
    "(up to 40 letters, digits, _ and -), Bybit orderLinkId (up to 36)"
)
CLIENT_IDS: dict[str, ClientIdRule] = {
    # ccxt's coinbase always sends its own client_order_id unless the raw field is given.
    "coinbase": ClientIdRule(
        "uuid", param="client_order_id", source="Advanced Trade: client_order_id, a UUID"
    ),
    "coinbaseexchange": ClientIdRule("uuid", source="Exchange: client_oid must be a UUID"),
    "coinbaseinternational": ClientIdRule("uuid", source="client_order_id, a UUID"),
    "gate": ClientIdRule("ulid", "t-", source="text: 't-' and at most 28 of [0-9A-Za-z_.-]"),
    "gateeu": ClientIdRule("ulid", "t-", source="as gate"),
    "bitfinex": ClientIdRule("digits", source="cid: an integer (int45)"),
}
"""Venues whose documented client order id rules the default does not meet."""


def client_id_rule(exchange_id: str) -> ClientIdRule:
    return CLIENT_IDS.get(exchange_id, DEFAULT_CLIENT_ID)


_BUILDING = threading.RLock()
"""Held while an account's ccxt client is built."""

RATE_LIMIT_ENV = "VANTA_CCXT_RATE_LIMIT_MS"
"""Milliseconds ccxt waits between requests (its ``rateLimit``, scaled by each endpoint's
cost) in place of the exchange's default; 0 turns ccxt's throttle off (a test server)."""


def exchange_known(exchange_id: str) -> bool:
    """Whether ccxt has an exchange of this id (``kraken``, ``okx`` …); ccxt is imported
    here, when first asked, as everywhere in this adapter."""
    import ccxt

    return exchange_id in ccxt.exchanges


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


def _exchange_class(exchange_id: str) -> Any:
    import ccxt

    cls = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
    if cls is None or not isinstance(cls, type):
        raise VenueRefused(f"ccxt has no exchange {exchange_id!r}")
    return cls


@functools.cache
def _described(exchange_id: str) -> tuple[dict[str, Any], bool]:
    """What ccxt declares of ``exchange_id`` that decides whether it can be used: its
    ``requiredCredentials`` and whether it has a sandbox (``urls["test"]``). Built once per
    exchange (a ccxt client takes milliseconds to build: a thousand accounts would spend
    seconds asking); raises when ccxt has no such exchange or cannot build it."""
    exchange = _exchange_class(exchange_id)()
    required = dict(exchange.requiredCredentials or {})
    return required, bool((exchange.urls or {}).get("test"))


def no_sandbox_message(exchange_id: str) -> str:
    return (
        f"{exchange_id} has no sandbox in ccxt: use --live, or a test server through "
        f"{url_env(exchange_id)}"
    )


def venue_problem(exchange_id: str, *, live: bool, base_url: str | None = None) -> str | None:
    """Why ``ccxt:<exchange_id>`` cannot be used in this mode (None: it can). No network."""
    base_url = base_url or os.environ.get(url_env(exchange_id))
    try:
        credentials, has_sandbox = _described(exchange_id)
        required = [k for k, v in credentials.items() if v]
    except VenueRefused as exc:
        return str(exc)
    except Exception as exc:  # a ccxt class that cannot even be built
        return f"ccxt:{exchange_id}: ccxt cannot build its client: {type(exc).__name__}: {exc}"
    unheld = [k for k in required if k not in _HELD]
    if unheld:
        return (
            f"ccxt:{exchange_id} signs with {', '.join(unheld)}, which the desk does not hold "
            "(it holds an API key, secret and passphrase)"
        )
    if not live and not has_sandbox and not base_url:
        return no_sandbox_message(exchange_id)
    return None


def credentials_problem(exchange_id: str, credentials: Credentials) -> str | None:
    """The secret ``exchange_id`` requires (``requiredCredentials``) that ``credentials``
    lack, as a sentence saying where to set it (None: nothing is missing)."""
    try:
        required = _described(exchange_id)[0]
    except Exception:
        return None  # the venue itself is refused elsewhere (`venue_problem`)
    if required.get("password") and not credentials.api_passphrase:
        ref = credentials.account_ref
        return (
            f"account {ref}: ccxt:{exchange_id} needs a passphrase; set "
            f"{passphrase_env_name(ref)}, or store it in the keyring (service 'vanta-desk', "
            f"user '{ref}:api_passphrase')"
        )
    return None


def _retry_after(exchange: Any) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value in (None, "") else decimal_of(value)


def _fee_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The order's fee from ccxt's unified order (``fees``: a list of {cost, currency}, else
    ``fee``), when it is one amount in one currency; nothing when the exchange does not say
    or charges in several currencies (they do not add up)."""
    parts = [f for f in raw.get("fees") or [] if isinstance(f, dict)]
    if not parts and isinstance(raw.get("fee"), dict):
        parts = [raw["fee"]]
    parts = [f for f in parts if f.get("cost") not in (None, "")]
    currencies = {f.get("currency") for f in parts}
    if not parts or len(currencies) != 1:
        return {}
    try:
        cost = sum((decimal_of(f.get("cost")) for f in parts), Decimal(0))
    except (ValueError, ArithmeticError):
        return {}
    currency = currencies.pop()
    return {"fee": cost, "fee_currency": str(currency) if currency else None}


class _Probed(Exception):
    """Stops a ccxt call at its request (`_request_cost`)."""


def _first_request(exchange: Any, call: Callable[[], Any]) -> tuple[Any, ...] | None:
    """``(api, method, path, params, config)`` of the first request ``call`` makes, found by
    stopping ccxt just before it would send it; None when ccxt refuses the call before
    sending (an exchange that wants a symbol there: ``ArgumentsRequired``)."""
    seen: list[tuple[Any, ...]] = []

    def fetch2(
        path: Any, api: Any = "public", method: Any = "GET", params: Any = None, config: Any = None
    ) -> Any:
        seen.append((api, method, path, params or {}, config or {}))
        raise _Probed

    exchange.fetch2 = fetch2
    try:
        with decimal.localcontext():
            call()
    except _Probed:
        pass
    except Exception:
        return None
    finally:
        del exchange.fetch2
    return seen[0] if seen else None


def _request_cost(exchange: Any, call: Callable[[], Any]) -> float | None:
    """What ccxt's own description charges for the first request ``call`` makes (its
    endpoint's ``cost``, as the exchange's ``calculate_rate_limiter_cost`` reads it: Binance's
    ``noSymbol``...), found without sending it; None when ccxt refuses the call."""
    first = _first_request(exchange, call)
    if first is None:
        return None
    api, method, path, params, config = first
    cost = exchange.calculate_rate_limiter_cost(api, method, path, params, config)
    return float(cost if cost is not None else 1)


def _request_target(exchange: Any, call: Callable[[], Any]) -> tuple[str, ...] | None:
    """The endpoint and parameters of the first request ``call`` makes (without sending
    it); None when ccxt refuses the call."""
    first = _first_request(exchange, call)
    if first is None:
        return None
    api, method, path, params, _ = first
    return (str(api), str(method), str(path), repr(sorted(params.items())))


FINISHED_LISTINGS = (
    "fetchOrders",
    "fetchCanceledAndClosedOrders",
    "fetchClosedOrders",
    "fetchCanceledOrders",
)
"""ccxt's ways to list an account's finished orders in a market, the widest first: where
two reach one endpoint, ccxt filters the same answer by status on our side (Binance's
closed listing is its `allOrders` keeping the filled ones), so the wider keeps all that
the narrower would find."""


@dataclass(frozen=True)
class _ListingCosts:
    """What listing open orders costs at an exchange, in ccxt's cost units."""

    one: float
    """One market's (``symbol`` given)."""
    every: float
    """Every market's at once (no symbol); infinite where the exchange wants a symbol."""


@dataclass(eq=False)
class _SharedMarkets:
    """One exchange's markets (one ccxt class at the same API URLs), shared by every
    account's client of the process: the first client that needs them loads them (the
    others wait for it, under ``lock``), the others take them over (ccxt's
    ``set_markets_from_exchange``: the same objects, nothing copied or parsed again). The
    refresh policy is the adapter's (`MARKETS_TTL_S`, `RELOAD_BEFORE_REFUSING_S`), on the
    time of the last load of any of them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    source: Any = None
    """The client whose markets are the shared ones."""
    loaded_at: float | None = None
    failed_at: float | None = None
    error: BrokerError | None = None
    """The last load's failure: clients that waited for it get it without asking again."""
    caps: VenueCaps | None = None
    """Drawn from these markets (the same for every account)."""
    listing: _ListingCosts | None = None
    finished: list[str] | None = None
    """The ways to list finished orders that reach distinct endpoints (`_finished_listings`)."""


_SHARED: weakref.WeakValueDictionary[tuple[str, str], _SharedMarkets] = (
    weakref.WeakValueDictionary()
)
"""By ccxt class and API URLs; an entry lives as long as one account's adapter holds it."""
_SHARED_LOCK = threading.Lock()


def _shared_markets(exchange: Any) -> _SharedMarkets:
    key = (
        f"{type(exchange).__module__}.{type(exchange).__qualname__}",
        json.dumps(exchange.urls.get("api"), sort_keys=True, default=str),
    )
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = _SharedMarkets()
        return shared


_TEMPLATES: dict[tuple[Any, ...], Any] = {}
_TEMPLATES_LOCK = threading.Lock()


def _template(
    cls: Any, *, live: bool, base_url: str | None, rate_limit: float | None, timeout_ms: int
) -> Any:
    """A ccxt client of ``cls`` set up as the adapter wants it (spot, ccxt's retries off,
    the sandbox unless ``live``, every API URL on ``base_url``'s host, ``rate_limit`` in
    place of ccxt's when given: 0 turns its pacing off), without keys: built once per
    setting and copied for each account (`CcxtBroker._build`)."""
    key = (cls, live, base_url, rate_limit, timeout_ms)
    with _TEMPLATES_LOCK:
        found = _TEMPLATES.get(key)
        if found is not None:
            return found
        config: dict[str, Any] = {"timeout": timeout_ms, "enableRateLimit": True}
        if rate_limit is not None:
            config["rateLimit"] = rate_limit
            config["enableRateLimit"] = rate_limit > 0
        exchange = cls(config)
        options = exchange.options
        options["maxRetriesOnFailure"] = 0
        options["defaultType"] = "spot"
        if isinstance(options.get("fetchMarkets"), dict):
            options["fetchMarkets"] = {**options["fetchMarkets"], "types": ["spot"]}
        options["fetchMargins"] = False
        options["fetchCurrencies"] = False
        if not live and exchange.urls.get("test"):
            exchange.set_sandbox_mode(True)
        if base_url:
            exchange.urls["api"] = _rehost(exchange.urls["api"], base_url)
        if len(_TEMPLATES) >= 64:  # settings seen in one process are few; tests see more
            _TEMPLATES.clear()
        _TEMPLATES[key] = exchange
        return exchange


def _pace_hosts(exchange: Any) -> None:
    """Every request of ``exchange`` waits for its host's budget (shared by every account
    of the process at that host, `pacing.host_budget`) and any slow-down of that host. The
    cost is ccxt's own (its ``throttle`` is handed the endpoint's cost just before the
    request goes, when pacing is on), in milliseconds of the exchange's ``rateLimit``, over
    its ``rollingWindowSize`` (a second where ccxt gives none)."""
    unit_ms = float(exchange.rateLimit or 0) if exchange.enableRateLimit else 0.0
    window_ms = float(getattr(exchange, "rollingWindowSize", 0) or 0) or 1000.0
    pending = threading.local()
    throttle, fetch = exchange.throttle, exchange.fetch

    def paced_throttle(cost: Any = None) -> Any:
        pending.cost = 1.0 if cost is None else float(cost)
        return throttle(cost)  # ccxt's own gap between two requests of this client

    def paced_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        cost, pending.cost = getattr(pending, "cost", None), None
        key = host_budget(url, unit_ms, window_ms) or weight_key(url)
        PACER.wait([key], units_of(cost, unit_ms) if cost is not None else 0)
        return fetch(url, method, headers, body)

    exchange.throttle = paced_throttle
    exchange.fetch = paced_fetch


class CcxtBroker:
    """One account at one ccxt exchange."""

    parallel = True
    """A network API: the executor sends to many accounts at once (`executor.engine`).
    ccxt paces this account's client itself (the exchange's ``rateLimit``); every account
    at one host shares its budget (`_pace_hosts`)."""

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
        self._markets_at: float | None = None
        """When the markets were last loaded (monotonic seconds)."""
        self.client_ids = client_id_rule(exchange_id)
        self._caps: VenueCaps | None = None
        self._account_key = f"{self.name} {self.account_ref}"
        self._keys = [self._account_key, *host_keys(self.base_url)]
        self._shared: _SharedMarkets | None = None

    def __repr__(self) -> str:
        return f"CcxtBroker({self.exchange_id!r}, {self.account_ref!r}, live={self.live})"

    @property
    def mode(self) -> str:
        """ "live", "sandbox" or "test server" (for status lines)."""
        if self.live:
            return "live" + (f" via {self.base_url}" if self.base_url else "")
        return f"test server {self.base_url}" if self.base_url else "sandbox"

    def prepare(self) -> None:
        """Build ccxt's client ahead of the first request (no request is made)."""
        _ = self.exchange

    @property
    def exchange(self) -> Any:
        """ccxt's client, built on first use (once per account, whichever thread asks
        first: two clients of one account could send clashing nonces); a venue that cannot
        be used in this mode, or a ccxt that fails while building it, raises one of our
        errors."""
        if self._exchange is not None:
            return self._exchange
        with _BUILDING:
            return self._built_exchange()

    def _built_exchange(self) -> Any:
        if self._exchange is None:
            problem = venue_problem(self.exchange_id, live=self.live, base_url=self.base_url)
            if problem is not None:
                raise VenueRefused(problem)
            try:
                self._exchange = self._build()
            except BrokerError:
                raise
            except Exception as exc:  # ccxt's own errors and its TypeErrors alike
                raise VenueRefused(
                    f"{self.name}: cannot set up ccxt's client: {type(exc).__name__}: {exc}"
                ) from exc
        return self._exchange

    def _build(self) -> Any:
        """This account's ccxt client: a copy of the exchange's `_template` with its own
        keys, session, options and caches (building a ccxt client walks its whole
        description, milliseconds each: a thousand accounts would spend seconds on it)."""
        pace = os.environ.get(RATE_LIMIT_ENV)
        rate_limit: float | None = None
        if pace is not None:
            try:
                rate_limit = max(float(pace), 0.0)
            except ValueError as exc:
                raise VenueRefused(f"{RATE_LIMIT_ENV}={pace!r} is not milliseconds") from exc
        template = _template(
            _exchange_class(self.exchange_id),
            live=self.live,
            base_url=self.base_url,
            rate_limit=rate_limit,
            timeout_ms=int(self.timeout_s * 1000),
        )
        exchange = copy.copy(template)
        for name, value in vars(template).items():
            # ccxt changes a client's options, headers and caches at their top level
            if isinstance(value, dict):
                setattr(exchange, name, dict(value))
            elif isinstance(value, list):
                setattr(exchange, name, list(value))
        exchange.apiKey = self._credentials.api_key
        exchange.secret = self._credentials.api_secret
        if self._credentials.api_passphrase:
            exchange.password = self._credentials.api_passphrase
        exchange.origin = exchange.uuid()
        if template.session is not None:
            from requests import Session

            exchange.session = Session()
            exchange.session.trust_env = template.session.trust_env
        _pace_hosts(exchange)
        return exchange

    def client_order_id_for(self, order_id: str) -> str:
        """The client order id of ``order_id`` in the form this exchange documents."""
        return client_order_id_of(order_id, self.client_ids.form, self.client_ids.prefix)

    @property
    def shared(self) -> _SharedMarkets:
        """The markets this account shares with the others at its exchange."""
        if self._shared is None:
            self._shared = _shared_markets(self.exchange)
        return self._shared

    def _markets(self, *, older_than: float = MARKETS_TTL_S) -> bool:
        """Load the markets (limits, precision, status) if never loaded or loaded more than
        ``older_than`` seconds ago: a long-running executor must not judge orders by limits
        the exchange has changed since. Loaded once for every account at the exchange
        (`_SharedMarkets`): markets another account loaded within ``older_than`` are taken
        over, not asked for again. True when this client's markets changed now."""
        now = _monotonic()
        if self._markets_at is not None and now - self._markets_at <= older_than:
            return False
        exchange, shared = self.exchange, self.shared
        with shared.lock:
            if shared.failed_at is not None and shared.failed_at >= now and shared.error:
                raise copy.copy(shared.error)  # it failed while this one waited for it
            loaded = shared.loaded_at
            if loaded is not None and now - loaded <= older_than and shared.source is not None:
                if loaded == self._markets_at:
                    return False
                exchange.set_markets_from_exchange(shared.source)
            else:
                try:
                    self._call(
                        "load markets",
                        lambda: exchange.load_markets(reload=exchange.markets is not None),
                        public=True,
                    )
                except BrokerError as exc:
                    shared.failed_at, shared.error = _monotonic(), exc
                    raise
                loaded = shared.loaded_at = _monotonic()
                shared.source, shared.caps, shared.failed_at = exchange, None, None
            self._markets_at = loaded
            self._caps = None  # drawn from the markets: again from the new ones
            return True

    def _call(
        self,
        what: str,
        fn: Any,
        *args: Any,
        sending: bool = False,
        public: bool = False,
        **kwargs: Any,
    ) -> Any:
        """``fn(*args, **kwargs)`` with every ccxt error made one of ours (``sending``: the
        call creates an order; ``public``: it names no account, so a "too many requests"
        is the address's)."""
        import ccxt

        # A slow-down after "too many requests"; a host's limit. A public call (the markets,
        # loaded for every account at the exchange) waits for the host's only: one
        # account's slow-down is not the others'.
        PACER.wait(self._keys[1:] if public else self._keys)
        try:
            # ccxt's decimal_to_precision sets the thread's decimal context to ROUND_HALF_UP
            # and traps Underflow; confined here, it cannot change our money arithmetic.
            with decimal.localcontext():
                return fn(*args, **kwargs)
        except BrokerError:
            raise
        except ccxt.DuplicateOrderId as exc:
            raise DuplicateClientOrderId(f"{self.name}: {exc}") from exc
        except ccxt.OrderNotFound as exc:
            raise OrderNotFound(f"{self.name} {what}: {exc}") from exc
        except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
            raise CredentialsError(f"{self.name} {self.account_ref}: {what}: {exc}") from exc
        except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
            wait = _retry_after(self._exchange)
            url = getattr(self._exchange, "last_request_url", None)
            host = weight_key(url) if isinstance(url, str) and url else None
            PACER.too_many(self._account_key, host, wait, public=public)
            after = f"; retry after {wait:g} s" if wait is not None else ""
            raise TemporaryBrokerError(
                f"{self.name} {what}: rate limited{after}: {clip(str(exc), 200)}", wait
            ) from exc
        except ccxt.NetworkError as exc:  # timeouts, dropped connections, 5xx, maintenance
            error = f"{self.name} {what}: {type(exc).__name__}: {clip(str(exc), 200)}"
            raise (UnknownOutcome(error) if sending else TemporaryBrokerError(error)) from exc
        except ccxt.ExchangeError as exc:
            # The exchange answered with an error of its own (BadRequest, InvalidOrder,
            # InsufficientFunds, or one ccxt has no class for, such as Kraken's
            # "EGeneral:Invalid arguments:cl_ord_id"): a refusal, in its words. The executor
            # still looks the order up before it takes a refusal as final.
            if sending and "duplicate" in str(exc).lower():
                raise DuplicateClientOrderId(f"{self.name}: {exc}") from exc
            if sending:
                raise OrderRejected(f"{self.name}: {clip(str(exc), 300)}") from exc
            raise BrokerError(f"{self.name} {what}: {clip(str(exc), 300)}") from exc
        except ccxt.BaseError as exc:
            # Anything else (an exchange's 5xx "internal error", an operation that failed
            # for no stated reason) is an unclear answer: after a send, the order may exist.
            error = f"{self.name} {what}: {type(exc).__name__}: {clip(str(exc), 300)}"
            if sending:
                raise UnknownOutcome(error) from exc
            if isinstance(exc, ccxt.OperationFailed):
                raise TemporaryBrokerError(error) from exc
            raise BrokerError(error) from exc
        except Exception as exc:
            # A TypeError, KeyError... inside ccxt (an answer it did not expect): ours, with
            # the exchange named, never a crash of the executor. After a send the request
            # may have been taken, so the order is looked up before any resend.
            error = f"{self.name} {what}: ccxt failed: {type(exc).__name__}: {clip(str(exc), 200)}"
            raise (UnknownOutcome(error) if sending else BrokerError(error)) from exc

    def _order(self, raw: dict[str, Any], fallback_client_id: str | None = None) -> BrokerOrder:
        status = _STATUS.get(str(raw.get("status")), BrokerStatus.ACCEPTED)
        filled = decimal_of(raw.get("filled"))
        amount = decimal_of(raw.get("amount"))
        if status is BrokerStatus.ACCEPTED and filled > 0:
            status = BrokerStatus.PARTIALLY_FILLED
        average = raw.get("average")
        if average in (None, "") and filled > 0 and raw.get("cost") not in (None, ""):
            average = decimal_of(raw.get("cost")) / filled
        side = str(raw.get("side") or "").lower()
        return BrokerOrder(
            broker_order_id=str(raw.get("id")),
            client_order_id=str(raw.get("clientOrderId") or fallback_client_id or ""),
            symbol=str(raw.get("symbol")),
            side=Side(side) if side in {"buy", "sell"} else Side.BUY,
            qty=amount,
            status=status,
            filled_qty=filled,
            avg_fill_price=decimal_of(average)
            if average not in (None, "") and filled > 0
            else None,
            reason=str(raw.get("status")) if status is BrokerStatus.REJECTED else None,
            **_fee_of(raw),
        )

    # ------------------------------------------------------------ capabilities

    def caps(self) -> VenueCaps:
        """What this exchange takes, from ``has``, ``features`` and the loaded markets
        (drawn once per load for every account at the exchange)."""
        self._markets()
        if self._caps is None:
            exchange, shared = self.exchange, self.shared
            with shared.lock:
                common = shared.source is not None and shared.source.markets is exchange.markets
                caps = shared.caps if common else None
                if caps is None:
                    caps = self._call("capabilities", lambda: _caps_of(self.name, exchange))
                    if common:
                        shared.caps = caps
                self._caps = caps
        return self._caps

    # ------------------------------------------------------------ listings

    def _listing_costs(self) -> _ListingCosts | None:
        """What listing open orders costs here, one market's and every market's, from
        ccxt's description of the endpoint (found once per exchange, without a request);
        None when ccxt cannot say."""
        shared = self.shared
        with shared.lock:
            if shared.listing is not None or shared.source is None:
                return shared.listing
            markets = [s for s, m in (shared.source.markets or {}).items() if m.get("spot", True)]
            if not markets or not self.exchange.has.get("fetchOpenOrders"):
                return None
            probe = self._build()  # a client of its own: this account's may be busy
            probe.set_markets_from_exchange(shared.source)
            probe.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
            one = _request_cost(probe, lambda: probe.fetch_open_orders(markets[0]))
            if one is None:
                return None
            every = _request_cost(probe, lambda: probe.fetch_open_orders())
            shared.listing = _ListingCosts(one, math.inf if every is None else every)
            return shared.listing

    def _finished_listings(self) -> list[str]:
        """Of `FINISHED_LISTINGS`, those the exchange has and that reach an endpoint none
        before them (a wider one) does (on Binance all four are one `allOrders` request,
        weight 20: asked
        four times for one lookup, 50 hung accounts' lookups spent the address's minute);
        found once per exchange from ccxt's own calls, stopped before they are sent."""
        shared = self.shared
        has = self.exchange.has
        offered = [m for m in FINISHED_LISTINGS if has.get(m)]
        with shared.lock:
            if shared.finished is not None:
                return shared.finished
            if shared.source is None:
                return offered  # no markets to probe with: every way, as before
            markets = [s for s, m in (shared.source.markets or {}).items() if m.get("spot", True)]
            if not markets:
                return offered
            probe = self._build()  # a client of its own: this account's may be busy
            probe.set_markets_from_exchange(shared.source)
            kept: list[str] = []
            reached: set[tuple[str, ...]] = set()
            for method in offered:
                fn: Callable[[str], Any] = getattr(probe, _snake(method))
                target = _request_target(probe, functools.partial(fn, markets[0]))
                if target is not None and target in reached:
                    continue  # the same request as one already made: the same answer
                if target is not None:
                    reached.add(target)
                kept.append(method)
            shared.finished = kept
            return kept

    # ------------------------------------------------------------ interface

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self._markets()
        exchange = self.exchange

        def judged() -> str | None:
            return venue_refusal(
                self.caps(),
                symbol=request.symbol,
                qty=request.qty,
                order_type=request.order_type,
                time_in_force=request.time_in_force,
                limit_price=request.limit_price,
            )

        refusal = judged()
        if refusal is not None and self._markets(older_than=RELOAD_BEFORE_REFUSING_S):
            refusal = judged()  # limits loaded a while ago: judged again on fresh markets
        if refusal is not None:  # nothing was sent: a clear refusal, not an unknown outcome
            raise RefusedBeforeSend(refusal)
        kind = "limit" if request.order_type is OrderType.LIMIT else "market"
        price = float(request.limit_price) if request.limit_price is not None else None
        if (
            kind == "market"
            and request.side is Side.BUY
            and exchange.options.get("createMarketBuyOrderRequiresPrice")
        ):
            # The exchange buys at market for an amount of quote currency (ccxt's option
            # says so): ccxt sends qty × this price as that amount.
            last = self.quotes([request.symbol]).get(request.symbol)
            if last is None:
                raise RefusedBeforeSend(f"{self.name}: no price for {request.symbol} to size a buy")
            price = float(last)
        params: dict[str, Any] = {self.client_ids.param: request.client_order_id}
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
        if order.qty == 0 or order.symbol != request.symbol:
            # Some exchanges answer a new order with its ids only (OKX, Kraken).
            order = dataclasses.replace(
                order, qty=request.qty, symbol=request.symbol, side=request.side
            )
        if order.status is BrokerStatus.REJECTED:
            raise OrderRejected(f"{self.name} rejected {request.client_order_id}")
        return order

    def get_by_client_id(
        self,
        client_order_id: str,
        symbol: str | None = None,
        broker_order_id: str | None = None,
    ) -> BrokerOrder | None:
        self._markets()
        exchange = self.exchange
        has = exchange.has
        if broker_order_id and has.get("fetchOrder"):
            try:
                raw = self._call("lookup", exchange.fetch_order, broker_order_id, symbol)
            except OrderNotFound:
                pass  # look for the client order id below
            else:
                return self._order(raw, client_order_id)
        if has.get("fetchOrderWithClientOrderId"):
            try:
                raw = self._call(
                    "lookup",
                    exchange.fetch_order_with_client_order_id,
                    client_order_id,
                    symbol,
                )
            except OrderNotFound:
                return None
            return self._order(raw, client_order_id)
        return self._scan(client_order_id, symbol)

    def _scan(self, client_order_id: str, symbol: str | None) -> BrokerOrder | None:
        """The order among the market's open orders, then among every finished kind the
        exchange lists (closed, cancelled, expired: on many venues "closed" means filled
        only, and a cancelled or expired order missed here would be sent again)."""
        exchange = self.exchange
        has = exchange.has
        exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
        methods = ["fetchOpenOrders"]
        if symbol is not None:
            methods += self._finished_listings()
        searched = False
        for method in (m for m in methods if m and has.get(m)):
            searched = True
            fn = getattr(exchange, _snake(method))
            for raw in self._call("lookup", fn, symbol) or []:
                if str(raw.get("clientOrderId") or "") == client_order_id:
                    return self._order(raw, client_order_id)
        if not searched:
            raise BrokerError(f"{self.name}: ccxt offers no way to look orders up")
        return None

    def open_orders(self, symbols: Sequence[str] | None = None) -> list[BrokerOrder]:
        """The account's working orders. Given ``symbols`` (the markets the caller knows
        the account works orders in), where ccxt's description of the endpoint charges more
        for a listing without a symbol than for those markets (Binance: 80 request weight
        against 6 a market), they are listed market by market. Without ``symbols``, or
        elsewhere, one listing of every market, as ccxt offers it (every working order,
        whatever placed it)."""
        self._markets()
        exchange = self.exchange
        exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
        wanted = sorted(set(symbols or ()))
        costs = self._listing_costs()
        if (
            symbols is None
            or costs is None
            or costs.every <= costs.one
            or costs.one * len(wanted) >= costs.every
        ):
            raw = self._call("open orders", exchange.fetch_open_orders)
            return [self._order(item) for item in raw]
        markets = exchange.markets or {}
        out: list[BrokerOrder] = []
        for symbol in wanted:
            if symbol not in markets:
                continue  # not a market of this exchange: nothing of it can be working
            raw = self._call("open orders", exchange.fetch_open_orders, symbol)
            out += [self._order(item) for item in raw]
        return out

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

    def poll(self) -> list[BrokerOrder]:
        """The venue works its orders itself: nothing to advance here."""
        return []

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


def _snake(method: str) -> str:
    """ccxt's Python name of a unified method (``fetchClosedOrders`` → ``fetch_closed_orders``)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in method)


def _step(value: Any, mode: Any) -> Decimal | None:
    """A market's precision as the step it allows (ccxt gives a tick size or a number of
    decimal places, by the exchange's ``precisionMode``); None for significant digits."""
    import ccxt

    if value in (None, ""):
        return None
    if mode == ccxt.TICK_SIZE:
        return decimal_of(value)
    if mode == ccxt.DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    return None


def _caps_of(venue: str, exchange: Any) -> VenueCaps:
    has = exchange.has or {}
    types = {OrderType.MARKET, OrderType.LIMIT}
    if has.get("createMarketOrder") is False:
        types.discard(OrderType.MARKET)
    if has.get("createLimitOrder") is False:
        types.discard(OrderType.LIMIT)
    spot = (getattr(exchange, "features", None) or {}).get("spot") or {}
    tif = (spot.get("createOrder") or {}).get("timeInForce") if isinstance(spot, dict) else None
    limit_tif = (
        frozenset(ours for key, ours in _TIF.items() if tif.get(key))
        if isinstance(tif, dict) and tif
        else None
    )
    markets: dict[str, MarketLimits] = {}
    for symbol, market in (exchange.markets or {}).items():
        if not market.get("spot", True):
            continue
        limits = market.get("limits") or {}
        amount = limits.get("amount") or {}
        cost = limits.get("cost") or {}
        precision = market.get("precision") or {}
        markets[symbol] = MarketLimits(
            min_amount=_decimal_or_none(amount.get("min")),
            max_amount=_decimal_or_none(amount.get("max")),
            min_cost=_decimal_or_none(cost.get("min")),
            amount_step=_step(precision.get("amount"), exchange.precisionMode),
            price_step=_step(precision.get("price"), exchange.precisionMode),
            active=market.get("active") is not False,
        )
    return VenueCaps(venue, frozenset(types), limit_tif, markets)
