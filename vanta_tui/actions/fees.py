"""Fee cycles: close the current cycle of a vault and of each of its followers.

A cycle runs from the previous close (or the account's start) to now. Closing it takes the
realized PnL at its end, applies the fee terms (`core/fees.py`), adds the fee to
``fees_accrued`` in ``pnl_summary.json``, and writes one ``fee.charged`` event per account;
the journal keeps them in its ``fee_ledger`` table. The NAV at the close is the snapshot the
next cycle starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.reading import read_context
from vanta_tui.core.enums import MirrorMode
from vanta_tui.core.fees import FeeTerms, close_cycle, terms_for
from vanta_tui.core.models import FollowersFile, PnlFile, StateFileModel, VaultPnl
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc
from vanta_tui.store.codec import parse_json
from vanta_tui.store.errors import StoreError
from vanta_tui.store.journal import ActionRefused, ActResult, EventDraft, Journal, Plan
from vanta_tui.store.loader import load_model


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    ts: str
    vault_id: str
    follower_id: str | None
    fee_type: str
    perf_share: Decimal
    flat_usd: Decimal
    realized_pnl: Decimal
    fee_due: Decimal


def previous_close(journal: Journal, vault_id: str, follower_id: str | None) -> dict[str, Any]:
    """The payload of the account's last ``fee.charged`` (empty: no cycle closed yet)."""
    row = journal.db.execute(
        "SELECT payload FROM fee_ledger WHERE vault_id = ? AND follower_id IS ? "
        "ORDER BY seq DESC LIMIT 1",
        [vault_id, follower_id],
    ).fetchone()
    return dict(parse_json(row[0])) if row else {}


def ledger(
    journal: Journal, *, vault_id: str | None = None, follower_id: str | None = None
) -> list[LedgerEntry]:
    sql = (
        "SELECT seq, ts, vault_id, follower_id, fee_type, perf_share, flat_usd, realized_pnl, "
        "fee_due FROM fee_ledger WHERE (? IS NULL OR vault_id = ?) AND "
        "(? IS NULL OR follower_id = ?) ORDER BY seq"
    )
    rows = journal.db.execute(sql, [vault_id, vault_id, follower_id, follower_id]).fetchall()
    return [
        LedgerEntry(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            r[3],
            str(r[4]),
            Decimal(r[5] or 0),
            Decimal(r[6] or 0),
            Decimal(r[7] or 0),
            Decimal(r[8] or 0),
        )
        for r in rows
    ]


def close_fee_cycle(ctx: ActionContext, vault_id: str | None = None) -> ActResult:
    """Close the fee cycle of ``vault_id`` (default: every vault) and of its followers
    (shadow followers trade nothing and pay nothing)."""
    ctx.require_writable("closing a fee cycle")
    state = read_context(ctx.state_dir)
    vaults = [state.vault(vault_id)] if vault_id else list(state.vaults.vaults)
    try:
        followers = load_model(ctx.state_dir, FollowersFile).followers
    except StoreError:
        followers = []

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        pnl = models[StateKind.PNL]
        assert isinstance(pnl, PnlFile)
        now = ctx.clock()
        events: list[EventDraft] = []
        lines: list[dict[str, Any]] = []

        def charge(vid: str, fid: str | None, terms: FeeTerms, account: VaultPnl) -> None:
            before = previous_close(ctx.journal, vid, fid)
            realized_start = Decimal(str(before.get("realized_end", 0)))
            mark = Decimal(str(before.get("high_water_mark", realized_start)))
            nav_start = before.get("nav_end")
            if nav_start is None and account.nav_history:
                nav_start = account.nav_history[0][1]
            cycle = close_cycle(terms, realized_start, account.realized, mark)
            account.fees_accrued += cycle.fee_due
            payload = {
                "fee_type": terms.fee_type.value,
                "perf_share": terms.perf_share,
                "flat_usd": terms.flat_usd,
                "realized_pnl": cycle.realized_pnl,
                "fee_due": cycle.fee_due,
                "performance_fee": cycle.performance_fee,
                "flat_fee": cycle.flat_fee,
                "profit_above_hwm": cycle.profit_above_hwm,
                "high_water_mark": cycle.high_water_mark,
                "realized_start": realized_start,
                "realized_end": account.realized,
                "nav_start": nav_start,
                "nav_end": account.nav,
                "cycle_start": before.get("cycle_end"),
                "cycle_end": format_utc(now),
            }
            events.append(EventDraft("fee.charged", vault_id=vid, follower_id=fid, payload=payload))
            lines.append({"vault_id": vid, "follower_id": fid, **payload})

        for vault in vaults:
            own = pnl.vaults.get(vault.vault_id)
            if own is not None:
                charge(vault.vault_id, None, terms_for(vault.mirroring.fee), own)
            for follower in followers:
                if follower.vault_id != vault.vault_id or follower.mode is MirrorMode.SHADOW:
                    continue
                account = pnl.vaults.get(follower.follower_id)
                if account is None:
                    continue  # no PnL kept for it (never traded)
                terms = terms_for(vault.mirroring.fee, follower.fee_model)
                charge(vault.vault_id, follower.follower_id, terms, account)
        if not events:
            raise ActionRefused("no PnL to close a fee cycle on")
        pnl.asof = now
        return Plan({StateKind.PNL: pnl}, events, lines)

    return ctx.journal.act(ctx.actor, [StateKind.PNL], plan)
