"""The seven state files: their names, their models, and the rules that span files."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

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


class StateKind(StrEnum):
    """One file of the state directory, named by its file name without ``.json``."""

    VAULT = "vault"
    OVERLAY = "vault_overlay"
    ALLOCATION = "vault_allocation"
    PORTFOLIO = "portfolio"
    PNL = "pnl_summary"
    QUEUE = "autotrade_queue"
    FOLLOWERS = "followers"

    @property
    def filename(self) -> str:
        return f"{self.value}.json"

    @property
    def model(self) -> type[StateFileModel]:
        return _MODELS[self]


_MODELS: dict[StateKind, type[StateFileModel]] = {
    StateKind.VAULT: VaultFile,
    StateKind.OVERLAY: OverlayFile,
    StateKind.ALLOCATION: AllocationFile,
    StateKind.PORTFOLIO: PortfolioFile,
    StateKind.PNL: PnlFile,
    StateKind.QUEUE: QueueFile,
    StateKind.FOLLOWERS: FollowersFile,
}

DEPENDS_ON: dict[StateKind, tuple[StateKind, ...]] = {
    StateKind.VAULT: (),
    StateKind.FOLLOWERS: (StateKind.VAULT,),
    StateKind.OVERLAY: (StateKind.VAULT,),
    StateKind.ALLOCATION: (StateKind.VAULT,),
    StateKind.PORTFOLIO: (StateKind.VAULT, StateKind.FOLLOWERS),
    StateKind.PNL: (StateKind.VAULT, StateKind.FOLLOWERS),
    StateKind.QUEUE: (StateKind.VAULT, StateKind.FOLLOWERS),
}
"""Which files a file refers to: a file is checked against these when loaded or written."""


@dataclass(frozen=True)
class Reference:
    """What the files a state file refers to contain (``None`` where unknown)."""

    vaults: VaultFile | None = None
    followers: FollowersFile | None = None


@dataclass(frozen=True)
class CrossProblem:
    path: str
    reason: str


_ORDER_ID = attrgetter("order_id")
_VAULT_ID = attrgetter("vault_id")
_FOLLOWER_ID = attrgetter("follower_id")
_PARENT_ID = attrgetter("parent_id")


def cross_check(kind: StateKind, model: StateFileModel, ref: Reference) -> list[CrossProblem]:
    """Problems of ``model`` against the files it refers to (a vault id nobody registered...)."""
    problems: list[CrossProblem] = []
    vault_ids = set(ref.vaults.vault_ids) if ref.vaults is not None else None
    follower_ids = (
        {f.follower_id for f in ref.followers.followers} if ref.followers is not None else None
    )

    def unknown_vault(path: str, vault_id: str) -> None:
        if vault_ids is not None and vault_id not in vault_ids:
            problems.append(CrossProblem(path, f"unknown vault {vault_id!r} (not in vault.json)"))

    if isinstance(model, QueueFile):
        orders = model.orders
        order_ids = set(map(_ORDER_ID, orders))
        # At set speed first (10,000 orders in a few milliseconds); the places of any
        # problem are then found order by order.
        parents = set(map(_PARENT_ID, orders))
        parents.discard(None)
        followers = set(map(_FOLLOWER_ID, orders))
        followers.discard(None)
        if (
            (vault_ids is None or set(map(_VAULT_ID, orders)) <= vault_ids)
            and (follower_ids is None or followers <= follower_ids)
            and parents <= order_ids
        ):
            return problems
        for i, order in enumerate(model.orders):
            unknown_vault(f"$.orders[{i}].vault_id", order.vault_id)
            fid = order.follower_id
            if fid is not None and follower_ids is not None and fid not in follower_ids:
                problems.append(
                    CrossProblem(
                        f"$.orders[{i}].follower_id",
                        f"unknown follower {fid!r} (not in followers.json)",
                    )
                )
            if order.parent_id is not None and order.parent_id not in order_ids:
                problems.append(
                    CrossProblem(
                        f"$.orders[{i}].parent_id", f"unknown parent order {order.parent_id!r}"
                    )
                )
    elif isinstance(model, FollowersFile):
        for i, follower in enumerate(model.followers):
            unknown_vault(f"$.followers[{i}].vault_id", follower.vault_id)
    elif isinstance(model, AllocationFile):
        for vault_id in model.vaults:
            unknown_vault(f"$.vaults.{vault_id}", vault_id)
    elif isinstance(model, OverlayFile):
        for vault_id, overlay in model.vaults.items():
            unknown_vault(f"$.vaults.{vault_id}", vault_id)
            vault = ref.vaults.get(vault_id) if ref.vaults is not None else None
            if vault is None:
                continue
            if overlay.persona is not None and overlay.persona not in vault.personas:
                problems.append(
                    CrossProblem(
                        f"$.vaults.{vault_id}.persona",
                        f"persona {overlay.persona!r} is not one of the vault's personas "
                        f"({', '.join(vault.personas) or 'none'})",
                    )
                )
            for persona in overlay.persona_boosts:
                if persona not in vault.personas:
                    problems.append(
                        CrossProblem(
                            f"$.vaults.{vault_id}.persona_boosts.{persona}",
                            f"boost for {persona!r}, which is not one of the vault's personas",
                        )
                    )
    elif isinstance(model, PortfolioFile | PnlFile):
        keys = model.accounts if isinstance(model, PortfolioFile) else model.vaults
        where = "accounts" if isinstance(model, PortfolioFile) else "vaults"
        # Both registries are needed to say what a key is not: while followers.json does not
        # load, its own error is the one to fix (not one per follower account elsewhere).
        if vault_ids is not None and follower_ids is not None:
            known = vault_ids | follower_ids
            for key in keys:
                if key not in known:
                    problems.append(
                        CrossProblem(
                            f"$.{where}.{key}", f"{key!r} is neither a vault nor a follower"
                        )
                    )
    return problems
