"""Mirroring sizes and fee cycles, table-driven, then through the actions and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from vanta_tui.actions.brokers import paper_brokers
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.fees import close_fee_cycle, ledger
from vanta_tui.actions.followers import add_follower, remove_follower, set_kill_switch
from vanta_tui.actions.orders import approve_orders, flip_order, reject_orders, stage_order
from vanta_tui.brokers.base import OrderRequest
from vanta_tui.brokers.errors import OrderRejected
from vanta_tui.cli.main import main
from vanta_tui.core.enums import AssetClass, FeeType, MirrorMode, OrderStatus, Side
from vanta_tui.core.fees import FeeTerms, close_cycle
from vanta_tui.core.mirror import ParentSnapshot, size_child
from vanta_tui.core.models import (
    Account,
    FeeSpec,
    Follower,
    FollowersFile,
    Mirroring,
    PnlFile,
    PortfolioFile,
    Position,
    QueueFile,
    Risk,
    Vault,
)
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update

D = Decimal


def vault(min_equity: str = "5000") -> Vault:
    return Vault(
        vault_id="V",
        label="v",
        risk=Risk(max_drawdown=D("0.2"), max_single_pos_pct=D("0.5")),
        mirroring=Mirroring(
            min_account_equity=D(min_equity), fee=FeeSpec(type=FeeType.PERFORMANCE)
        ),
    )


def follower(**over: Any) -> Follower:
    base: dict[str, Any] = {
        "follower_id": "F",
        "vault_id": "V",
        "mode": "proportional",
        "scale": D("0.25"),
        "max_pos_usd": D(2500),
        "equity": D(10000),
        "brokers": {
            "equity": {"adapter": "paper", "account_ref": "p"},
            "crypto": {"adapter": "paper", "account_ref": "p"},
        },
    }
    base.update(over)
    return Follower.model_validate(base)


def parent(
    qty: str, symbol: str = "AAPL", side: Side = Side.BUY, price: str | None = "100"
) -> ParentSnapshot:
    return ParentSnapshot(
        order_id="P",
        vault_id="V",
        symbol=symbol,
        asset_class=AssetClass.CRYPTO if "/" in symbol else AssetClass.EQUITY,
        side=side,
        qty=D(qty),
        price=D(price) if price is not None else None,
        vault_nav=D(100000),
    )


def holding(symbol: str, qty: str) -> Account:
    asset = AssetClass.CRYPTO if "/" in symbol else AssetClass.EQUITY
    return Account(
        cash=D(1000),
        positions={
            symbol: Position(qty=D(qty), avg_price=D(90), last_price=D(100), asset_class=asset)
        },
    )


SIZING = [
    # (case, parent, follower overrides, account, expected qty, reason contains)
    ("floor of qty × scale", parent("7"), {}, None, "1", "mirrored"),
    ("rounds to zero", parent("3"), {}, None, None, "rounds to nothing"),
    ("crypto to 8 decimals", parent("0.123456789", "BTC/USD", price="1000"), {}, None,
     "0.03086419", "mirrored"),
    ("proportional over the cap is skipped", parent("120"), {}, None, None, "above max_pos_usd"),
    ("capped over the cap is clipped", parent("120"), {"mode": "capped"}, None, "25", "clipped"),
    ("capped counts what is held", parent("120"), {"mode": "capped"}, holding("AAPL", "20"),
     "5", "clipped"),
    ("capped at the cap already", parent("120"), {"mode": "capped"}, holding("AAPL", "25"),
     None, "already at max_pos_usd"),
    ("shadow is computed, never sent", parent("40"), {"mode": "shadow", "brokers": {}}, None,
     "10", "shadow"),
    ("kill switch", parent("40"), {"kill_switch": True}, None, None, "kill switch"),
    ("equity below the minimum", parent("40"), {"equity": D(4999)}, None, None,
     "below the minimum"),
    ("no broker for the asset class", parent("40"),
     {"brokers": {"crypto": {"adapter": "paper", "account_ref": "p"}}}, None, None,
     "no equity broker"),
    ("no price, no cap check", parent("40", price=None), {}, None, None, "no price"),
    ("a sell is clipped to the holding", parent("40", side=Side.SELL), {}, holding("AAPL", "4"),
     "4", "clipped to holding"),
    ("nothing to sell", parent("40", side=Side.SELL), {}, None, None, "holds no AAPL"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "snap", "over", "account", "qty", "reason"), SIZING, ids=[c[0] for c in SIZING]
)
def test_child_sizing(
    case: str,
    snap: ParentSnapshot,
    over: dict[str, Any],
    account: Account | None,
    qty: str | None,
    reason: str,
) -> None:
    size = size_child(snap, follower(**over), vault(), account)
    assert size.qty == (D(qty) if qty is not None else None), case
    assert reason in size.reason, size.reason
    assert size.shadow == (over.get("mode") == "shadow")


PERF = FeeTerms(FeeType.PERFORMANCE, D("0.20"), D(0))
FLAT = FeeTerms(FeeType.FLAT, D(0), D(2000))
HYBRID = FeeTerms(FeeType.PERFORMANCE_OR_FLAT, D("0.20"), D(2000))

FEES = [
    # (case, terms, realized start, realized end, mark, fee due, mark after)
    ("seed: 13,425 at 20 %", PERF, "0", "13425", "0", "2685.00", "13425"),
    ("seed: hybrid with flat 2,000", HYBRID, "0", "13425", "0", "2685.00", "13425"),
    ("seed: hybrid at 5,000 is the flat", HYBRID, "0", "5000", "0", "2000.00", "5000"),
    ("no fee on a loss", PERF, "0", "-1000", "0", "0.00", "0"),
    ("a loss is earned back first", PERF, "-1000", "2000", "0", "400.00", "2000"),
    ("below the mark still", PERF, "-1000", "-200", "0", "0.00", "0"),
    ("flat only, whatever the result", FLAT, "0", "-5000", "0", "2000.00", "0"),
    ("above an earlier mark", PERF, "3000", "4500", "3000", "300.00", "4500"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "terms", "start", "end", "mark", "due", "after"), FEES, ids=[c[0] for c in FEES]
)
def test_fee_cycle(
    case: str, terms: FeeTerms, start: str, end: str, mark: str, due: str, after: str
) -> None:
    cycle = close_cycle(terms, D(start), D(end), D(mark))
    assert cycle.fee_due == D(due), case
    assert cycle.high_water_mark == D(after)


def test_loss_then_recovery_across_cycles(state_dir: Path) -> None:
    """Three monthly closes of V_CRYPTO (performance 25 %): a loss, half a recovery, then
    profit. The demo's opening balance carries its -8,210 (fees through 2026-10)."""
    now = [datetime(2026, 11, 24, 9, tzinfo=UTC)]
    ctx = ActionContext.open(state_dir, "dana", clock=lambda: now[0])

    def realized(value: str) -> None:
        def change(pnl: PnlFile) -> None:
            pnl.vaults["V_CRYPTO"].realized = D(value)

        update(state_dir, PnlFile, change)

    dues = []
    for value, close_at in (
        ("-8210", datetime(2026, 12, 2, tzinfo=UTC)),
        ("-3000", datetime(2027, 1, 2, tzinfo=UTC)),
        ("4000", datetime(2027, 2, 2, tzinfo=UTC)),
    ):
        realized(value)
        now[0] = close_at
        lines = close_fee_cycle(ctx, "V_CRYPTO").result.lines
        dues.append(next(line["fee_due"] for line in lines if line["follower_id"] is None))
    # First close: a loss, no fee. Second: still below the mark (0). Third: 4,000 above 0.
    assert dues == [D("0.00"), D("0.00"), D("1000.00")]
    entries = [e for e in ledger(ctx.journal, vault_id="V_CRYPTO") if e.follower_id is None]
    assert [(e.entry, e.label, e.realized_pnl) for e in entries] == [
        ("opening_balance", "through 2026-10", D("-8210")),
        ("charged", "2026-11", D("0.00")),
        ("charged", "2026-12", D("5210.00")),
        ("charged", "2027-01", D("7000.00")),
    ]
    ctx.close()


