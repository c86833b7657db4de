"""One vault order mirrored to 1,000 follower accounts, each its own broker account, at fake
brokers that answer every request after 100 ms: how long from approval until the last
child is accepted by its broker, and until the last answer is recorded.

Run: ``.venv/bin/python bench/fanout.py [--followers N] [--latency S] [--hang N]
[--venue alpaca|binance|both] [--concurrency N] [--timeout S] [--deadline S] [--rounds N]
[--settle S]``.

For each venue (Alpaca through alpaca-py; Binance through ccxt), in a temp copy of the
bundled demo: V_CORE trades at that venue (account ``fan-vault``) and has N followers, each
with its own account there (``fan-00000`` …, keys in the environment); the demo's own
queue and V_CORE's demo followers are set aside. The executor runs as an operator's does
(`Desk.run_executor`, started, through its first cycle and running ``--settle`` seconds
before anything is approved;
``concurrency=`` passed when the executor takes it; its periodic price and reconciliation
sweeps are off: they are not the fan-out). Then, ``--rounds`` times, one vault order is
staged and approved through `Desk` (the approval mirrors it into N children) and the
running executor picks it up by itself. Round 1 is the first fan-out to these accounts
(their broker clients were made between the executor's cycles, but no connection to the
venue is open yet); later rounds are the steady state. The fake venue
(`tests/fake_venues.py`) runs in a process of its own, so its threads do not take this
process's interpreter lock; it answers each request after ``--latency`` and holds each
account to its venue's published limits (Alpaca 200 requests a minute per account; Binance
6,000 request weight a minute per address, the unfilled order count per account).

Figures, from approval (the moment `Desk.approve` returned):
- the last child accepted: the fake's own time stamps (monotonic clock, shared by both
  processes); p50 and p99 over the children;
- the last answer recorded: when each child's first answer (``order.submitted`` …) appeared
  in ``trade_log.jsonl`` (written after the journal's commit), watched every 5 ms by a
  process of its own (same clock);
- the first round ("first") and the median of the later ones ("steady");
- the same with ``--hang`` accounts that never answer (default one in twenty, 50 of 1,000):
  the figures of the others, and their ratio to the run without hanging accounts;
- the baselines, measured in the same run with as many threads as the executor's pool: a
  bare client (one raw HTTP request per account, no journal, no checks) placing the same N
  orders at a fresh fake (what this machine and the fake allow), and the venue's SDK alone
  doing the same (Alpaca: alpaca-py; what the client library itself costs here). The BENCH
  ratios are to the SDK's figure where there is one.
Goals (the fan-out issue): last child accepted ≤ 1.5 s, every answer recorded ≤ 2.5 s.

A run that has not finished ``--deadline`` seconds after approval is cut short: the figures
count what was accepted by then (a "last" figure is then the deadline, marked with how
many got there), and the fake answers everything at once from then on (no latency, hangs
or limits) so the executor ends. Once the other children are recorded, hanging requests
are dropped (the accounts answer again) for the same reason.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import inspect
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_venues import (
    KINDS,
    FakeAlpacaAccounts,
    FakeBinanceAccounts,
    Snapshot,
    VenueProcess,
)
from report import emit

from vanta_tui.brokers.credentials import env_names
from vanta_tui.core.enums import AssetClass, Side
from vanta_tui.core.models import (
    Account,
    Follower,
    FollowersFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    VaultFile,
    VaultPnl,
    Venue,
)
from vanta_tui.demo.bundled import write_demo
from vanta_tui.desk import BrokerOptions, Desk
from vanta_tui.executor.engine import CONCURRENCY
from vanta_tui.executor.runner import EventKind, RunEvent
from vanta_tui.store import load_model, update

GOAL_ACCEPTED_S = 1.5
GOAL_RECORDED_S = 2.5
VAULT = "V_CORE"
VAULT_REF = "fan-vault"
ANSWERS = re.compile(
    rb'^\{"action":"order\.(submitted|partially_filled|filled|broker_rejected|failed|cancelled)"'
)
ORDER_ID = re.compile(rb'"order_id":"([^"]+)"')


@dataclass(frozen=True)
class VenueSetup:
    """How one venue is wired: its fake, the desk's adapter, where its URL goes, the
    asset class and the vault order (qty 2 × scale 0.5: each child is half of it)."""

    kind: str
    adapter: str
    asset: AssetClass
    symbol: str
    qty: Decimal
    url_envs: tuple[str, ...]
    label: str


VENUES = {
    "alpaca": VenueSetup(
        "alpaca", "alpaca", AssetClass.EQUITY, "AAPL", Decimal(2),
        ("VANTA_ALPACA_URL", "VANTA_ALPACA_DATA_URL"), "Alpaca (alpaca-py)",
    ),
    "binance": VenueSetup(
        "binance", "ccxt:binance", AssetClass.CRYPTO, "BTC/USD", Decimal("0.02"),
        ("VANTA_CCXT_BINANCE_URL",), "Binance (ccxt)",
    ),
}  # fmt: skip


def follower_refs(count: int) -> list[str]:
    return [f"fan-{index:05d}" for index in range(count)]


def hanging(refs: Sequence[str], count: int) -> list[str]:
    """``count`` accounts spread evenly over the followers (not the first ones: a client
    that sends in order would meet them all at once)."""
    if count <= 0:
        return []
    step = len(refs) / count
    return [refs[int(index * step + step / 2)] for index in range(count)]


# ------------------------------------------------------------------------------------------
# The state
# ------------------------------------------------------------------------------------------


def prepare(state_dir: Path, setup: VenueSetup, refs: Sequence[str]) -> dict[str, str]:
    """The demo with V_CORE at the venue and one follower per ref; follower id → ref."""
    write_demo(state_dir)
    ids = {f"F_FAN{index:05d}": ref for index, ref in enumerate(refs)}
    # The demo's own followers of the vault (paper accounts) are set aside.
    dropped = {
        f.follower_id for f in load_model(state_dir, FollowersFile).followers if f.vault_id == VAULT
    }

    def vault(vaults: VaultFile) -> None:
        found = vaults.get(VAULT)
        assert found is not None
        found.risk.max_single_pos_pct = Decimal("0.9")  # room for the vault's buy
        found.venues[setup.asset] = Venue(adapter=setup.adapter, account_ref=VAULT_REF)

    def queue(file: QueueFile) -> None:
        file.orders.clear()  # only the fan-out goes to the executor

    def followers(registry: FollowersFile) -> None:
        registry.followers[:] = [f for f in registry.followers if f.follower_id not in dropped]
        for fid, ref in ids.items():
            registry.followers.append(
                Follower.model_validate(
                    {
                        "follower_id": fid, "vault_id": VAULT, "mode": "proportional",
                        "scale": Decimal("0.5"), "max_pos_usd": 100000, "equity": 50000,
                        "brokers": {setup.asset.value: {"adapter": setup.adapter,
                                                        "account_ref": ref}},
                    }
                )
            )  # fmt: skip

    def portfolio(file: PortfolioFile) -> None:
        for fid in dropped:
            file.accounts.pop(fid, None)
        for fid in ids:
            file.accounts[fid] = Account(cash=Decimal(50000))

    def pnl(summary: PnlFile) -> None:
        for fid in dropped:
            summary.vaults.pop(fid, None)
        for fid in ids:
            summary.vaults[fid] = VaultPnl(nav=Decimal(50000), high_water_mark=Decimal(50000))

    update(state_dir, VaultFile, vault)
    update(state_dir, QueueFile, queue)
    update(state_dir, FollowersFile, followers)
    update(state_dir, PortfolioFile, portfolio)
    update(state_dir, PnlFile, pnl)
    return ids


def set_keys(kind: str, refs: Sequence[str]) -> None:
    """Each account's keys, where the desk looks for them (`brokers.credentials`)."""
    fake = KINDS[kind]
    for ref in refs:
        key, secret = fake.keys_for(ref)
        key_var, secret_var = env_names(ref)
        os.environ[key_var] = key
        os.environ[secret_var] = secret


