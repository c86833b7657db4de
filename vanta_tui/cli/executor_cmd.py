"""`vanta-tui executor [--once]`: the headless executor, one per state directory."""

from __future__ import annotations

import argparse
import contextlib
import errno
import signal
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from vanta_tui.cli import exit_codes
from vanta_tui.cli.common import Subcommands, command
from vanta_tui.cli.exit_codes import UsageError

if TYPE_CHECKING:
    from vanta_tui.desk import BrokerOptions, Desk, ExecutorNews

EXECUTOR_LOCK_WAIT_S = 2.0
"""How long the headless executor waits for a file another program holds before it skips
that step for this cycle (``--wait`` or ``$VANTA_LOCK_WAIT_S`` set it otherwise)."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""What stops the headless executor cleanly (after the cycle in flight)."""

ROUTINE = "executor: running"
"""The news of a cycle with nothing to say: not printed."""


def add_executor(sub: Subcommands) -> None:
    p = command(
        sub, "executor", "send approved orders to the brokers (one executor per directory)",
        handle_executor, desk_options=_desk_options,
    )  # fmt: skip
    p.add_argument("--once", action="store_true", help="process what is approved now, then exit")
    p.add_argument(
        "--worker", action="store_true",
        help="one of several executors on this directory, each sending for the accounts it "
        "claims on the --changes server, else the --journal's (a worker that dies lets its "
        "accounts go at once)",
    )  # fmt: skip
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
    p.add_argument(
        "--concurrency", type=int, default=None, metavar="N",
        help="sends in flight at once across accounts, each account's orders in order "
        "(default 400)",
    )  # fmt: skip
    p.add_argument("--slippage-bps", default="0", help="paper broker slippage in basis points")
    p.add_argument(
        "--partial-fill", default=None, metavar="FRACTION",
        help="paper broker: fill this fraction first, the rest on the next cycle",
    )  # fmt: skip


def _options(args: argparse.Namespace) -> tuple[tuple[float, ...], BrokerOptions]:
    """The resend delays and the brokers' options the command line asks for."""
    from vanta_tui.desk import BrokerOptions

    try:
        retry = tuple(float(x) for x in args.retry_after.split(",") if x.strip())
        slippage = Decimal(args.slippage_bps)
        partial = Decimal(args.partial_fill) if args.partial_fill else None
    except (ValueError, ArithmeticError):
        raise UsageError(
            "--retry-after takes seconds like 1,5,15,60; --slippage-bps and "
            "--partial-fill take numbers"
        ) from None
    options = BrokerOptions(
        slippage_bps=slippage, partial_fill_ratio=partial, timeout_s=args.timeout
    )
    return retry, options


def _desk_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"live": args.live or args.executor_live, "brokers": _options(args)[1]}


def handle_executor(args: argparse.Namespace, desk: Desk) -> int:
    retry, _ = _options(args)
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency takes a whole number of at least 1")
    if args.worker:
        from vanta_tui.store.postgres.feed import changes_url

        if args.once:
            raise UsageError("--worker runs until stopped: not with --once")
        if changes_url() is None:
            raise UsageError(
                "--worker claims its accounts on a PostgreSQL server: give --journal (the "
                "journal there) or --changes"
            )
    return run(
        desk,
        args.once,
        retry_after=retry,
        reconcile_every_s=args.reconcile_minutes * 60,
        concurrency=args.concurrency,
        worker=args.worker,
    )


def cmd_executor(
    state_dir: Path,
    once: bool,
    interval: float = 1.0,
    *,
    retry_after: tuple[float, ...] = (),
    slippage_bps: Decimal = Decimal(0),
    partial_fill_ratio: Decimal | None = None,
    live: bool = False,
    timeout_s: float = 10.0,
    reconcile_every_s: float = 300.0,
) -> int:
    """`vanta-tui executor` from Python (tests, scripts): its exit code."""
    from vanta_tui.desk import BrokerOptions, Desk

    options = BrokerOptions(
        slippage_bps=slippage_bps, partial_fill_ratio=partial_fill_ratio, timeout_s=timeout_s
    )
    with Desk(state_dir, operator="executor", live=live, brokers=options) as desk:
        return run(
            desk, once, interval, retry_after=retry_after, reconcile_every_s=reconcile_every_s
        )


