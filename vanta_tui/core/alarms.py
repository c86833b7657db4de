"""Alarms: what is wrong now, worked out from the state files and a few recorded facts.

An alarm exists while its cause does; acknowledging one (audited elsewhere) marks it seen,
it does not close it. Each alarm has a stable id (kind and subject), so the desk and the
status command can tell a new alarm from one that is still open, and how long it has been.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import (
    AllocationFile,
    FollowersFile,
    Order,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    VaultFile,
    VaultOverlay,
)
from vanta_tui.core.order_states import AT_BROKER
from vanta_tui.core.positions import (
    account_of,
    is_stale,
    is_tripped,
    position_rows,
    vault_targets,
)


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return {"OK": 0, "WARN": 1, "FAIL": 2}[self.value]

    @property
    def exit_code(self) -> int:
        """Monitoring plugins' convention: 0 OK, 1 WARN, 2 FAIL (CRITICAL)."""
        return self.rank


def worst(levels: Iterable[Level]) -> Level:
    return max(levels, key=lambda level: level.rank, default=Level.OK)


@dataclass(frozen=True)
class Thresholds:
    stuck_after: timedelta = timedelta(minutes=10)
    """An order in submitting/submitted longer than this is stuck."""
    flip_warning: timedelta = timedelta(minutes=5)
    """Flip mode expiring within this is announced."""