# ------------------------------------------------------------------------------------------
# Watching the journal
# ------------------------------------------------------------------------------------------


def _watch(log: str, inbox: Any, ready: Any, done: Any, stopping: Any, out: Any) -> None:
    """(In a process of its own.) Stamp each order's first answer in ``log`` with the
    monotonic clock (shared by every process on the machine) as soon as it is there; set
    ``done`` once every order of the last set sent to ``inbox`` is stamped; send the stamps
    back when told to stop."""
    times: dict[str, float] = {}
    wanted: set[str] | None = None
    offset = 0
    pending = b""
    path = Path(log)
    ready.set()
    while not stopping.is_set():
        while not inbox.empty():
            wanted = set(inbox.get())
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        now = time.monotonic()
        if chunk:
            offset += len(chunk)
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if not ANSWERS.match(line):
                    continue
                found = ORDER_ID.search(line)
                if found is not None:
                    times.setdefault(found.group(1).decode(), now)
        if wanted is not None and wanted <= times.keys():
            done.set()
        time.sleep(0.005)
    out.put(times)


class Recorded:
    """When each order's first answer appears in ``trade_log.jsonl`` (appended after the
    journal's commit): read every 5 ms by a process of its own, started before the
    approval, so neither the executor's threads delay its stamps (a thread of this process
    waited for the interpreter lock behind hundreds of sending threads) nor it the
    executor."""

    def __init__(self, log: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.done = context.Event()
        self._ready = context.Event()
        self._stopping = context.Event()
        self._inbox: Any = context.Queue()
        self._out: Any = context.Queue()
        self.times: dict[str, float] = {}
        self._process = context.Process(
            target=_watch,
            args=(str(log), self._inbox, self._ready, self.done, self._stopping, self._out),
            daemon=True,
        )

    def start(self) -> Recorded:
        self._process.start()
        if not self._ready.wait(60):
            raise SystemExit("the journal watcher did not start")
        return self

    def watch(self, order_ids: set[str]) -> None:
        """``done`` is set once every one of these is stamped."""
        self.done.clear()
        self._inbox.put(sorted(order_ids))

    def stop(self) -> dict[str, float]:
        self._stopping.set()
        self.times = self._out.get(timeout=60)
        self._process.join(10)
        return self.times


# ------------------------------------------------------------------------------------------
# One run
# ------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """One run's times, in seconds from approval, of the children that do not hang."""

    children: int
    accepted: list[float]
    recorded: list[float]
    hung: int
    cut_short: bool
    window_s: float
    """How long after approval the measuring ended (the deadline when cut short)."""
    throttled: int
    max_seen: int
    host_weight: int
    host_throttled: int
    expand_s: float
    run_s: float
    first_accept: float | None
    errors: tuple[str, ...] = ()
    """The executor's broker errors of its last cycle."""

    @property
    def expected(self) -> int:
        return self.children - self.hung

    def last(self, values: Sequence[float]) -> float:
        """The last of ``values``; when a child never got there, the end of the measured
        window instead (a lower bound of the real figure)."""
        if values and len(values) == self.expected:
            return max(values)
        return self.window_s

    def missing(self, values: Sequence[float]) -> str:
        """`` [153/1000 by 20.0 s]`` when not every child got there, else nothing."""
        if len(values) == self.expected:
            return ""
        return f" [{len(values)}/{self.expected} by {self.window_s:.1f} s]"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5 for the median)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def pool_size(concurrency: int | None) -> int:
    """The bare clients' threads: ``--concurrency``, else the executor's own default."""
    return concurrency if concurrency is not None else CONCURRENCY


