"""Pydantic models of the seven state files (see shared/design/state-files.md)."""

from vanta_tui.core.models.allocation import AllocationFile, VaultTargets
from vanta_tui.core.models.base import StateFileModel, VantaModel
from vanta_tui.core.models.followers import FeeAgreement, Follower, FollowersFile
from vanta_tui.core.models.overlay import (
    FlipMode,
    GlobalOverlay,
    Maintenance,
    OverlayFile,
    TripClearance,
    VaultOverlay,
)
from vanta_tui.core.models.pnl import PnlFile, VaultPnl
from vanta_tui.core.models.portfolio import Account, PortfolioFile, Position
from vanta_tui.core.models.queue import Order, QueueFile
from vanta_tui.core.models.vault import Defaults, FeeSpec, Mirroring, Risk, Vault, VaultFile, Venue

__all__ = [
    "Account",
    "AllocationFile",
    "Defaults",
    "FeeAgreement",
    "FeeSpec",
    "FlipMode",
    "Follower",
    "FollowersFile",
    "GlobalOverlay",
    "Maintenance",
    "Mirroring",
    "Order",
    "OverlayFile",
    "PnlFile",
    "PortfolioFile",
    "Position",
    "QueueFile",
    "Risk",
    "StateFileModel",
    "TripClearance",
    "VantaModel",
    "Vault",
    "VaultFile",
    "VaultOverlay",
    "VaultPnl",
    "VaultTargets",
    "Venue",
]
