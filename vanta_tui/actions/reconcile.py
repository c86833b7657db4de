"""Broker truth: compare each vault's account in portfolio.json with what its brokers hold,
record the differences (audited when they change), and adopt the broker's view on request."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from vanta_tui.actions.activity import RECONCILED_META
from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.marks import remark
from vanta_tui.actions.reading import require_vault
from vanta_tui.brokers.base import Broker
from vanta_tui.core.enums import asset_class_of
from vanta_tui.core.models import (
    Account,
    PnlFile,
    PortfolioFile,
    Position,
    StateFileModel,
    Vault,
    Venue,
)
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc
from vanta_tui.store.journal import ActResult, EventDraft, Journal, Plan, queries
from vanta_tui.store.loader import load_model

QTY_TOLERANCE = Decimal("0.00000001")
CASH_TOLERANCE = Decimal("0.01")

VenueBroker = Callable[[Venue, str], Broker]


@dataclass(frozen=True)
class BrokerView:
    positions: dict[str, tuple[Decimal, Decimal]]
    """symbol → (qty, average price) as the brokers report them."""
    cash: Decimal


def broker_view(
    state_dir: Path, vault_id: str, for_venue: VenueBroker, vault: Vault | None = None
) -> BrokerView:
    """Positions and cash of ``vault_id`` at every broker its venues name (each broker
    account counted once); ``vault``: its registry entry, when the caller has it."""
    vault = vault or require_vault(state_dir, vault_id)
    seen: set[int] = set()
    positions: dict[str, tuple[Decimal, Decimal]] = {}
    cash = Decimal(0)
    for venue in vault.venues.values():
        broker = for_venue(venue, vault_id)
        if id(broker) in seen:
            continue
        seen.add(id(broker))
        for position in broker.positions():
            qty, _ = positions.get(position.symbol, (Decimal(0), Decimal(0)))
            positions[position.symbol] = (qty + position.qty, position.avg_price)
        cash += broker.account().cash
    return BrokerView(positions, cash)


def compare(account: Account | None, view: BrokerView) -> list[dict[str, Any]]:
    """The differences beyond tolerance: one per symbol, and one for cash."""
    held = {s: p.qty for s, p in (account.positions.items() if account else [])}
    out: list[dict[str, Any]] = []
    for symbol in sorted(set(held) | set(view.positions)):
        file_qty = held.get(symbol, Decimal(0))
        broker_qty = view.positions.get(symbol, (Decimal(0), Decimal(0)))[0]
        if abs(file_qty - broker_qty) > QTY_TOLERANCE:
            out.append({"symbol": symbol, "file": file_qty, "broker": broker_qty})
    file_cash = account.cash if account else Decimal(0)
    if abs(file_cash - view.cash) > CASH_TOLERANCE:
        out.append({"symbol": None, "file": file_cash, "broker": view.cash})
    return out


def latest_mismatches(journal: Journal) -> dict[str, list[dict[str, Any]]]:
    """Per vault, the differences of its last check (none after an acceptance)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for event in queries.events_of(journal, ("reconcile.checked", "reconcile.accepted")):
        checked = event.action == "reconcile.checked"
        found = event.payload.get("mismatches") if checked else []
        out[str(event.vault_id)] = list(found or [])
    return {vid: m for vid, m in out.items() if m}


def check(
    ctx: ActionContext,
    vault_id: str,
    for_venue: VenueBroker,
    *,
    vault: Vault | None = None,
    portfolio: PortfolioFile | None = None,
    last: Mapping[str, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Compare now; record ``reconcile.checked`` when the differences changed since the last
    check (a new mismatch, a different one, or none any more). A caller checking every
    vault passes what it read once: the vault's entry, the portfolio (as it is now) and
    ``last`` (`latest_mismatches`)."""
    view = broker_view(ctx.state_dir, vault_id, for_venue, vault)
    portfolio = portfolio or load_model(ctx.state_dir, PortfolioFile)
    account = portfolio.accounts.get(vault_id)
    mismatches = compare(account, view)
    # When this account was last compared with its brokers (the header shows it).
    ctx.journal.set_meta(RECONCILED_META + vault_id, format_utc(ctx.clock()))
    before = (latest_mismatches(ctx.journal) if last is None else last).get(vault_id, [])
    if _key(before) != _key(mismatches) and not ctx.read_only:
        ctx.journal.record(
            ctx.actor,
            [
                EventDraft(
                    "reconcile.checked",
                    vault_id=vault_id,
                    payload={"mismatches": mismatches},
                )
            ],
        )
    return mismatches


def _key(mismatches: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (str(m.get("symbol")), str(Decimal(str(m["file"]))), str(Decimal(str(m["broker"]))))
        for m in mismatches
    ]


def accept_broker(ctx: ActionContext, vault_id: str, for_venue: VenueBroker) -> ActResult:
    """Adopt the brokers' positions and cash for ``vault_id`` in portfolio.json (and re-mark
    its PnL), audited with every difference."""
    ctx.require_writable("adopting the broker's view")
    view = broker_view(ctx.state_dir, vault_id, for_venue)

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        portfolio, pnl = models[StateKind.PORTFOLIO], models[StateKind.PNL]
        assert isinstance(portfolio, PortfolioFile) and isinstance(pnl, PnlFile)
        account = portfolio.accounts.setdefault(vault_id, Account(cash=Decimal(0)))
        differences = compare(account, view)
        if not differences:
            raise ActionRefused(f"{vault_id}: portfolio.json already matches the broker")
        for symbol, (qty, avg) in view.positions.items():
            position = account.positions.get(symbol)
            if position is None:
                price = avg if avg > 0 else Decimal(1)
                account.positions[symbol] = Position(
                    qty=qty,
                    avg_price=avg,
                    last_price=price,
                    asset_class=asset_class_of(symbol),
                )
            else:
                position.qty = qty
        for symbol in [s for s in account.positions if s not in view.positions]:
            del account.positions[symbol]
        account.cash = view.cash
        portfolio.asof = ctx.clock()
        changed = remark(portfolio, pnl, vault_id, portfolio.asof)
        event = EventDraft(
            "reconcile.accepted",
            vault_id=vault_id,
            payload={"differences": differences, "source": "broker"},
        )
        return Plan(changed, [event], differences)

    return ctx.journal.act(ctx.actor, [StateKind.PORTFOLIO, StateKind.PNL], plan)
