"""One vault order mirrored to 1,000 followers and executed through the paper broker.

Run: ``.venv/bin/python bench/mirror.py [FOLLOWERS]``. Prints, per child order:
- the time to expand the approved vault order into its children (one audited approval that
  sizes every follower and appends the children to the queue), against approving one order
  with no followers, measured in the same run;
- the time to dispatch every child through the paper broker (`Desk.run_executor(once=True)`: checks,
  `submitting`, send, fills into each follower's account and PnL), against the durable
  SQLite commits that dispatch needs (one paper-book commit per child, two per journal
  action), measured in the same run.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from executor import commit_time
from report import emit

from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import (
    Account,
    Follower,
    FollowersFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    VaultFile,
    VaultPnl,
)
from vanta_tui.demo.bundled import write_demo
from vanta_tui.desk import BrokerOptions, Desk
from vanta_tui.store import load_model, update


def prepare(state_dir: Path, count: int) -> None:
    write_demo(state_dir)

    def room(vaults: VaultFile) -> None:
        vaults.vaults[0].risk.max_single_pos_pct = Decimal("0.9")

    update(state_dir, VaultFile, room)
    ids = [f"F_B{index:05d}" for index in range(count)]

    def followers(registry: FollowersFile) -> None:
        for fid in ids:
            registry.followers.append(
                Follower.model_validate(
                    {
                        "follower_id": fid, "vault_id": "V_CORE", "mode": "proportional",
                        "scale": Decimal("0.5"), "max_pos_usd": 100000, "equity": 50000,
                        "brokers": {"equity": {"adapter": "paper", "account_ref": fid.lower()}},
                    }
                )
            )  # fmt: skip

    update(state_dir, FollowersFile, followers)

    def accounts(portfolio: PortfolioFile) -> None:
        for fid in ids:
            portfolio.accounts[fid] = Account(cash=Decimal(50000))

    update(state_dir, PortfolioFile, accounts)

    def pnl(summary: PnlFile) -> None:
        for fid in ids:
            summary.vaults[fid] = VaultPnl(nav=Decimal(50000), high_water_mark=Decimal(50000))

    update(state_dir, PnlFile, pnl)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        prepare(state, count)
        desk = Desk(state, operator="bench", brokers=BrokerOptions(paper_only=True))
        # Baseline: an approval on V_INCOME (one follower, whose child rounds to nothing),
        # after a first one that warms the journal up.
        for _ in range(2):
            lone = desk.stage("V_INCOME", "KO", Side.BUY, Decimal(1), allow_duplicate=True)
            start = time.perf_counter()
            desk.approve([lone.order_id])
            plain = time.perf_counter() - start
        parent = desk.stage("V_CORE", "AAPL", Side.BUY, Decimal(2))
        start = time.perf_counter()
        desk.approve([parent.order_id])
        expand = time.perf_counter() - start
        children = [
            o for o in load_model(state, QueueFile).orders if o.parent_id == parent.order_id
        ]
        assert len(children) == count, len(children)
        before = desk.journal_seq()
        start = time.perf_counter()
        desk.run_executor(threading.Event(), once=True, holder="bench", price_every_s=None)
        dispatch = time.perf_counter() - start
        acts = desk.journal_actions_after(before)
        desk.close()
        done = [o for o in load_model(state, QueueFile).orders if o.parent_id == parent.order_id]
        assert all(o.status is OrderStatus.FILLED for o in done)
        sent = count + 1  # the children and their parent (plus the demo's few approved ones)
        commits = 2 * acts + sent
        base = commit_time(Path(tmp), commits)
    print(
        f"mirror, {count} followers: expand {expand * 1e3:.0f} ms ({expand / count * 1e6:.0f} µs "
        f"per child; an approval with no child {plain * 1e3:.1f} ms)"
    )
    print(
        f"mirror, {count} followers: dispatch {dispatch:.2f} s ({dispatch / count * 1e3:.2f} ms "
        f"per child); {commits} durable commits alone {base:.2f} s; ratio {base / dispatch:.2f}"
    )
    emit(
        f"mirror expand, {count} children (µs per child)", expand / count * 1e6, "µs",
        plain * 1e6, None, "— (issue 8 asks for the figure)", None,
    )  # fmt: skip
    emit(
        f"mirror dispatch, {count} children (ms per child)", dispatch / count * 1e3, "ms",
        base / count * 1e3, base / dispatch, "— (issue 8 asks for the figure)", None,
    )  # fmt: skip


if __name__ == "__main__":
    main()
