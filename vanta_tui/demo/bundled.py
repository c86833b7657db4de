"""The bundled demo state directory (`state/`), built from numbers that agree with each other.

Three vaults: an equities-plus-crypto core vault (drifted: AAPL far under target), a crypto
vault (close to its max drawdown) and an income vault (on target). Equity = cash + Σ qty ×
last price; the PnL NAV of each vault is that equity; the high-water mark is the top of a
60-day NAV history. Regenerate with ``python -m vanta_tui.demo.bundled state``.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from vanta_tui.core.enums import AssetClass, OrderStatus, asset_class_of
from vanta_tui.core.ids import client_order_id, ulid
from vanta_tui.core.models import (
    AllocationFile,
    FollowersFile,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    StateFileModel,
    VaultFile,
)
from vanta_tui.store.loader import kind_of
from vanta_tui.store.writer import render

DEMO_NOW = datetime(2026, 11, 24, 8, 5, tzinfo=UTC)
"""The moment the fixed demo describes (tests, screenshots, the tracked `state/`)."""

DEMO_MARKER = ".vanta-demo"
"""Written by `vanta-tui init` into a demo working copy: the desk starts its executor
paused there, so a newcomer sees the approved orders before they move."""


def is_demo_copy(state_dir: Path) -> bool:
    """The directory is a demo working copy written by `vanta-tui init`."""
    return (state_dir / DEMO_MARKER).is_file()


D = Decimal


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Holding:
    symbol: str
    qty: str
    avg: str
    last: str

    @property
    def asset_class(self) -> str:
        return asset_class_of(self.symbol).value

    @property
    def value(self) -> Decimal:
        return D(self.qty) * D(self.last)


_HOLDINGS: dict[str, tuple[str, list[_Holding]]] = {
    "V_CORE": (
        "210000",
        [
            _Holding("AAPL", "60", "182.50", "190.10"),
            _Holding("MSFT", "40", "398.20", "415.50"),
            _Holding("NVDA", "140", "121.75", "142.30"),
            _Holding("BTC/USD", "0.22", "61000", "64250"),
            _Holding("ETH/USD", "2.6", "2980", "3210"),
        ],
    ),
    "V_CRYPTO": (
        "46500",
        [
            _Holding("BTC/USD", "0.95", "71800", "64250"),
            _Holding("ETH/USD", "14", "3620", "3210"),
            _Holding("SOL/USD", "180", "176.40", "148.20"),
        ],
    ),
    "V_INCOME": (
        "118000",
        [
            _Holding("JNJ", "400", "151.10", "156.80"),
            _Holding("PG", "380", "158.90", "167.25"),
            _Holding("KO", "900", "60.15", "62.40"),
            _Holding("O", "1100", "55.80", "57.35"),
            _Holding("VZ", "1500", "39.10", "40.12"),
        ],
    ),
}

# (realized PnL, fees accrued, how far below the high-water mark the NAV ends)
_PNL: dict[str, tuple[str, str, str]] = {
    "V_CORE": ("13425", "2685", "0.021"),
    "V_CRYPTO": ("-8210", "0", "0.228"),
    "V_INCOME": ("6240", "1500", "0.004"),
}


def _fees_through(now: datetime) -> datetime:
    """The start of the demo's month: the fees accrued are for every monthly period before
    it (through October 2026 for DEMO_NOW): V_CORE 20 % of 13,425 (above its 2,000 flat),
    V_INCOME its 1,500 flat, V_CRYPTO nothing on a loss; the followers, nothing so far
    (they were registered before the ledger began, so they pay whole periods from then on;
    only a follower added through `followers add` pays its first period pro rata). The
    demo's month is open. The first close records this as each account's opening balance
    in the fee ledger (`core.fees.opening_balance`), then charges the demo's month only once
    it has ended."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _equity(vault_id: str) -> Decimal:
    cash, holdings = _HOLDINGS[vault_id]
    return D(cash) + sum((h.value for h in holdings), D(0))


def _weight(value: Decimal, equity: Decimal) -> Decimal:
    return (value / equity).quantize(D("0.0001"), ROUND_HALF_EVEN)


