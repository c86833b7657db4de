"""What every CLI command shares: the state directory, the operator, read-only mode, and
how a (sub)command registers its parser and its handler.

A command's module adds its parser with `command` and names its handler there:
``handler(args, desk)`` gets the invocation's one `vanta_tui.desk.Desk` (built by
`cli.main`), a ``stateless=True`` command's ``handler(args)`` none (it makes a state
directory, it does not read one). Registering imports nothing heavy: the handlers import
what they need when they run, so ``vanta-tui --help`` starts fast.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from vanta_tui.cli.exit_codes import UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from vanta_tui.desk import Desk

DEFAULT_STATE_DIR = Path("state")

Handler = Callable[[argparse.Namespace, "Desk"], int]
"""A command that works on the state directory, through the invocation's `Desk`."""
StatelessHandler = Callable[[argparse.Namespace], int]
"""A command that makes a state directory (or schemas) rather than reading one."""
DeskOptions = Callable[[argparse.Namespace], dict[str, Any]]
"""A command's own keywords for its `Desk` (its ``--live``, its brokers' options)."""
Subcommands: TypeAlias = "argparse._SubParsersAction[Any]"


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
        "--color",
        choices=("auto", "always", "never"),
        default=default,
        help="colour: auto (on a terminal, unless NO_COLOR is set), always, never",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="refuse every action that changes state",
    )
    parser.add_argument(
        "--changes",
        default=default,
        metavar="URL",
        help="PostgreSQL server (postgresql://…) on which every change is announced to the "
        "desks, which follow it without file watching (default: $VANTA_CHANGES_URL)",
    )
    parser.add_argument(
        "--journal",
        default=default,
        metavar="URL",
        help="the journal in this PostgreSQL database (postgresql://…, one database per state "
        "directory) instead of vanta.db (default: $VANTA_JOURNAL_URL)",
    )


def command(
    parent: Subcommands,
    name: str,
    help_text: str,
    handler: Handler | StatelessHandler | None = None,
    *,
    stateless: bool = False,
    read_only_ok: Callable[[argparse.Namespace], bool] | None = None,
    desk_options: DeskOptions | None = None,
) -> argparse.ArgumentParser:
    """Add the (sub)command ``name`` under ``parent`` and what `cli.main` needs to run it:
    its ``handler`` (none for a group of subcommands), ``stateless`` (it takes no `Desk`),
    ``read_only_ok`` (when a command that writes only reads, allowed with ``--read-only``)
    and ``desk_options`` (its own keywords for the `Desk`)."""
    p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
    add_common(p, suppress=True)
    p.set_defaults(usage_parser=p)  # the innermost command's parser words usage errors
    if handler is not None:
        p.set_defaults(handler=handler, stateless=stateless)
    if read_only_ok is not None:
        p.set_defaults(read_only_ok=read_only_ok)
    if desk_options is not None:
        p.set_defaults(desk_options=desk_options)
    return p


def parse_decimal(text: str, what: str) -> Decimal:
    """A number the operator typed (a usage error if it is not a finite one)."""
    from vanta_tui.core.wording import shown

    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{what} must be a number, not {shown(text)}") from None
    if not value.is_finite():
        raise UsageError(f"{what} must be a finite number, not {shown(text)}")
    return value


def parse_time(text: str, option: str) -> datetime:
    """A UTC time the operator typed for ``option`` (a usage error naming it if malformed)."""
    from vanta_tui.core.types import parse_utc

    try:
        return parse_utc(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