def executor_options(desk: Desk, concurrency: int | None) -> dict[str, Any]:
    """``concurrency=`` where `Desk.run_executor` takes it (the sequential executor does
    not), so the bench runs on either."""
    options: dict[str, Any] = {"price_every_s": None, "reconcile_every_s": None}
    if concurrency is not None:
        if "concurrency" in inspect.signature(desk.run_executor).parameters:
            options["concurrency"] = concurrency
        else:
            print(f"  (this executor takes no concurrency: {concurrency} ignored)")
    return options


class RunningExecutor:
    """The executor as an operator's desk runs it: started before the vault order is
    approved (its journal open, its lease taken, its first cycle done) and running between
    the rounds, as `vanta-tui executor` does; it notices an approval by itself."""

    def __init__(self, desk: Desk, options: dict[str, Any], settle_s: float) -> None:
        self.settle_s = settle_s
        self.stop = threading.Event()
        self.cycled = threading.Event()
        self.outcome: list[Any] = []
        self.errors: tuple[str, ...] = ()

        def heard(event: RunEvent) -> None:
            if event.kind is EventKind.CYCLE:
                self.errors = event.errors
                self.cycled.set()

        self.thread = threading.Thread(
            target=lambda: self.outcome.append(
                desk.run_executor(self.stop, holder="bench", on_news=heard, **options)
            ),
            daemon=True,
        )

    def __enter__(self) -> RunningExecutor:
        self.thread.start()
        if not self.cycled.wait(120):
            raise SystemExit(f"the executor did not cycle within 120 s: {self.outcome}")
        time.sleep(self.settle_s)  # running a while before the operator approves anything
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(600)
        if self.thread.is_alive():
            print("  the executor had not ended", file=sys.stderr)