# ------------------------------------------------------------------ through the actions


def children_of(state_dir: Path, parent_id: str) -> dict[str, Any]:
    queue = load_model(state_dir, QueueFile)
    return {str(o.follower_id): o for o in queue.orders if o.parent_id == parent_id}


def test_approval_mirrors_to_eligible_followers(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    staged = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=D(20)).result
    result = approve_orders(ctx, [staged.order_id])
    kids = children_of(state_dir, staged.order_id)
    # F_1042: floor(20 × 0.25) = 5 (950 USD ≤ 2,500); F_1043: floor(20 × 0.10) = 2.
    assert {fid: o.qty for fid, o in kids.items()} == {"F_1042": D(5), "F_1043": D(2)}
    assert all(o.status.value == "approved" and o.origin == "mirror" for o in kids.values())
    actions = [e.action for e in result.events]
    assert actions == ["order.approved", "order.mirrored", "order.mirrored"]
    approved = result.events[0]
    assert all(e.parents == [approved.seq] for e in result.events[1:])  # parent → children
    ctx.close()


def test_shadow_and_kill_switch_give_no_queue_order(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    staged = stage_order(
        ctx, vault_id="V_CRYPTO", symbol="ETH/USD", side=Side.BUY, qty=D("1")
    ).result
    result = approve_orders(ctx, [staged.order_id])
    assert children_of(state_dir, staged.order_id) == {}
    by_follower = {e.follower_id: e for e in result.events[1:]}
    assert by_follower["F_2001"].action == "mirror.shadow"
    assert by_follower["F_2001"].payload["child"]["qty"] == D("0.5")
    assert by_follower["F_2002"].action == "mirror.skipped"
    assert "kill switch" in by_follower["F_2002"].payload["reason"]
    ctx.close()


def test_rejected_parent_has_no_children_and_flipped_parent_mirrors_its_new_side(
    state_dir: Path,
) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    one = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=D(20)).result
    reject_orders(ctx, [one.order_id], reason="no")
    assert children_of(state_dir, one.order_id) == {}
    # A sell of AAPL flipped to a buy before approval: children buy.
    two = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.SELL, qty=D(8)).result
    flip_order(ctx, two.order_id)
    approve_orders(ctx, [two.order_id])
    kids = children_of(state_dir, two.order_id)
    assert {o.side for o in kids.values()} == {Side.BUY} and kids["F_1042"].flipped
    ctx.close()


