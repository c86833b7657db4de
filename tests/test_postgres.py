"""PostgreSQL for the multi-host mode (issue 25): the tests' own throwaway server (started
as an unprivileged user when the tests run as root, on a Unix socket in a temp directory,
stopped at the end), the executor workers' claims on accounts (session advisory locks: a
worker that dies lets its accounts go at once) and the change feed (LISTEN/NOTIFY)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from vanta_tui.store.postgres.claims import AccountClaims, key31, worker_name, workers
from vanta_tui.store.postgres.feed import Change, ChangeFeed, announce, channel
from vanta_tui.store.postgres.server import LocalServer

NAMESPACE = "journal-under-test"


@pytest.fixture
def server(pg_server: LocalServer) -> LocalServer:
    return pg_server


def test_the_server_runs_as_an_unprivileged_user_on_a_socket_only(server: LocalServer) -> None:
    pid = server.server_pid()
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(status.split("Uid:")[1].split()[0])
    assert uid != 0  # PostgreSQL refuses root; as root, the server runs as another user
    if os.geteuid() != 0:
        assert uid == os.geteuid()
    with psycopg.connect(server.url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP at all
        (directory,) = conn.execute("SHOW unix_socket_directories").fetchone() or ("",)
        assert Path(directory) == server.socket_dir


def test_an_account_is_held_by_one_worker_at_a_time(server: LocalServer) -> None:
    accounts = [f"alpaca:F_{n:04d}" for n in range(10)]
    with (
        AccountClaims(server.url, NAMESPACE, host="host-a", pid=1) as first,
        AccountClaims(server.url, NAMESPACE, host="host-b", pid=2) as second,
    ):
        assert first.claim_some(accounts, limit=6) == accounts[:6]
        assert second.claim_some(accounts) == accounts[6:]  # only the free ones
        assert not second.claim(accounts[0])
        assert first.claim(accounts[0])  # held already: still its own
        # Another namespace (another journal) is another set of accounts.
        with AccountClaims(server.url, "other-journal") as other:
            assert other.claim(accounts[0])
        with psycopg.connect(server.url) as conn:
            listed = {(w.host, w.pid): w.accounts for w in workers(conn, NAMESPACE)}
        assert listed == {("host-a", 1): 6, ("host-b", 2): 4}
        first.release(accounts[0])
        assert second.claim(accounts[0])  # let go: taken at once
        assert first.held == frozenset(accounts[1:6])


HOLDER = r"""
import sys, time
from vanta_tui.store.postgres.claims import AccountClaims
claims = AccountClaims(sys.argv[1], sys.argv[2], host="doomed")
taken = claims.claim_some(sys.argv[3:])
print(len(taken), flush=True)
time.sleep(600)
"""


def test_a_worker_killed_mid_work_lets_its_accounts_go_at_once(server: LocalServer) -> None:
    """SIGKILL: no goodbye to the server. Its session ends with its socket, and with it
    every claim: the surviving worker takes them over within 5 s."""
    accounts = [f"ccxt:kraken:F_{n:04d}" for n in range(50)]
    doomed = subprocess.Popen(
        [sys.executable, "-c", HOLDER, server.url, NAMESPACE, *accounts],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert doomed.stdout is not None
        assert doomed.stdout.readline().strip() == "50"
        with AccountClaims(server.url, NAMESPACE, host="survivor") as survivor:
            assert survivor.claim_some(accounts) == []
            with psycopg.connect(server.url) as conn:
                assert [(w.host, w.accounts) for w in workers(conn, NAMESPACE)] == [
                    ("doomed", 50),
                    ("survivor", 0),  # connected, holding nothing yet
                ]
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            killed_at = time.monotonic()
            taken: list[str] = []
            while len(taken) < len(accounts):
                assert time.monotonic() - killed_at < 5.0, f"{len(taken)} taken over in 5 s"
                taken += survivor.claim_some(accounts)
                time.sleep(0.02)
            assert sorted(taken) == sorted(accounts)
            with psycopg.connect(server.url) as conn:
                assert [(w.host, w.accounts) for w in workers(conn, NAMESPACE)] == [
                    ("survivor", 50)
                ]
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=10)


def test_a_worker_whose_session_ends_knows_it_lost_its_accounts(server: LocalServer) -> None:
    """The server ends the session (an administrator, a failover): the worker's next look
    says its claims are gone, and another worker can take them."""
    with AccountClaims(server.url, NAMESPACE, host="cut-off") as worker:
        assert worker.claim("alpaca:V_CORE")
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (worker_name(NAMESPACE, "cut-off"),),
            )
        assert not worker.alive()
        assert worker.held == frozenset()
        with AccountClaims(server.url, NAMESPACE) as other:
            deadline = time.monotonic() + 5
            while not other.claim("alpaca:V_CORE"):
                assert time.monotonic() < deadline
                time.sleep(0.02)


def test_keys_are_stable_and_fit_the_servers_oid_columns() -> None:
    assert key31("alpaca:V_CORE") == key31("alpaca:V_CORE")
    keys = {key31(f"acct-{n}") for n in range(1000)}
    assert all(0 <= k < 2**31 for k in keys)
    assert len(keys) >= 999  # a collision only makes the work coarser (module docstring)


ANNOUNCER = r"""
import sys, psycopg
from vanta_tui.store.postgres.feed import Change, announce
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    announce(conn, sys.argv[2], [Change("autotrade_queue.json", "ab" * 32, 42, 7, "host-b")])
"""


def test_a_desk_hears_another_process_change_a_file(server: LocalServer) -> None:
    with ChangeFeed(server.url, NAMESPACE) as feed:
        subprocess.run([sys.executable, "-c", ANNOUNCER, server.url, NAMESPACE], check=True)
        heard = feed.wait(10, at_most=1)
    assert heard == [Change("autotrade_queue.json", "ab" * 32, 42, 7, "host-b")]


def test_a_change_is_heard_when_its_transaction_commits_never_if_it_rolls_back(
    server: LocalServer,
) -> None:
    with ChangeFeed(server.url, NAMESPACE) as feed, psycopg.connect(server.url) as writer:
        with writer.transaction(force_rollback=True):
            announce(writer, NAMESPACE, [Change("vault.json", "00" * 32, 3)])
        assert feed.wait(0.3) == []
        with writer.transaction():
            announce(writer, NAMESPACE, [Change("vault.json", "11" * 32, 4)])
            assert feed.wait(0.3) == []  # not before the commit
        assert feed.wait(10, at_most=1) == [Change("vault.json", "11" * 32, 4)]


def test_what_is_not_a_change_on_the_channel_is_skipped(server: LocalServer) -> None:
    with (
        ChangeFeed(server.url, NAMESPACE) as feed,
        psycopg.connect(server.url, autocommit=True) as other,
    ):
        for junk in ["not json", '{"file": "vault.json"}', '{"sha256": 1}', "[]"]:
            other.execute("SELECT pg_notify(%s, %s)", (channel(NAMESPACE), junk))
        announce(other, NAMESPACE, [Change("overlays.json", "22" * 32)])
        other.execute("SELECT pg_notify(%s, %s)", (channel("another journal"), "{}"))
        heard = feed.wait(2, at_most=5)
    assert heard == [Change("overlays.json", "22" * 32)]
    with pytest.raises(ValueError, match="does not fit"):
        Change("x" * 9000, "00").payload()


def _staged_order(state_dir: Path) -> str:
    from vanta_tui.core.enums import OrderStatus
    from vanta_tui.core.models import QueueFile
    from vanta_tui.store.loader import load_model

    queue = load_model(state_dir, QueueFile)
    return next(
        o.order_id for o in queue.orders if o.status is OrderStatus.STAGED and o.follower_id is None
    )


def _approve(state_dir: Path, order_id: str, changes: str | None) -> None:
    argv = [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir)]
    argv += ["--operator", "bob", *(["--changes", changes] if changes else [])]
    env = {k: v for k, v in os.environ.items() if k != "VANTA_CHANGES_URL"}
    done = subprocess.run(
        [*argv, "orders", "approve", order_id], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_a_desk_that_does_not_watch_the_files_follows_announced_changes(
    server: LocalServer, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here the CLI, as on another host) approves an order: a desk that
    does not watch the files sees it through the notification its journal announced. Without
    the announcement (a writer not told the server), the same desk does not see it: the
    notification is what carried it."""
    from ui_helpers import make_app, settle, wait_for

    from vanta_tui.core.enums import OrderStatus

    monkeypatch.setenv("VANTA_CHANGES_URL", server.url)
    app = make_app(state_dir, watch=False)

    def status_of(order_id: str) -> OrderStatus | None:
        queue = app.snapshot.queue
        found = [o for o in queue.orders if o.order_id == order_id] if queue else []
        return found[0].status if found else None

    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.loads >= 1)
        await wait_for(pilot, lambda: app.following)  # its LISTEN is in place
        await settle(pilot, app)  # and the files read once more, as it began listening
        assert app.header.changes_text == "following changes"
        unheard = _staged_order(state_dir)
        _approve(state_dir, unheard, changes=None)
        await pilot.pause(1.5)
        assert status_of(unheard) is OrderStatus.STAGED  # no watcher, no announcement
        heard = _staged_order(state_dir)
        _approve(state_dir, heard, changes=server.url)
        await wait_for(pilot, lambda: status_of(heard) is OrderStatus.APPROVED, timeout=10)
        assert status_of(unheard) is OrderStatus.APPROVED  # the file read as it is now