class RunningWorkers:
    """``count`` executor workers (`vanta-tui executor --worker`, processes of their own),
    the journal in PostgreSQL: started before the vault order is approved, each connected
    with its claims and through a cycle, running between the rounds. Same face as
    `RunningExecutor` for `_round`."""

    def __init__(self, state: Path, count: int, args: argparse.Namespace) -> None:
        self.state = state
        self.count = count
        self.args = args
        self.errors: tuple[str, ...] = ()
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> RunningWorkers:
        from vanta_tui.store.journal import Journal
        from vanta_tui.store.postgres.claims import workers

        with Journal(self.state) as journal:  # the journal made (its first event names it)
            journal.start()
            namespace = journal.namespace()
        assert namespace is not None
        argv = [sys.executable, "-m", "vanta_tui", "--state-dir", str(self.state), "executor"]
        argv += ["--worker", "--reconcile-minutes", "0", "--timeout", str(self.args.timeout)]
        if self.args.concurrency is not None:
            argv += ["--concurrency", str(self.args.concurrency)]
        self.processes = [
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(self.count)
        ]
        import psycopg

        deadline = time.monotonic() + 120
        url = os.environ["VANTA_JOURNAL_URL"]
        while True:
            with psycopg.connect(url) as conn:
                if len(workers(conn, namespace)) >= self.count:
                    break
            dead = [p for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                errors = b"".join(p.stderr.read() for p in dead if p.stderr).decode()
                raise SystemExit(f"the workers did not all start: {errors}")
            time.sleep(0.1)
        time.sleep(self.args.settle)  # running a while before the operator approves anything
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                print("  a worker had not ended", file=sys.stderr)


def one_run(
    setup: VenueSetup,
    count: int,
    hang_count: int,
    args: argparse.Namespace,
    workers: int = 0,
) -> list[Figures]:
    """``args.rounds`` vault orders, each mirrored and sent by one running executor (or by
    ``workers`` executor workers, the journal in PostgreSQL); their figures."""
    refs = follower_refs(count)
    hung = hanging(refs, hang_count)
    results: list[Figures] = []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        ids = prepare(state, setup, refs)
        set_keys(setup.kind, [VAULT_REF, *refs])
        venue = VenueProcess(
            setup.kind, accounts=[VAULT_REF, *refs], latency_s=args.latency, hang=hung
        ).start()
        try:
            for name in setup.url_envs:
                os.environ[name] = venue.url
            desk = Desk(state, operator="bench", brokers=BrokerOptions(timeout_s=args.timeout))
            try:
                _warm(setup)
                options = executor_options(desk, args.concurrency)
                running: Any = (
                    RunningWorkers(state, workers, args)
                    if workers
                    else RunningExecutor(desk, options, args.settle)
                )
                with running as executor:
                    for _ in range(args.rounds):
                        results.append(
                            _round(desk, state, venue, setup, ids, set(hung), args, executor)
                        )
                        if hung:
                            break  # the hanging accounts were released: one round tells it
            finally:
                desk.close()
        finally:
            venue.stop()
    return results


def _warm(setup: VenueSetup) -> None:
    """What a running executor has loaded already: the broker SDK."""
    if setup.kind == "alpaca":
        import alpaca.trading.client  # noqa: F401
    else:
        import ccxt  # noqa: F401


def _round(
    desk: Desk,
    state: Path,
    venue: VenueProcess,
    setup: VenueSetup,
    ids: dict[str, str],
    hung: set[str],
    args: argparse.Namespace,
    executor: RunningExecutor | RunningWorkers,
) -> Figures:
    recorder = Recorded(state / "trade_log.jsonl").start()
    parent = desk.stage(VAULT, setup.symbol, Side.BUY, setup.qty, allow_duplicate=True)
    started = time.monotonic()
    desk.approve([parent.order_id])
    approved = time.monotonic()
    children = {
        o.order_id: o.follower_id
        for o in load_model(state, QueueFile).orders
        if o.parent_id == parent.order_id and o.follower_id is not None
    }
    others = {oid for oid, fid in children.items() if ids[fid] not in hung}
    recorder.watch(others)
    cut_short = not recorder.done.wait(args.deadline)
    if cut_short:
        venue.settle()  # answer everything at once now: the executor ends soon
    elif hung:
        venue.release()  # the others are recorded: the hanging requests may go
    recorder.watch(set(children))  # the round ends when every child is recorded
    recorder.done.wait(args.deadline + 10 * args.timeout + 120)
    ended = time.monotonic()
    recorded = {oid: t for oid, t in recorder.stop().items() if oid in others}
    shot: Snapshot = venue.snapshot()
    figures = _figures(
        shot, children, ids, hung, recorded, approved, started, ended, cut_short, args
    )
    figures.errors = executor.errors
    return figures


def _figures(
    shot: Snapshot,
    children: dict[str, str],
    ids: dict[str, str],
    hung: set[str],
    recorded: dict[str, float],
    approved: float,
    started: float,
    ended: float,
    cut_short: bool,
    args: argparse.Namespace,
) -> Figures:
    horizon = approved + args.deadline
    by_account = shot.by_account()
    accepted: list[float] = []
    firsts: list[float] = []
    for fid in children.values():
        ref = ids[fid]
        stamps = [s for s in by_account.get(ref, []) if s.received >= approved]
        if not stamps:
            continue
        first = min(s.accepted for s in stamps)
        firsts.append(first - approved)
        if ref not in hung and (not cut_short or first <= horizon):
            accepted.append(first - approved)
    times = [
        t - approved
        for oid, t in recorded.items()
        if ids[children[oid]] not in hung and (not cut_short or t <= horizon)
    ]
    accounts = [shot.accounts[ids[fid]] for fid in children.values()]
    return Figures(
        children=len(children),
        accepted=accepted,
        recorded=times,
        hung=sum(1 for fid in children.values() if ids[fid] in hung),
        cut_short=cut_short,
        window_s=args.deadline if cut_short else ended - approved,
        throttled=sum(a.throttled for a in accounts),
        max_seen=max((a.max_seen for a in accounts), default=0),
        host_weight=shot.host_weight_max,
        host_throttled=shot.host_throttled,
        expand_s=approved - started,
        run_s=ended - approved,
        first_accept=min(firsts, default=None),
    )


# ------------------------------------------------------------------------------------------
# The baseline: a bare client
# ------------------------------------------------------------------------------------------


def bare_fanout(setup: VenueSetup, count: int, latency_s: float, workers: int) -> float:
    """Seconds from the first request to the last order accepted when a pool of ``workers``
    threads places one order per account with raw HTTP (keep-alive, one connection per
    thread), at a fresh fake: no journal, no checks, no SDK."""
    refs = [f"bare-{index:05d}" for index in range(count)]
    with VenueProcess(setup.kind, accounts=refs, latency_s=latency_s) as venue:
        host, port = venue.url.removeprefix("http://").split(":")
        local = threading.local()
        send = _alpaca_request if setup.kind == "alpaca" else _binance_request

        def place(ref: str) -> int:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(host, int(port), timeout=30)
            method, path, body, headers = send(ref)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status

        start = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            statuses = list(pool.map(place, refs))
        shot = venue.snapshot()
    if any(status != 200 for status in statuses):
        raise RuntimeError(f"bare client: answers {sorted(set(statuses))}")
    return max(s.accepted for s in shot.orders) - start


def bare_sdk_fanout(setup: VenueSetup, count: int, latency_s: float, workers: int) -> float | None:
    """The same with the venue's own SDK instead of raw HTTP (Alpaca: an alpaca-py
    `TradingClient` per account, made beforehand, its session not scanning the environment
    for proxies, as our adapter's): what the SDK itself costs on this machine (its CPU per
    request is taken under this process's interpreter lock, like ours). None for a venue
    without one here."""
    if setup.kind != "alpaca":
        return None
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import MarketOrderRequest

    refs = [f"sdk-{index:05d}" for index in range(count)]
    with VenueProcess(setup.kind, accounts=refs, latency_s=latency_s) as venue:
        clients = {}
        for ref in refs:
            key, secret = FakeAlpacaAccounts.keys_for(ref)
            client = TradingClient(key, secret, paper=True, url_override=venue.url)
            client._session.trust_env = False
            clients[ref] = client

        def place(ref: str) -> None:
            clients[ref].submit_order(
                MarketOrderRequest(
                    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                    client_order_id=f"sdk-{ref}",
                )
            )  # fmt: skip

        start = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(place, refs))
        shot = venue.snapshot()
    return max(s.accepted for s in shot.orders) - start


