"""`vanta-tui`: with no subcommand it opens the desk; subcommands act headless."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import add_common, may_write, operator_name, resolve_state_dir
from vanta_tui.cli.exit_codes import UsageError, refusal
from vanta_tui.core.logs import configure_logging

if TYPE_CHECKING:
    from vanta_tui.actions.context import ActionContext

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
"""Commands refused in read-only mode (``stage --dry-run`` only reads and stays allowed)."""

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
        "--live", action="store_true",
        help="real-money endpoints (Alpaca live, exchanges without sandbox); asks to confirm",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, help_text: str, parent: argparse._SubParsersAction[Any]
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        add_common(p, suppress=True)
        p.set_defaults(usage_parser=p)  # the innermost command's parser words usage errors
        return p

    def top(name: str, help_text: str) -> argparse.ArgumentParser:
        return command(name, help_text, sub)

    p = top("init", "write the demo state into DIR, dated now (a working copy)")
    p.add_argument("dir", type=Path)
    p.add_argument("--force", action="store_true", help="replace files already there")
    p.add_argument(
        "--at", metavar="TS", help="date the demo at TS (UTC), e.g. 2026-11-24T08:05:00Z"
    )

    top("check", "validate every state file; exit 1 on any problem")

    p = top("demo", "generate a large consistent state directory (for load tests)")
    p.add_argument("--vaults", type=int, default=200)
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--positions", type=int, default=5_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True, metavar="DIR")

    p = top("schema", "write a JSON Schema per state file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")

    audit = top("audit", "verify, replay, show and export the audit journal")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND", required=True)
    p = command("verify", "check the hash chain in vanta.db and trade_log.jsonl", audit_sub)
    p.add_argument(
        "--expect-head", metavar="SEQ:HASH",
        help="also check that the chain holds this head (what 'audit anchor' printed earlier)",
    )  # fmt: skip
    command("anchor", "print the journal's head (SEQ:HASH) to keep outside the machine", audit_sub)
    p = command(
        "repair",
        "accept a journal behind or unlike its recorded head (audited; keeps the evidence)",
        audit_sub,
    )
    p.add_argument("--reason", required=True)
    command("replay", "rebuild the state files from the journal and diff them", audit_sub)
    p = command("show", "an order's audit trail as a tree", audit_sub)
    p.add_argument("order_id")
    p = command("export", "write events as JSONL or CSV to standard output", audit_sub)
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--since", metavar="TS", help="only events at or after this UTC time")
    p.add_argument("--vault", metavar="ID", help="only events of this vault")

    orders = top("orders", "act on queue orders (no prompts; prints what it did)")
    orders_sub = orders.add_subparsers(
        dest="orders_command", metavar="ORDERS_COMMAND", required=True
    )
    p = command("stage", "stage a new order by hand", orders_sub)
    p.add_argument("vault")
    p.add_argument("symbol")
    p.add_argument("side", choices=["buy", "sell"])
    p.add_argument("qty")
    p.add_argument("--limit", metavar="PRICE", help="limit price (makes a limit order)")
    p.add_argument("--tif", choices=["day", "gtc", "ioc", "fok"], default="day")
    p.add_argument("--reason", action="append", default=[], help="a reason (repeatable)")
    p.add_argument(
        "--allow-duplicate",
        action="store_true",
        help="stage it even if an identical order was staged in the last 10 minutes",
    )
    p = command("approve", "approve staged orders", orders_sub)
    p.add_argument("ids", nargs="+", metavar="ID")
    p = command("reject", "reject staged orders", orders_sub)
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--reason")
    p = command("flip", "reverse the side of a staged order", orders_sub)
    p.add_argument("order_id")
    p = command("cancel", "cancel orders working at the broker", orders_sub)
    p.add_argument("ids", nargs="+", metavar="ID")
    p = command("retry", "stage a failed (dead-lettered) order again", orders_sub)
    p.add_argument("order_id")
    p = command("dismiss", "take a failed order off the dead-letter list", orders_sub)
    p.add_argument("order_id")
    p.add_argument("--reason")
    p = command("edit", "edit a staged order", orders_sub)
    p.add_argument("order_id")
    p.add_argument("--qty")
    p.add_argument("--limit", metavar="PRICE")
    p.add_argument("--type", dest="order_type", choices=["market", "limit"])
    p.add_argument("--tif", choices=["day", "gtc", "ioc", "fok"])

    p = top("stage", "stage a rebalance of VAULT (allocation against portfolio)")
    p.add_argument("vault")
    p.add_argument("--dry-run", action="store_true", help="print the orders, stage nothing")

    p = top("maintenance", "maintenance on or off for VAULT, or globally without VAULT")
    p.add_argument("state", choices=["on", "off"])
    p.add_argument("vault", nargs="?")
    p.add_argument("--reason")

    trip = top("trip", "clear a tripped vault after review")
    trip_sub = trip.add_subparsers(dest="trip_command", metavar="TRIP_COMMAND", required=True)
    p = command("clear", "let a tripped vault trade again", trip_sub)
    p.add_argument("vault")
    p.add_argument("--reason", required=True)

    p = top("flip-mode", "flip mode on (with a TTL) or off for VAULT")
    p.add_argument("state", choices=["on", "off"])
    p.add_argument("vault")
    p.add_argument("--ttl", type=int, default=45, metavar="MINUTES")
    p.add_argument("--amplify", default="0.35", help="size factor above 1 (0.35 = ×1.35)")

    followers = top("followers", "mirror followers: add an API packet, list, kill switch, remove")
    followers_sub = followers.add_subparsers(
        dest="followers_command", metavar="FOLLOWERS_COMMAND", required=True
    )
    p = command("add", "validate an API packet and register the follower", followers_sub)
    p.add_argument("packet", type=Path, metavar="PACKET.json")
    command(
        "list", "every follower with mode, caps, equity, kill switch, PnL and fees", followers_sub
    )
    p = command("kill-switch", "stop (on) or resume (off) mirroring to a follower", followers_sub)
    p.add_argument("follower_id")
    p.add_argument("state", choices=["on", "off"])
    p = command("remove", "remove a follower with no open orders or positions", followers_sub)
    p.add_argument("follower_id")

    fees = top("fees", "fee cycles and the fee ledger")
    fees_sub = fees.add_subparsers(dest="fees_command", metavar="FEES_COMMAND", required=True)
    p = command(
        "close-cycle",
        "close each ended fee period of every vault (or one) and its followers, once",
        fees_sub,
    )
    p.add_argument("--vault", metavar="ID")
    p.add_argument(
        "--as-of", metavar="TS", help="close the periods ended by this UTC time (a late close)"
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be charged")
    p = command("ledger", "print the fee ledger", fees_sub)
    p.add_argument("--vault", metavar="ID")
    p.add_argument("--follower", metavar="ID")

    p = top("status", "one line per component (OK/WARN/FAIL) and every open alarm; exit 0/1/2")
    p.add_argument("--json", action="store_true", help="the same, for machines")
    p.add_argument("--no-probe", action="store_true", help="do not call the brokers")
    p.add_argument("--at", metavar="TS", help="evaluate as of this UTC time (what-if, tests)")
    p.add_argument(
        "--live", action="store_true", dest="status_live",
        help="report the brokers as --live would use them (default: sandbox)",
    )  # fmt: skip
    p = top("reconcile", "compare a vault's portfolio with its brokers; adopt the broker's view")
    p.add_argument("vault")
    p.add_argument("--accept-broker", action="store_true", help="write the broker's view")
    alarm = top("alarm", "acknowledge an alarm (it stays until its cause is gone)")
    alarm_sub = alarm.add_subparsers(dest="alarm_command", metavar="ALARM_COMMAND", required=True)
    p = command("ack", "acknowledge an alarm by its id (see vanta-tui status)", alarm_sub)
    p.add_argument("alarm_id")
    p.add_argument("--note")

    p = top("panic", "global maintenance on and cancel every working order at every broker")
    p.add_argument("--reason", required=True)

    p = top("executor", "send approved orders to the brokers (one executor per directory)")
    p.add_argument("--once", action="store_true", help="process what is approved now, then exit")
    p.add_argument(
        "--live",
        action="store_true",
        dest="executor_live",
        help="real-money endpoints (default: Alpaca paper, exchange sandboxes)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per broker request")
    p.add_argument(
        "--reconcile-minutes", type=float, default=5.0,
        help="compare each vault's portfolio with its brokers this often (default 5)",
    )  # fmt: skip
    p.add_argument(
        "--retry-after", default="1,5,15,60", metavar="S,S,...",
        help="seconds before each resend after a temporary error (default 1,5,15,60)",
    )  # fmt: skip
    p.add_argument("--slippage-bps", default="0", help="paper broker slippage in basis points")
    p.add_argument(
        "--partial-fill", default=None, metavar="FRACTION",
        help="paper broker: fill this fraction first, the rest on the next cycle",
    )  # fmt: skip

    p = top("persona", "set VAULT's active persona and boosts")
    p.add_argument("vault")
    p.add_argument("name")
    p.add_argument(
        "--boost", action="append", default=[], metavar="PERSONA=FRACTION", help="repeatable"
    )
    return parser


def _run_action(
    args: argparse.Namespace, state_dir: Path, body: Callable[[ActionContext], int]
) -> int:
    """Open the journal (recovering from any crash) and run one action. A refusal (a
    journal file it cannot use, a lock held, a rule) ends up in `main`'s one handler."""
    from vanta_tui.actions.context import ActionContext

    ctx = ActionContext.open(
        state_dir, operator_name(args.operator), read_only=args.read_only, live=args.live
    )
    try:
        return body(ctx)
    finally:
        ctx.close()