def vault_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    def venues(equity: bool, crypto: bool, ref: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if equity:
            out["equity"] = {"adapter": "paper", "account_ref": ref}
        if crypto:
            out["crypto"] = {"adapter": "paper", "account_ref": ref}
        return out

    return {
        "version": 1,
        "defaults": {"base_currency": "USD", "drift_tolerance": D("0.01"), "min_trade_usd": 50},
        "vaults": [
            {
                "vault_id": "V_CORE",
                "label": "Core Discretionary",
                "base_currency": "USD",
                "crypto_enabled": True,
                "fiat_enabled": True,
                "personas": ["risk_averse", "contrarian", "aggressive"],
                "risk": {"max_drawdown": D("0.12"), "max_single_pos_pct": D("0.08")},
                "mirroring": {
                    "mode": "proportional",
                    "min_account_equity": 5000,
                    "fee": {
                        "type": "performance_or_flat",
                        "flat_usd": 2000,
                        "perf_share": D("0.20"),
                    },
                },
                "venues": venues(True, True, "paper_core"),
            },
            {
                "vault_id": "V_CRYPTO",
                "label": "Crypto Momentum",
                "base_currency": "USD",
                "crypto_enabled": True,
                "fiat_enabled": False,
                "personas": ["aggressive", "contrarian"],
                "risk": {"max_drawdown": D("0.25"), "max_single_pos_pct": D("0.40")},
                "mirroring": {
                    "mode": "capped",
                    "min_account_equity": 10000,
                    "fee": {"type": "performance", "flat_usd": 0, "perf_share": D("0.25")},
                },
                "venues": venues(False, True, "paper_crypto"),
            },
            {
                "vault_id": "V_INCOME",
                "label": "Dividend Income",
                "base_currency": "USD",
                "crypto_enabled": False,
                "fiat_enabled": True,
                "personas": ["risk_averse"],
                "risk": {"max_drawdown": D("0.08"), "max_single_pos_pct": D("0.15")},
                "mirroring": {
                    "mode": "proportional",
                    "min_account_equity": 5000,
                    "fee": {"type": "flat", "flat_usd": 1500, "perf_share": 0},
                },
                "venues": venues(True, False, "paper_income"),
            },
        ],
    }


def overlay_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    off = {"enabled": False, "reason": None, "since": None, "by": None}
    return {
        "version": 1,
        "global": {"maintenance": dict(off)},
        "vaults": {
            "V_CORE": {
                "maintenance": dict(off),
                "flip_mode": {
                    "enabled": False,
                    "amplify": D("0.35"),
                    "expires_at": None,
                    "by": None,
                },
                "persona": "risk_averse",
                "persona_boosts": {"aggressive": D("0.10"), "contrarian": D("-0.05")},
                "trip_clearance": None,
            },
            "V_CRYPTO": {
                "maintenance": dict(off),
                "flip_mode": {
                    "enabled": True,
                    "amplify": D("0.35"),
                    "expires_at": _iso(now + timedelta(minutes=40)),
                    "by": "dana",
                },
                "persona": "aggressive",
                "persona_boosts": {"aggressive": D("0.05")},
                "trip_clearance": None,
            },
            "V_INCOME": {
                "maintenance": {
                    "enabled": True,
                    "reason": "dividend reinvestment review",
                    "since": _iso(now - timedelta(hours=2)),
                    "by": "sam",
                },
                "flip_mode": {
                    "enabled": False,
                    "amplify": D("0.35"),
                    "expires_at": None,
                    "by": None,
                },
                "persona": "risk_averse",
                "persona_boosts": {},
                "trip_clearance": None,
            },
        },
    }


def allocation_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    targets: dict[str, dict[str, Decimal]] = {}
    for vault_id, (_, holdings) in _HOLDINGS.items():
        equity = _equity(vault_id)
        targets[vault_id] = {
            h.symbol: _weight(h.value, equity).quantize(D("0.01")) for h in holdings
        }
    # The core vault has drifted: AAPL sits at about 4.1 % against a 7 % target, and the
    # allocator wants a small SOL position it does not hold yet.
    targets["V_CORE"]["AAPL"] = D("0.07")
    targets["V_CORE"]["SOL/USD"] = D("0.02")
    # The crypto vault's BTC boost (aggressive +5 %) would pass its 40 % cap: 0.34 × 1.05 < 0.40.
    return {
        "version": 1,
        "asof": _iso(now - timedelta(minutes=5)),
        "source": "conviction_stack",
        "vaults": {vid: {"targets": t} for vid, t in targets.items()},
    }


def portfolio_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    accounts: dict[str, Any] = {}
    for vault_id, (cash, holdings) in _HOLDINGS.items():
        accounts[vault_id] = {
            "cash": D(cash),
            "positions": {
                h.symbol: {
                    "qty": D(h.qty),
                    "avg_price": D(h.avg),
                    "last_price": D(h.last),
                    "asset_class": h.asset_class,
                }
                for h in holdings
            },
        }
    for follower_id, equity in _FOLLOWER_ACCOUNTS.items():
        accounts[follower_id] = {"cash": D(equity), "positions": {}}
    return {"version": 1, "asof": _iso(now), "accounts": accounts}


_FOLLOWER_ACCOUNTS = {"F_1042": 12000, "F_1043": 8000, "F_2002": 15000, "F_3001": 3000}
"""The followers' own accounts (all cash so far); the shadow follower F_2001 trades nothing."""


def _nav_history(
    nav: Decimal, below_hwm: Decimal, rng: random.Random, now: datetime
) -> list[list[Any]]:
    """60 daily closes ending at ``nav``, whose peak sits ``below_hwm`` above it."""
    hwm = (nav / (1 - below_hwm)).quantize(D("0.01"))
    peak_day = rng.randint(20, 50)
    values: list[Decimal] = []
    start = hwm * D("0.93")
    for day in range(60):
        if day <= peak_day:
            base = start + (hwm - start) * D(day) / D(peak_day)
        else:
            base = hwm + (nav - hwm) * D(day - peak_day) / D(59 - peak_day)
        wobble = D(rng.uniform(-0.004, 0.004)).quantize(D("0.0001"))
        values.append((base * (1 + wobble)).quantize(D("0.01")))
    values[peak_day] = hwm
    values = [min(v, hwm) for v in values]
    values[-1] = nav
    first_day = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=59)
    history: list[list[Any]] = [
        [_iso(first_day + timedelta(days=i)), v] for i, v in enumerate(values[:-1])
    ]
    history.append([_iso(now), nav])
    return history