def _alpaca_request(ref: str) -> tuple[str, str, bytes, dict[str, str]]:
    key, secret = FakeAlpacaAccounts.keys_for(ref)
    body = json.dumps(
        {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market",
         "time_in_force": "day", "client_order_id": f"bare-{ref}"}
    ).encode()  # fmt: skip
    headers = {
        "APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret,
        "Content-Type": "application/json",
    }  # fmt: skip
    return "POST", "/v2/orders", body, headers


def _binance_request(ref: str) -> tuple[str, str, bytes, dict[str, str]]:
    key, secret = FakeBinanceAccounts.keys_for(ref)
    query = (
        f"symbol=BTCUSD&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=bare{ref[-5:]}"
        f"&timestamp={int(time.time() * 1000)}"
    )
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    body = f"{query}&signature={signature}".encode()
    headers = {"X-MBX-APIKEY": key, "Content-Type": "application/x-www-form-urlencoded"}
    return "POST", "/api/v3/order", body, headers


# ------------------------------------------------------------------------------------------
# Saying it
# ------------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.3f} s"


def describe(setup: VenueSetup, fig: Figures, title: str, deadline: float) -> None:
    print(
        f"{setup.label}, {title}: approval expanded {fig.children} children in "
        f"{fig.expand_s * 1e3:.0f} ms; executor done {fig.run_s:.2f} s after approval; first child "
        f"accepted {_s(fig.first_accept)} after it"
    )
    for what, values, goal in (
        ("accepted", fig.accepted, GOAL_ACCEPTED_S),
        ("recorded", fig.recorded, GOAL_RECORDED_S),
    ):
        last = _s(fig.last(values))
        if fig.missing(values):
            last = f"not within {fig.window_s:.1f} s"
        print(
            f"  {what} {len(values)}/{fig.expected}: last {last} (goal ≤ {goal} s), "
            f"p50 {_s(percentile(values, 0.5))}, p99 {_s(percentile(values, 0.99))}"
        )
    limits = f"  429 answers {fig.throttled}; most requests one account sent in a window "
    limits += f"{fig.max_seen}"
    if setup.kind == "binance":
        limits += f"; most weight from this address in a minute {fig.host_weight} (limit 6000)"
        limits += f", {fig.host_throttled} refused for it"
    else:
        limits += " (limit 200 a minute)"
    print(limits)
    if fig.errors:
        first = fig.errors[0]
        print(f"  the executor's last cycle: {len(fig.errors)} broker error(s), e.g. {first}")
    if fig.cut_short:
        print(f"  CUT SHORT: not every child answered within the {deadline:g} s deadline")


