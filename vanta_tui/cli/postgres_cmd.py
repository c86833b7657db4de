"""`vanta-tui postgres DIR`: a PostgreSQL server of one's own, for trying the multi-host
mode on one machine (`store.postgres.server`): it prints the URL of a database on it to
give every process of one state directory (``--journal URL``) and runs until interrupted
(Ctrl+C, SIGTERM, SIGHUP), then stops the server. Its files stay in DIR: the next start
uses them again."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command


def add_postgres(sub: Subcommands) -> None:
    p = command(
        sub, "postgres",
        "run a PostgreSQL server of one's own in DIR for --journal (until Ctrl+C)",
        handle_postgres, stateless=True,
    )  # fmt: skip
    p.add_argument("dir", type=Path, metavar="DIR", help="the server's directory (made if missing)")
    p.add_argument(
        "--database", default="vanta", metavar="NAME",
        help="the database whose URL is printed, made if missing (default: vanta); one per "
        "state directory's journal",
    )  # fmt: skip


def handle_postgres(args: argparse.Namespace) -> int:
    from vanta_tui.store.postgres.server import LocalServer, ServerProgramsMissing

    stop = threading.Event()

    def stopped(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        s: signal.signal(s, stopped) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        try:
            server = LocalServer(args.dir.resolve())
            url = server.database(args.database, server.start())
        except (ServerProgramsMissing, PermissionError, RuntimeError, ValueError) as exc:
            print(f"postgres: {exc}")
            return exit_codes.BROKER_UNAVAILABLE
        print(url, flush=True)
        print(f"postgres: running in {args.dir} (Ctrl+C stops it)", flush=True)
        while not stop.wait(0.5):
            pass
        server.stop()
        print("postgres: stopped", flush=True)
        return exit_codes.OK
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
