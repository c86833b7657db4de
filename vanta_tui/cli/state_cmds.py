"""`init`, `check`, `demo` and `schema`: setting up and validating a state directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command, parse_time

if TYPE_CHECKING:
    from vanta_tui.desk import Desk
    from vanta_tui.store.snapshot import StateSnapshot

RUNTIME_FILES = ("vanta.db", "vanta.db-wal", "vanta.db-shm", "trade_log.jsonl", "trade_log.head",
                 "paper_book.db", "paper_book.db-wal", "paper_book.db-shm")  # fmt: skip
"""What the desk makes beside the JSON files: the journal and the paper book."""


def add_init(sub: Subcommands) -> None:
    p = command(
        sub, "init", "write the demo state into DIR, dated now (a working copy)", handle_init,
        stateless=True,
    )  # fmt: skip
    p.add_argument("dir", type=Path)
    p.add_argument("--force", action="store_true", help="replace files already there")
    p.add_argument(
        "--at", metavar="TS", help="date the demo at TS (UTC), e.g. 2026-11-24T08:05:00Z"
    )


def handle_init(args: argparse.Namespace) -> int:
    """Write the demo into DIR as a working copy, dated now (its allocation and portfolio
    fresh, flip mode with its 40 minutes to run, orders minutes old, the NAV history ending
    today), or dated ``--at`` (the fixed demo: `DEMO_NOW` gives the bytes of the tracked
    `state/`). ``--force`` starts a demo working copy over, journal and paper book included;
    a directory that is not a demo copy keeps its journal, so it is refused."""
    from vanta_tui.core.clock import utc_now
    from vanta_tui.core.state_files import StateKind
    from vanta_tui.core.types import format_utc
    from vanta_tui.demo.bundled import is_demo_copy, write_demo

    target: Path = args.dir
    at = parse_time(args.at, "--at") if args.at else None
    moment = (at or utc_now()).replace(microsecond=0)
    names = [kind.filename for kind in StateKind]
    existing = [name for name in names if (target / name).exists()]
    if existing and not args.force:
        print(f"refused: {target} already holds {', '.join(existing)}; use --force to replace them")
        return exit_codes.DATA
    runtime = [name for name in RUNTIME_FILES if (target / name).exists()]
    if runtime and not is_demo_copy(target):
        print(
            f"{target} holds a journal or a paper book ({', '.join(runtime)}) and is not a demo "
            "working copy; init will not replace its files: use an empty directory"
        )
        return exit_codes.DATA
    for name in runtime:
        (target / name).unlink()
    write_demo(target, moment, working_copy=True)
    removed = f"; removed the old {', '.join(runtime)}" if runtime else ""
    dated = format_utc(moment)
    print(f"wrote the demo state ({len(names)} files, dated {dated}) to {target}{removed}")
    return 0


def add_check(sub: Subcommands) -> None:
    command(sub, "check", "validate every state file; exit 1 on any problem", handle_check)


def handle_check(args: argparse.Namespace, desk: Desk) -> int:
    """Validate every file; print each problem with its file and place."""
    from vanta_tui.cli.color import paint
    from vanta_tui.core.state_files import StateKind

    state = desk.reload()
    for kind in StateKind:
        if kind in state.files:
            loaded = state.files[kind]
            about = f"(version {loaded.version}, {loaded.size} bytes)"
            print(f"{paint('ok', 'ok')}    {kind.filename} {about}")
        for problem in state.problems.get(kind, []):
            print(f"{paint('error', 'fail')} {problem}")
    total = sum(len(p) for p in state.problems.values())
    if total:
        print(f"{total} problem(s) in {len(state.problems)} file(s) of {desk.state_dir}")
        return exit_codes.FOUND
    warnings = _warnings(state)
    for line in warnings:
        print(f"{paint('warn', 'warn')}  {line}")
    print(f"all {len(state.files)} state files of {desk.state_dir} are valid")
    return exit_codes.FOUND if warnings else exit_codes.OK


def _warnings(state: StateSnapshot) -> list[str]:
    """What loads but needs a look: negative cash is kept (it is the broker's truth), never
    passed over in silence."""
    portfolio = state.portfolio
    if portfolio is None:
        return []
    return [
        f"portfolio.json: $.accounts.{account_id}.cash: negative ({account.cash:,.2f}): an "
        "overdraft or a margin loan"
        for account_id, account in sorted(portfolio.accounts.items())
        if account.cash < 0
    ]


def add_demo(sub: Subcommands) -> None:
    p = command(
        sub, "demo", "generate a large consistent state directory (for load tests)", handle_demo,
        stateless=True,
    )  # fmt: skip
    p.add_argument("--vaults", type=int, default=200)
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--positions", type=int, default=5_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True, metavar="DIR")


def handle_demo(args: argparse.Namespace) -> int:
    from vanta_tui.demo.generate import write_generated

    write_generated(args.out, args.vaults, args.orders, args.positions, args.seed)
    counts = f"{args.vaults} vaults, {args.orders} orders, {args.positions} positions"
    print(f"wrote {counts} to {args.out}")
    return 0


def add_schema(sub: Subcommands) -> None:
    p = command(sub, "schema", "write a JSON Schema per state file", handle_schema, stateless=True)
    p.add_argument("--out", type=Path, required=True, metavar="DIR")


def handle_schema(args: argparse.Namespace) -> int:
    """Write one JSON Schema per state file for other VANTA programs to validate against
    (built by `core.schemas`)."""
    from vanta_tui.core.schemas import schema_texts

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name, text in schema_texts().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0