def run(
    desk: Desk,
    once: bool,
    interval: float = 1.0,
    *,
    retry_after: tuple[float, ...] = (),
    reconcile_every_s: float = 300.0,
    concurrency: int | None = None,
    worker: bool = False,
) -> int:
    """Run the desk's executor (``once``: until nothing more can progress now; else until
    the process is stopped), saying what it does; the exit code. ``retry_after`` empty:
    the executor's own delays."""
    from vanta_tui.store.writer import lock_wait_configured, set_lock_wait

    missing = desk.missing_credentials()
    if missing:
        for line in missing:
            print(f"not starting: {line}", file=sys.stderr)
        return exit_codes.BROKER_UNAVAILABLE
    if lock_wait_configured() is None:
        set_lock_wait(EXECUTOR_LOCK_WAIT_S)  # a held file skips a step, not the cycle
    voice = _Voice(desk.live)
    stop = threading.Event()
    with _stopped_by_signals(stop) as stopped_by:
        end = desk.run_executor(
            stop,  # SIGTERM, SIGHUP: after the cycle in flight, the lease given back
            on_news=voice,
            once=once,
            interval_s=interval,
            holder="executor worker" if worker else "executor",
            reconcile_every_s=reconcile_every_s,
            retry_after=retry_after,
            stop_on_bug=True,  # a bug ends the headless executor (exit 70, the log has it)
            concurrency=concurrency,
            worker=worker,
        )
    if end.why == "lease-held":
        print(f"not starting: {end.text}")
        return exit_codes.LEASE_HELD
    if end.why == "journal-problem":
        print(f"not starting: {end.text}", file=sys.stderr)
        return exit_codes.DATA
    if end.why != "stopped":  # the lease's file could not be written
        print(f"not starting: {end.text}", file=sys.stderr)
        return exit_codes.INTERNAL
    voice.started()
    if stopped_by:
        voice.say(f"executor: stopped by {stopped_by[0]} (its last cycle done, lease given back)")
    if once:
        print(f"executor: {end.sent} order(s) sent in {end.cycles} cycle(s)")
        for note in end.held:
            print(f"held: {note}")
        for error in end.errors:
            print(f"error: {error}")
        for note in end.waiting:
            print(f"waiting: {note}")
    return exit_codes.OK


class _Voice:
    """What the headless executor prints while it runs: that it uses live endpoints (once,
    on standard output), then its news (on standard error, `_line`)."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.said_live = False

    def started(self) -> None:
        if self.live and not self.said_live:
            self.say("executor: LIVE endpoints (real money)", sys.stdout)
        self.said_live = True

    def __call__(self, news: ExecutorNews) -> None:
        self.started()
        line = _line(news)
        if line is not None:
            self.say(line)

    @staticmethod
    def say(line: str, out: TextIO | None = None) -> None:
        """One line on standard error (or ``out``); none once its terminal has gone (EIO:
        the executor finishes its cycle all the same, and the log has what it did)."""
        try:
            print(line, file=out or sys.stderr, flush=True)
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[list[str]]:
    """SIGTERM or SIGHUP set ``stop`` (the executor ends after the cycle in flight, whose
    sends complete and are recorded, and gives back the lease) instead of killing the
    process mid-send; the list gets the signal's name. The handlers before are put back.
    Only the main thread can take signals: elsewhere, nothing changes."""
    names: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield names
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if not names:
            names.append(signal.Signals(signum).name)
        stop.set()

    # A signal set to be ignored stays ignored: `nohup vanta-tui executor &` keeps running
    # when its terminal closes, as it always did.
    previous = {
        signum: signal.signal(signum, handler)
        for signum in STOP_SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN
    }
    try:
        yield names
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


def _line(news: ExecutorNews) -> str | None:
    """What the headless executor prints (to stderr) for a piece of news: a venue that
    refuses to trade, and each new problem (a lasting one once) and its end; not the
    routine cycle. A cycle that failed is said as before: ``executor: waiting: …``."""
    if news.toast is not None:
        return f"venue refused: {news.toast}"  # its orders wait; the other venues trade
    if not news.first or news.text == ROUTINE:
        return None
    failed = "executor: error: "
    if news.level == "fail" and news.text.startswith(failed):
        return "executor: waiting: " + news.text.removeprefix(failed)
    return news.text