def pnl_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    rng = random.Random(20261124)
    vaults: dict[str, Any] = {}
    for vault_id, (_, holdings) in _HOLDINGS.items():
        realized, fees, below = _PNL[vault_id]
        nav = _equity(vault_id)
        history = _nav_history(nav, D(below), rng, now)
        hwm = max(v for _, v in history)
        unrealized = sum((D(h.qty) * (D(h.last) - D(h.avg)) for h in holdings), D(0))
        vaults[vault_id] = {
            "nav": nav,
            "realized": D(realized),
            "unrealized": unrealized.quantize(D("0.01")),
            "fees_accrued": D(fees),
            "fees_through": _iso(_fees_through(now)),
            "high_water_mark": hwm,
            "drawdown": ((hwm - nav) / hwm).quantize(D("0.0001")),
            "nav_history": history,
        }
    for follower_id, equity in _FOLLOWER_ACCOUNTS.items():
        vaults[follower_id] = {
            "nav": D(equity),
            "realized": D(0),
            "unrealized": D(0),
            "fees_accrued": D(0),
            "fees_through": _iso(_fees_through(now)),
            "high_water_mark": D(equity),
            "drawdown": D(0),
            "nav_history": [[_iso(now), D(equity)]],
        }
    return {"version": 1, "asof": _iso(now), "vaults": vaults}


