"""The operator's own settings: a TOML file in the user's config directory.

Location: ``$VANTA_DESK_CONFIG`` if set, else ``<user config dir>/vanta-desk/settings.toml``
(platformdirs; on Linux ``~/.config/vanta-desk/settings.toml``). Example::

    theme = "gruvbox"
    operator = "dana"

    screenshot_dir = "~/shots"   # the palette's Screenshot saves here

    [keymap]
    queue_sort = "O"       # binding id = keys; a key another binding keeps is not applied

    [refresh]
    clock_seconds = 1.0
    watch_debounce_ms = 10
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path

import tomli_w
from platformdirs import user_config_path, user_data_path, user_log_path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)


class RefreshSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clock_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often the header clock, order ages and flip-mode countdowns tick."""
    watch_debounce_ms: int = Field(default=10, ge=1, le=5000)
    """How long the file watcher gathers changes before the desk reloads (watchfiles)."""
    watch_step_ms: int = Field(default=5, ge=1, le=1000)
    """How often the watcher checks for further changes while gathering (watchfiles)."""
    reconcile_minutes: float = Field(default=5.0, gt=0, le=1440)
    """How often the desk's executor compares each vault's portfolio with its brokers."""
    prices_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How often the desk's executor fetches prices from non-paper brokers."""


class DeskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    theme: str = "textual-dark"
    """The Textual theme; changing it in the desk (palette: "Change theme") saves it here."""
    operator: str | None = None
    """Name put on every action; `--operator` overrides it; default: the login name."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Key remaps: binding id → keys (comma-separated), e.g. ``approve = "A"``."""
    refresh: RefreshSettings = Field(default_factory=RefreshSettings)
    first_run_done: bool = False
    """Set once the desk has shown its first-run hint on this machine (never again after)."""
    screenshot_dir: str | None = None
    """Where the palette's "Screenshot" saves its SVGs (``~`` expanded; made if missing);
    default: ``screenshots`` in the desk's data directory (`default_screenshot_dir`)."""


def settings_path() -> Path:
    env = os.environ.get("VANTA_DESK_CONFIG")
    if env:
        return Path(env)
    return user_config_path("vanta-desk") / "settings.toml"


def default_log_path() -> Path:
    return user_log_path("vanta-desk") / "desk.log"


def default_screenshot_dir() -> Path:
    """``~/.local/share/vanta-desk/screenshots`` on Linux (platformdirs' user data dir)."""
    return user_data_path("vanta-desk") / "screenshots"


def screenshot_dir(settings: DeskSettings) -> Path:
    """Where the desk saves its screenshots."""
    if settings.screenshot_dir:
        return Path(settings.screenshot_dir).expanduser()
    return default_screenshot_dir()


def load_settings(path: Path | None = None) -> tuple[DeskSettings, str | None]:
    """The settings, and a warning if the file was unreadable (defaults are used then)."""
    target = path or settings_path()
    try:
        raw = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DeskSettings(), None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return DeskSettings(), f"{target}: {exc}; using defaults"
    try:
        return DeskSettings.model_validate(raw), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return DeskSettings(), f"{target}: {where}: {first['msg']}; using defaults"


def save_settings(settings: DeskSettings, path: Path | None = None) -> None:
    target = path or settings_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(exclude_none=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(target)
