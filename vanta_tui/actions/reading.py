"""What actions read besides the files they lock: the registry, overlays, PnL, holdings."""

from __future__ import annotations

from pathlib import Path

from vanta_tui.actions.errors import ActionRefused
from vanta_tui.core.models import AllocationFile, Vault, VaultFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import UnknownVault
from vanta_tui.store.loader import load_model
from vanta_tui.store.snapshot import StateSnapshot, read_state


def unknown_vault(vault_id: str, vaults: VaultFile) -> ActionRefused:
    """The refusal for a vault id that is not in vault.json, naming the known ones (the
    words of the store's `UnknownVault`, which `StateSnapshot.vault` raises)."""
    return ActionRefused(str(UnknownVault(vault_id, [v.vault_id for v in vaults.vaults])))


def require_vault(state_dir: Path, vault_id: str) -> Vault:
    """``vault_id``'s entry in vault.json, or `unknown_vault`."""
    vaults = load_model(state_dir, VaultFile)
    vault = vaults.get(vault_id)
    if vault is None:
        raise unknown_vault(vault_id, vaults)
    return vault


CONTEXT = (StateKind.VAULT, StateKind.OVERLAY, StateKind.PNL, StateKind.PORTFOLIO)
"""What an action reads besides the files it locks."""


def read_context(state_dir: Path, previous: StateSnapshot | None = None) -> StateSnapshot:
    """The registry, overlays, PnL and portfolio as they are now (the current-state type
    the desk shows, read for an action: a file that does not load refuses it); with
    ``previous`` (the reader's last), the files that did not change are not parsed again."""
    return read_state(state_dir, CONTEXT, previous)


def read_allocation(state_dir: Path) -> AllocationFile:
    return load_model(state_dir, AllocationFile)
