"""`vanta-tui`: with no subcommand it opens the desk; subcommands act headless."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vanta_tui.cli.common import add_common, operator_name, resolve_state_dir

if TYPE_CHECKING:
    from vanta_tui.actions.context import ActionContext


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

    p = command("demo", "generate a large consistent state directory (for load tests)")
    p.add_argument("--vaults", type=int, default=200)
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--positions", type=int, default=5_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True, metavar="DIR")

    p = command("schema", "write a JSON Schema per state file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")

    audit = command("audit", "verify, replay, show and export the audit journal")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND", required=True)

    def audit_command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = audit_sub.add_parser(name, help=help_text, description=help_text)
        add_common(p, suppress=True)
        return p

    audit_command("verify", "check the hash chain in vanta.db and trade_log.jsonl")
    audit_command("replay", "rebuild the state files from the journal and diff them")
    p = audit_command("show", "an order's audit trail as a tree")
    p.add_argument("order_id")
    p = audit_command("export", "write events as JSONL or CSV to standard output")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--since", metavar="TS", help="only events at or after this UTC time")
    p.add_argument("--vault", metavar="ID", help="only events of this vault")

    orders = command("orders", "act on queue orders (no prompts; prints what it did)")
    orders_sub = orders.add_subparsers(
        dest="orders_command", metavar="ORDERS_COMMAND", required=True
    )

    def orders_command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = orders_sub.add_parser(name, help=help_text, description=help_text)
        add_common(p, suppress=True)
        return p

    p = orders_command("stage", "stage a new order by hand")
    p.add_argument("vault")
    p.add_argument("symbol")
    p.add_argument("side", choices=["buy", "sell"])
    p.add_argument("qty")
    p.add_argument("--limit", metavar="PRICE", help="limit price (makes a limit order)")
    p.add_argument("--tif", choices=["day", "gtc", "ioc", "fok"], default="day")
    p.add_argument("--reason", action="append", default=[], help="a reason (repeatable)")
    p = orders_command("approve", "approve staged orders")
    p.add_argument("ids", nargs="+", metavar="ID")
    p = orders_command("reject", "reject staged orders")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--reason")
    return parser


MUTATING = {"init", "orders"}
"""Commands refused in read-only mode (`init` writes a directory; `orders` change the queue)."""


def _context(args: argparse.Namespace, state_dir: Path) -> ActionContext:
    from vanta_tui.actions.context import ActionContext

    return ActionContext.open(state_dir, operator_name(args.operator), read_only=args.read_only)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state_dir = resolve_state_dir(args.state_dir)
    if args.read_only and args.command == "init":
        print("read-only mode: 'init' writes files and is refused")
        return 2
    if args.command is None:
        from vanta_tui.ui.app import run_desk

        return run_desk(
            state_dir,
            operator=args.operator,
            read_only=args.read_only,
            log_file=args.log,
        )
    if args.command == "init":
        from vanta_tui.cli.state_cmds import cmd_init

        return cmd_init(args.dir, args.force)
    if args.command == "check":
        from vanta_tui.cli.state_cmds import cmd_check

        return cmd_check(state_dir)
    if args.command == "demo":
        from vanta_tui.demo.generate import write_generated

        write_generated(args.out, args.vaults, args.orders, args.positions, args.seed)
        print(
            f"wrote {args.vaults} vaults, {args.orders} orders, {args.positions} positions "
            f"to {args.out}"
        )
        return 0
    if args.command == "schema":
        from vanta_tui.cli.state_cmds import cmd_schema

        return cmd_schema(args.out)
    if args.command == "audit":
        from vanta_tui.cli import audit_cmds

        if args.audit_command == "verify":
            return audit_cmds.cmd_verify(state_dir)
        if args.audit_command == "replay":
            return audit_cmds.cmd_replay(state_dir)
        if args.audit_command == "show":
            return audit_cmds.cmd_show(state_dir, args.order_id)
        return audit_cmds.cmd_export(state_dir, args.format, args.since, args.vault)
    if args.read_only and args.command in MUTATING:
        print(f"read-only mode: '{args.command}' changes state and is refused")
        return 2
    if args.command == "orders":
        from vanta_tui.cli import order_cmds

        ctx = _context(args, state_dir)
        try:
            if args.orders_command == "stage":
                return order_cmds.cmd_stage(
                    ctx, args.vault, args.symbol, args.side, args.qty, args.limit, args.tif,
                    args.reason,
                )  # fmt: skip
            if args.orders_command == "approve":
                return order_cmds.cmd_approve(ctx, args.ids)
            return order_cmds.cmd_reject(ctx, args.ids, args.reason)
        finally:
            ctx.close()
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
