"""Fan-out over HTTP (real alpaca-py against the fake Alpaca server): accounts are sent to
in parallel, each account's orders in order; an account that hangs holds up nobody else;
answers are recorded as they come; working orders are reconciled with one list per account.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fake_brokers import FakeAlpaca
from test_desk_actions import chain_ok
from test_real_brokers import PRICES, set_keys, use_venue

from vanta_tui.actions.brokers import brokers_for
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side
from vanta_tui.core.models import FollowersFile, QueueFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update

ACCOUNTS = {"V_CORE": "alpaca-core", "F_1042": "alpaca-f1042", "F_1043": "alpaca-f1043"}


class CountingAlpaca(FakeAlpaca):
    """FakeAlpaca that counts every request by method and path, and how many order POSTs
    it was serving at once at most (each POST takes ``post_s`` before it is answered)."""

    def __init__(self, prices: dict[str, Decimal]) -> None:
        super().__init__(prices)
        self.requests: Counter[str] = Counter()
        self.lookups: Counter[str] = Counter()
        """Lookups by client order id, per id."""
        self.post_s = 0.0
        self.posting = 0
        self.most_posting = 0

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        with self.lock:
            self.requests[f"{method} {path}"] += 1
            if path == "/v2/orders:by_client_order_id":
                self.lookups[query.get("client_order_id", "")] += 1
        if not (method == "POST" and path == "/v2/orders" and self.post_s):
            return super().route(method, path, query, body, headers)
        with self.lock:
            self.posting += 1
            self.most_posting = max(self.most_posting, self.posting)
        try:
            time.sleep(self.post_s)  # a broker that takes its time: the POSTs overlap or not
            return super().route(method, path, query, body, headers)
        finally:
            with self.lock:
                self.posting -= 1


@pytest.fixture
def alpaca() -> Iterator[CountingAlpaca]:
    with CountingAlpaca(dict(PRICES)) as fake:
        yield fake  # type: ignore[misc]


def _everyone_at_alpaca(state_dir: Path, fake: FakeAlpaca, monkeypatch: pytest.MonkeyPatch) -> None:
    """V_CORE and its two followers each trade equities at their own Alpaca account."""
    monkeypatch.setenv("VANTA_ALPACA_URL", fake.url)
    for ref in ACCOUNTS.values():
        set_keys(monkeypatch, ref)
    use_venue(state_dir, "V_CORE", AssetClass.EQUITY, "alpaca", ACCOUNTS["V_CORE"])

    def change(registry: FollowersFile) -> None:
        for follower in registry.followers:
            if follower.follower_id in ACCOUNTS:
                ref = ACCOUNTS[follower.follower_id]
                follower.brokers[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref=ref)

    update(state_dir, FollowersFile, change)


def _msft_family(state_dir: Path) -> dict[str, str]:
    """The demo's approved MSFT parent and its two follower children: account → order id."""
    queue = load_model(state_dir, QueueFile)
    parent = next(o for o in queue.orders if o.symbol == "MSFT" and o.follower_id is None)
    family = {"V_CORE": parent.order_id}
    for order in queue.orders:
        if order.parent_id == parent.order_id and order.follower_id:
            family[order.follower_id] = order.order_id
    assert set(family) == set(ACCOUNTS)
    return family


def _executor(state_dir: Path, **kwargs: Any) -> Executor:
    return Executor(
        ActionContext.open(state_dir, "executor"),
        brokers_for(state_dir, timeout_s=5),
        retry_after=(0, 0, 0, 0),
        price_every_s=None,
        reconcile_every_s=None,
        **kwargs,
    )


def _status(state_dir: Path, order_id: str) -> OrderStatus:
    order = load_model(state_dir, QueueFile).get(order_id)
    assert order is not None
    return order.status


def test_accounts_are_sent_to_at_once(
    state_dir: Path, alpaca: CountingAlpaca, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three accounts' orders are at the broker at the same moment (one at a time, it
    would never serve two at once), and each reaches it exactly once."""
    _everyone_at_alpaca(state_dir, alpaca, monkeypatch)
    family = _msft_family(state_dir)
    alpaca.post_s = 0.5
    executor = _executor(state_dir)
    executor.run_once()
    created = list(alpaca.created)
    executor.run_once()  # twice in a row: nothing more goes out
    executor.ctx.close()
    assert alpaca.created == created
    assert alpaca.most_posting == 3
    assert Counter(alpaca.created)[f"vanta-{family['V_CORE']}"] == 1
    assert len(alpaca.created) == len(set(alpaca.created)) == 3
    assert all(_status(state_dir, oid) is OrderStatus.FILLED for oid in family.values())
    chain_ok(state_dir)


def test_a_hung_account_holds_up_nobody_and_answers_are_recorded_as_they_come(
    state_dir: Path, alpaca: CountingAlpaca, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F_1042's broker takes its order and answers 2 s later. The cycle does not wait for
    it: V_CORE's and F_1043's fills are in the queue file while F_1042's child is still
    `submitting`, and is neither looked up nor resent meanwhile; then its answer is
    recorded too. One POST per order."""
    _everyone_at_alpaca(state_dir, alpaca, monkeypatch)
    family = _msft_family(state_dir)
    alpaca.hang_s = 2.0
    alpaca.faults_for[f"vanta-{family['F_1042']}"] = ["hang"]
    executor = _executor(state_dir, cycle_wait_s=0.3)
    first = executor.cycle()
    assert first.sent == 4  # and V_CRYPTO's ETH/USD order at the paper broker
    assert _status(state_dir, family["V_CORE"]) is OrderStatus.FILLED
    assert _status(state_dir, family["F_1043"]) is OrderStatus.FILLED
    assert _status(state_dir, family["F_1042"]) is OrderStatus.SUBMITTING
    assert executor.in_flight == 1
    executor.cycle()  # the hung send is not looked up nor sent again meanwhile
    assert alpaca.lookups[f"vanta-{family['F_1042']}"] == 0
    executor.finish()
    executor.ctx.close()
    assert _status(state_dir, family["F_1042"]) is OrderStatus.FILLED
    assert executor.in_flight == 0
    assert alpaca.posts[f"vanta-{family['F_1042']}"] == 1
    assert len(alpaca.created) == len(set(alpaca.created)) == 3
    chain_ok(state_dir)