@dataclass
class Alarm:
    alarm_id: str
    kind: str
    level: Level
    pane: str
    """The desk pane that carries its badge (vaults, overlays, queue, positions, pnl)."""
    message: str
    vault_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    since: datetime | None = None
    acked_by: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the files alone do not say: recorded by the journal or the executor."""

    dead_letters: Sequence[str] = ()
    """Failed orders nobody dismissed."""
    mismatches: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    """Per vault: the open differences between portfolio.json and the broker."""


def evaluate(
    now: datetime,
    *,
    vaults: VaultFile | None,
    overlays: OverlayFile | None,
    allocation: AllocationFile | None,
    portfolio: PortfolioFile | None,
    pnl: PnlFile | None,
    queue: QueueFile | None,
    followers: FollowersFile | None,
    facts: Facts = Facts(),
    thresholds: Thresholds = Thresholds(),
) -> list[Alarm]:
    """Every alarm whose cause holds at ``now``."""
    alarms: list[Alarm] = []
    add = alarms.append
    if portfolio is not None and is_stale(portfolio.asof, now):
        add(Alarm("stale:portfolio", "stale", Level.WARN, "positions",
                  f"portfolio.json is older than 24 h (asof {portfolio.asof:%Y-%m-%d %H:%M}Z): "
                  "drift cannot be trusted", details={"asof": portfolio.asof}))  # fmt: skip
    if allocation is not None and is_stale(allocation.asof, now):
        add(Alarm("stale:allocation", "stale", Level.WARN, "positions",
                  f"vault_allocation.json is older than 24 h (asof "
                  f"{allocation.asof:%Y-%m-%d %H:%M}Z)",
                  details={"asof": allocation.asof}))  # fmt: skip
    for account_id, account in sorted(portfolio.accounts.items()) if portfolio else []:
        if account.cash < 0:
            # Truth as the broker (or a fill) reports it, so it is kept, never refused; but
            # no strategy here borrows: an overdraft or a margin loan needs a person.
            add(Alarm(f"negative_cash:{account_id}", "negative_cash", Level.WARN, "positions",
                      f"{account_id}'s cash is negative ({account.cash:,.2f}): an overdraft or "
                      "a margin loan; buys are held until it is covered",
                      vault_id=account_id, details={"cash": account.cash}))  # fmt: skip
    for vault in vaults.vaults if vaults else []:
        vid = vault.vault_id
        overlay = overlays.for_vault(vid) if overlays else VaultOverlay()
        vault_pnl = pnl.vaults.get(vid) if pnl else None
        if is_tripped(vault, overlay, vault_pnl):
            assert vault_pnl is not None
            add(Alarm(f"tripped:{vid}", "tripped", Level.FAIL, "vaults",
                      f"{vid} is tripped: drawdown {vault_pnl.drawdown * 100:.2f}% ≥ max "
                      f"{vault.risk.max_drawdown * 100:.0f}%; only exposure-reducing orders pass",
                      vault_id=vid))  # fmt: skip
        flip = overlay.flip_mode
        if flip.enabled and flip.expires_at is not None and flip.active_at(now):
            left = flip.expires_at - now
            if left <= thresholds.flip_warning:
                add(Alarm(f"flip:{vid}", "flip_expiring", Level.WARN, "overlays",
                          f"{vid}'s flip mode ends in {int(left.total_seconds() // 60)} min "
                          f"{int(left.total_seconds() % 60)} s", vault_id=vid))  # fmt: skip
        if vaults is not None:
            rows = position_rows(
                vault,
                overlay,
                account_of(portfolio, vid),
                vault_targets(allocation, vid),
                vaults.defaults.drift_tolerance,
            )
            for row in rows:
                if row.drifted:
                    add(Alarm(f"drift:{vid}:{row.symbol}", "drift", Level.WARN, "positions",
                              f"{vid} {row.symbol} drifts {row.drift * 100:+.2f}% from its target "
                              f"(tolerance {vaults.defaults.drift_tolerance * 100:.1f}%)",
                              vault_id=vid, details={"drift": row.drift}))  # fmt: skip
        for mismatch in facts.mismatches.get(vid, []):
            what = mismatch.get("symbol") or "cash"
            add(Alarm(f"reconcile:{vid}:{what}", "reconcile", Level.FAIL, "positions",
                      f"{vid} {what}: portfolio.json has {mismatch.get('file')}, the broker "
                      f"{mismatch.get('broker')} (r adopts the broker's view)",
                      vault_id=vid, details=dict(mismatch)))  # fmt: skip
    orders = queue.orders if queue else []
    for order in orders:
        if order.status in {OrderStatus.SUBMITTING, OrderStatus.SUBMITTED}:
            waited = now - order.updated_at
            if waited > thresholds.stuck_after:
                add(Alarm(f"stuck:{order.order_id}", "stuck", Level.WARN, "queue",
                          f"order {order.order_id[-8:]} ({order.vault_id} {order.side.value} "
                          f"{order.qty} {order.symbol}) has been {order.status.value} for "
                          f"{int(waited.total_seconds() // 60)} min",
                          vault_id=order.vault_id))  # fmt: skip
    if facts.dead_letters:
        add(Alarm("dead_letters", "dead_letters", Level.WARN, "queue",
                  f"{len(facts.dead_letters)} dead letter(s) wait for an operator (d)",
                  details={"orders": list(facts.dead_letters)}))  # fmt: skip
    alarms.extend(_follower_alarms(orders, followers))
    return alarms


def _follower_alarms(orders: Sequence[Order], followers: FollowersFile | None) -> list[Alarm]:
    """Followers whose positions diverge from their parent's intent: the parent filled but
    their child did not (failed, rejected, cancelled); and parents that failed after their
    children went out."""
    if followers is None:
        return []
    by_id = {o.order_id: o for o in orders}
    out: list[Alarm] = []
    gone_wrong = {OrderStatus.FAILED, OrderStatus.BROKER_REJECTED, OrderStatus.CANCELLED}
    children: dict[str, list[Order]] = {}
    for order in orders:
        if order.parent_id:
            children.setdefault(order.parent_id, []).append(order)
    for parent_id, kids in children.items():
        parent = by_id.get(parent_id)
        if parent is None:
            continue
        if parent.status is OrderStatus.FILLED:
            for kid in kids:
                if kid.status in gone_wrong:
                    out.append(Alarm(
                        f"diverged:{kid.follower_id}:{parent_id}", "follower_divergence",
                        Level.WARN, "queue",
                        f"{kid.follower_id} diverges from {parent.vault_id}: its mirror of "
                        f"{parent.side.value} {parent.qty} {parent.symbol} is {kid.status.value}",
                        vault_id=parent.vault_id,
                    ))  # fmt: skip
        elif parent.status in {OrderStatus.FAILED, OrderStatus.BROKER_REJECTED}:
            out_kids = [k for k in kids if k.status in AT_BROKER]
            if out_kids:
                out.append(Alarm(
                    f"parent_failed:{parent_id}", "parent_failed_children_sent", Level.FAIL,
                    "queue",
                    f"vault order {parent_id[-8:]} is {parent.status.value} but "
                    f"{len(out_kids)} follower order(s) went to the brokers (not unwound)",
                    vault_id=parent.vault_id,
                ))  # fmt: skip
    return out
