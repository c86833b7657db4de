"""`vanta-tui followers ...` and `vanta-tui fees ...`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.fees import CloseReport, check_ledger_filter, close_fee_cycle, ledger
from vanta_tui.actions.followers import (
    add_follower,
    read_packet,
    remove_follower,
    set_kill_switch,
)
from vanta_tui.cli.exit_codes import UsageError
from vanta_tui.core.models import FollowersFile, PnlFile, PortfolioFile
from vanta_tui.core.types import format_utc, parse_utc
from vanta_tui.store.errors import StoreError
from vanta_tui.store.loader import load_model


def cmd_followers_add(ctx: ActionContext, packet: Path) -> int:
    result = add_follower(ctx, read_packet(packet), where=str(packet))
    follower = result.result
    moved = result.events[0].payload.get("keys_moved_to_keyring") or []
    print(f"added {follower.follower_id} to {follower.vault_id} ({follower.mode.value})")
    if moved:
        print(f"keys moved to the keyring for: {', '.join(moved)}")
    return 0


def cmd_followers_list(state_dir: Path) -> int:
    followers = load_model(state_dir, FollowersFile).followers
    try:
        pnl = load_model(state_dir, PnlFile).vaults
    except StoreError:
        pnl = {}
    try:
        accounts = load_model(state_dir, PortfolioFile).accounts
    except StoreError:
        accounts = {}
    header = (
        f"{'follower':<10} {'vault':<9} {'mode':<12} {'scale':>6} {'max_pos_usd':>11} "
        f"{'equity':>10} {'kill':<4} {'nav':>11} {'realized':>10} {'fees':>9}"
    )
    print(header)
    for f in followers:
        own = pnl.get(f.follower_id)
        account = accounts.get(f.follower_id)
        nav = own.nav if own else (account.equity if account else None)
        print(
            f"{f.follower_id:<10} {f.vault_id:<9} {f.mode.value:<12} {f.scale:>6} "
            f"{f.max_pos_usd:>11} {f.equity:>10} {'ON' if f.kill_switch else 'off':<4} "
            f"{nav if nav is not None else '—':>11} "
            f"{own.realized if own else '—':>10} {own.fees_accrued if own else '—':>9}"
        )
    return 0


def cmd_kill_switch(ctx: ActionContext, follower_id: str, state: str) -> int:
    set_kill_switch(ctx, follower_id, state == "on")
    print(f"{follower_id}: kill switch {state}")
    return 0


def cmd_followers_remove(ctx: ActionContext, follower_id: str) -> int:
    remove_follower(ctx, follower_id)
    print(f"removed {follower_id}")
    return 0


def cmd_close_cycle(
    ctx: ActionContext, vault_id: str | None, as_of: str | None = None, dry_run: bool = False
) -> int:
    try:
        when = parse_utc(as_of) if as_of else None
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None
    report: CloseReport = close_fee_cycle(ctx, vault_id, as_of=when, dry_run=dry_run).result
    if dry_run:
        print(f"dry run as of {format_utc(report.as_of or ctx.clock())}: nothing is written")
    print(
        f"{'account':<10} {'period':<9} {'fee_type':<20} {'realized':>12} {'flat':>9} "
        f"{'performance':>11} {'fee due':>10}"
    )
    for line in report.lines:
        who = line["follower_id"] or line["vault_id"]
        print(
            f"{who:<10} {line['period_label']:<9} {line['fee_type']:<20} "
            f"{line['realized_pnl']:>12} {line['flat_fee']:>9} {line['performance_fee']:>11} "
            f"{line['fee_due']:>10}"
        )
    for reason in report.skipped:
        print(f"not charged: {reason}")
    return 0


def cmd_ledger(ctx: ActionContext, vault_id: str | None, follower_id: str | None) -> int:
    check_ledger_filter(ctx.journal, vault_id=vault_id, follower_id=follower_id)
    entries = ledger(ctx.journal, vault_id=vault_id, follower_id=follower_id)
    print(
        f"{'seq':>6} {'ts':<27} {'vault':<9} {'follower':<10} {'period':<15} {'fee_type':<20} "
        f"{'perf':>5} {'flat_usd':>9} {'realized_pnl':>13} {'fee_due':>10}"
    )
    for e in entries:
        print(
            f"{e.seq:>6} {e.ts:<27} {e.vault_id:<9} {e.follower_id or '—':<10} {e.label:<15} "
            f"{e.fee_type:<20} {e.perf_share:>5} {e.flat_usd:>9} {e.realized_pnl:>13} "
            f"{e.fee_due:>10}"
        )
    total = sum((e.fee_due for e in entries), start=Decimal(0))
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, fees due {total}")
    return 0
