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
  client itself (its ``rateLimit``, enableRateLimit): that is the exchange's own published
  pace, so it is not counted twice here;
- a host: ``host <netloc>``, only where the operator sets a limit for it
  (`HOST_RATES_ENV`, for an exchange that limits per address, or a proxy in front).

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
        self.bucket = InMemoryBucket([LimiterRate(rate.kept, window_ms)])
        self.lock = threading.Lock()
        self._puts = 0

    def acquire(self) -> None:
        """Take one request's place, waiting for it."""
        while True:
            with self.lock:
                now = self.bucket.now()  # type: ignore[no-untyped-call]
                item = RateItem(self.key, now, weight=1)
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
        self._lock = threading.Lock()

    def limit(self, key: str, rate: Rate) -> None:
        """Count ``key``'s requests against ``rate`` (the first limit set for a key stays)."""
        with self._lock:
            if key not in self._windows:
                self._windows[key] = _Window(key, rate)

    def wait(self, keys: Sequence[str]) -> None:
        """Block until one more request of each of ``keys`` may go (keys without a limit or
        a slow-down pass at once)."""
        for key in keys:
            until = self._until.get(key, 0.0)
            pause = until - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            window = self._windows.get(key)
            if window is not None:
                window.acquire()

    def slow_down(self, key: str, seconds: float | None) -> float:
        """The venue said too many requests for ``key``: nothing more of it goes for
        ``seconds`` (what the venue asked) or `SLOWED_S`; the wait set."""
        wait = seconds if seconds is not None and seconds > 0 else SLOWED_S
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), time.monotonic() + wait)
        log.info("rate limited: %s waits %.1f s", key, wait)
        return wait


PACER = Pacer()
"""The process's pacer (see the module's text)."""


def alpaca_rate() -> Rate:
    """Alpaca's requests per account (`ALPACA_RATE_ENV`, else 200 per minute)."""
    return Rate.parse(os.environ.get(ALPACA_RATE_ENV) or ALPACA_RATE, ALPACA_RATE_ENV)


def host_key(url: str) -> str:
    return f"host {urlsplit(url).netloc.lower()}"


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
