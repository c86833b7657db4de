"""Which broker serves an order: the vault's (or follower's) venue for its asset class.

Routing reads the vaults, followers, portfolio and queue through a `StateSource` its caller
supplies (`vanta_tui.actions.brokers.brokers_for` builds one over the store): the brokers
never import the store, and the source's errors pass through unchanged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from vanta_tui.brokers.base import (
    Broker,
    BrokerOrder,
    Brokers,
    BrokerStatus,
    OrderRequest,
    StateSource,
)
from vanta_tui.brokers.credentials import Credentials, load_credentials
from vanta_tui.brokers.errors import BrokerError, CredentialsError, VenueRefused
from vanta_tui.brokers.paper import PaperBroker, id_number
from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import FollowersFile, Order, PortfolioFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.core.venue_caps import VenueCaps

__all__ = [
    "Brokers",
    "RealAccount",
    "VenueBrokers",
    "credential_problems",
    "real_accounts_of",
    "real_adapter",
    "venue_caps",
    "venue_of",
    "venue_refusals",
]

log = logging.getLogger(__name__)


class VenueBrokers:
    """The `Brokers` of a state directory.

    ``paper`` is the built-in paper broker (one book account per account_ref, seeded from
    portfolio.json, and with the queue's working orders routed to it, the first time it is
    used, and priced at its last prices); ``alpaca`` and
    ``ccxt:<exchange>`` are the real adapters with the venue's account_ref credentials.
    One adapter object per (adapter, account), so ccxt's markets are loaded once.
    """

    def __init__(
        self,
        state: StateSource,
        paper_book: Path,
        *,
        live: bool,
        slippage_bps: Decimal,
        partial_fill_ratio: Decimal | None,
        timeout_s: float,
        paper_only: bool,
        read_only: bool = False,
    ) -> None:
        self.state = state
        self.paper_book = paper_book
        self.read_only = read_only
        self.live = live
        self.slippage_bps = slippage_bps
        self.partial_fill_ratio = partial_fill_ratio
        self.timeout_s = timeout_s
        self.paper_only = paper_only
        self._cache: dict[str, Broker] = {}
        self._refused: dict[str, VenueRefused] = {}
        self._making = threading.RLock()
        self._last_prices: tuple[PortfolioFile, dict[str, Decimal]] | None = None
        self._working: tuple[tuple[object, ...], dict[str | None, list[Order]]] | None = None
        self._floor: tuple[object, int] | None = None

    def _prices(self, symbol: str) -> Decimal | None:
        """The portfolio's last price of ``symbol`` (from the first account holding it):
        worked out once per portfolio read, not per lookup (at 5,000 positions the paper
        book's fills asked thousands of times)."""
        portfolio = self.state.portfolio()
        cached = self._last_prices
        if cached is None or cached[0] is not portfolio:
            prices: dict[str, Decimal] = {}
            for account in portfolio.accounts.values():
                for held, position in account.positions.items():
                    prices.setdefault(held, position.last_price)
            cached = self._last_prices = (portfolio, prices)
        return cached[1].get(symbol)

    def _paper(self, ref: str, account_id: str) -> Broker:
        account = self.state.portfolio().accounts.get(account_id)
        return PaperBroker(
            self.paper_book,
            self._prices,
            account_ref=ref,
            slippage_bps=self.slippage_bps,
            partial_fill_ratio=self.partial_fill_ratio,
            initial_cash=account.cash if account else Decimal(0),
            initial_positions={
                s: (p.qty, p.avg_price) for s, p in (account.positions.items() if account else [])
            },
            initial_orders=lambda: self._working_at(ref),
            id_floor=self._paper_id_floor,
            read_only=self.read_only,
        )

    def _paper_ref(self, order: Order) -> str | None:
        """The paper book account that serves ``order`` (None: a real broker does)."""
        venue = venue_of(self.state, order)
        if venue is not None and venue.adapter != "paper" and not self.paper_only:
            return None
        account_id = order.follower_id or order.vault_id
        return f"{venue.account_ref}:{account_id}" if venue is not None else account_id

    def _followers_now(self) -> FollowersFile | None:
        """followers.json for a cache's key only (None when it cannot be read now: a
        follower's order then raises its error where its venue is looked up)."""
        try:
            return self.state.followers()
        except Exception:
            return None

    def _paper_id_floor(self) -> int:
        """The highest paper broker id of any order in the queue (0 if none): a new paper
        order is numbered past it, so it cannot take the id of a working order of an account
        the book has not opened yet (it would then be refused when that account opens)."""
        queue = self.state.queue()
        if queue is None:
            return 0
        cached = self._floor
        if cached is None or cached[0] is not queue:
            top = max(
                (
                    id_number(o.broker_order_id)
                    for o in queue.orders
                    if o.broker_order_id is not None and o.broker_order_id.startswith("paper-")
                ),
                default=0,
            )
            cached = self._floor = (queue, top)
        return cached[1]

    def _working_at(self, ref: str) -> list[tuple[OrderRequest, BrokerOrder]]:
        """The queue's orders working at paper account ``ref`` (with both their ids): the
        queue is gone through once per read and its working orders grouped by paper
        account, not once per account (200 accounts at 10,000 orders took seconds)."""
        queue = self.state.queue()
        if queue is None:
            return []
        # The grouping holds while the queue and the venues it was made from do.
        sources = (queue, self.state.vaults(), self._followers_now())
        cached = self._working
        if cached is None or any(a is not b for a, b in zip(cached[0], sources, strict=True)):
            grouped: dict[str | None, list[Order]] = {}
            for order in queue.orders:
                if (
                    order.status in {OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED}
                    and order.client_order_id is not None
                    and order.broker_order_id is not None
                ):
                    grouped.setdefault(self._paper_ref(order), []).append(order)
            cached = self._working = (sources, grouped)
        found = []
        for order in cached[1].get(ref, []):
            assert order.client_order_id is not None and order.broker_order_id is not None
            request = OrderRequest(client_order_id=order.client_order_id, **order.ticket())
            state = BrokerOrder(
                broker_order_id=order.broker_order_id,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                status=(
                    BrokerStatus.ACCEPTED
                    if order.status is OrderStatus.SUBMITTED
                    else BrokerStatus.PARTIALLY_FILLED
                ),
                filled_qty=order.filled_qty,
                avg_fill_price=order.avg_fill_price,
            )
            found.append((request, state))
        return found

    def for_venue(self, venue: Venue | None, account_id: str) -> Broker:
        """The broker of ``account_id`` (a vault or follower id) at ``venue``: one per
        account, whichever thread (the executor's, the desk's) asks first."""
        with self._making:
            return self._for_venue(venue, account_id)

    def _for_venue(self, venue: Venue | None, account_id: str) -> Broker:
        if venue is None or venue.adapter == "paper" or self.paper_only:
            ref = f"{venue.account_ref}:{account_id}" if venue is not None else account_id
            if ref not in self._cache:
                self._cache[ref] = self._paper(ref, account_id)
            return self._cache[ref]
        key = f"{venue.adapter}|{venue.account_ref}"
        if key in self._refused:
            raise self._refused[key]
        if key not in self._cache:
            try:
                self._cache[key] = real_adapter(
                    venue.adapter, venue.account_ref, live=self.live, timeout_s=self.timeout_s
                )
            except VenueRefused as exc:
                self._refused[key] = exc  # refused for the run: its orders wait, others go
                raise
        return self._cache[key]

    def for_order(self, order: Order) -> Broker:
        """The broker of ``order``: its vault's (or follower's) venue for its asset class."""
        return self.for_venue(venue_of(self.state, order), order.follower_id or order.vault_id)


def venue_of(state: StateSource, order: Order) -> Venue | None:
    if order.follower_id:
        follower = state.followers().get(order.follower_id)
        return follower.brokers.get(order.asset_class) if follower else None
    vault = state.vaults().get(order.vault_id)
    return vault.venues.get(order.asset_class) if vault else None


def real_adapter(adapter: str, account_ref: str, *, live: bool, timeout_s: float) -> Broker:
    """An Alpaca or ccxt adapter for ``account_ref`` (its credentials are loaded now)."""
    credentials = load_credentials(account_ref)
    if adapter == "alpaca":
        from vanta_tui.brokers.alpaca import AlpacaBroker

        return AlpacaBroker(credentials, live=live, timeout_s=timeout_s)
    if adapter.startswith("ccxt:"):
        from vanta_tui.brokers.ccxt_adapter import CcxtBroker, credentials_problem, venue_problem

        exchange_id = adapter.split(":", 1)[1]
        problem = venue_problem(exchange_id, live=live)
        if problem is not None:
            raise VenueRefused(problem)
        missing = credentials_problem(exchange_id, credentials)
        if missing is not None:
            raise CredentialsError(missing)
        return CcxtBroker(exchange_id, credentials, live=live, timeout_s=timeout_s)
    raise BrokerError(f"unknown broker adapter {adapter!r}")


_CAPS: dict[tuple[str, str, bool, str], tuple[float, VenueCaps]] = {}
CAPS_TTL_S = 900.0
"""How long a venue's capabilities (its markets' limits) are reused before a reload."""


def venue_caps(venue: Venue | None, *, live: bool, timeout_s: float = 10.0) -> VenueCaps | None:
    """What ``venue`` can take (for checks at staging), or None where nothing is known: the
    paper broker and Alpaca, a venue refused in this mode, markets that cannot be loaded now
    (the send then meets the venue's own refusal). Cached per venue and mode."""
    if venue is None or not venue.adapter.startswith("ccxt:"):
        return None
    from vanta_tui.brokers.ccxt_adapter import CcxtBroker, url_env

    exchange_id = venue.adapter.split(":", 1)[1]
    key = (venue.adapter, venue.account_ref, live, os.environ.get(url_env(exchange_id), ""))
    hit = _CAPS.get(key)
    if hit is not None and time.monotonic() - hit[0] < CAPS_TTL_S:
        return hit[1]
    try:
        credentials = load_credentials(venue.account_ref)
    except CredentialsError:  # markets are public: no keys needed to read them
        credentials = Credentials(venue.account_ref, "", "", "none")
    try:
        caps = CcxtBroker(exchange_id, credentials, live=live, timeout_s=timeout_s).caps()
    except BrokerError as exc:
        log.warning("%s: capabilities unknown: %s", venue.adapter, exc)
        return None
    _CAPS[key] = (time.monotonic(), caps)
    return caps


RealAccount = tuple[str, str, str]
"""(adapter, account_ref, who uses it: "V_CORE, F_1042") of a venue that is not paper."""


def real_accounts_of(vaults: VaultFile, followers: FollowersFile | None) -> list[RealAccount]:
    """Every (adapter, account_ref, used by) that needs credentials: non-paper venues of the
    vaults and the followers' brokers."""
    found: dict[tuple[str, str], list[str]] = {}
    for vault in vaults.vaults:
        for venue in vault.venues.values():
            if venue.adapter != "paper":
                found.setdefault((venue.adapter, venue.account_ref), []).append(vault.vault_id)
    for follower in followers.followers if followers else []:
        for venue in follower.brokers.values():
            if venue.adapter != "paper":
                found.setdefault((venue.adapter, venue.account_ref), []).append(
                    follower.follower_id
                )
    return [(adapter, ref, ", ".join(users)) for (adapter, ref), users in sorted(found.items())]


def credential_problems(accounts: Sequence[RealAccount]) -> list[str]:
    """One line per account whose keys cannot be found (empty when all are there): checked
    when the desk or the executor starts, so a missing key never surfaces mid-send."""
    problems = []
    for adapter, ref, users in accounts:
        try:
            credentials = load_credentials(ref)
        except CredentialsError as exc:
            problems.append(f"{adapter} for {users}: {exc}")
            continue
        if adapter.startswith("ccxt:"):
            from vanta_tui.brokers.ccxt_adapter import credentials_problem

            missing = credentials_problem(adapter.split(":", 1)[1], credentials)
            if missing is not None:
                problems.append(f"{adapter} for {users}: {missing}")
    return problems


def venue_refusals(accounts: Sequence[RealAccount], *, live: bool) -> list[str]:
    """One line per non-paper venue that cannot be used in this mode (a ccxt exchange with
    no sandbox while not live, one that signs with secrets the desk does not hold):
    reported at start; that venue's orders wait, the other venues keep trading."""
    problems = []
    for adapter, ref, users in accounts:
        if not adapter.startswith("ccxt:"):
            continue
        from vanta_tui.brokers.ccxt_adapter import venue_problem

        problem = venue_problem(adapter.split(":", 1)[1], live=live)
        if problem is not None:
            problems.append(f"{adapter} {ref} for {users}: {problem}")
    return problems
