"""Requests kept within the limits the venues publish, per account and per host.

The executor sends to many accounts at once (`vanta_tui.executor.engine`); each venue
limits how fast one account, or everything from one address, may call it. The counting
is pyrate-limiter's (a moving-window bucket per key, each under its own lock); what is
ours is which keys a request counts against and what a venue's "too many requests"
does: it slows that key only (an account, or a host), for as long as the venue asked, else
a second.

Keys:
- an account: ``alpaca <host> <account_ref>`` (Alpaca publishes 200 requests per minute
  per account; `ALPACA_RATE_ENV` sets another plan's figure). ccxt paces each account's
  client itself too (its ``rateLimit``, enableRateLimit: the gap between two requests of
  one client);
- a ccxt exchange's host: ``weight <netloc>`` (`weight_key`), the budget every account of
  the process shares at that address, in the exchange's own cost units: ccxt describes
  each endpoint's ``cost`` and that one cost unit takes ``rateLimit`` milliseconds, over its
  ``rollingWindowSize`` (Binance: 50 ms a unit over 60 s, its 6,000 request weight a minute
  per address, a weight being 0.2 of a unit). A request takes ``cost × rateLimit`` of it
  (`units_of`);
- a host: ``host <netloc>``, only where the operator sets a limit for it
  (`HOST_RATES_ENV`, for an exchange that limits per address, or a proxy in front).

A "too many requests" slows the account that got it (`Pacer.slow_down`); from ccxt
(`Pacer.too_many`) it slows the host as well when the request named no account (public)
or when a second account of the host is refused while the first still waits: a limit of
the address, not of one account (as Binance's order count is).

The pacer is one per process: every executor, desk action and status probe of the
process shares the accounts' and hosts' budgets. Another process on the same account has
its own (Alpaca's 429 then slows both).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pyrate_limiter import (
    Duration,
    InMemoryBucket,
    RateItem,
)
from pyrate_limiter import Rate as LimiterRate

from vanta_tui.brokers.errors import VenueRefused

log = logging.getLogger(__name__)

ALPACA_RATE_ENV = "VANTA_ALPACA_RATE_LIMIT"
"""Requests per account as ``REQUESTS/SECONDS`` (default ``200/60``: Alpaca's published
limit; an Algo Trader Plus account has 1000/60)."""
ALPACA_RATE = "200/60"
HOST_RATES_ENV = "VANTA_HOST_RATE_LIMITS"
"""Limits per host as ``host[:port]=REQUESTS/SECONDS`` separated by commas (none by default)."""
MARGIN = 0.05
"""Kept below each published limit (at least one request): clocks and the network's delays
differ between us and the venue's counter."""
SLOWED_S = 1.0
"""How long a key waits after a "too many requests" that did not say how long (then its
own limit paces it; the refused request follows the executor's retry schedule)."""


class RateError(VenueRefused):
    """A rate setting that cannot be read (its variable and value named): that venue's
    orders wait until it is fixed."""