def _dispatch_action(args: argparse.Namespace, state_dir: Path) -> int:
    from vanta_tui.cli import action_cmds, order_cmds

    command = args.command
    if command in {"status", "reconcile", "alarm"}:
        from vanta_tui.cli import status_cmds

        if command == "status":
            from vanta_tui.core.clock import utc_now
            from vanta_tui.core.types import parse_utc

            try:
                now = parse_utc(args.at) if args.at else utc_now()
            except ValueError as exc:
                raise UsageError(f"--at: {exc}") from None
            return _run_action(
                args,
                state_dir,
                lambda ctx: status_cmds.cmd_status(
                    ctx, now, args.json, not args.no_probe, args.live or args.status_live
                ),
            )
        if command == "reconcile":
            return _run_action(
                args,
                state_dir,
                lambda ctx: status_cmds.cmd_reconcile(
                    ctx, args.vault, args.accept_broker, args.live
                ),
            )
        return _run_action(
            args, state_dir, lambda ctx: status_cmds.cmd_ack(ctx, args.alarm_id, args.note)
        )
    if command == "followers":
        from vanta_tui.cli import follower_cmds

        which = args.followers_command
        if which == "list":
            return follower_cmds.cmd_followers_list(state_dir)
        if which == "add":
            return _run_action(
                args, state_dir, lambda ctx: follower_cmds.cmd_followers_add(ctx, args.packet)
            )
        if which == "kill-switch":
            return _run_action(
                args,
                state_dir,
                lambda ctx: follower_cmds.cmd_kill_switch(ctx, args.follower_id, args.state),
            )
        return _run_action(
            args, state_dir, lambda ctx: follower_cmds.cmd_followers_remove(ctx, args.follower_id)
        )
    if command == "fees":
        from vanta_tui.cli import follower_cmds

        if args.fees_command == "ledger":
            return _run_action(
                args,
                state_dir,
                lambda ctx: follower_cmds.cmd_ledger(ctx, args.vault, args.follower),
            )
        return _run_action(
            args,
            state_dir,
            lambda ctx: follower_cmds.cmd_close_cycle(ctx, args.vault, args.as_of, args.dry_run),
        )
    if command == "orders":
        which = args.orders_command
        if which == "stage":
            return _run_action(
                args,
                state_dir,
                lambda ctx: order_cmds.cmd_stage(
                    ctx, args.vault, args.symbol, args.side, args.qty, args.limit, args.tif,
                    args.reason, args.allow_duplicate,
                ),
            )  # fmt: skip
        if which == "approve":
            return _run_action(args, state_dir, lambda ctx: order_cmds.cmd_approve(ctx, args.ids))
        if which == "reject":
            return _run_action(
                args, state_dir, lambda ctx: order_cmds.cmd_reject(ctx, args.ids, args.reason)
            )
        if which == "cancel":
            return _run_action(args, state_dir, lambda ctx: order_cmds.cmd_cancel(ctx, args.ids))
        if which == "retry":
            return _run_action(
                args, state_dir, lambda ctx: order_cmds.cmd_retry(ctx, args.order_id)
            )
        if which == "dismiss":
            return _run_action(
                args, state_dir, lambda ctx: order_cmds.cmd_dismiss(ctx, args.order_id, args.reason)
            )
        if which == "flip":
            return _run_action(args, state_dir, lambda ctx: order_cmds.cmd_flip(ctx, args.order_id))
        return _run_action(
            args,
            state_dir,
            lambda ctx: order_cmds.cmd_edit(
                ctx, args.order_id, args.qty, args.limit, args.order_type, args.tif
            ),
        )
    if command == "stage":
        return _run_action(
            args, state_dir, lambda ctx: action_cmds.cmd_stage(ctx, args.vault, args.dry_run)
        )
    if command == "maintenance":
        return _run_action(
            args,
            state_dir,
            lambda ctx: action_cmds.cmd_maintenance(ctx, args.state, args.vault, args.reason),
        )
    if command == "trip":
        return _run_action(
            args, state_dir, lambda ctx: action_cmds.cmd_trip_clear(ctx, args.vault, args.reason)
        )
    if command == "flip-mode":
        return _run_action(
            args,
            state_dir,
            lambda ctx: action_cmds.cmd_flip_mode(
                ctx, args.state, args.vault, args.ttl, args.amplify
            ),
        )
    if command == "panic":
        return _run_action(args, state_dir, lambda ctx: order_cmds.cmd_panic(ctx, args.reason))
    if command == "persona":
        return _run_action(
            args,
            state_dir,
            lambda ctx: action_cmds.cmd_persona(ctx, args.vault, args.name, args.boost),
        )
    raise AssertionError(f"unhandled command {command}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (or the desk) and return its exit code (`cli.exit_codes`). A usage
    error prints the subcommand's usage (64); a refusal one line (65, 69, 75, 77); a bug
    one line naming the log file, which has the traceback (70): never a traceback here."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # a mistyped flag: the command's own usage, not the top-level one
            usage: argparse.ArgumentParser = getattr(args, "usage_parser", parser)
            usage.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help (0) or a usage error (64)
        return exc.code if isinstance(exc.code, int) else exit_codes.USAGE
    state_dir = resolve_state_dir(args.state_dir)
    if args.command is None:
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
        )
    read_only_ok = (
        (command == "stage" and args.dry_run)
        or (command == "followers" and args.followers_command == "list")
        or (command == "fees" and args.fees_command == "ledger")
        or (command == "reconcile" and not args.accept_broker)
    )
    if args.read_only and command in MUTATING and not read_only_ok:
        print(f"read-only mode: '{command}' changes state and is refused")
        return exit_codes.READ_ONLY
    needs_state = command not in {"init", "demo", "schema"}
    if needs_state and not state_dir.is_dir():
        raise UsageError(
            f"state directory {state_dir} does not exist "
            f"(set --state-dir or VANTA_STATE_DIR, or create one with: vanta-tui init {state_dir})"
        )
    if needs_state and not args.read_only and not may_write(state_dir):
        # Readers work on a directory this user cannot write (SQLite mode=ro); writers are
        # refused with a clear message instead of "attempt to write a readonly database".
        print(f"note: {state_dir} is not writable by this user: read-only", file=sys.stderr)
        args.read_only = True
        if command in MUTATING and not read_only_ok:
            print(f"read-only mode: '{command}' changes state and is refused")
            return exit_codes.READ_ONLY
    if command == "init":
        from vanta_tui.cli.state_cmds import cmd_init

        at = None
        if args.at:
            from vanta_tui.core.types import parse_utc

            try:
                at = parse_utc(args.at)
            except ValueError as exc:
                raise UsageError(f"--at: {exc}") from None
        return cmd_init(args.dir, args.force, at)
    if command == "check":
        from vanta_tui.cli.state_cmds import cmd_check

        return cmd_check(state_dir)
    if command == "demo":
        from vanta_tui.demo.generate import write_generated

        write_generated(args.out, args.vaults, args.orders, args.positions, args.seed)
        counts = f"{args.vaults} vaults, {args.orders} orders, {args.positions} positions"
        print(f"wrote {counts} to {args.out}")
        return 0
    if command == "schema":
        from vanta_tui.cli.state_cmds import cmd_schema

        return cmd_schema(args.out)
    if command == "audit":
        from vanta_tui.cli import audit_cmds

        if args.audit_command == "verify":
            return audit_cmds.cmd_verify(state_dir, args.expect_head, args.read_only)
        if args.audit_command == "anchor":
            return audit_cmds.cmd_anchor(state_dir)
        if args.audit_command == "repair":
            if args.read_only:
                print("read-only mode: 'audit repair' changes state and is refused")
                return exit_codes.READ_ONLY
            return audit_cmds.cmd_repair(state_dir, operator_name(args.operator), args.reason)
        if args.audit_command == "replay":
            return audit_cmds.cmd_replay(state_dir)
        if args.audit_command == "show":
            return audit_cmds.cmd_show(state_dir, args.order_id)
        return audit_cmds.cmd_export(state_dir, args.format, args.since, args.vault)
    if command == "executor":
        from decimal import Decimal

        from vanta_tui.cli.executor_cmd import cmd_executor

        try:
            retry = tuple(float(x) for x in args.retry_after.split(",") if x.strip())
            slippage = Decimal(args.slippage_bps)
            partial = Decimal(args.partial_fill) if args.partial_fill else None
        except (ValueError, ArithmeticError):
            raise UsageError(
                "--retry-after takes seconds like 1,5,15,60; --slippage-bps and "
                "--partial-fill take numbers"
            ) from None
        return cmd_executor(
            state_dir, args.once, retry_after=retry, slippage_bps=slippage,
            partial_fill_ratio=partial, live=args.live or args.executor_live,
            timeout_s=args.timeout, reconcile_every_s=args.reconcile_minutes * 60,
        )  # fmt: skip
    return _dispatch_action(args, state_dir)


if __name__ == "__main__":
    sys.exit(main())
