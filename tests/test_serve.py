"""`vanta-tui serve`: the desk in a browser.

Three layers: the token rules (`cli.serve_access`) and the command's refusals, checked
directly; the web server's answers (page, websocket upgrade, cookie, Host and Origin) through
aiohttp's test client, with no desk started; and the whole path in a real headless Chromium
(Debian's ``chromium``, driven by Playwright): the page shows the desk, keys approve an order
after its confirmation, the queue file and the journal show it under the token's operator,
and a wrong token gets neither a page, a websocket nor a desk process. That last test is
skipped, saying why, only where no Chromium is installed (`.ci/run` installs it as root).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient, TestServer

from vanta_tui.actions.activity import ActivityFilter
from vanta_tui.cli import exit_codes
from vanta_tui.cli.main import main
from vanta_tui.cli.serve_access import (
    MIN_SECRET_CHARS,
    SESSION_COOKIE,
    TOKEN_ENV,
    Access,
    TokenError,
    bearer_secret,
    is_loopback,
    loopback_hosts,
    origin_allowed,
    parse_tokens,
)
from vanta_tui.cli.serve_cmd import ServePlan, serve_plan
from vanta_tui.cli.serve_web import DeskServer, DeskService
from vanta_tui.core.clock import utc_now
from vanta_tui.core.enums import OrderStatus
from vanta_tui.core.models import QueueFile
from vanta_tui.demo.bundled import write_demo
from vanta_tui.desk import Desk
from vanta_tui.store import load_model

ALICE = "alice-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"  # made up for these tests; 38 characters
BOB = "bob-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"
TOKENS = f"alice:{ALICE},bob:{BOB}"
WRONG = "x" * 40


# ---------------------------------------------------------------------------- the tokens


def test_tokens_name_their_operators_and_keep_no_secret() -> None:
    credentials = parse_tokens(f" alice:{ALICE} , bob:{BOB},alice:{'n' * 32}")
    assert [c.operator for c in credentials] == ["alice", "bob", "alice"]
    assert all(ALICE.encode() not in c.digest for c in credentials)
    access = Access(credentials)
    assert access.operators == ("alice", "bob")  # a name with two secrets (a rotation) once


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "is empty"),
        (f"alice:{ALICE},", "entry 2 is empty"),
        (ALICE, "entry 1 is not NAME:SECRET"),
        (f":{ALICE}", "entry 1 is not NAME:SECRET"),
        (f"al ice:{ALICE}", "entry 1 is not NAME:SECRET"),
        (f"alice:{ALICE},bob:short-secret", "entry 2 (bob): the secret is shorter than 32"),
        (f"alice:{'a' * (MIN_SECRET_CHARS - 1)}", "shorter than 32"),
        (f"alice:{ALICE[:-1]}%", "may hold only letters"),
        (f"alice:{ALICE},bob:{ALICE}", "entries 1 and 2 have one secret"),
    ],
)
def test_malformed_or_weak_tokens_are_refused_without_quoting_them(text: str, words: str) -> None:
    with pytest.raises(TokenError) as caught:
        parse_tokens(text)
    assert words in str(caught.value)
    assert ALICE not in str(caught.value) and "short-secret" not in str(caught.value)


def test_the_token_check() -> None:
    access = Access(parse_tokens(TOKENS))
    assert access.operator_for_secret(ALICE) == "alice"
    assert access.operator_for_secret(BOB) == "bob"
    for wrong in (WRONG, "", ALICE[:-1], ALICE + "x", ALICE.upper(), f"alice:{ALICE}"):
        assert access.operator_for_secret(wrong) is None


def test_sessions_carry_the_operator_until_they_expire() -> None:
    now = [1000.0]
    access = Access(parse_tokens(TOKENS), clock=lambda: now[0], session_ttl_s=60.0)
    session = access.open_session("bob")
    assert len(session) >= 40 and session not in {ALICE, BOB}
    assert access.operator_for_session(session) == "bob"
    assert access.operator_for_session(session + "x") is None
    assert access.operator_for_session(ALICE) is None  # a secret is no session id
    now[0] += 60.0
    assert access.operator_for_session(session) is None


def test_headers_hosts_and_origins() -> None:
    assert bearer_secret(f"Bearer {ALICE}") == ALICE
    assert bearer_secret(f"bearer  {ALICE} ") == ALICE
    assert bearer_secret(f"Basic {ALICE}") is None
    assert bearer_secret("Bearer ") is None and bearer_secret(None) is None
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "desk.example.com"))
    hosts = loopback_hosts("127.0.0.1", 8000)
    assert {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"} <= hosts
    assert "evil.example:8000" not in hosts and "127.0.0.1:8001" not in hosts
    assert "[::1]:8000" in loopback_hosts("::1", 8000)
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", None)
    assert not origin_allowed("http://evil.example", "127.0.0.1:8000", None)
    assert origin_allowed(None, "127.0.0.1:8000", None)  # no script of a page sent it
    assert not origin_allowed("null", "127.0.0.1:8000", None)  # a sandboxed or local page
    public = "https://desk.example.com"
    assert origin_allowed("https://desk.example.com", "127.0.0.1:8000", public)
    assert not origin_allowed("http://desk.example.com", "desk.example.com", public)


# ---------------------------------------------------------------------------- the command


def serve(state_dir: Path, tmp_path: Path, *extra: str) -> int:
    return main(
        ["--state-dir", str(state_dir), "--log", str(tmp_path / "cli.log"), "serve", *extra]
    )


@pytest.mark.parametrize(
    ("token", "argv", "words"),
    [
        (None, ["--host", "0.0.0.0"], "refusing to serve on 0.0.0.0"),
        (None, ["--host", "10.1.2.3", "--port", "8123"], "refusing to serve on 10.1.2.3"),
        (f"alice:{ALICE}", ["--host", "0.0.0.0"], "give --public with VANTA_SERVE_TOKEN"),
        (None, ["--host", "0.0.0.0", "--public"], "--public needs VANTA_SERVE_TOKEN"),
        (None, ["--public"], "--public needs VANTA_SERVE_TOKEN"),
        ("alice:tooshort", ["--host", "0.0.0.0", "--public"], "shorter than 32"),
        ("alice:tooshort", [], "shorter than 32"),  # a token set is checked on loopback too
        ("", [], "VANTA_SERVE_TOKEN is empty"),
        (f"alice:{ALICE}", ["--operator", "carol"], "leave out --operator"),
        (None, ["--port", "0"], "--port must be between 1 and 65535"),
        (f"alice:{ALICE}", ["--public-url", "https://desk.example.com/d"], "--public-url takes"),
        (
            None,
            ["--public-url", "https://desk.example.com"],
            "--public-url (a reverse proxy) needs",
        ),
    ],
)
def test_serve_refuses(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str | None,
    argv: list[str],
    words: str,
) -> None:
    if token is None:
        monkeypatch.delenv(TOKEN_ENV, raising=False)
    else:
        monkeypatch.setenv(TOKEN_ENV, token)
    assert serve(state_dir, tmp_path, *argv) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert words in err
    assert ALICE not in err and "tooshort" not in err
    assert ALICE not in (tmp_path / "cli.log").read_text(encoding="utf-8")


def test_serve_refuses_a_missing_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert serve(tmp_path / "nowhere", tmp_path) == exit_codes.USAGE
    assert "does not exist" in capsys.readouterr().err


def plan_for(state_dir: Path, tokens: str | None, **changes: Any) -> ServePlan:
    args = argparse.Namespace(
        host="127.0.0.1", port=8000, public=False, public_url=None, operator=None,
        read_only=False, live=False, log=None, wait=None, state_dir=str(state_dir),
    )  # fmt: skip
    for name, value in changes.items():
        setattr(args, name, value)
    return serve_plan(args, {} if tokens is None else {TOKEN_ENV: tokens})


def test_a_served_desk_gets_the_operator_never_the_secret(state_dir: Path) -> None:
    plan = plan_for(state_dir, TOKENS, read_only=True, host="::1", public=True)
    line = plan.desk_command("alice", "10.0.0.7")
    assert line[1:3] == ["-m", "vanta_tui"] and line[-3:] == ["serve", "--desk-for", "10.0.0.7"]
    assert line[line.index("--operator") + 1] == "alice" and "--read-only" in line
    assert not any(ALICE in part or BOB in part for part in line)
    assert plan.url == "http://[::1]:8000"
    tokenless = plan_for(state_dir, None, operator="dana")
    assert tokenless.access is None and "--operator" in tokenless.desk_command("dana", "::1")


def test_a_desk_process_has_no_token_in_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKENS)

    async def ignore(*_: Any) -> None:
        return None

    service = DeskService(
        "true", write_bytes=ignore, write_str=ignore, close=ignore, download_manager=None,  # type: ignore[arg-type]
    )  # fmt: skip
    environment = service._build_environment(100, 30)
    assert TOKEN_ENV not in environment and environment["COLUMNS"] == "100"
    assert not any(ALICE in value for value in environment.values())


# ---------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    client: TestClient[web.Request, web.Application]
    server: DeskServer
    started: list[str]
    """The command line of every desk the server started (none really runs)."""


@contextlib.asynccontextmanager
async def served(
    state_dir: Path,
    tokens: str | None,
    monkeypatch: pytest.MonkeyPatch,
    public_url: str | None = None,
) -> AsyncIterator[Served]:
    port = free_port()
    plan = plan_for(state_dir, tokens, port=port, public_url=public_url)
    started: list[str] = []

    async def start(self: DeskService, width: int, height: int) -> None:
        started.append(self.command)  # no desk process: the browser test runs real ones

    monkeypatch.setattr(DeskService, "start", start)
    server = DeskServer(plan)
    client = TestClient(TestServer(await server._make_app(), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        yield Served(client, server, started)
    finally:
        await client.close()


WS_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


async def test_no_token_no_page_no_websocket_no_desk(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(state_dir, TOKENS, monkeypatch) as s:
        for path, headers in [
            ("/", {}),
            (f"/?token={WRONG}", {}),
            ("/", {"Authorization": f"Bearer {WRONG}"}),
            ("/", {"Cookie": f"{SESSION_COOKIE}={WRONG}"}),
            ("/", {"Cookie": f"{SESSION_COOKIE}={ALICE}"}),  # a secret is no session
            ("/static/js/textual.js", {}),
            ("/ws", WS_HEADERS),
            (f"/ws?token={ALICE}", WS_HEADERS),  # a secret is taken by the page only
        ]:
            response = await s.client.get(path, headers=headers, allow_redirects=False)
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert SESSION_COOKIE not in response.cookies
        with pytest.raises(WSServerHandshakeError) as caught:
            await s.client.ws_connect("/ws")
        assert caught.value.status == 401
        assert s.started == [] and not s.server.sessions
    assert ALICE not in caplog.text and WRONG not in caplog.text


async def test_a_token_in_the_address_becomes_a_session_cookie(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(state_dir, TOKENS, monkeypatch) as s:
        response = await s.client.get(f"/?token={ALICE}&fontsize=14", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/?fontsize=14"  # the secret left behind
        cookie = response.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert cookie.value not in {ALICE, BOB} and ALICE not in response.headers["Set-Cookie"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        # The client's jar sends the cookie from now on: the page, then its websocket.
        page = await s.client.get("/?fontsize=14")
        assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
        host = f"127.0.0.1:{s.client.port}"
        assert f'data-session-websocket-url="ws://{host}/ws"' in await page.text()
        websocket = await s.client.ws_connect("/ws?width=90&height=30")
        await websocket.close()
        assert len(s.started) == 1
        assert "--operator alice" in s.started[0] and "--desk-for 127.0.0.1" in s.started[0]
        assert ALICE not in s.started[0]
        # The bearer header works on its own (a proxy that adds it to every request).
        bearer = await s.client.get("/", headers={"Authorization": f"Bearer {BOB}"})
        assert bearer.status == 200
    assert ALICE not in caplog.text and BOB not in caplog.text


async def test_a_websocket_from_another_sites_page_is_refused(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(state_dir, TOKENS, monkeypatch) as s:
        await s.client.get(f"/?token={ALICE}", allow_redirects=False)
        with pytest.raises(WSServerHandshakeError) as caught:
            await s.client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
        assert caught.value.status == 403
        assert s.started == []


async def test_a_request_from_another_sites_page_is_refused(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(state_dir, TOKENS, monkeypatch) as s:
        await s.client.get(f"/?token={ALICE}", allow_redirects=False)
        page = await s.client.get("/", headers={"Origin": "https://evil.example"})
        assert page.status == 403
        own = await s.client.get("/", headers={"Origin": f"http://127.0.0.1:{s.client.port}"})
        assert own.status == 200


async def test_behind_a_tls_proxy_the_cookie_is_secure(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(state_dir, TOKENS, monkeypatch, "https://desk.example.com") as s:
        response = await s.client.get(f"/?token={ALICE}", allow_redirects=False)
        assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]
        page = await s.client.get("/", headers={"Authorization": f"Bearer {ALICE}"})
        assert 'data-session-websocket-url="wss://desk.example.com/ws"' in await page.text()
        with pytest.raises(WSServerHandshakeError) as caught:
            await s.client.ws_connect(
                "/ws",
                headers={"Origin": "http://desk.example.com", "Authorization": f"Bearer {ALICE}"},
            )
        assert caught.value.status == 403  # the public origin is https


async def test_without_tokens_only_loopback_names_are_answered(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(state_dir, None, monkeypatch) as s:
        port = s.client.port
        assert (await s.client.get("/")).status == 200
        assert (await s.client.get("/", headers={"Host": f"localhost:{port}"})).status == 200
        # A page whose own name was rebound to 127.0.0.1 (DNS rebinding) gets nothing.
        rebound = await s.client.get("/", headers={"Host": f"evil.example:{port}"})
        assert rebound.status == 403
        with pytest.raises(WSServerHandshakeError) as caught:
            await s.client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
        assert caught.value.status == 403
        assert s.started == []
        websocket = await s.client.ws_connect("/ws", headers={"Origin": f"http://127.0.0.1:{port}"})
        await websocket.close()
        assert len(s.started) == 1 and "--operator" not in s.started[0]


# ---------------------------------------------------------------------------- in a browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium's own connections are refused on a closed machine, and it waits.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SCREEN_HOOK = """
// textual-serve keeps its xterm.js Terminal to itself (`this.terminal = new Terminal(...)`).
// Catch that one assignment with a setter on Object.prototype, removed at once, and read the
// terminal's buffer as text: what the operator sees, whichever renderer drew it.
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    delete Object.prototype.terminal;
    this.terminal = value;
    window.__vantaTerminal = value;
  },
});
window.__vantaScreen = () => {
  const t = window.__vantaTerminal;
  if (!t) return "";
  const buffer = t.buffer.active;
  const rows = [];
  for (let y = 0; y < t.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
};
"""
SHOWS = "(needle) => window.__vantaScreen().includes(needle)"
WAIT_MS = 20_000
"""How long to wait for the screen to show something (a loaded machine is slow; typical: 1 s)."""


def find_chromium() -> str | None:
    """``$VANTA_TEST_CHROMIUM``, else Debian's ``/usr/bin/chromium``, else one on the PATH."""
    candidates = [os.environ.get("VANTA_TEST_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def desk_processes(state_dir: Path) -> list[tuple[int, list[str], bytes]]:
    """The desks started for ``state_dir``: (pid, arguments, environment) of each process
    whose arguments include ``--desk-for`` (not the shell that starts one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
            environment = (entry / "environ").read_bytes()
        except OSError:
            continue
        if "--desk-for" in argv and str(state_dir.resolve()) in argv:
            found.append((int(entry.name), argv, environment))
    return found


def wait_until(what: str, check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def http_status(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def chromium() -> str:
    """The browser's executable; the test is skipped, saying why, when there is none."""
    found = find_chromium()
    if found is None:
        pytest.skip(
            "no Chromium found (/usr/bin/chromium, chromium on the PATH, $VANTA_TEST_CHROMIUM): "
            "install Debian's chromium package (`apt-get install chromium`; .ci/run does as root)"
        )
    return found


@pytest.fixture
def served_desk(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """``vanta-tui serve`` on a fresh demo working copy (its executor paused, as after
    ``vanta-tui init``), on a free loopback port, with alice's and bob's tokens; every process
    it started is killed at the end (its own process group)."""
    state_dir = tmp_path / "state"
    write_demo(state_dir, utc_now(), working_copy=True)
    settings = tmp_path / "settings.toml"
    settings.write_text("first_run_done = true\n", encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        TOKEN_ENV: TOKENS,
        "VANTA_DESK_CONFIG": str(settings),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    argv = [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir)]
    argv += ["--log", str(tmp_path / "desk.log"), "serve", "--port", str(port)]
    with (tmp_path / "serve.out").open("wb") as out:
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:

        def answering() -> bool:
            assert server.poll() is None, (tmp_path / "serve.out").read_text()
            with contextlib.suppress(OSError):
                return http_status(url) == 401
            return False

        wait_until("the server to answer", answering)
        yield url, state_dir, server
    finally:
        stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server (it closes every session: each desk quits, recording that it
    closed), then SIGKILL to whatever of its process group is left."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)


def queue_orders(state_dir: Path) -> dict[str, tuple[OrderStatus, str | None]]:
    """Order id → (status, approved_by) in the queue file."""
    return {o.order_id: (o.status, o.approved_by) for o in load_model(state_dir, QueueFile).orders}


def test_the_desk_in_a_real_browser(
    chromium: str, served_desk: tuple[str, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    url, state_dir, server = served_desk
    before = queue_orders(state_dir)
    staged = {oid for oid, (status, _) in before.items() if status is OrderStatus.STAGED}

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh user-data-dir
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        try:
            # The page asks for a Google font: nothing leaves this machine.
            browser.route(lambda u: not u.startswith(url), lambda route: route.abort())
            browser.add_init_script(SCREEN_HOOK)
            websockets: list[str] = []

            # A wrong token: no page, no websocket, no desk process.
            intruder = browser.new_page()
            intruder.on("websocket", lambda ws: websockets.append(ws.url))
            response = intruder.goto(f"{url}/?token={WRONG}")
            assert response is not None and response.status == 401
            assert "needs an access token" in intruder.inner_text("body")
            assert (
                http_status(f"{url}/ws", {**WS_HEADERS, "Authorization": f"Bearer {WRONG}"}) == 401
            )
            assert websockets == [] and desk_processes(state_dir) == []
            assert browser.cookies() == []
            intruder.close()

            # Alice's token: the page, then her desk.
            page = browser.new_page()
            page.on("websocket", lambda ws: websockets.append(ws.url))
            response = page.goto(f"{url}/?token={ALICE}")
            assert response is not None and response.status == 200
            assert "token" not in page.url  # traded for the cookie, out of the address bar
            (cookie,) = browser.cookies()
            assert cookie["name"] == SESSION_COOKIE and cookie["value"] != ALICE
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            page.wait_for_function(SHOWS, arg="Vaults", timeout=WAIT_MS)
            page.wait_for_function(SHOWS, arg="V_CORE", timeout=WAIT_MS)
            assert len(websockets) == 1
            (desk,) = desk_processes(state_dir)
            _, desk_argv, desk_environment = desk
            assert desk_argv[desk_argv.index("--operator") + 1] == "alice"
            assert not any(ALICE in part or BOB in part for part in desk_argv)
            assert (
                ALICE.encode() not in desk_environment
                and TOKEN_ENV.encode() not in desk_environment
            )

            # The queue pane (3), approve the order under the cursor (a), confirm (y).
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("3")
            page.keyboard.press("a")
            page.wait_for_function(SHOWS, arg="Cancel (n)", timeout=WAIT_MS)
            assert "Approve 1 order" in page.evaluate("window.__vantaScreen()")
            page.keyboard.press("y")

            def approved_by_alice() -> list[str]:
                return [
                    oid for oid, (status, by) in queue_orders(state_dir).items()
                    if oid in staged and status is OrderStatus.APPROVED and by == "alice"
                ]  # fmt: skip

            wait_until("an approval by alice in the queue file", lambda: bool(approved_by_alice()))
            page.wait_for_function(SHOWS, arg="approved 1 order", timeout=WAIT_MS)
            (order_id,) = approved_by_alice()

            # The server stopping closes the session: the desk quits, the page says so.
            server.send_signal(signal.SIGTERM)
            page.wait_for_function(
                "() => document.body.classList.contains('-closed')", timeout=WAIT_MS
            )
        finally:
            browser.close()
    stop(server)  # waits for the server to end (and kills whatever it left)

    assert desk_processes(state_dir) == []
    with Desk(state_dir, operator="auditor", read_only=True) as auditor:
        trail = "\n".join(auditor.audit_trail(order_id))
        words = [item.text for item in auditor.activity(ActivityFilter(actor="alice"))]
    assert "approved" in trail and "alice" in trail
    assert "alice opened the desk (served to 127.0.0.1)" in words
    assert any(text.startswith("alice approved") for text in words)
    assert "alice closed the desk" in words
    # No secret anywhere it could be read later: the journal, the log, the server's output.
    for path in [*state_dir.glob("vanta.db*"), tmp_path / "desk.log", tmp_path / "serve.out"]:
        data = path.read_bytes()
        assert ALICE.encode() not in data and BOB.encode() not in data, path
    assert "desk opened for alice from 127.0.0.1" in (tmp_path / "serve.out").read_text()
