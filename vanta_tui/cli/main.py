"""`vanta-tui`: with no subcommand it opens the desk; subcommands act headless."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vanta_tui.cli.common import add_common, operator_name, resolve_state_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vanta-tui", description="VANTA desk: the operator console for VANTA OS."
    )
    add_common(parser, suppress=False)
    parser.add_argument("--log", metavar="FILE", help="log file of the desk")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_common(p, suppress=True)
        return p

    p = command("init", "copy the bundled demo state into DIR")
    p.add_argument("dir", type=Path)
    p.add_argument("--force", action="store_true", help="replace files already there")

    command("check", "validate every state file; exit 1 on any problem")

    p = command("schema", "write a JSON Schema per state file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state_dir = resolve_state_dir(args.state_dir)
    if args.command is None:
        from vanta_tui.ui.app import run_desk

        return run_desk(
            state_dir,
            operator=operator_name(args.operator),
            read_only=args.read_only,
            log_file=args.log,
        )
    if args.command == "init":
        from vanta_tui.cli.state_cmds import cmd_init

        return cmd_init(args.dir, args.force)
    if args.command == "check":
        from vanta_tui.cli.state_cmds import cmd_check

        return cmd_check(state_dir)
    if args.command == "schema":
        from vanta_tui.cli.state_cmds import cmd_schema

        return cmd_schema(args.out)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
