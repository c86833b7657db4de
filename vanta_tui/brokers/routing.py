"""Which broker serves an order: the vault's (or follower's) venue for its asset class."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar, cast

from vanta_tui.brokers.base import Broker
from vanta_tui.brokers.errors import BrokerError
from vanta_tui.brokers.paper import PaperBroker, book_path
from vanta_tui.core.models import (
    FollowersFile,
    Order,
    PortfolioFile,
    StateFileModel,
    VaultFile,
)
from vanta_tui.store.loader import kind_of, load_model

BrokerFactory = Callable[[Order], Broker]

M = TypeVar("M", bound=StateFileModel)


class _Fresh:
    """State files read again only when they change on disk (size and mtime)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._cache: dict[type[StateFileModel], tuple[tuple[int, int], StateFileModel]] = {}

    def get(self, model_cls: type[M]) -> M:
        path = self.state_dir / kind_of(model_cls).filename
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        hit = self._cache.get(model_cls)
        if hit is None or hit[0] != stamp:
            hit = (stamp, load_model(self.state_dir, model_cls))
            self._cache[model_cls] = hit
        return cast(M, hit[1])


def paper_brokers(
    state_dir: Path,
    *,
    slippage_bps: Decimal = Decimal(0),
    partial_fill_ratio: Decimal | None = None,
) -> BrokerFactory:
    """Every order to the built-in paper broker, one book account per account_ref, seeded
    from portfolio.json the first time it is used and priced at its last prices."""
    cache: dict[str, PaperBroker] = {}
    files = _Fresh(state_dir)

    def prices(symbol: str) -> Decimal | None:
        portfolio = files.get(PortfolioFile)
        for account in portfolio.accounts.values():
            if symbol in account.positions:
                return account.positions[symbol].last_price
        return None

    def factory(order: Order) -> Broker:
        vaults = files.get(VaultFile)
        account_id = order.follower_id or order.vault_id
        ref = account_id
        if order.follower_id:
            follower = files.get(FollowersFile).get(order.follower_id)
            venue = follower.brokers.get(order.asset_class) if follower else None
        else:
            vault = vaults.get(order.vault_id)
            venue = vault.venues.get(order.asset_class) if vault else None
        if venue is not None:
            if venue.adapter != "paper":
                raise BrokerError(f"adapter {venue.adapter} is not supported yet; use paper")
            ref = f"{venue.account_ref}:{account_id}"
        if ref not in cache:
            account = files.get(PortfolioFile).accounts.get(account_id)
            cache[ref] = PaperBroker(
                book_path(state_dir),
                prices,
                account_ref=ref,
                slippage_bps=slippage_bps,
                partial_fill_ratio=partial_fill_ratio,
                initial_cash=account.cash if account else Decimal(0),
                initial_positions={
                    s: (p.qty, p.avg_price)
                    for s, p in (account.positions.items() if account else [])
                },
            )
        return cache[ref]

    return factory
