"""What a vault's venues can take, for the checks at staging (stage, edit, rebalance).

The limits come from the brokers layer (`brokers.routing.venue_caps`: for ccxt, the loaded
markets, ``has`` and ``features``, cached); the rule is the core's
(`core.venue_caps.venue_refusal`). Venues without published limits (paper, Alpaca) and
venues whose limits cannot be loaded now are not checked here: the send meets the venue's
own refusal instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from vanta_tui.actions.errors import ActionRefused
from vanta_tui.brokers.routing import venue_caps
from vanta_tui.core.enums import AssetClass, OrderType, TimeInForce
from vanta_tui.core.models import Order, PortfolioFile, VaultFile
from vanta_tui.core.rebalance import RebalancePlan
from vanta_tui.core.venue_caps import VenueCaps, venue_refusal
from vanta_tui.store.errors import StoreError
from vanta_tui.store.loader import load_model

VaultCaps = Mapping[AssetClass, VenueCaps]
"""The limits of each of a vault's venues that publish them."""


def vault_caps(state_dir: Path, vault_id: str, *, live: bool) -> dict[AssetClass, VenueCaps]:
    """The limits of ``vault_id``'s venues (none for paper and Alpaca). Call it outside a
    journal action: the first call per venue loads its markets."""
    try:
        vault = load_model(state_dir, VaultFile).get(vault_id)
    except StoreError:
        return {}
    found: dict[AssetClass, VenueCaps] = {}
    for asset, venue in (vault.venues if vault else {}).items():
        caps = venue_caps(venue, live=live)
        if caps is not None:
            found[asset] = caps
    return found


def last_price(state_dir: Path, symbol: str) -> Decimal | None:
    """The symbol's last price in portfolio.json (any account), for minimum order values."""
    try:
        portfolio = load_model(state_dir, PortfolioFile)
    except StoreError:
        return None
    for account in portfolio.accounts.values():
        position = account.positions.get(symbol)
        if position is not None:
            return position.last_price
    return None


def refuse_at_venue(
    caps: VaultCaps, order: Order, price: Decimal | None, what: str = "not staged"
) -> None:
    """`ActionRefused` with the venue's limits when its venue cannot take ``order``."""
    venue = caps.get(order.asset_class)
    if venue is None:
        return
    why = venue_refusal(
        venue,
        symbol=order.symbol,
        qty=order.qty,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        limit_price=order.limit_price,
        price=price,
    )
    if why is not None:
        raise ActionRefused(f"{what}: {why}")


def screen_rebalance(plan: RebalancePlan, caps: VaultCaps) -> None:
    """Fit the plan's orders to their venues: each quantity rounded down to the venue's
    step; an order the venue still cannot take (below its minimum amount or value, a market
    it does not list) moves to ``skipped`` with the venue's reason."""
    if not caps:
        return
    kept = []
    for proposed in plan.orders:
        venue = caps.get(proposed.asset_class)
        if venue is None:
            kept.append(proposed)
            continue
        market = venue.markets.get(proposed.symbol)
        step = market.amount_step if market is not None else None
        if step is not None and step > 0:
            qty = (proposed.qty / step).to_integral_value(ROUND_DOWN) * step
            proposed = dataclasses.replace(proposed, qty=qty)
        why = venue_refusal(
            venue,
            symbol=proposed.symbol,
            qty=proposed.qty,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.DAY,
            limit_price=None,
            price=proposed.price,
        )
        if why is None and proposed.qty > 0:
            kept.append(proposed)
        else:
            plan.skipped.append(f"{proposed.symbol}: {why or 'rounds to nothing at the venue'}")
    plan.orders[:] = kept
