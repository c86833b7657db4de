"""Operator actions through the CLI and the core: rules, refusals, concurrency, read-only."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.orders import approve_orders, flip_order
from vanta_tui.cli.main import main
from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import Order, OverlayFile, QueueFile
from vanta_tui.core.order_states import IllegalTransition, check_move
from vanta_tui.store import load_model, update
from vanta_tui.store.journal.replay import replay
from vanta_tui.store.journal.verify import verify


def staged_id(state_dir: Path, symbol: str) -> str:
    queue = load_model(state_dir, QueueFile)
    return next(o.order_id for o in queue.orders if o.symbol == symbol and o.status == "staged")


def test_illegal_moves_say_why() -> None:
    with pytest.raises(IllegalTransition, match="is submitted; only staged orders can be approved"):
        check_move("01JD", OrderStatus.SUBMITTED, OrderStatus.APPROVED)
    check_move("01JD", OrderStatus.STAGED, OrderStatus.REJECTED)


def test_flip_of_a_non_staged_order_is_refused(state_dir: Path) -> None:
    queue = load_model(state_dir, QueueFile)
    submitted = next(o for o in queue.orders if o.status == "submitted")
    ctx = ActionContext.open(state_dir, "dana")
    with pytest.raises(
        ActionRefused, match=f"order {submitted.order_id} is submitted; only staged"
    ):
        flip_order(ctx, submitted.order_id)
    ctx.close()


def test_position_cap_refuses_with_the_numbers(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "stage", "V_CORE", "NVDA", "buy", "30", *args]) == 0
    oid = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["orders", "approve", oid, *args]) == 65
    out = capsys.readouterr().out
    assert "NVDA would be 8.63% of equity (24,191.00 of 280,429.00), above the 8% cap" in out


def test_tripped_vault_only_takes_reducing_orders_until_cleared(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = state_dir / "pnl_summary.json"
    pnl = json.loads(path.read_text())
    pnl["vaults"]["V_CRYPTO"]["drawdown"] = 0.26
    path.write_text(json.dumps(pnl, indent=2))
    args = ["--state-dir", str(state_dir), "--operator", "dana"]
    assert main(["orders", "stage", "V_CRYPTO", "ETH/USD", "buy", "0.1", *args]) == 0
    buy = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["orders", "approve", buy, *args]) == 65
    assert "is tripped (drawdown 26.00% ≥ max 25%)" in capsys.readouterr().out
    sell = staged_id(state_dir, "SOL/USD")  # a sell of 20 held SOL: reduces exposure
    assert main(["orders", "approve", sell, *args]) == 0
    assert main(["trip", "clear", "V_CRYPTO", "--reason", "reviewed", *args]) == 0
    assert main(["orders", "approve", buy, *args]) == 0


def test_maintenance_holds_but_approves(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    oid = staged_id(state_dir, "KO")  # V_INCOME is under maintenance in the demo
    result = approve_orders(ctx, [oid])
    ctx.close()
    assert result.events[0].payload["held"] == (
        "maintenance: sam since 2026-11-24 06:05Z — dividend reinvestment review"
    )


def test_cli_overlay_commands(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--state-dir", str(state_dir), "--operator", "sam"]
    assert main(["maintenance", "on", "--reason", "outage", *args]) == 0
    assert main(["maintenance", "on", "V_CORE", *args]) == 65  # needs a reason
    assert "needs a reason" in capsys.readouterr().out
    assert main(["flip-mode", "on", "V_CORE", "--ttl", "500", *args]) == 65
    assert main(["flip-mode", "on", "V_CORE", "--ttl", "30", "--amplify", "0.2", *args]) == 0
    assert main(["persona", "V_CORE", "contrarian", "--boost", "contrarian=0.02", *args]) == 0
    assert main(["persona", "V_CORE", "nobody", *args]) == 65
    overlays = load_model(state_dir, OverlayFile)
    assert overlays.global_.maintenance.enabled and overlays.global_.maintenance.by == "sam"
    core = overlays.for_vault("V_CORE")
    assert core.flip_mode.enabled and core.flip_mode.amplify == Decimal("0.2")
    assert core.persona == "contrarian" and core.persona_boosts["contrarian"] == Decimal("0.02")
    assert main(["maintenance", "off", *args]) == 0
    assert main(["stage", "V_CORE", "--dry-run", *args]) == 0
    out = capsys.readouterr().out
    assert "would stage: buy" in out and "flip ×1.2" in out  # flip mode amplifies the rebalance
    assert main(["audit", "verify", *args]) == 0
    assert main(["audit", "replay", *args]) == 0


MUTATING = [
    ["orders", "stage", "V_CORE", "AAPL", "buy", "1"],
    ["orders", "approve", "X"],
    ["orders", "reject", "X"],
    ["orders", "flip", "X"],
    ["orders", "edit", "X", "--qty", "2"],
    ["stage", "V_CORE"],
    ["maintenance", "on", "V_CORE", "--reason", "r"],
    ["maintenance", "off"],
    ["trip", "clear", "V_CRYPTO", "--reason", "r"],
    ["flip-mode", "on", "V_CORE"],
    ["persona", "V_CORE", "aggressive"],
    ["init", "elsewhere"],
    ["orders", "cancel", "X"],
    ["panic", "--reason", "r"],
    ["executor", "--once"],
    ["orders", "retry", "X"],
    ["orders", "dismiss", "X"],
]


@pytest.mark.parametrize("command", MUTATING, ids=lambda c: " ".join(c[:2]))
def test_read_only_cli_refuses_every_mutating_command(state_dir: Path, command: list[str]) -> None:
    before = {p.name: p.read_bytes() for p in state_dir.iterdir()}
    assert main([*command, "--read-only", "--state-dir", str(state_dir)]) == 77
    assert {p.name: p.read_bytes() for p in state_dir.iterdir()} == before


def test_read_only_allows_a_dry_run(state_dir: Path) -> None:
    assert main(["stage", "V_CORE", "--dry-run", "--read-only", "--state-dir", str(state_dir)]) == 0


def _allocator(state_dir: str, count: int) -> None:
    """Another program appending staged orders one by one (not through the desk)."""
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for index in range(count):
        order = Order(
            order_id=f"ALLOC{index:05d}", vault_id="V_CORE", symbol="MSFT",
            asset_class="equity", side="buy", qty=Decimal(1), origin="allocator",
            created_at=now, updated_at=now,
        )  # fmt: skip
        update(Path(state_dir), QueueFile, lambda q, o=order: q.orders.append(o))  # type: ignore[misc]


def test_allocator_appends_500_while_the_operator_approves_500(state_dir: Path) -> None:
    import multiprocessing

    now = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)

    def seed(queue: QueueFile) -> None:
        for index in range(500):
            queue.orders.append(
                Order(
                    order_id=f"OPS{index:05d}",
                    vault_id="V_CORE",
                    symbol="MSFT",
                    asset_class="equity",
                    side="buy",
                    qty=Decimal(1),
                    created_at=now,
                    updated_at=now,
                )
            )

    update(state_dir, QueueFile, seed)
    allocator = multiprocessing.get_context("spawn").Process(
        target=_allocator, args=(str(state_dir), 500)
    )
    allocator.start()
    ids = [f"OPS{i:05d}" for i in range(500)]
    batches = [ids[i : i + 50] for i in range(0, 500, 50)]
    for batch in batches:
        done = subprocess.run(
            [sys.executable, "-m", "vanta_tui", "orders", "approve", *batch,
             "--state-dir", str(state_dir), "--operator", "dana"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    allocator.join(timeout=300)
    assert allocator.exitcode == 0
    queue = load_model(state_dir, QueueFile)
    by_id = {o.order_id: o for o in queue.orders}
    assert all(by_id[i].status == "approved" for i in ids)
    allocated = [o for o in queue.orders if o.order_id.startswith("ALLOC")]
    assert len(allocated) == 500 and all(o.status == "staged" for o in allocated)
    ctx = ActionContext.open(state_dir, "checker")
    assert verify(ctx.journal).ok
    assert replay(ctx.journal).ok
    ctx.close()
