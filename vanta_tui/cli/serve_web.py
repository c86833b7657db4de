"""The web server behind `vanta-tui serve`: textual-serve's `Server`, changed in four small,
documented places (`textual_serve/server.py`, 1.1.3, is the rest):

- `DeskServer.guard`, a middleware, answers a request (the page, the websocket upgrade,
  static files, downloads) only from a browser with access (`cli.serve_access`): a refused
  one gets 401 or 403 before any websocket or desk process exists;
- `DeskServer.handle_websocket` starts each session's desk with its own command line (its
  operator and the browser's address, `ServePlan.desk_command`) where textual-serve runs
  one command for all, and its environment without ``VANTA_SERVE_TOKEN`` (`DeskService`);
- `DeskServer.handle_index` points the page at the websocket on the address the browser
  used (or ``--public-url``), so the session cookie goes with it;
- `DeskServer._make_app` adds `guard` and turns off aiohttp's access log, which writes
  query strings (``?token=…``): `guard` logs each request without its query.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from vanta_tui.cli.serve_access import (
    SESSION_COOKIE,
    TOKEN_ENV,
    bearer_secret,
    loopback_hosts,
    origin_allowed,
)
from vanta_tui.cli.serve_cmd import UNKNOWN_ADDRESS

if TYPE_CHECKING:
    from vanta_tui.cli.serve_cmd import ServePlan

log = logging.getLogger(__name__)

OPERATOR: web.RequestKey[str | None] = web.RequestKey("vanta.operator")
"""The request's key for the operator `guard` admitted (None: the desk's default)."""
TOKEN_PARAM = "token"
"""The page's query parameter that presents a secret once."""
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
"""On every answer: nothing cached, no Referer sent on, not framed by another page."""
NEEDS_TOKEN = (
    "401: this desk needs an access token: open the address with ?token=SECRET "
    f"(an entry of {TOKEN_ENV}) or send Authorization: Bearer SECRET\n"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DeskService(AppService):
    """One session's desk process: textual-serve's, without the access tokens in its
    environment (the server removed them from its own already; this holds if it did not)."""

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment.pop(TOKEN_ENV, None)
        return environment


class DeskServer(Server):
    """textual-serve's server for the desk of one state directory (see the module)."""

    def __init__(self, plan: ServePlan) -> None:
        super().__init__(
            "vanta-tui", host=plan.host, port=plan.port, title="VANTA desk",
            public_url=plan.public_url,
        )  # fmt: skip
        self.plan = plan
        self.sessions: set[web.WebSocketResponse] = set()
        """The websockets with a desk behind them (closed when the server stops)."""
        self.allowed_hosts = None if plan.access else loopback_hosts(plan.host, plan.port)
        """Without tokens, the Host headers answered (a page that rebinds its own name to
        127.0.0.1 gets none); with tokens, the token is the check."""
        self.secure_cookie = (plan.public_url or "").startswith("https:")

    # ------------------------------------------------------------------ textual-serve hooks

    def initialize_logging(self) -> None:
        """The operator's terminal shows this module's lines; the log file (`cli.main`) gets
        them too."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)

    async def _make_app(self) -> web.Application:
        # aiohttp's access log (on in `web.run_app`) would write ``?token=`` secrets: off in
        # this process; `guard` logs each request without its query string instead.
        logging.getLogger("aiohttp.access").disabled = True
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        plan = self.plan
        who = (
            f"tokens for {', '.join(plan.access.operators)}"
            if plan.access
            else f"no token: anyone on this machine opens a desk as "
            f"{plan.operator or 'the default operator'}"
        )
        mode = " · read-only" if plan.read_only else ""
        log.info("serving the desk of %s on %s (%s%s)", plan.state_dir, plan.url, who, mode)
        if plan.public and not self.secure_cookie:
            log.warning(
                "warning: tokens and session cookies cross the network in clear text: put a "
                "TLS proxy in front (--public-url https://...)"
            )

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every session: its desk quits (recording that it closed)."""
        for websocket in list(self.sessions):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """textual-serve's page, its addresses on the origin the browser used (or
        ``--public-url``): a cookie set for ``localhost`` is not sent to ``127.0.0.1``."""
        base = self.plan.public_url or f"http://{request.host}"
        scheme, _, rest = base.partition(":")
        websocket = ("wss:" if scheme == "https" else "ws:") + rest + "/ws"
        return {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": websocket,
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's, with this session's desk command and environment (`DeskService`)."""
        operator = request[OPERATOR]
        remote = request.remote or UNKNOWN_ADDRESS
        command = shlex.join(self.plan.desk_command(operator, remote))
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        who = f"{operator or 'the default operator'} from {remote}"
        service: DeskService | None = None

        async def close() -> None:  # the desk ended (quit): the browser shows "Session ended"
            await websocket.close()

        try:
            await websocket.prepare(request)
            self.sessions.add(websocket)
            service = DeskService(
                command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            log.info("desk opened for %s", who)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("the desk session of %s failed", who)
        finally:
            self.sessions.discard(websocket)
            if service is not None:
                await service.stop()
                log.info("desk closed for %s", who)
        return websocket

    # ------------------------------------------------------------------ access

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Admit the request (setting its `OPERATOR`) or refuse it (401, 403); trade a
        secret in the page's address for a session cookie (303 to the address without it)."""
        if self.allowed_hosts is not None and request.host.lower() not in self.allowed_hosts:
            return self._refuse(request, 403, "a Host this server does not answer to")
        # Browsers send an Origin with every websocket (and every request a script makes):
        # one from another site's page is refused, whatever cookie the browser sends along.
        if not origin_allowed(request.headers.get("Origin"), request.host, self.plan.public_url):
            return self._refuse(request, 403, "a request from another site's page")
        access = self.plan.access
        if access is None:
            request[OPERATOR] = self.plan.operator
            return await self._answer(request, handler)
        secret = bearer_secret(request.headers.get("Authorization"))
        in_address = secret is None and request.path == "/" and TOKEN_PARAM in request.query
        if in_address:
            secret = request.query[TOKEN_PARAM]
        if secret is not None:
            operator = access.operator_for_secret(secret)
            if operator is None:
                return self._refuse(request, 401, "a wrong token")
            if in_address:
                return self._start_session(request, operator)
        else:
            session = request.cookies.get(SESSION_COOKIE)
            operator = access.operator_for_session(session) if session else None
            if operator is None:
                return self._refuse(request, 401, "no token and no valid session")
        request[OPERATOR] = operator
        return await self._answer(request, handler)

    def _start_session(self, request: web.Request, operator: str) -> web.Response:
        """The secret from the page's address traded for a session cookie, and the browser
        sent on to the address without it (out of the address bar, history and Referers)."""
        assert self.plan.access is not None
        response = web.Response(status=303, headers=PAGE_HEADERS)
        response.headers["Location"] = str(request.rel_url.without_query_params(TOKEN_PARAM))
        response.set_cookie(
            SESSION_COOKIE,
            self.plan.access.open_session(operator),
            max_age=int(self.plan.access.session_ttl_s),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookie,
        )
        log.info("session started for %s from %s", operator, request.remote)
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:  # a websocket has sent its headers already
            response.headers.update(PAGE_HEADERS)
        # The page at INFO; a session's opening and closing are logged by `handle_websocket`.
        level = logging.INFO if request.path == "/" else logging.DEBUG
        log.log(level, "%s %s %d from %s", request.method, request.path, response.status,
                request.remote)  # fmt: skip
        return response

    def _refuse(self, request: web.Request, status: int, why: str) -> web.Response:
        """401 or 403, before any desk or websocket; the log says why, never with what."""
        log.warning("refused %s %s from %s: %s", request.method, request.path, request.remote, why)
        headers = dict(PAGE_HEADERS)
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="VANTA desk"'
            return web.Response(status=401, text=NEEDS_TOKEN, headers=headers)
        return web.Response(status=403, text=f"403: refused: {why}\n", headers=headers)