def test_followers_add_moves_inline_keys_to_the_keyring(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store: dict[tuple[str, str], str] = {}

    class MemoryKeyring:
        def set_password(self, service: str, user: str, secret: str) -> None:
            store[(service, user)] = secret

        def get_password(self, service: str, user: str) -> str | None:
            return store.get((service, user))

    import keyring

    monkeypatch.setattr(keyring, "set_password", MemoryKeyring().set_password)
    monkeypatch.setattr(keyring, "get_password", MemoryKeyring().get_password)
    packet = {
        "follower_id": "F_9000", "vault_id": "V_CORE", "mode": "capped", "scale": 0.5,
        "max_pos_usd": 4000, "equity": 9000, "persona": "risk_averse",
        "fee_model": {"perf_share": 0.15},
        "brokers": {"equity": {"adapter": "alpaca", "account_ref": "alpaca-f9000",
                               "api_key": "PKSECRETKEY", "api_secret": "shhh-secret"}},
    }  # fmt: skip
    path = tmp_path / "packet.json"
    path.write_text(json.dumps(packet))
    assert main(["followers", "add", str(path), "--state-dir", str(state_dir)]) == 0
    assert "keys moved to the keyring for: alpaca-f9000" in capsys.readouterr().out
    assert store[("vanta-desk", "alpaca-f9000:api_key")] == "PKSECRETKEY"
    for name in (
        "followers.json",
        "portfolio.json",
        "pnl_summary.json",
        "vanta.db",
        "trade_log.jsonl",
    ):
        assert b"PKSECRETKEY" not in (state_dir / name).read_bytes(), name
        assert b"shhh-secret" not in (state_dir / name).read_bytes(), name
    added = load_model(state_dir, FollowersFile).get("F_9000")
    assert added is not None and added.mode is MirrorMode.CAPPED
    assert load_model(state_dir, PortfolioFile).accounts["F_9000"].cash == D(9000)
    assert main(["followers", "list", "--state-dir", str(state_dir)]) == 0
    assert "F_9000" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"vault_id": "V_NOPE"}, "unknown vault"),
        ({"equity": 100}, "below V_CORE's minimum"),
        (
            {"brokers": {"equity": {"adapter": "ccxt:nosuchex", "account_ref": "x"}}},
            "unknown adapter",
        ),
        ({"brokers": {"equity": {"adapter": "alpaca", "account_ref": "nokeys"}}}, "no keys"),
        ({"scale": -1}, "scale"),
    ],
)
def test_a_bad_packet_is_refused_with_the_place(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], error: str
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    packet: dict[str, Any] = {
        "follower_id": "F_9001", "vault_id": "V_CORE", "max_pos_usd": 1000, "equity": 9000,
        "brokers": {"equity": {"adapter": "paper", "account_ref": "p9001"}},
    }  # fmt: skip
    packet.update(change)
    ctx = ActionContext.open(state_dir, "dana")
    with pytest.raises(ActionRefused, match=error):
        add_follower(ctx, packet)
    assert load_model(state_dir, FollowersFile).get("F_9001") is None
    ctx.close()