def test_one_account_sends_its_orders_in_order(
    state_dir: Path, alpaca: CountingAlpaca, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five orders of one account reach its broker in the order they were approved."""
    _everyone_at_alpaca(state_dir, alpaca, monkeypatch)
    ctx = ActionContext.open(state_dir, "dana")
    ids = []
    for qty in range(1, 6):
        order = stage_order(
            ctx, vault_id="V_CORE", symbol="NVDA", side=Side.BUY, qty=Decimal(qty)
        ).result
        ids.append(order.order_id)
    approve_orders(ctx, ids)
    ctx.close()
    executor = _executor(state_dir)
    executor.run_once()
    executor.ctx.close()
    sent = [cid for cid in alpaca.created if cid.removeprefix("vanta-") in ids]
    assert sent == [f"vanta-{oid}" for oid in ids]


def test_working_orders_are_reconciled_with_one_list_per_account(
    state_dir: Path, alpaca: CountingAlpaca, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three resting limit orders of V_CORE: each cycle asks its broker once for the open
    orders, and looks none up by id (their outcome is known: they are listed)."""
    _everyone_at_alpaca(state_dir, alpaca, monkeypatch)
    ctx = ActionContext.open(state_dir, "dana")
    ids = []
    for qty in (1, 2, 3):
        order = stage_order(
            ctx,
            vault_id="V_CORE",
            symbol="NVDA",
            side=Side.BUY,
            qty=Decimal(qty),
            order_type=OrderType.LIMIT,
            limit_price=Decimal("100"),
        ).result
        ids.append(order.order_id)
    approve_orders(ctx, ids)
    ctx.close()
    executor = _executor(state_dir)
    executor.run_once()
    assert all(_status(state_dir, oid) is OrderStatus.SUBMITTED for oid in ids)
    alpaca.requests.clear()
    executor.cycle()
    executor.ctx.close()
    assert alpaca.requests["GET /v2/orders"] == 1
    assert not any(alpaca.lookups[f"vanta-{oid}"] for oid in ids)


# ------------------------------------------------------------------ rate limits


def _alpaca_account(fake: Any, name: str) -> Any:
    from vanta_tui.brokers.alpaca import AlpacaBroker
    from vanta_tui.brokers.credentials import Credentials

    key, secret = fake.add_account(name)
    return AlpacaBroker(Credentials(name, key, secret, "environment"), base_url=fake.url)


def test_an_account_is_kept_within_its_published_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The venue allows 5 requests a second per account and answers 429 beyond: 10 orders
    of one account in a row never see a 429, and the venue never counts more than its limit
    in any one second."""
    from fake_venues import FakeAlpacaAccounts

    from vanta_tui.brokers.base import OrderRequest

    monkeypatch.setenv("VANTA_ALPACA_RATE_LIMIT", "5/1")
    with FakeAlpacaAccounts(prices=dict(PRICES), rate_limit=5, window_s=1.0) as fake:
        broker = _alpaca_account(fake, "paced-1")
        for n in range(10):
            broker.submit(OrderRequest(f"paced-{n}", "AAPL", Side.BUY, Decimal(1)))
        stats = fake.snapshot().accounts["paced-1"]
    assert stats.requests == 10
    assert stats.throttled == 0 and stats.max_seen <= 5


def test_a_429_slows_that_account_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Told to slow down (our limit set above the venue's), one account waits as long as
    the venue's reset says; another account of the same venue does not."""
    from fake_venues import FakeAlpacaAccounts

    from vanta_tui.brokers.base import OrderRequest
    from vanta_tui.brokers.errors import TemporaryBrokerError
    from vanta_tui.brokers.pacing import PACER

    monkeypatch.setenv("VANTA_ALPACA_RATE_LIMIT", "50/1")
    with FakeAlpacaAccounts(prices=dict(PRICES), rate_limit=3, window_s=1.0) as fake:
        hasty = _alpaca_account(fake, "hasty")
        calm = _alpaca_account(fake, "calm")
        refused = []
        for n in range(4):
            try:
                hasty.submit(OrderRequest(f"hasty-{n}", "AAPL", Side.BUY, Decimal(1)))
            except TemporaryBrokerError as exc:
                refused.append(str(exc))
        assert len(refused) == 1 and "rate limited (429)" in refused[0]
        slowed = dict(PACER._until)
        assert hasty._account_key in slowed and calm._account_key not in slowed
        calm.submit(OrderRequest("calm-1", "AAPL", Side.BUY, Decimal(1)))
        stats = fake.snapshot().accounts
    assert stats["calm"].throttled == 0 and stats["hasty"].throttled == 1
