"""SIGKILL during a concurrent fan-out over HTTP: a vault and eight followers, each at its
own Alpaca account (the real alpaca-py client against the fake Alpaca server), the
headless executor killed at random points while it sends to them all at once. After each
kill a new executor recovers: every order and child is at its broker exactly once, every
one filled, the files load, and the journal verifies and replays."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from fake_brokers import FakeAlpaca
from test_executor_crash import kill_mid_run, kill_window, recover_and_check
from test_real_brokers import set_keys

from vanta_tui.actions.brokers import brokers_for
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.core.enums import AssetClass, Side
from vanta_tui.core.models import QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.desk import Desk
from vanta_tui.executor.engine import Executor
from vanta_tui.store import load_model, update

RUNS = 30
BATCH = 3
CHECK_EVERY = 5
"""Verify and replay the journal after every fifth run, and after the last."""
FOLLOWERS = 8
SYMBOLS = ["AAPL", "MSFT", "NVDA"]
PRICES = {"AAPL": Decimal("190.10"), "MSFT": Decimal("415.50"), "NVDA": Decimal("142.30")}


def _run_executor(state_dir: str) -> None:
    cmd_executor(Path(state_dir), once=True, timeout_s=5)


def fan_out_state(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, followers: int = FOLLOWERS
) -> None:
    """V_CORE at its Alpaca account with room for many small buys, and ``followers``
    followers (one share per share of the vault) each at an Alpaca account of its own."""
    vault = json.loads((state_dir / "vault.json").read_text())
    vault["vaults"][0]["risk"]["max_single_pos_pct"] = 0.5
    (state_dir / "vault.json").write_text(json.dumps(vault, indent=2))

    def to_alpaca(vaults: VaultFile) -> None:
        core = vaults.get("V_CORE")
        assert core is not None
        core.venues[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref="fan-core")

    update(state_dir, VaultFile, to_alpaca)
    set_keys(monkeypatch, "fan-core")
    packets = state_dir.parent / "followers.jsonl"
    lines = []
    for n in range(followers):
        ref = f"fan-{n}"
        set_keys(monkeypatch, ref)
        packet = {
            "follower_id": f"F_FAN{n}", "vault_id": "V_CORE", "mode": "proportional",
            "scale": 1, "max_pos_usd": 10_000_000, "equity": 10_000_000,
            "persona": "risk_averse", "fee_model": {"perf_share": 0.2},
            "brokers": {"equity": {"adapter": "alpaca", "account_ref": ref}},
        }  # fmt: skip
        lines.append(json.dumps(packet))
    packets.write_text("\n".join(lines) + "\n")
    with Desk(state_dir, operator="dana") as desk:
        report = desk.import_followers(packets)
    assert len(report.imported) == followers, report.problems


def _approve_batch(state_dir: Path, run: int) -> list[str]:
    """``BATCH`` one-share buys of V_CORE, approved: each mirrored to the eight followers."""
    ctx = ActionContext.open(state_dir, "dana")
    ids = []
    for index in range(BATCH):
        order = stage_order(
            ctx, vault_id="V_CORE", symbol=SYMBOLS[(run + index) % 3], side=Side.BUY,
            qty=Decimal(1), allow_duplicate=True,
        ).result  # fmt: skip
        ids.append(order.order_id)
    approve_orders(ctx, ids)
    ctx.close()
    queue = load_model(state_dir, QueueFile)
    children = [o.order_id for o in queue.orders if o.parent_id in set(ids)]
    assert len(children) == BATCH * FOLLOWERS
    return ids + children


@pytest.mark.xdist_group("kills")  # timed kill windows: never beside another such test
def test_sigkill_during_a_concurrent_fan_out_leaves_every_child_at_its_broker_once(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fan_out_state(state_dir, monkeypatch)
    rng = random.Random(2026)

    def recover(ctx: ActionContext) -> None:
        executor = Executor(
            ctx,
            brokers_for(state_dir, timeout_s=5),
            retry_after=(0,),
            price_every_s=None,
            reconcile_every_s=None,
        )
        executor.run_once()

    killed = interrupted = 0
    sent: set[str] = set()
    with FakeAlpaca(dict(PRICES)) as fake:
        monkeypatch.setenv("VANTA_ALPACA_URL", fake.url)
        monkeypatch.setenv("VANTA_ALPACA_DATA_URL", fake.url)  # prices: no network
        # The fake has no request limit; Alpaca's 200 a minute would pace these hundreds.
        monkeypatch.setenv("VANTA_ALPACA_RATE_LIMIT", "100000/60")
        brokers_for(state_dir)
        __import__("alpaca.trading.client")  # so the forked children send at once
        window = [
            kill_window(
                state_dir,
                lambda extra: _approve_batch(state_dir, RUNS + extra),
                _run_executor,
                sent,
            )
        ]
        for run in range(RUNS):
            sent.update(_approve_batch(state_dir, run))
            died, cut = kill_mid_run(
                state_dir, _run_executor, rng.uniform(0.0, window[0]), sent, window
            )
            killed += died
            interrupted += cut
            # The chain grows: verified and replayed after every fifth run and the last.
            chain = run % CHECK_EVERY == 0 or run == RUNS - 1
            recover_and_check(state_dir, recover, sent, fake.created, chain=chain)
    assert killed > RUNS // 2  # most runs really died mid-way
    assert interrupted >= 3, interrupted  # and some of them in the middle of a fan-out