def report(
    setup: VenueSetup,
    count: int,
    runs: Sequence[Figures],
    baseline: float,
    hung: Figures | None,
) -> None:
    """The BENCH lines: the first fan-out after the executor started, and (with more
    rounds) the steady state (the median of the later rounds by last accepted), against
    ``baseline`` (the venue's SDK alone where there is one, else the bare client); the run
    with hanging accounts against the first."""
    name = f"fan-out {setup.kind}, {count} followers"
    later = sorted(runs[1:], key=lambda f: f.last(f.accepted))
    shown = [("first", runs[0])]
    if later:
        shown.append(("steady", later[(len(later) - 1) // 2]))
    for label, plain in shown:
        for what, values, goal in (
            ("accepted", plain.accepted, GOAL_ACCEPTED_S),
            ("recorded", plain.recorded, GOAL_RECORDED_S),
        ):
            last = plain.last(values)
            whole = not plain.missing(values)
            emit(
                f"{name} ({label}): last {what} (s){plain.missing(values)}", last, "s", baseline,
                last / baseline if whole else None, f"≤ {goal} s (fan-out)",
                whole and last <= goal,
            )  # fmt: skip
        for what, values in (("accepted", plain.accepted), ("recorded", plain.recorded)):
            for share in (0.5, 0.99):
                emit(
                    f"{name} ({label}): {what} p{share * 100:g} (s){plain.missing(values)}",
                    _num(percentile(values, share)), "s", None, None, "—",
                )  # fmt: skip
    if hung is None:
        return
    plain = runs[0]
    label = f"{name}, {hung.hung} hanging: the other {hung.expected}"
    for what, values, base_values, goal in (
        ("accepted", hung.accepted, plain.accepted, GOAL_ACCEPTED_S),
        ("recorded", hung.recorded, plain.recorded, GOAL_RECORDED_S),
    ):
        last, base = hung.last(values), plain.last(base_values)
        whole = not hung.missing(values) and not plain.missing(base_values)
        emit(
            f"{label}, last {what} (s){hung.missing(values)}", last, "s", base,
            last / base if whole else None, f"≤ {goal} s (fan-out)",
            not hung.missing(values) and last <= goal,
        )  # fmt: skip


def _num(value: float) -> float:
    """NaN (nothing measured) is written as -1 (JSON has no NaN)."""
    return -1.0 if math.isnan(value) else value


# ------------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--followers", type=int, default=1000, help="followers (default 1000)")
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds the fake takes per answer (0.1)"
    )
    parser.add_argument(
        "--hang",
        type=int,
        default=None,
        help="accounts that never answer in the second run (default one in 20; 0: no run)",
    )
    parser.add_argument("--venue", choices=["alpaca", "binance", "both"], default="both")
    parser.add_argument(
        "--workers",
        default=None,
        metavar="N,N,…",
        help="instead: executor workers (processes; the journal in PostgreSQL, on a server "
        "of the bench's own), one run per count, e.g. 1,2,4 (issue 25)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="passed to the executor where it takes it (default: its own); also the bare "
        "client's threads (default: the executor's default, else 100)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="the brokers' request timeout (10 s)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=30.0,
        help="seconds after approval before a run is cut short (30)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds the executor runs after its first cycle before the first approval (5)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="vault orders in a row to one running executor (3): the first fan-out after it "
        "started, then the steady state",
    )
    return parser.parse_args(argv)


def workers_main(args: argparse.Namespace) -> None:
    """The fan-out by 1, 2, 4 … executor workers (processes), the journal in PostgreSQL:
    the last child accepted and recorded, steady state (the median of the rounds after the
    first), and the ratio of the one-worker figure to each (how much faster than one
    worker; the goal: it grows with the workers until the broker's limits bind). The
    venue's SDK alone with as many threads as one executor gives the floor no count of
    workers can go below (what the broker, this machine and the fake allow)."""
    from vanta_tui.store.postgres.server import LocalServer

    counts = [int(n) for n in args.workers.split(",")]
    setup = VENUES["alpaca" if args.venue == "both" else args.venue]
    count = args.followers
    threads = pool_size(args.concurrency)
    sdk = bare_sdk_fanout(setup, count, args.latency, threads)
    floor = sdk if sdk is not None else bare_fanout(setup, count, args.latency, threads)
    cpus = os.cpu_count() or 1
    print(
        f"{setup.label}, {count} followers, {args.latency * 1e3:g} ms a request, {cpus} CPUs: "
        f"the venue's client alone ({threads} threads) has every order accepted in {floor:.3f} s"
    )
    root = Path(tempfile.mkdtemp(prefix="vanta-bench-pg-"))
    server = LocalServer(root)
    server.start()
    results: dict[int, Figures] = {}
    try:
        for n in counts:
            os.environ["VANTA_JOURNAL_URL"] = server.database(f"fanout_{n}")
            runs = one_run(setup, count, 0, args, workers=n)
            for index, fig in enumerate(runs):
                describe(setup, fig, f"{n} worker(s), round {index + 1}", args.deadline)
            later = sorted(runs[1:], key=lambda f: f.last(f.recorded)) or runs
            results[n] = later[(len(later) - 1) // 2]
    finally:
        os.environ.pop("VANTA_JOURNAL_URL", None)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    one = results.get(min(counts))
    print("workers  last accepted  last recorded  speed-up (recorded)")
    for n, fig in results.items():
        accepted, recorded = fig.last(fig.accepted), fig.last(fig.recorded)
        base = one.last(one.recorded) if one is not None else float("nan")
        print(f"{n:7d}  {accepted:11.2f} s  {recorded:11.2f} s  {base / recorded:8.2f} ×")
        emit(
            f"fan-out by {n} worker(s), {count} followers: last recorded (s)"
            f"{fig.missing(fig.recorded)}", recorded, "s", base, base / recorded,
            "grows with the workers until the broker's limits bind (issue 25)", None,
        )  # fmt: skip
        emit(
            f"fan-out by {n} worker(s), {count} followers: last accepted (s)"
            f"{fig.missing(fig.accepted)}", accepted, "s", floor, accepted / floor, "—",
        )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.workers:
        workers_main(args)
        return
    count = args.followers
    hang_count = count // 20 if args.hang is None else min(args.hang, count)
    venues = list(VENUES) if args.venue == "both" else [args.venue]
    for kind in venues:
        setup = VENUES[kind]
        workers = pool_size(args.concurrency)
        bare = bare_fanout(setup, count, args.latency, workers)
        print(
            f"{setup.label}, {count} followers, {args.latency * 1e3:g} ms a request: a bare "
            f"client ({workers} threads, raw HTTP) has every order accepted in {bare:.3f} s"
        )
        sdk = bare_sdk_fanout(setup, count, args.latency, workers)
        if sdk is not None:
            print(f"  the same through the venue's SDK alone (no journal, no checks): {sdk:.3f} s")
        plain_runs = one_run(setup, count, 0, args)
        for index, fig in enumerate(plain_runs):
            title = f"{count} followers" + (f", round {index + 1}" if args.rounds > 1 else "")
            describe(setup, fig, title, args.deadline)
        hung_fig = None
        if hang_count:
            hung_fig = one_run(setup, count, hang_count, args)[0]
            describe(setup, hung_fig, f"{count} followers, {hang_count} hanging", args.deadline)
        report(setup, count, plain_runs, bare if sdk is None else sdk, hung_fig)


if __name__ == "__main__":
    main()
