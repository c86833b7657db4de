"""`vanta-tui`: with no subcommand it opens the desk; subcommands act headless.

Each command's module registers its parser and names its handler (`cli.common.command`);
`main` parses, applies the options every command shares, opens one `vanta_tui.desk.Desk`
on the state directory for the handler, and turns whatever it ends with into an exit code
(`cli.exit_codes`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from vanta_tui.cli import (
    action_cmds,
    audit_cmds,
    color,
    completion,
    day_cmds,
    executor_cmd,
    exit_codes,
    follower_cmds,
    order_cmds,
    postgres_cmd,
    serve_cmd,
    state_cmds,
    status_cmds,
)
from vanta_tui.cli.common import (
    Handler,
    StatelessHandler,
    Subcommands,
    add_common,
    may_write,
    operator_name,
    resolve_state_dir,
)
from vanta_tui.cli.exit_codes import UsageError, refusal
from vanta_tui.core.logs import configure_logging

COMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    state_cmds.add_init,
    state_cmds.add_check,
    state_cmds.add_demo,
    state_cmds.add_schema,
    audit_cmds.add_audit,
    order_cmds.add_orders,
    action_cmds.add_stage,
    action_cmds.add_maintenance,
    action_cmds.add_trip,
    action_cmds.add_flip_mode,
    follower_cmds.add_followers,
    follower_cmds.add_fees,
    status_cmds.add_status,
    status_cmds.add_reconcile,
    status_cmds.add_alarm,
    order_cmds.add_panic,
    executor_cmd.add_executor,
    action_cmds.add_persona,
    day_cmds.add_activity,
    day_cmds.add_fills,
    day_cmds.add_profit,
    serve_cmd.add_serve,
    postgres_cmd.add_postgres,
    completion.add_completion,
)
"""The commands, in the order ``vanta-tui --help`` lists them."""

MUTATING = {
    "init",
    "orders",
    "maintenance",
    "trip",
    "flip-mode",
    "persona",
    "stage",
    "executor",
    "panic",
    "followers",
    "fees",
    "reconcile",
    "alarm",
}
"""Commands refused in read-only mode, unless the (sub)command registered ``read_only_ok``
says this use only reads (``stage --dry-run``, ``followers list``, ``fees ledger``,
``reconcile`` without ``--accept-broker``). ``audit repair`` refuses in its handler."""

EXIT_JOURNAL_BROKEN = exit_codes.DATA
"""An action refused because the journal is behind or unlike its recorded head / checkpoints."""
EXIT_LOCKED = exit_codes.TEMPORARY
"""An action not done because another program held a file's lock longer than ``--wait``."""

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 (sysexits EX_USAGE, not argparse's 2) with this (sub)command's
    own usage; the subparsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(exit_codes.USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vanta-tui", description="VANTA desk: the operator console for VANTA OS.")
    add_common(parser, suppress=False)
    parser.add_argument("--log", metavar="FILE", help="log file of the desk")
    parser.add_argument(
        "--no-watch", action="store_false", dest="watch",
        help="the desk does not watch the state files (it follows --changes, or nothing)",
    )  # fmt: skip
    parser.add_argument(
        "--live", action="store_true",
        help="real-money endpoints (Alpaca live, exchanges without sandbox); asks to confirm",
    )  # fmt: skip
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}",
        help="print the version (from the installed package) and exit",
    )  # fmt: skip
    parser.set_defaults(handler=None, stateless=False, read_only_ok=None, desk_options=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def _version() -> str:
    """The installed distribution's version (its metadata), or ``unknown`` when run from a
    tree that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vanta-tui")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (or the desk) and return its exit code (`cli.exit_codes`). A usage
    error prints the subcommand's usage (64); a refusal one line (65, 69, 75, 77); a bug
    one line naming the log file, which has the traceback (70): never a traceback here."""
    parser = build_parser()
    completion.autocomplete(parser)  # answers the shell and exits when it is asking
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # a mistyped flag: the command's own usage, not the top-level one
            usage: argparse.ArgumentParser = getattr(args, "usage_parser", parser)
            usage.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help (0) or a usage error (64)
        return exc.code if isinstance(exc.code, int) else exit_codes.USAGE
    from vanta_tui.store.postgres.feed import CHANGES_URL_ENV, url_password
    from vanta_tui.store.postgres.location import JOURNAL_URL_ENV

    # Every journal this process opens is in --journal's database and announces its changes
    # on --changes' server.
    for option, url, env in (
        ("--changes", args.changes, CHANGES_URL_ENV),
        ("--journal", args.journal, JOURNAL_URL_ENV),
    ):
        if not url:
            continue
        if url_password(url):
            print(
                f"vanta-tui: error: {option}: a password in the URL would show in the process "
                "list; give it in PGPASSWORD or ~/.pgpass (libpq reads them), or the whole "
                f"URL in ${env}",
                file=sys.stderr,
            )
            return exit_codes.USAGE
        os.environ[env] = url
    mode: color.Mode = args.color or "auto"
    color.set_mode(mode)
    state_dir = resolve_state_dir(args.state_dir)
    if args.command is None:
        color.apply_to_desk(mode)
        return _run_command(args, state_dir)  # the desk: its own log and screen
    log_path = configure_logging(state_dir, args.log)
    try:
        return _run_command(args, state_dir)
    except BrokenPipeError:
        raise  # `__main__` ends quietly with 141
    except Exception as exc:
        known = refusal(exc)
        if known is None:
            log.exception("vanta-tui %s failed", args.command)
            where = f"see {log_path}" if log_path else "no log file could be opened"
            print(
                f"internal error: {type(exc).__name__} in '{args.command}' (a bug; {where})",
                file=sys.stderr,
            )
            return exit_codes.INTERNAL
        code, message = known
        if code == exit_codes.USAGE:
            usage = getattr(args, "usage_parser", parser)
            usage.print_usage(sys.stderr)
            print(f"{usage.prog}: error: {message}", file=sys.stderr)
        else:
            print(message)
        log.info("vanta-tui %s: exit %d: %s", args.command, code, message)
        return code


def _run_command(args: argparse.Namespace, state_dir: Path) -> int:
    if args.wait is not None:
        from vanta_tui.store.writer import set_lock_wait

        set_lock_wait(max(args.wait, 0.0))
    command = args.command
    if command is None:
        from vanta_tui.ui.app import run_desk

        return run_desk(
            state_dir,
            operator=args.operator,
            read_only=args.read_only,
            log_file=args.log,
            live=args.live,
            watch=args.watch,
        )
    if args.read_only and _writes(args):
        print(f"read-only mode: '{command}' changes state and is refused")
        return exit_codes.READ_ONLY
    if args.stateless:
        handler: StatelessHandler = args.handler
        return handler(args)
    if not state_dir.is_dir():
        raise UsageError(
            f"state directory {state_dir} does not exist "
            f"(set --state-dir or VANTA_STATE_DIR, or create one with: vanta-tui init {state_dir})"
        )
    if not args.read_only and not may_write(state_dir):
        # Readers work on a directory this user cannot write (SQLite mode=ro); writers are
        # refused with a clear message instead of "attempt to write a readonly database".
        print(f"note: {state_dir} is not writable by this user: read-only", file=sys.stderr)
        args.read_only = True
        if _writes(args):
            print(f"read-only mode: '{command}' changes state and is refused")
            return exit_codes.READ_ONLY
    from vanta_tui.desk import Desk

    options: dict[str, Any] = {"read_only": args.read_only, "live": args.live}
    if args.desk_options is not None:
        options.update(args.desk_options(args))
    handler_with_desk: Handler = args.handler
    with Desk(state_dir, operator=operator_name(args.operator), **options) as desk:
        return handler_with_desk(args, desk)


def _writes(args: argparse.Namespace) -> bool:
    """Whether the command changes state (refused in read-only mode)."""
    return args.command in MUTATING and not (args.read_only_ok and args.read_only_ok(args))


if __name__ == "__main__":
    sys.exit(main())