def test_a_server_out_of_reach_never_fails_or_holds_up_an_action(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Announcing is after the fact: the action is committed whether or not the desks hear
    of it, and after one failed attempt no action waits on the server for a while."""
    from vanta_tui.desk import Desk

    monkeypatch.setenv("VANTA_CHANGES_URL", f"postgresql://vanta@/postgres?host={tmp_path}/none")
    attempts: list[str] = []
    real_connect = psycopg.connect

    def counting(url: str, *args: object, **kwargs: object) -> psycopg.Connection[object]:
        attempts.append(url)
        return real_connect(url, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(psycopg, "connect", counting)
    with Desk(state_dir, operator="olivia") as desk:
        first = _staged_order(state_dir)
        assert desk.approve([first]).approved == 1
        second = _staged_order(state_dir)
        assert desk.approve([second]).approved == 1
    assert len(attempts) == 1  # the second action did not try again so soon


def test_the_postgres_command_runs_a_server_until_interrupted() -> None:
    root = Path(tempfile.mkdtemp(prefix="vanta-pg-cmd-"))
    command = subprocess.Popen(
        [sys.executable, "-m", "vanta_tui", "postgres", str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert command.stdout is not None
        url = command.stdout.readline().strip()
        assert url.startswith("postgresql://") and str(root) in url
        assert "Ctrl+C" in command.stdout.readline()
        with psycopg.connect(url) as conn:  # the database printed, made for the journal
            assert conn.execute("SELECT current_database()").fetchone() == ("vanta",)
        pid = LocalServer(root).server_pid()
        assert pid is not None
        command.send_signal(signal.SIGINT)
        assert command.wait(timeout=60) == 0
        assert "stopped" in command.stdout.read()
        assert LocalServer(root).server_pid() is None  # its pid file gone: it stopped
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait(timeout=10)
        LocalServer(root).stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_a_password_on_the_command_line_is_refused(state_dir: Path) -> None:
    """Everyone on the machine reads a process's arguments (`ps`): the password goes in
    PGPASSWORD or ~/.pgpass, or the URL in the environment."""
    done = subprocess.run(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "--changes",
         "postgresql://vanta:hunter2@db.example/vanta", "status"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 64
    assert "password" in done.stderr and "PGPASSWORD" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


async def test_a_desk_that_cannot_hear_changes_says_its_panes_may_be_stale(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui_helpers import make_app, wait_for

    monkeypatch.setenv("VANTA_CHANGES_URL", f"postgresql://vanta@/postgres?host={tmp_path}/none")
    app = make_app(state_dir, watch=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: "out of reach" in app.header.changes_text)
        assert app.header.changes_level == "fail" and not app.following
        assert "panes may be stale" in app.header.changes_text


class QuietingProxy:
    """TCP in front of the test server's socket, forwarding both ways until `quiet`: then
    the server's answers are dropped and the connection stays open (a link gone silent)."""

    def __init__(self, server: LocalServer) -> None:
        self.target = str(server.socket_dir / ".s.PGSQL.5432")
        self.quiet = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"postgresql://vanta@127.0.0.1:{self.sock.getsockname()[1]}/postgres"

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client = self.sock.accept()[0]
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self.target)
                self.open += [client, upstream]
                threading.Thread(
                    target=self._pipe, args=(client, upstream, False), daemon=True
                ).start()
                threading.Thread(
                    target=self._pipe, args=(upstream, client, True), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not (answers and self.quiet.is_set()):
                    sink.sendall(data)

    def close(self) -> None:
        for conn in self.open:
            conn.close()
        self.sock.close()


def test_a_server_gone_silent_never_holds_up_an_action(
    pg_server: LocalServer, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server took the connection, then its answers stop coming, and no error ever
    does: actions still return (the announcing is another thread's), their files and events
    are written, and the journal's close waits for it a bounded moment only."""
    from vanta_tui.desk import Desk

    proxy = QuietingProxy(pg_server)
    monkeypatch.setenv("VANTA_CHANGES_URL", proxy.url)
    done: list[int] = []

    def act() -> None:
        with Desk(state_dir, operator="olivia") as desk:
            done.append(desk.approve([_staged_order(state_dir)]).approved)
            time.sleep(0.5)  # announced through the proxy while it still forwards
            proxy.quiet.set()
            for _ in range(3):
                done.append(desk.approve([_staged_order(state_dir)]).approved)

    try:
        worker = threading.Thread(target=act, daemon=True)
        worker.start()
        worker.join(60)  # a bound for a hang, not a timing: it returns within seconds
        assert not worker.is_alive(), "an action waited on the silent server"
        assert done == [1, 1, 1, 1]
        assert len(proxy.open) >= 2  # it did connect and announce there
    finally:
        proxy.quiet.set()
        proxy.close()


async def test_a_desk_whose_server_goes_silent_says_its_panes_may_be_stale(
    pg_server: LocalServer, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link that goes quiet raises no error: the listener's ping just never returns. The
    header says so (in red) once the server has not answered for a while, and the desk
    listens again on a new session."""
    from ui_helpers import make_app, wait_for

    import vanta_tui.desk as desk_module
    import vanta_tui.ui.app as app_module
    from vanta_tui.store.postgres import feed as feed_module

    monkeypatch.setattr(desk_module, "FOLLOW_PING_S", 0.2)
    monkeypatch.setattr(app_module, "FOLLOW_STALE_S", 1.0)
    monkeypatch.setenv("VANTA_CHANGES_URL", pg_server.url)
    hold = threading.Event()
    app = make_app(state_dir, watch=False)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_for(pilot, lambda: app.following)
            monkeypatch.setattr(feed_module.ChangeFeed, "ping", lambda _self: hold.wait())
            seen: list[tuple[str, str]] = []

            def stale() -> bool:
                seen.append((app.header.changes_text, app.header.changes_level))
                return "not answering" in seen[-1][0]

            await wait_for(pilot, stale)
            assert seen[-1] == ("changes: server not answering, panes may be stale", "fail")
    finally:
        hold.set()


async def test_the_header_and_status_count_the_workers(
    pg_server: LocalServer, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui_helpers import make_app, wait_for

    from vanta_tui.store.postgres.claims import WorkerClaims

    monkeypatch.setenv("VANTA_CHANGES_URL", pg_server.url)
    app = make_app(state_dir)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: app.desk._journal_namespace() is not None)
        namespace = app.desk._journal_namespace()
        assert namespace is not None
        with (
            WorkerClaims(pg_server.url, namespace, host="host-a") as one,
            WorkerClaims(pg_server.url, namespace, host="host-b") as two,
        ):
            one.claims.claim_some(["a|F1|equity", "a|F2|equity"])
            two.claims.claim("a|F3|equity")
            app.refresh_status(False)
            await wait_for(pilot, lambda: app.header.workers_text == "workers: 2")
            line = app.desk.workers_line()
            assert line is not None
            assert line.detail.startswith("2 (host-a pid") and "host-b pid" in line.detail
            assert ": 2, " in line.detail and line.detail.endswith(": 1 accounts)")
        app.refresh_status(False)
        await wait_for(pilot, lambda: app.header.workers_text == "workers: none")


def test_a_worker_whose_session_is_ended_opens_a_new_one_and_claims_again(
    server: LocalServer,
) -> None:
    """The server (an administrator, a failover) ends a worker's session: its claims are
    gone with it, and its next look opens a new session that claims its share again."""
    from vanta_tui.store.postgres.claims import WorkerClaims

    accounts = ["x|F1|equity", "x|F2|equity"]
    with WorkerClaims(server.url, NAMESPACE, host="phoenix") as worker:
        assert worker.share(accounts, set()) == frozenset(accounts)
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (worker.claims.name,),
            )
        assert worker.alive()  # a new session
        assert worker.claims.held == frozenset()
        assert worker.share(accounts, set()) == frozenset(accounts)


def test_the_worker_with_the_duties_leaves_the_accounts_to_the_others(
    server: LocalServer,
) -> None:
    """Alone, the worker that does the executor's own duties sends for every account; with
    another worker there, it gives its accounts up (its price sweeps would hold them) and
    the other takes them all, also between its cycles (the claims keeper)."""
    from vanta_tui.store.postgres.claims import WorkerClaims

    accounts = [f"d|F{n}|equity" for n in range(6)]
    namespace = NAMESPACE + "-duty"
    with WorkerClaims(server.url, namespace, host="a", keep_every_s=0.1) as one:
        assert one.global_duty()
        assert one.share(accounts, set()) == frozenset(accounts)
        with WorkerClaims(server.url, namespace, host="b", keep_every_s=0.1) as two:
            assert not two.global_duty()
            assert one.share(accounts, {"d|F0|equity"}) == frozenset({"d|F0|equity"})
            assert two.share(accounts, set()) == frozenset(accounts[1:])  # all but in flight
            found = {w.host: w for w in workers(two.claims.conn, namespace)}
            assert found["a"].duty and not found["b"].duty
            assert one.share(accounts, set()) == frozenset()  # its send came back
            deadline = time.monotonic() + 5
            while two.claims.held != frozenset(accounts):  # the keeper takes it up
                assert time.monotonic() < deadline, two.claims.held
                time.sleep(0.05)
