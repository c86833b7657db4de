"""`vanta-tui demo`: a large, valid state directory for load and speed tests.

``--vaults 200 --orders 10000 --positions 5000`` gives 200 vaults, 10,000 queued orders and
5,000 positions spread across the vaults, all consistent (equity = cash + positions; PnL NAV
matches), deterministic for a given ``--seed``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from vanta_tui.core.enums import AssetClass, asset_class_of
from vanta_tui.core.ids import ulid
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
from vanta_tui.demo.bundled import DEMO_NOW
from vanta_tui.store.loader import kind_of
from vanta_tui.store.writer import render

D = Decimal
_TICKERS = [f"T{n:03d}" for n in range(400)]
_PAIRS = [f"C{n:02d}/USD" for n in range(40)]
_STATES = ["staged"] * 5 + ["approved"] * 2 + ["submitted", "partially_filled", "filled"]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(vaults: int, orders: int, positions: int, seed: int = 7) -> dict[str, bytes]:
    rng = random.Random(seed)
    vault_ids = [f"V_{n:04d}" for n in range(vaults)]
    price_of = {s: D(rng.randint(500, 50000)) / 100 for s in _TICKERS + _PAIRS}
    per_vault = [positions // vaults + (1 if i < positions % vaults else 0) for i in range(vaults)]
    registry: list[dict[str, Any]] = []
    accounts: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    pnl: dict[str, Any] = {}
    overlays: dict[str, Any] = {}
    for index, vault_id in enumerate(vault_ids):
        registry.append(
            {
                "vault_id": vault_id,
                "label": f"Generated vault {index}",
                "crypto_enabled": True,
                "personas": ["risk_averse", "aggressive"],
                "risk": {"max_drawdown": D("0.15"), "max_single_pos_pct": D("0.10")},
                "mirroring": {"fee": {"type": "performance", "perf_share": D("0.2")}},
                "venues": {
                    "equity": {"adapter": "paper", "account_ref": "paper_gen"},
                    "crypto": {"adapter": "paper", "account_ref": "paper_gen"},
                },
            }
        )
        symbols = rng.sample(_TICKERS + _PAIRS, per_vault[index])
        held: dict[str, Any] = {}
        for symbol in symbols:
            crypto = asset_class_of(symbol) is AssetClass.CRYPTO
            qty = D(rng.randint(1, 4000)) / 100 if crypto else D(rng.randint(1, 300))
            held[symbol] = {
                "qty": qty,
                "avg_price": price_of[symbol] * D("0.97"),
                "last_price": price_of[symbol],
                "asset_class": "crypto" if crypto else "equity",
            }
        cash = D(rng.randint(100_000, 900_000))
        equity = cash + sum((p["qty"] * p["last_price"] for p in held.values()), D(0))
        accounts[vault_id] = {"cash": cash, "positions": held}
        weight = min(D("0.9") / max(len(symbols), 1), D("0.10")).quantize(D("0.0001"))
        targets[vault_id] = {"targets": {s: weight for s in symbols}}
        unrealized = sum(
            (p["qty"] * (p["last_price"] - p["avg_price"]) for p in held.values()), D(0)
        )
        hwm = (equity * D("1.02")).quantize(D("0.01"))
        pnl[vault_id] = {
            "nav": equity,
            "realized": D(rng.randint(-5000, 20000)),
            "unrealized": unrealized,
            "high_water_mark": hwm,
            "drawdown": ((hwm - equity) / hwm).quantize(D("0.0001")),
            "nav_history": [
                [
                    _iso(DEMO_NOW - timedelta(days=30 - d)),
                    (equity * D(0.98 + d * 0.001)).quantize(D("0.01")),
                ]
                for d in range(30)
            ]
            + [[_iso(DEMO_NOW), equity]],
        }
        overlays[vault_id] = {"persona": "risk_averse"}
    queue: list[dict[str, Any]] = []
    for n in range(orders):
        vault_id = vault_ids[n % vaults]
        symbol = rng.choice(_TICKERS + _PAIRS)
        created = DEMO_NOW - timedelta(seconds=rng.randint(60, 86_400))
        status = rng.choice(_STATES)
        qty = (
            D(rng.randint(1, 500))
            if asset_class_of(symbol) is AssetClass.EQUITY
            else D(rng.randint(1, 500)) / 100
        )
        order: dict[str, Any] = {
            "order_id": ulid(created, randomness=rng.getrandbits(80)),
            "vault_id": vault_id,
            "symbol": symbol,
            "asset_class": asset_class_of(symbol).value,
            "side": rng.choice(["buy", "sell"]),
            "qty": qty,
            "status": status,
            "origin": "allocator",
            "reason_vector": [f"generated signal {n}"],
            "conviction": D(rng.randint(40, 95)) / 100,
            "created_at": _iso(created),
            "updated_at": _iso(created),
        }
        if status != "staged":
            order["approved_by"] = "gen"
            order["approved_at"] = _iso(created)
        if status in {"submitted", "partially_filled", "filled"}:
            order["client_order_id"] = f"vanta-{order['order_id']}"
            order["broker_order_id"] = f"paper-{n:06d}"
        if status == "partially_filled":
            order["filled_qty"] = qty / 2
            order["avg_fill_price"] = price_of[symbol]
        if status == "filled":
            order["filled_qty"] = qty
            order["avg_fill_price"] = price_of[symbol]
        queue.append(order)
    data: dict[type[StateFileModel], dict[str, Any]] = {
        VaultFile: {"version": 1, "vaults": registry},
        OverlayFile: {"version": 1, "vaults": overlays},
        AllocationFile: {"version": 1, "asof": _iso(DEMO_NOW), "vaults": targets},
        PortfolioFile: {"version": 1, "asof": _iso(DEMO_NOW), "accounts": accounts},
        PnlFile: {"version": 1, "asof": _iso(DEMO_NOW), "vaults": pnl},
        QueueFile: {"version": 1, "orders": queue},
        FollowersFile: {"version": 1, "followers": []},
    }
    return {kind_of(cls).filename: render(cls.model_validate(raw)) for cls, raw in data.items()}


def write_generated(out: Path, vaults: int, orders: int, positions: int, seed: int = 7) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, content in generate(vaults, orders, positions, seed).items():
        (out / name).write_bytes(content)