@dataclass(frozen=True)
class Rate:
    """At most ``requests`` in any ``seconds``-long window."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str, where: str) -> Rate:
        """``"200/60"`` → 200 requests per 60 s."""
        count, _, span = text.strip().partition("/")
        try:
            rate = cls(int(count), float(span or "1"))
        except ValueError:
            raise RateError(f"{where}={text!r}: expected REQUESTS/SECONDS, like 200/60") from None
        if rate.requests < 1 or not math.isfinite(rate.seconds) or rate.seconds <= 0:
            raise RateError(f"{where}={text!r}: both numbers must be positive")
        return rate

    @property
    def kept(self) -> int:
        """What we send at most per window: the limit less `MARGIN` (at least one less,
        and at least one)."""
        return max(1, self.requests - max(1, int(self.requests * MARGIN)))


class _Window:
    """One key's moving window (pyrate-limiter's bucket, which counts under its own lock):
    no lock shared between keys and no background thread, so a thousand accounts pacing at
    once do not wait on each other."""

    def __init__(self, key: str, rate: Rate) -> None:
        self.key = key
        window_ms = int(rate.seconds * Duration.SECOND)
        self.kept = rate.kept
        self.bucket = InMemoryBucket([LimiterRate(rate.kept, window_ms)])
        self.lock = threading.Lock()
        self._puts = 0

    def acquire(self, weight: int = 1) -> None:
        """Take ``weight`` places (one request, or its cost), waiting for them; a request
        heavier than the whole window takes all of it."""
        weight = min(max(weight, 1), self.kept)
        while True:
            with self.lock:
                now = self.bucket.now()  # type: ignore[no-untyped-call]
                item = RateItem(self.key, now, weight=weight)
                if self.bucket.put(item):
                    self._puts += 1
                    if self._puts % 64 == 0:  # drop what left the window (no leak thread)
                        self.bucket.leak(now)
                    return
                wait_ms = self.bucket.waiting(item)
            assert isinstance(wait_ms, int)
            time.sleep(max(wait_ms, 1) / 1000)


class Pacer:
    """Waits, per key, until a request is within its limit and past any slow-down."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._until: dict[str, float] = {}
        self._refused: dict[str, dict[str, float]] = {}
        """Per host key: the accounts told "too many" lately, and until when they wait."""
        self._lock = threading.Lock()

    def limit(self, key: str, rate: Rate) -> None:
        """Count ``key``'s requests against ``rate`` (the first limit set for a key stays)."""
        with self._lock:
            if key not in self._windows:
                self._windows[key] = _Window(key, rate)

    def wait(self, keys: Sequence[str], weight: int = 1) -> None:
        """Block until one more request (of ``weight`` places) of each of ``keys`` may go
        (keys without a limit or a slow-down pass at once)."""
        for key in keys:
            while True:  # a slow-down set meanwhile (another account refused) counts too
                pause = self._until.get(key, 0.0) - time.monotonic()
                if pause <= 0:
                    break
                time.sleep(pause)
            window = self._windows.get(key)
            if window is not None and weight > 0:
                window.acquire(weight)

    def slow_down(self, key: str, seconds: float | None) -> float:
        """The venue said too many requests for ``key``: nothing more of it goes for
        ``seconds`` (what the venue asked) or `SLOWED_S`; the wait set."""
        wait = seconds if seconds is not None and seconds > 0 else SLOWED_S
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), time.monotonic() + wait)
        log.info("rate limited: %s waits %.1f s", key, wait)
        return wait

    def too_many(
        self, account: str, host: str | None, seconds: float | None, *, public: bool = False
    ) -> float:
        """A venue said too many requests to ``account`` at ``host``: the account waits
        ``seconds`` (else `SLOWED_S`); so does the host when the request was ``public`` (it
        named no account) or another account of the host was refused and still waits (the
        address's limit, not the account's). The wait set."""
        wait = self.slow_down(account, seconds)
        if host is None:
            return wait
        now = time.monotonic()
        with self._lock:
            refused = self._refused.setdefault(host, {})
            for key in [k for k, until in refused.items() if until <= now]:
                del refused[key]
            shared = public or any(key != account for key in refused)
            refused[account] = now + wait
        if shared:
            self.slow_down(host, wait)
        return wait


PACER = Pacer()
"""The process's pacer (see the module's text)."""


def alpaca_rate() -> Rate:
    """Alpaca's requests per account (`ALPACA_RATE_ENV`, else 200 per minute)."""
    return Rate.parse(os.environ.get(ALPACA_RATE_ENV) or ALPACA_RATE, ALPACA_RATE_ENV)


def host_key(url: str) -> str:
    return f"host {urlsplit(url).netloc.lower()}"


def weight_key(url: str) -> str:
    """The key of the request budget every account shares at ``url``'s host."""
    return f"weight {urlsplit(url).netloc.lower()}"


def units_of(cost: float, unit_ms: float) -> int:
    """A request's share of a host budget counted in milliseconds: ``cost`` units of
    ``unit_ms`` each, rounded up (a cost that floats just above a whole number, as ccxt's
    0.2 × 50, is that number)."""
    if cost <= 0 or unit_ms <= 0:
        return 0
    return max(1, math.ceil(cost * unit_ms - 1e-6))


def host_budget(url: str, unit_ms: float, window_ms: float) -> str | None:
    """The key of ``url``'s host budget, registered on first use: ``window_ms``
    milliseconds of requests in any ``window_ms`` (each request taking `units_of` its cost),
    kept `MARGIN` below. None when there is no budget (no pace, or no window)."""
    if unit_ms <= 0 or window_ms <= 0:
        return None
    key = weight_key(url)
    PACER.limit(key, Rate(max(int(window_ms), 1), window_ms / 1000))
    return key


def host_keys(url: str | None) -> list[str]:
    """The host key of ``url`` when the operator set a limit for that host (else none),
    the limit registered on first use."""
    if not url:
        return []
    text = os.environ.get(HOST_RATES_ENV, "")
    netloc = urlsplit(url).netloc.lower()
    for part in filter(None, (p.strip() for p in text.split(","))):
        host, _, rate = part.partition("=")
        if host.strip().lower() == netloc:
            key = host_key(url)
            PACER.limit(key, Rate.parse(rate, f"{HOST_RATES_ENV} {host.strip()}"))
            return [key]
    return []
