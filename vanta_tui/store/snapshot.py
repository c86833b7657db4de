"""The state directory as a reader holds it: the last good model of each file and the current
problems. A file that stops loading keeps its last good model (marked stale) until fixed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import (
    Account,
    AllocationFile,
    FollowersFile,
    Order,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    StateFileModel,
    Vault,
    VaultFile,
)
from vanta_tui.core.risk import HoldReason, hold_reason, maintenance_hold
from vanta_tui.core.state_files import DEPENDS_ON, StateKind
from vanta_tui.store.errors import Problem, StateFileError, StoreError, UnknownVault
from vanta_tui.store.loader import LoadedFile, load, reference_for

M = TypeVar("M", bound=StateFileModel)

_KIND_OF: dict[type[StateFileModel], StateKind] = {kind.model: kind for kind in StateKind}


@dataclass(frozen=True)
class StateSnapshot:
    files: dict[StateKind, LoadedFile[Any]] = field(default_factory=dict)
    problems: dict[StateKind, list[Problem]] = field(default_factory=dict)
    _holds: dict[str, tuple[Order, HoldReason | None]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """`hold_reason` worked out once per order of this snapshot (the queue pane, the header
    and the status all ask, for each of thousands of orders). A snapshot `reload` makes
    starts with the previous one's when every file a reason depends on (all but the queue)
    is the very same load; each entry is taken only for the very same `Order` object."""

    def get(self, model_cls: type[M]) -> M | None:
        kind = _KIND_OF.get(model_cls)
        if kind is not None:  # each file's own model: one look-up (asked per order shown)
            loaded = self.files.get(kind)
            return loaded.model if loaded is not None else None
        for loaded in self.files.values():
            if isinstance(loaded.model, model_cls):
                return loaded.model
        return None

    @property
    def ok(self) -> bool:
        """Every file loads."""
        return not self.problems

    def stale(self, kind: StateKind) -> bool:
        """The file fails to load now; what we show is its last good content."""
        return kind in self.problems

    @property
    def vaults(self) -> VaultFile | None:
        return self.get(VaultFile)

    @property
    def overlays(self) -> OverlayFile | None:
        return self.get(OverlayFile)

    @property
    def allocation(self) -> AllocationFile | None:
        return self.get(AllocationFile)

    @property
    def portfolio(self) -> PortfolioFile | None:
        return self.get(PortfolioFile)

    @property
    def pnl(self) -> PnlFile | None:
        return self.get(PnlFile)

    @property
    def queue(self) -> QueueFile | None:
        return self.get(QueueFile)

    @property
    def followers(self) -> FollowersFile | None:
        return self.get(FollowersFile)

    @property
    def registry(self) -> VaultFile:
        """vault.json, which every action needs (`read_state` refuses without it)."""
        vaults = self.vaults
        if vaults is None:
            raise StoreError("vault.json is not loaded")
        return vaults

    def vault(self, vault_id: str) -> Vault:
        """``vault_id``'s entry in vault.json; `UnknownVault` (naming the known ones) when
        it has none, or vault.json is not loaded."""
        vaults = self.vaults
        vault = vaults.get(vault_id) if vaults is not None else None
        if vault is None:
            raise UnknownVault(vault_id, [v.vault_id for v in vaults.vaults] if vaults else [])
        return vault

    def account(self, account_id: str) -> Account | None:
        """The account (a vault's or a follower's) in portfolio.json, if any."""
        portfolio = self.portfolio
        return portfolio.accounts.get(account_id) if portfolio is not None else None

    def hold_reason(self, order: Order) -> HoldReason | None:
        """Why ``order`` is held: an approved order by the executor's rule (`hold_reason`);
        a staged one by the maintenance that would hold it once approved."""
        known = self._holds.get(order.order_id)
        if known is not None and known[0] is order:
            return known[1]
        if order.status is OrderStatus.STAGED:
            reason = maintenance_hold(self.overlays, order.vault_id)
        else:
            reason = hold_reason(
                order, self.vaults, self.overlays, self.pnl, self.portfolio, self.followers
            )
        self._holds[order.order_id] = (order, reason)
        return reason


_ORDER = sorted(StateKind, key=lambda k: len(DEPENDS_ON[k]))


def reload(
    state_dir: Path, previous: StateSnapshot, kinds: Iterable[StateKind] | None = None
) -> StateSnapshot:
    """A new snapshot with ``kinds`` (default: all) read again; the others are kept.

    A change to a file others refer to (vault.json, followers.json) rechecks those too.
    """
    chosen = set(StateKind) if kinds is None else set(kinds)
    for kind in list(chosen):
        chosen |= {k for k, deps in DEPENDS_ON.items() if kind in deps}
    files = dict(previous.files)
    problems = {k: v for k, v in previous.problems.items() if k not in chosen}
    for kind in _ORDER:
        if kind not in chosen:
            continue
        try:
            files[kind] = load(
                state_dir, kind, reference_for(state_dir, kind, files), files.get(kind)
            )
        except StateFileError as exc:
            problems[kind] = exc.problems
    fresh = replace(previous, files=files, problems=problems)
    if all(
        files.get(kind) is previous.files.get(kind) for kind in StateKind if kind in HOLD_INPUTS
    ):
        # Only the queue changed: the reasons of its unchanged orders are still the reasons
        # (only those: an order gone or changed would keep its old object alive).
        known, queue = previous._holds, fresh.queue
        if known and queue is not None:
            for order in queue.orders:
                hit = known.get(order.order_id)
                if hit is not None and hit[0] is order:
                    fresh._holds[order.order_id] = hit
    return fresh


HOLD_INPUTS = tuple(kind for kind in StateKind if kind is not StateKind.QUEUE)
"""What `hold_reason` reads besides the order: every file but the queue."""


def changed_kinds(before: StateSnapshot, after: StateSnapshot) -> set[StateKind]:
    """The files whose content or problems differ between two snapshots (a file `reload`
    did not change is the very same load in both)."""
    return {
        kind
        for kind in StateKind
        if before.files.get(kind) is not after.files.get(kind)
        or before.problems.get(kind) != after.problems.get(kind)
    }


def load_all(state_dir: Path) -> StateSnapshot:
    """The seven files as they are now, each checked against the ones it refers to: what
    loaded, and each problem of what did not (`vanta-tui check`)."""
    return reload(state_dir, StateSnapshot())


def read_state(
    state_dir: Path, kinds: Iterable[StateKind], previous: StateSnapshot | None = None
) -> StateSnapshot:
    """The files ``kinds`` (and vault.json) as they are now, for an action: unlike `reload`,
    a file that does not load (or is missing) raises its `StateFileError`. With
    ``previous`` (what this reader read last), a file whose bytes did not change is not
    parsed again (its cross-file rules are checked again)."""
    chosen = set(kinds) | {StateKind.VAULT}
    files: dict[StateKind, LoadedFile[Any]] = {}
    before = previous.files if previous is not None else {}
    for kind in _ORDER:
        if kind in chosen:
            ref = reference_for(state_dir, kind, files)
            files[kind] = load(state_dir, kind, ref, before.get(kind))
    return StateSnapshot(files=files)


def kinds_for_paths(state_dir: Path, paths: Iterable[str]) -> set[StateKind]:
    """Which state files a set of changed paths touches (other files are ignored)."""
    names = {k.filename: k for k in StateKind}
    root = state_dir.resolve()
    found: set[StateKind] = set()
    for raw in paths:
        path = Path(raw)
        if path.name in names and path.resolve().parent == root:
            found.add(names[path.name])
    return found