def _order(
    now: datetime,
    n: int,
    minutes_ago: int,
    vault_id: str,
    symbol: str,
    side: str,
    qty: str,
    status: str,
    **fields: Any,
) -> dict[str, Any]:
    created = now - timedelta(minutes=minutes_ago)
    order_id = ulid(created, randomness=n * 7919 + 104729)
    order: dict[str, Any] = {
        "order_id": order_id,
        "vault_id": vault_id,
        "symbol": symbol,
        "asset_class": asset_class_of(symbol).value,
        "side": side,
        "qty": D(qty),
        "order_type": "market",
        "limit_price": None,
        "time_in_force": "gtc" if asset_class_of(symbol) is AssetClass.CRYPTO else "day",
        "status": status,
        "origin": "allocator",
        "reason_vector": [],
        "conviction": None,
        "created_at": _iso(created),
        "updated_at": _iso(created),
        "approved_by": None,
        "approved_at": None,
        "flipped": False,
        "client_order_id": None,
        "broker_order_id": None,
        "filled_qty": 0,
        "avg_fill_price": None,
        "attempts": 0,
        "last_error": None,
        "parent_id": None,
        "follower_id": None,
    }
    past_approval = status not in {OrderStatus.STAGED, OrderStatus.REJECTED}
    if past_approval:
        order["approved_by"] = fields.pop("approved_by", "dana")
        order["approved_at"] = _iso(created + timedelta(minutes=1))
        order["updated_at"] = _iso(created + timedelta(minutes=2))
    if status not in {OrderStatus.STAGED, OrderStatus.APPROVED, OrderStatus.REJECTED}:
        order["client_order_id"] = client_order_id(order_id)
        order["attempts"] = 1
    for key, value in fields.items():
        order[key] = D(value) if key in {"limit_price", "avg_fill_price", "filled_qty"} else value
    return order


def queue_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    parent = _order(
        now, 4, 9, "V_CORE", "MSFT", "buy", "12", "approved",
        reason_vector=["Earnings revision breadth", "Cloud capex guidance up"],
        conviction=D("0.74"),
    )  # fmt: skip
    orders = [
        _order(
            now, 1, 3, "V_CORE", "AAPL", "buy", "43", "staged",
            reason_vector=["rebalance: AAPL 4.1% → 7.0%", "SEC Form 4 insider buy",
                           "Options skew (calls >> puts)"],
            conviction=D("0.87"),
        ),
        _order(
            now, 2, 6, "V_CRYPTO", "SOL/USD", "sell", "20", "staged",
            order_type="limit", limit_price="150.00",
            reason_vector=["Funding rates rolling over", "Momentum decay (7d)"],
            conviction=D("0.61"),
        ),
        _order(
            now, 3, 12, "V_INCOME", "KO", "buy", "50", "staged",
            origin="operator", order_type="limit", limit_price="62.40", time_in_force="gtc",
            reason_vector=["Dividend reinvestment"],
        ),
        _order(
            now, 15, 2, "V_CORE", "BTC/USD", "buy", "0.02", "staged",
            flipped=True, origin="allocator",
            reason_vector=["Contrarian: funding negative", "flipped by dana (was sell)"],
            conviction=D("0.55"),
        ),
        parent,
        _order(
            now, 5, 9, "V_CORE", "MSFT", "buy", "3", "approved",
            origin="mirror", parent_id=parent["order_id"], follower_id="F_1042",
            reason_vector=["mirror of " + parent["order_id"] + " × 0.25"],
            approved_by="system",
        ),
        _order(
            now, 6, 9, "V_CORE", "MSFT", "buy", "1", "approved",
            origin="mirror", parent_id=parent["order_id"], follower_id="F_1043",
            reason_vector=["mirror of " + parent["order_id"] + " × 0.10"],
            approved_by="system",
        ),
        _order(
            now, 7, 15, "V_CRYPTO", "ETH/USD", "buy", "1.5", "submitting",
            reason_vector=["Staking yield spread"], conviction=D("0.58"),
        ),
        _order(
            now, 8, 25, "V_INCOME", "PG", "buy", "20", "submitted",
            order_type="limit", limit_price="165.00", broker_order_id="paper-000041",
            reason_vector=["Dividend reinvestment"],
        ),
        _order(
            now, 9, 40, "V_CORE", "NVDA", "sell", "30", "partially_filled",
            order_type="limit", limit_price="142.35",  # 12 filled; the rest waits (142.30)
            broker_order_id="paper-000038", filled_qty="12", avg_fill_price="142.35",
            reason_vector=["Trim: position above cap after rally"], conviction=D("0.66"),
        ),
        _order(
            now, 10, 95, "V_INCOME", "VZ", "buy", "100", "filled",
            broker_order_id="paper-000031", filled_qty="100", avg_fill_price="40.12",
            reason_vector=["Yield 6.6% vs sector 4.1%"],
        ),
        _order(
            now, 11, 50, "V_CRYPTO", "BTC/USD", "buy", "0.5", "rejected",
            last_error="rejected by sam: size above desk limit",
            reason_vector=["Breakout above 30d range"], conviction=D("0.71"),
        ),
        _order(
            now, 12, 70, "V_CORE", "ETH/USD", "sell", "1", "failed",
            attempts=5, last_error="temporary: broker timed out (retries spent)",
            reason_vector=["Rotate into BTC"],
        ),
        _order(
            now, 13, 120, "V_INCOME", "O", "sell", "40", "cancelled",
            order_type="limit", limit_price="58.00", broker_order_id="paper-000027",
            reason_vector=["Limit not reached before review"],
        ),
        _order(
            now, 14, 60, "V_CRYPTO", "SOL/USD", "buy", "500", "broker_rejected",
            broker_order_id="paper-000033", last_error="insufficient buying power",
            reason_vector=["Momentum breakout"],
        ),
    ]  # fmt: skip
    return {"version": 1, "orders": orders}


