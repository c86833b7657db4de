"""What actions read besides the files they lock: the registry, overlays, PnL, holdings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vanta_tui.core.models import (
    Account,
    AllocationFile,
    OverlayFile,
    PnlFile,
    PortfolioFile,
    Vault,
    VaultFile,
)
from vanta_tui.store.journal import ActionRefused
from vanta_tui.store.loader import load_model


@dataclass(frozen=True)
class Context:
    vaults: VaultFile
    overlays: OverlayFile | None
    pnl: PnlFile | None
    portfolio: PortfolioFile | None

    def vault(self, vault_id: str) -> Vault:
        vault = self.vaults.get(vault_id)
        if vault is None:
            raise unknown_vault(vault_id, self.vaults)
        return vault

    def account(self, account_id: str) -> Account | None:
        return self.portfolio.accounts.get(account_id) if self.portfolio else None


def unknown_vault(vault_id: str, vaults: VaultFile) -> ActionRefused:
    """The refusal for a vault id that is not in vault.json, naming the known ones."""
    known = ", ".join(v.vault_id for v in vaults.vaults) or "none"
    return ActionRefused(f"unknown vault {vault_id} (known: {known})")


def require_vault(state_dir: Path, vault_id: str) -> Vault:
    """``vault_id``'s entry in vault.json, or `unknown_vault`."""
    vaults = load_model(state_dir, VaultFile)
    vault = vaults.get(vault_id)
    if vault is None:
        raise unknown_vault(vault_id, vaults)
    return vault


def read_context(state_dir: Path) -> Context:
    """The registry (required) and overlays, PnL and portfolio as they are now."""
    return Context(
        vaults=load_model(state_dir, VaultFile),
        overlays=load_model(state_dir, OverlayFile),
        pnl=load_model(state_dir, PnlFile),
        portfolio=load_model(state_dir, PortfolioFile),
    )


def read_allocation(state_dir: Path) -> AllocationFile:
    return load_model(state_dir, AllocationFile)
