"""Reading and writing the state directory: loaders, the atomic writer, and their errors."""

from vanta_tui.store.errors import (
    LockTimeout,
    Problem,
    StateFileError,
    StoreError,
    VersionConflict,
    WriteRefused,
)
from vanta_tui.store.loader import LoadedFile, load, load_model
from vanta_tui.store.snapshot import StateSnapshot, load_all
from vanta_tui.store.writer import update, write

__all__ = [
    "LoadedFile",
    "LockTimeout",
    "Problem",
    "StateFileError",
    "StateSnapshot",
    "StoreError",
    "VersionConflict",
    "WriteRefused",
    "load",
    "load_all",
    "load_model",
    "update",
    "write",
]
