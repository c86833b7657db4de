"""Followers (API packets): add, kill switch, remove. Keys never reach a file.

An API packet is broker account refs + persona preference + fee agreement (+ mode, scale,
caps, equity). A packet may carry keys inline (``api_key``/``api_secret`` beside a venue's
``account_ref``): they are moved to the OS keyring first, or the packet is refused with
instructions when no keyring is available. Adding a follower also opens its account in
``portfolio.json`` (cash = its equity) and its PnL in ``pnl_summary.json``, so its child
orders can be checked, filled and charged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.brokers.credentials import KEYRING_SERVICE, env_names, load_credentials
from vanta_tui.brokers.errors import CredentialsError
from vanta_tui.core.codec import parse_json
from vanta_tui.core.models import (
    Account,
    Follower,
    FollowersFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    StateFileModel,
    VaultFile,
    VaultPnl,
)
from vanta_tui.core.order_states import OPEN
from vanta_tui.core.secrets import remember as remember_secrets
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.journal import ActResult, EventDraft, Plan
from vanta_tui.store.loader import load_model

INLINE_KEY = "api_key"
INLINE_SECRET = "api_secret"


def _known_adapter(adapter: str) -> bool:
    if adapter in {"paper", "alpaca"}:
        return True
    if adapter.startswith("ccxt:"):
        from vanta_tui.brokers.ccxt_adapter import exchange_known

        return exchange_known(adapter.split(":", 1)[1])
    return False


def _take_inline_keys(packet: dict[str, Any], where: str) -> dict[str, tuple[str, str]]:
    """Take keys carried inline out of the packet (account ref → key, secret); nothing is
    stored yet: the keyring gets them only once the whole packet is valid."""
    taken: dict[str, tuple[str, str]] = {}
    for asset, venue in (packet.get("brokers") or {}).items():
        if not isinstance(venue, dict) or not ({INLINE_KEY, INLINE_SECRET} & set(venue)):
            continue
        ref = str(venue.get("account_ref") or "")
        key, secret = venue.pop(INLINE_KEY, None), venue.pop(INLINE_SECRET, None)
        if not ref or not key or not secret:
            raise ActionRefused(
                f"{where}: brokers.{asset} carries keys inline but not an account_ref, "
                f"{INLINE_KEY} and {INLINE_SECRET} together"
            )
        remember_secrets(str(key), str(secret))
        taken[ref] = (str(key), str(secret))
    return taken


def _store_keys(taken: dict[str, tuple[str, str]], where: str) -> Callable[[], None]:
    """Put ``taken`` in the keyring; returns what undoes it (the previous values back).
    Refuses (with instructions) when there is no usable keyring: keys are never written."""
    if not taken:
        return lambda: None
    try:
        import keyring
    except Exception as exc:  # pragma: no cover - keyring is a dependency
        raise ActionRefused(f"{where}: no keyring ({type(exc).__name__})") from None
    before: list[tuple[str, str | None]] = []

    def undo() -> None:
        for user, old in reversed(before):
            with contextlib.suppress(Exception):
                if old is None:
                    keyring.delete_password(KEYRING_SERVICE, user)
                else:
                    keyring.set_password(KEYRING_SERVICE, user, old)

    try:
        for ref, (key, secret) in taken.items():
            for user, value in ((f"{ref}:api_key", key), (f"{ref}:api_secret", secret)):
                old = keyring.get_password(KEYRING_SERVICE, user)
                keyring.set_password(KEYRING_SERVICE, user, value)
                before.append((user, old))
    except Exception as exc:
        undo()
        ref = next(iter(taken))
        key_var, secret_var = env_names(ref)
        raise ActionRefused(
            f"{where}: the packet carries keys for {ref} and no keyring is available "
            f"({type(exc).__name__}); remove them from the packet and set {key_var} and "
            f"{secret_var} in the environment instead"
        ) from None
    return undo


def read_packet(path: Path) -> dict[str, Any]:
    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ActionRefused(f"{path}: cannot read the packet: {exc}") from None
    if not isinstance(data, dict):
        raise ActionRefused(f"{path}: a packet is one JSON object")
    return data


def add_follower(ctx: ActionContext, packet: dict[str, Any], where: str = "packet") -> ActResult:
    """Validate an API packet and register the follower (keys to the keyring, never a file)."""
    ctx.require_writable("adding a follower")
    packet = dict(packet)
    packet["brokers"] = {k: dict(v) for k, v in (packet.get("brokers") or {}).items()}
    taken = _take_inline_keys(packet, where)
    moved = list(taken)
    try:
        follower = Follower.model_validate(packet)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ActionRefused(f"{where}: {place}: {first['msg']}") from None
    vault = load_model(ctx.state_dir, VaultFile).get(follower.vault_id)
    if vault is None:
        raise ActionRefused(f"{where}: vault_id: unknown vault {follower.vault_id!r}")
    for asset, venue in follower.brokers.items():
        if not _known_adapter(venue.adapter):
            raise ActionRefused(
                f"{where}: brokers.{asset.value}: unknown adapter {venue.adapter!r}"
            )
        if venue.adapter != "paper" and venue.account_ref not in taken:
            try:
                load_credentials(venue.account_ref)
            except CredentialsError as exc:
                raise ActionRefused(f"{where}: brokers.{asset.value}: {exc}") from None
    minimum = vault.mirroring.min_account_equity
    if follower.equity < minimum:
        raise ActionRefused(
            f"{where}: equity {follower.equity} is below {vault.vault_id}'s minimum {minimum}"
        )

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        registry, portfolio, pnl = (
            models[StateKind.FOLLOWERS],
            models[StateKind.PORTFOLIO],
            models[StateKind.PNL],
        )
        assert isinstance(registry, FollowersFile)
        assert isinstance(portfolio, PortfolioFile) and isinstance(pnl, PnlFile)
        if registry.get(follower.follower_id) is not None:
            raise ActionRefused(f"follower {follower.follower_id} is already registered")
        registry.followers.append(follower)
        now = ctx.clock()
        portfolio.accounts.setdefault(follower.follower_id, Account(cash=follower.equity))
        pnl.vaults.setdefault(
            follower.follower_id,
            VaultPnl(
                nav=follower.equity,
                high_water_mark=follower.equity,
                nav_history=[(now, follower.equity)],
            ),
        )
        event = EventDraft(
            "follower.added",
            vault_id=follower.vault_id,
            follower_id=follower.follower_id,
            payload={
                "follower": follower.model_dump(mode="python"),
                "keys_moved_to_keyring": moved,
            },
        )
        return Plan(
            {
                StateKind.FOLLOWERS: registry,
                StateKind.PORTFOLIO: portfolio,
                StateKind.PNL: pnl,
            },
            [event],
            follower,
        )

    undo = _store_keys(taken, where)  # only now: the packet is valid
    try:
        return ctx.journal.act(
            ctx.actor, [StateKind.FOLLOWERS, StateKind.PORTFOLIO, StateKind.PNL], plan
        )
    except BaseException:
        undo()  # a refused packet leaves nothing in the keyring
        raise


def set_kill_switch(ctx: ActionContext, follower_id: str, on: bool) -> ActResult:
    ctx.require_writable("switching a follower's kill switch")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        registry = models[StateKind.FOLLOWERS]
        assert isinstance(registry, FollowersFile)
        follower = registry.get(follower_id)
        if follower is None:
            raise ActionRefused(f"no follower {follower_id}")
        if follower.kill_switch == on:
            raise ActionRefused(f"{follower_id}'s kill switch is already {'on' if on else 'off'}")
        follower.kill_switch = on
        event = EventDraft(
            "follower.kill_switch",
            vault_id=follower.vault_id,
            follower_id=follower_id,
            payload={"on": on},
        )
        return Plan({StateKind.FOLLOWERS: registry}, [event], follower)

    return ctx.journal.act(ctx.actor, [StateKind.FOLLOWERS], plan)


def remove_follower(ctx: ActionContext, follower_id: str) -> ActResult:
    """Remove a follower with no open orders and no positions (its account and PnL go too;
    the journal keeps its history)."""
    ctx.require_writable("removing a follower")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        registry, portfolio, pnl, queue = (
            models[StateKind.FOLLOWERS],
            models[StateKind.PORTFOLIO],
            models[StateKind.PNL],
            models[StateKind.QUEUE],
        )
        assert isinstance(registry, FollowersFile) and isinstance(queue, QueueFile)
        assert isinstance(portfolio, PortfolioFile) and isinstance(pnl, PnlFile)
        follower = registry.get(follower_id)
        if follower is None:
            raise ActionRefused(f"no follower {follower_id}")
        open_orders = [o.order_id for o in queue.orders if o.follower_id == follower_id]
        if any(o.status in OPEN for o in queue.orders if o.follower_id == follower_id):
            raise ActionRefused(f"{follower_id} has open child orders; cancel or reject them first")
        account = portfolio.accounts.get(follower_id)
        if account is not None and any(p.qty != 0 for p in account.positions.values()):
            raise ActionRefused(f"{follower_id} still holds positions; close them first")
        if open_orders:
            raise ActionRefused(
                f"{follower_id} has {len(open_orders)} order(s) in the queue; they name it, "
                "so it stays registered (switch its kill switch on instead)"
            )
        registry.followers.remove(follower)
        portfolio.accounts.pop(follower_id, None)
        pnl.vaults.pop(follower_id, None)
        event = EventDraft(
            "follower.removed",
            vault_id=follower.vault_id,
            follower_id=follower_id,
            payload={"final_cash": account.cash if account else Decimal(0)},
        )
        changed: dict[StateKind, StateFileModel] = {
            StateKind.FOLLOWERS: registry,
            StateKind.PORTFOLIO: portfolio,
            StateKind.PNL: pnl,
        }
        return Plan(changed, [event], follower)

    return ctx.journal.act(
        ctx.actor,
        [StateKind.FOLLOWERS, StateKind.PORTFOLIO, StateKind.PNL, StateKind.QUEUE],
        plan,
    )
