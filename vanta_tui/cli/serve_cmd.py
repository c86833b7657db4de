"""`vanta-tui serve`: the desk in a browser (textual-serve), one desk process per browser
session, for an operator behind the company's reverse proxy or an SSH tunnel.

This module words the command and its refusals and starts the server; who may open a desk
is `cli.serve_access`, the server itself `cli.serve_web` (imported only when it runs, so
``vanta-tui --help`` loads neither textual-serve nor aiohttp).

Each session's desk is this program again, ``vanta-tui … serve --desk-for ADDRESS``: the
ordinary desk (`ui.app.run_desk`) under textual-serve's driver, told the browser's address
so that its ``desk.opened`` event says it was served, and to where. Its command line names
the operator, never a secret.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command, resolve_state_dir
from vanta_tui.cli.exit_codes import UsageError
from vanta_tui.cli.serve_access import TOKEN_ENV, Access, TokenError, is_loopback, parse_tokens

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
UNKNOWN_ADDRESS = "unknown"
"""What a served desk records when the server could not tell the browser's address."""


def add_serve(sub: Subcommands) -> None:
    p = command(
        sub, "serve",
        "serve the desk in a browser (one desk process per session; loopback unless --public)",
        handle_serve, stateless=True,
    )  # fmt: skip
    p.add_argument(
        "--host", default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)",
    )  # fmt: skip
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8000)")
    p.add_argument(
        "--public", action="store_true",
        help=f"allow an address other machines reach; needs {TOKEN_ENV} (NAME:SECRET,...)",
    )  # fmt: skip
    p.add_argument(
        "--public-url", metavar="URL",
        help="the address browsers open, when a reverse proxy serves the desk "
        "(https://desk.example.com); its origin is the only one allowed",
    )  # fmt: skip
    # The server starts each session's desk with this; not for people.
    p.add_argument("--desk-for", metavar="ADDRESS", help=argparse.SUPPRESS)


@dataclass(frozen=True)
class ServePlan:
    """What `vanta-tui serve` serves, and how, once the command line passed every check."""

    state_dir: Path
    """Absolute: each desk process is started afresh."""
    host: str
    port: int
    public: bool
    """``--public``: the address may be one other machines reach."""
    public_url: str | None
    """The address browsers use (a reverse proxy's), without a trailing slash; None: the
    one they asked for."""
    access: Access | None
    """The tokens (None: no token, loopback only, every desk as `operator`)."""
    operator: str | None
    """Without tokens: ``--operator`` (None: the desk's own default, as in a terminal)."""
    read_only: bool
    live: bool
    log_file: str | None
    wait: float | None

    @property
    def url(self) -> str:
        """Where the operator points a browser."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def desk_command(self, operator: str | None, remote: str) -> list[str]:
        """The command line of one session's desk: ``operator`` (None: the desk's default)
        and the browser's address; no secret (another user can read it in ``ps``)."""
        line = [sys.executable, "-m", "vanta_tui", "--state-dir", str(self.state_dir)]
        if operator is not None:
            line += ["--operator", operator]
        if self.read_only:
            line.append("--read-only")
        if self.live:
            line.append("--live")
        if self.log_file:
            line += ["--log", self.log_file]
        if self.wait is not None:
            line += ["--wait", str(self.wait)]
        return [*line, "serve", "--desk-for", remote]


def serve_plan(args: argparse.Namespace, environ: Mapping[str, str]) -> ServePlan:
    """The plan for ``args``, or UsageError: an address other machines reach without
    ``--public``, ``--public`` or ``--public-url`` without tokens, a malformed or too short
    token, tokens with ``--operator`` (each desk's operator is its token's name), a bad port
    or public URL."""
    host: str = args.host.strip()
    if not host:
        raise UsageError("--host is empty")
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    text = environ.get(TOKEN_ENV)
    try:
        access = Access(parse_tokens(text)) if text is not None else None
    except TokenError as exc:
        raise UsageError(str(exc)) from None
    if not is_loopback(host) and not args.public:
        raise UsageError(
            f"refusing to serve on {host}, an address other machines may reach: serve on "
            f"{DEFAULT_HOST} behind an SSH tunnel or a reverse proxy, or give --public with "
            f"{TOKEN_ENV} set"
        )
    if args.public and access is None:
        raise UsageError(
            f"--public needs {TOKEN_ENV} (NAME:SECRET[,NAME:SECRET...]): every browser must "
            "present a token"
        )
    if args.public_url and access is None:
        # Behind a proxy every browser arrives from loopback: only a token tells them apart.
        raise UsageError(
            f"--public-url (a reverse proxy) needs {TOKEN_ENV} (NAME:SECRET[,NAME:SECRET...]): "
            "the proxy's browsers all arrive from this machine"
        )
    if access is not None and args.operator:
        raise UsageError(
            f"with {TOKEN_ENV} set each desk's operator is its token's name "
            f"({', '.join(access.operators)}): leave out --operator"
        )
    state_dir = resolve_state_dir(args.state_dir)
    if not state_dir.is_dir():
        raise UsageError(
            f"state directory {state_dir} does not exist "
            f"(set --state-dir or VANTA_STATE_DIR, or create one with: vanta-tui init {state_dir})"
        )
    return ServePlan(
        state_dir=state_dir.resolve(),
        host=host,
        port=args.port,
        public=args.public,
        public_url=_public_url(args.public_url),
        access=access,
        operator=None if access is not None else args.operator,
        read_only=args.read_only,
        live=args.live,
        log_file=str(Path(args.log).resolve()) if args.log else None,
        wait=args.wait,
    )


def _public_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username is not None
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
    ):
        raise UsageError(
            f"--public-url takes an origin like https://desk.example.com (no path), not {value!r}"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def handle_serve(args: argparse.Namespace) -> int:
    if args.desk_for is not None:
        return _run_served_desk(args)
    plan = serve_plan(args, os.environ)
    # The desks are started with this process's environment (textual-serve copies it):
    # the secrets go no further than the server (`serve_web` drops them again, to be sure).
    os.environ.pop(TOKEN_ENV, None)
    from vanta_tui.cli.serve_web import DeskServer

    try:
        DeskServer(plan).serve()
    except OSError as exc:
        codes = {errno.EADDRINUSE: exit_codes.TEMPORARY, errno.EACCES: exit_codes.USAGE}
        if exc.errno not in codes and exc.errno != errno.EADDRNOTAVAIL:
            raise
        print(f"vanta-tui serve: cannot listen on {plan.url}: {exc.strerror}", file=sys.stderr)
        return codes.get(exc.errno, exit_codes.USAGE)
    return exit_codes.OK


def _run_served_desk(args: argparse.Namespace) -> int:
    """One session's desk, started by the server under textual-serve's driver."""
    remote: str = args.desk_for
    if remote != UNKNOWN_ADDRESS:
        try:
            remote = str(ipaddress.ip_address(remote))
        except ValueError:
            raise UsageError(f"--desk-for takes an IP address, not {remote!r}") from None
    from vanta_tui.ui.app import run_desk

    return run_desk(
        resolve_state_dir(args.state_dir),
        operator=args.operator,
        read_only=args.read_only,
        log_file=args.log,
        live=args.live,
        served_to=remote,
    )