def test_inline_keys_without_a_keyring_are_refused(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    packet = {
        "follower_id": "F_9002", "vault_id": "V_CORE", "max_pos_usd": 1000, "equity": 9000,
        "brokers": {"equity": {"adapter": "alpaca", "account_ref": "a9002",
                               "api_key": "K", "api_secret": "S"}},
    }  # fmt: skip
    ctx = ActionContext.open(state_dir, "dana")
    with pytest.raises(ActionRefused, match="VANTA_A9002_API_KEY"):
        add_follower(ctx, packet)
    ctx.close()


def test_kill_switch_and_remove(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    set_kill_switch(ctx, "F_3001", True)
    follower3 = load_model(state_dir, FollowersFile).get("F_3001")
    assert follower3 is not None and follower3.kill_switch
    staged = stage_order(ctx, vault_id="V_INCOME", symbol="KO", side=Side.BUY, qty=D(100)).result
    result = approve_orders(ctx, [staged.order_id])
    assert [e.action for e in result.events] == ["order.approved", "mirror.skipped"]
    remove_follower(ctx, "F_3001")
    assert load_model(state_dir, FollowersFile).get("F_3001") is None
    assert "F_3001" not in load_model(state_dir, PortfolioFile).accounts
    with pytest.raises(ActionRefused, match="order"):
        remove_follower(ctx, "F_1042")  # the demo queue holds a child order of it
    ctx.close()


class RejectSome:
    """Wraps a broker factory: the orders ``refuse`` picks are rejected at the broker (each
    account's broker answers its sends: a broker refuses an order, it is not a route of its
    own)."""

    live = False

    def __init__(self, state_dir: Path, refuse: Any) -> None:
        self.state_dir = state_dir
        self.inner = paper_brokers(state_dir)
        self.refuse = refuse

    def for_venue(self, venue: Any, account_id: str) -> Any:
        return self.inner.for_venue(venue, account_id)

    def for_order(self, order: Any) -> Any:
        broker = self.inner.for_order(order)
        owner = self

        class Refusing:
            name = "refusing"

            def submit(self, request: OrderRequest) -> Any:
                queue = load_model(owner.state_dir, QueueFile)
                sent = next(o for o in queue.orders if o.client_order_id == request.client_order_id)
                if owner.refuse(sent):
                    raise OrderRejected("symbol halted")
                return broker.submit(request)

            def __getattr__(self, attr: str) -> Any:
                return getattr(broker, attr)

        return Refusing()


def mirrored_buy(state_dir: Path) -> tuple[ActionContext, str]:
    ctx = ActionContext.open(state_dir, "dana")
    staged = stage_order(ctx, vault_id="V_CORE", symbol="AAPL", side=Side.BUY, qty=D(20)).result
    approve_orders(ctx, [staged.order_id])
    return ctx, staged.order_id


def test_a_failing_child_is_dead_lettered_alone(state_dir: Path) -> None:
    ctx, parent_id = mirrored_buy(state_dir)
    brokers = RejectSome(state_dir, lambda o: o.follower_id == "F_1042")
    Executor(ActionContext.open(state_dir, "executor"), brokers, price_every_s=None).run_once()
    queue = load_model(state_dir, QueueFile)
    parent = queue.get(parent_id)
    kids = children_of(state_dir, parent_id)
    assert parent is not None and parent.status is OrderStatus.FILLED
    assert kids["F_1042"].status is OrderStatus.BROKER_REJECTED  # refused alone, final
    assert kids["F_1043"].status is OrderStatus.FILLED  # its sibling went on
    ctx.close()


def test_a_parent_failing_after_its_children_went_raises_an_alarm(state_dir: Path) -> None:
    ctx, parent_id = mirrored_buy(state_dir)
    brokers = RejectSome(state_dir, lambda o: o.order_id == parent_id)
    executor = Executor(ActionContext.open(state_dir, "executor"), brokers, price_every_s=None)
    executor.run_once()
    queue = load_model(state_dir, QueueFile)
    parent = queue.get(parent_id)
    assert parent is not None and parent.status is OrderStatus.BROKER_REJECTED
    kids = children_of(state_dir, parent_id)
    assert {o.status for o in kids.values()} == {OrderStatus.FILLED}  # not unwound
    rows = executor.ctx.journal.db.execute(
        "SELECT order_id, payload FROM events WHERE action = 'alarm.raised'"
    ).fetchall()
    assert [r[0] for r in rows] == [parent_id]
    alarm = json.loads(rows[0][1])
    assert alarm["kind"] == "parent_failed_children_sent"
    assert {c["follower_id"] for c in alarm["children"]} == {"F_1042", "F_1043"}
    ctx.close()
