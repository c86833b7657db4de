"""The brokers of a state directory: routing (`vanta_tui.brokers.routing`) over the state
files as the store reads them.

The brokers layer never imports the store; it reads the vaults, followers, portfolio and
queue through a `StateSource`. `FreshState` is that source here: a `StateSnapshot` kept
current through the store's loader, a file read again only when it changed on disk.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar, cast

from vanta_tui.brokers.base import Brokers
from vanta_tui.brokers.paper import book_path
from vanta_tui.brokers.routing import (
    RealAccount,
    VenueBrokers,
    credential_problems,
    real_accounts_of,
    venue_refusals,
)
from vanta_tui.core.models import (
    FollowersFile,
    PortfolioFile,
    QueueFile,
    StateFileModel,
    VaultFile,
)
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StoreError
from vanta_tui.store.loader import kind_of, load, load_model
from vanta_tui.store.snapshot import StateSnapshot

__all__ = [
    "Brokers",
    "FreshState",
    "VenueBrokers",
    "brokers_for",
    "missing_credentials",
    "paper_brokers",
    "real_accounts",
    "venue_problems",
]

M = TypeVar("M", bound=StateFileModel)


class FreshState:
    """The `StateSource` of ``state_dir``: the current state (`StateSnapshot`, the type every
    reader holds) of the files routing reads. A file is read again only when it changed on
    disk (size and mtime), and parsed again only when its bytes changed (the loader's
    sha256-keyed reuse, as for every reader of the store). A missing file raises `OSError`,
    a broken one the store's `StoreError`; the queue is None instead (see
    `StateSource.queue`)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state = StateSnapshot()
        self._stamps: dict[StateKind, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def get(self, model_cls: type[M]) -> M:
        kind = kind_of(model_cls)
        stat = (self.state_dir / kind.filename).stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        # One lock: the executor's thread and the desk's (cancel, reconcile) share these
        # brokers; a model and its stamp change together, so no thread keeps a stale file.
        with self._lock:
            loaded = self.state.files.get(kind)
            if loaded is None or self._stamps.get(kind) != stamp:
                loaded = load(self.state_dir, kind, None, loaded)
                self.state = replace(self.state, files={**self.state.files, kind: loaded})
                self._stamps[kind] = stamp
            return cast(M, loaded.model)

    def vaults(self) -> VaultFile:
        return self.get(VaultFile)

    def followers(self) -> FollowersFile:
        return self.get(FollowersFile)

    def portfolio(self) -> PortfolioFile:
        return self.get(PortfolioFile)

    def queue(self) -> QueueFile | None:
        try:
            return self.get(QueueFile)
        except (OSError, StoreError):
            return None


def brokers_for(
    state_dir: Path,
    *,
    live: bool = False,
    slippage_bps: Decimal = Decimal(0),
    partial_fill_ratio: Decimal | None = None,
    timeout_s: float = 10.0,
    paper_only: bool = False,
    read_only: bool = False,
) -> VenueBrokers:
    """The broker of each order: its vault's (or follower's) venue for its asset class
    (``read_only``: the paper book is read from a copy in memory, never written)."""
    return VenueBrokers(
        FreshState(state_dir),
        book_path(state_dir),
        live=live,
        slippage_bps=slippage_bps,
        partial_fill_ratio=partial_fill_ratio,
        timeout_s=timeout_s,
        paper_only=paper_only,
        read_only=read_only,
    )


def paper_brokers(
    state_dir: Path,
    *,
    slippage_bps: Decimal = Decimal(0),
    partial_fill_ratio: Decimal | None = None,
) -> VenueBrokers:
    """Every order to the built-in paper broker, whatever its venue says (tests, demos)."""
    return brokers_for(
        state_dir,
        slippage_bps=slippage_bps,
        partial_fill_ratio=partial_fill_ratio,
        paper_only=True,
    )


def real_accounts(state_dir: Path) -> list[RealAccount]:
    """Every (adapter, account_ref, used by) that needs credentials: non-paper venues of the
    vaults and the followers' brokers (a followers file that does not load has none; a
    vaults file that does not load raises its `StoreError`)."""
    vaults = load_model(state_dir, VaultFile)
    try:
        followers: FollowersFile | None = load_model(state_dir, FollowersFile)
    except StoreError:
        followers = None
    return real_accounts_of(vaults, followers)


def missing_credentials(state_dir: Path) -> list[str]:
    """One line per account whose keys cannot be found (empty when all are there): checked
    when the desk or the executor starts, so a missing key never surfaces mid-send."""
    return credential_problems(real_accounts(state_dir))


def venue_problems(state_dir: Path, *, live: bool) -> list[str]:
    """One line per non-paper venue that cannot be used in this mode (a ccxt exchange with
    no sandbox while not live, one that signs with secrets the desk does not hold):
    reported at start; that venue's orders wait, the other venues keep trading."""
    return venue_refusals(real_accounts(state_dir), live=live)
