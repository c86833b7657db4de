"""What every CLI command shares: the state directory, the operator, read-only mode."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path

DEFAULT_STATE_DIR = Path("state")


def resolve_state_dir(value: str | None) -> Path:
    """``--state-dir``, else ``VANTA_STATE_DIR``, else ``state/``."""
    if value:
        return Path(value)
    env = os.environ.get("VANTA_STATE_DIR")
    return Path(env) if env else DEFAULT_STATE_DIR


def may_write(state_dir: Path) -> bool:
    """Whether this user may change the state directory (its journal included)."""
    if not os.access(state_dir, os.W_OK | os.X_OK):
        return False
    db = state_dir / "vanta.db"
    return not db.exists() or os.access(db, os.W_OK)


def operator_name(value: str | None) -> str:
    """``--operator``, else the login name."""
    if value:
        return value
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "operator"


def add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options valid before or after the subcommand (``suppress`` keeps the outer value)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--state-dir",
        default=default,
        metavar="DIR",
        help="state directory (default: $VANTA_STATE_DIR or ./state)",
    )
    parser.add_argument(
        "--operator", default=default, help="name recorded on every action (default: login name)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=default,
        metavar="SECONDS",
        help="how long to wait for a file another program has locked (default 30)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="refuse every action that changes state",
    )