def followers_file(now: datetime = DEMO_NOW) -> dict[str, Any]:
    def brokers(ref: str, equity: bool = True, crypto: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if equity:
            out["equity"] = {"adapter": "paper", "account_ref": ref}
        if crypto:
            out["crypto"] = {"adapter": "paper", "account_ref": ref}
        return out

    def follower(fid: str, vault: str, mode: str, scale: str, cap: int, equity: int,
                 persona: str, fee: dict[str, Any], **extra: Any) -> dict[str, Any]:  # fmt: skip
        return {
            "follower_id": fid,
            "vault_id": vault,
            "mode": mode,
            "scale": D(scale),
            "max_pos_usd": cap,
            "kill_switch": extra.pop("kill_switch", False),
            "persona": persona,
            "fee_model": fee,
            "equity": equity,
            "brokers": extra.pop("brokers", brokers(f"paper_{fid.lower()}")),
        }

    return {
        "version": 1,
        "followers": [
            follower("F_1042", "V_CORE", "proportional", "0.25", 2500, 12000, "risk_averse",
                     {"perf_share": D("0.20")}),
            follower("F_1043", "V_CORE", "capped", "0.10", 1500, 8000, "risk_averse",
                     {"type": "performance_or_flat", "perf_share": D("0.20"), "flat_usd": 100}),
            follower("F_2001", "V_CRYPTO", "shadow", "0.50", 10000, 20000, "aggressive",
                     {"perf_share": D("0.25")}, brokers=brokers("paper_f_2001", equity=False)),
            follower("F_2002", "V_CRYPTO", "proportional", "0.20", 5000, 15000, "contrarian",
                     {"perf_share": D("0.25")}, kill_switch=True,
                     brokers=brokers("paper_f_2002", equity=False)),
            follower("F_3001", "V_INCOME", "proportional", "0.05", 2000, 3000, "risk_averse",
                     {"type": "flat", "flat_usd": 25},
                     brokers=brokers("paper_f_3001", crypto=False)),
        ],
    }  # fmt: skip


BUILDERS: dict[type[StateFileModel], Any] = {
    VaultFile: vault_file,
    OverlayFile: overlay_file,
    AllocationFile: allocation_file,
    PortfolioFile: portfolio_file,
    PnlFile: pnl_file,
    QueueFile: queue_file,
    FollowersFile: followers_file,
}


def build(at: datetime = DEMO_NOW) -> dict[str, bytes]:
    """File name → bytes of every demo file, validated by the real models, describing the
    moment ``at`` (every time in the demo moves with it; `DEMO_NOW` gives the fixed demo
    that the tests and screenshots use)."""
    out: dict[str, bytes] = {}
    for model_cls, builder in BUILDERS.items():
        model = model_cls.model_validate(builder(at))
        out[kind_of(model_cls).filename] = render(model)
    return out


def write_demo(target: Path, at: datetime = DEMO_NOW, *, working_copy: bool = False) -> None:
    """The demo's files in ``target``; a ``working_copy`` also gets the `DEMO_MARKER`."""
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, data in build(at).items():
        path = target / name
        path.write_bytes(data)
        path.chmod(0o600)  # money and identity: the owner's only, whatever the umask
    if working_copy:
        (target / DEMO_MARKER).write_text(
            f"demo written by vanta-tui init for {_iso(at)}\n", encoding="utf-8"
        )


if __name__ == "__main__":
    write_demo(Path(sys.argv[1] if len(sys.argv) > 1 else "state"))
