"""The base of every state-file model: unknown keys kept, secrets refused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, Self, TypeVar

from annotated_types import Ge
from pydantic import BaseModel, ConfigDict, StrictInt, model_validator

from vanta_tui.core.secrets import SECRET_NAME_RE, looks_secret_value

SECRET_KEY_RE = SECRET_NAME_RE
"""Keys that look like credentials (anywhere in the name: ``secret_key``, ``secretKey``,
``api_key_id``, ``access_key``, ``pwd``...). They never belong in a state file, nor does a
value that looks like a credential (`looks_secret_value`) under any key."""


def find_secret_keys(value: Any, path: str = "$") -> list[str]:
    """JSON paths of every key in ``value`` (nested dicts and lists) that looks like a secret."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}"
            if (isinstance(key, str) and SECRET_KEY_RE.search(key)) or (
                isinstance(item, str) and looks_secret_value(item)
            ):
                found.append(sub)
                continue
            found.extend(find_secret_keys(item, sub))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_secret_keys(item, f"{path}[{index}]"))
    return found


_T = TypeVar("_T")
_POSITIONS: dict[int, dict[str, int]] = {}
"""Positions by key of recently searched lists (by the list's id; a few kept)."""
_KEPT = 32
_EVICTING = threading.Lock()


def find_by_key(items: list[_T], key: Callable[[_T], str], wanted: str) -> _T | None:
    """The item of ``items`` whose ``key`` is ``wanted`` (keys are unique), or None. What
    a scan finds, in constant time for a list searched again: positions by key are kept
    per list, and a position is used only when the item there still has that key (a list
    changed since is indexed again; so is one searched for a key it lacks)."""
    ident = id(items)
    for fresh in (False, True):
        index = None if fresh else _POSITIONS.get(ident)
        if index is None:
            index = {}
            for position, item in enumerate(items):
                index.setdefault(key(item), position)
            with _EVICTING:  # threads look lists up at once
                if len(_POSITIONS) >= _KEPT:
                    _POSITIONS.pop(next(iter(_POSITIONS)), None)
                _POSITIONS[ident] = index
            fresh = True
        at = index.get(wanted)
        if at is not None and at < len(items):
            found = items[at]
            if key(found) == wanted:
                return found
        if fresh:
            return None
    return None


class VantaModel(BaseModel):
    """A part of a state file. Keys this version does not know are kept on round-trip.

    The docstring under each field is its description in the exported JSON Schemas
    (`core.schemas`), written for the author of another VANTA program: unit, meaning,
    allowed values."""

    model_config = ConfigDict(
        extra="allow", validate_default=True, populate_by_name=True, use_attribute_docstrings=True
    )

    @model_validator(mode="after")
    def _no_secrets_in_extras(self) -> Self:
        extras = self.__pydantic_extra__
        if not extras:
            return self
        secrets = find_secret_keys(extras)
        if secrets:
            raise ValueError(
                "credential-like keys are not allowed in state files "
                f"({', '.join(p.removeprefix('$.') for p in secrets)}); "
                "keep keys in the environment or the OS keyring under the account_ref"
            )
        return self


Version = Annotated[StrictInt, Ge(1)]


class StateFileModel(VantaModel):
    """A whole state file: a JSON object with a ``version`` that every write increments."""

    version: Version = 1
    """The file's revision: every write by the desk adds 1 (at least 1; an integer, written
    without a fraction: ``1``, not ``1.0``)."""
