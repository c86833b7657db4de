"""Who may open a served desk (`vanta-tui serve`): the access tokens, their check, the
browser sessions they open, and the Host and Origin a request may come with.

Plain standard library, no web server: `cli.serve_web` asks these questions of every
request, and the tests ask them directly.

The model (README, "Serving the desk"):

- ``VANTA_SERVE_TOKEN`` holds ``NAME:SECRET`` entries separated by commas. NAME is the
  operator every desk opened with that secret acts as; SECRET is at least `MIN_SECRET_CHARS`
  URL-safe characters (``python -c 'import secrets; print(secrets.token_urlsafe(32))'``).
  Only SHA-256 digests of the secrets are kept; a presented secret is compared with every
  entry in constant time, so neither the time taken nor an early exit says which is near.
- A secret is presented once, in the page's address (``?token=``) or an
  ``Authorization: Bearer`` header. The server answers with a fresh random session id in an
  HttpOnly, SameSite=Strict cookie and sends the browser on to the same address without the
  secret, so it stays neither in the address bar, the history, nor a Referer.
- No message here ever quotes a secret or a session id.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN_ENV = "VANTA_SERVE_TOKEN"
"""The environment variable with the access tokens (never a command-line option: a
process's arguments are visible to every user of the machine)."""
MIN_SECRET_CHARS = 32
"""The shortest secret accepted: 32 random URL-safe characters carry 192 bits."""
SESSION_COOKIE = "vanta_desk_session"
"""The cookie that carries a browser's session id (never the secret itself)."""
SESSION_TTL_S = 12 * 3600.0
"""How long a browser session lasts without presenting the secret again (a working day)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
"""An operator's name: it goes on every action and onto the desk's command line."""
_SECRET = re.compile(r"[A-Za-z0-9._~-]+")
"""URL-unreserved characters: the secret goes in an address and a header unchanged."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
"""The names a browser on this machine uses for a server bound to loopback."""


class TokenError(ValueError):
    """``VANTA_SERVE_TOKEN`` is malformed or too weak: fix it, then start again. The message
    names the entry by its position (and its name), never by its secret."""


@dataclass(frozen=True)
class Credential:
    """One ``NAME:SECRET`` entry, with only the digest of its secret."""

    operator: str
    digest: bytes


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def parse_tokens(text: str) -> tuple[Credential, ...]:
    """The entries of ``VANTA_SERVE_TOKEN`` (``NAME:SECRET[,NAME:SECRET...]``); TokenError for
    an empty list, an entry without a name, a name or secret with other characters, a secret
    shorter than `MIN_SECRET_CHARS`, or one secret given to two entries (who would it be?).
    One name may have several secrets (a new one given out before the old one is removed)."""
    entries = [entry.strip() for entry in text.split(",")]
    if entries == [""]:
        raise TokenError(f"{TOKEN_ENV} is empty")
    found: list[Credential] = []
    for number, entry in enumerate(entries, 1):
        name, colon, secret = entry.partition(":")
        where = f"{TOKEN_ENV}: entry {number}"
        if not entry:
            raise TokenError(f"{where} is empty (a comma too many?)")
        if not colon or not _NAME.fullmatch(name):
            raise TokenError(
                f"{where} is not NAME:SECRET with a name of 1-64 letters, digits, '.', '_', "
                "'@' or '-'"
            )
        if len(secret) < MIN_SECRET_CHARS:
            raise TokenError(
                f"{where} ({name}): the secret is shorter than {MIN_SECRET_CHARS} characters; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if not _SECRET.fullmatch(secret):
            raise TokenError(
                f"{where} ({name}): the secret may hold only letters, digits, '-', '_', '.' and '~'"
            )
        credential = Credential(name, _digest(secret))
        for other, earlier in enumerate(found, 1):
            if hmac.compare_digest(earlier.digest, credential.digest):
                raise TokenError(f"{TOKEN_ENV}: entries {other} and {number} have one secret")
        found.append(credential)
    return tuple(found)


class Access:
    """The credentials a served desk accepts and the browser sessions they opened (kept in
    memory: a restarted server asks every browser for its secret again)."""

    def __init__(
        self,
        credentials: Iterable[Credential],
        *,
        clock: Callable[[], float] = time.monotonic,
        session_ttl_s: float = SESSION_TTL_S,
    ) -> None:
        self.credentials = tuple(credentials)
        if not self.credentials:
            raise ValueError("Access needs at least one credential")
        self.clock = clock
        self.session_ttl_s = session_ttl_s
        self._sessions: dict[bytes, tuple[str, float]] = {}
        """Digest of a session id → (operator, when it expires)."""

    @property
    def operators(self) -> tuple[str, ...]:
        """The names that may open a desk, each once, in their order."""
        return tuple(dict.fromkeys(c.operator for c in self.credentials))

    def operator_for_secret(self, presented: str) -> str | None:
        """The operator whose secret this is, or None. Every entry is compared, in constant
        time, whatever matched before it."""
        digest = _digest(presented)
        found: str | None = None
        for credential in self.credentials:
            if hmac.compare_digest(digest, credential.digest):
                found = credential.operator
        return found

    def open_session(self, operator: str) -> str:
        """A new session id for ``operator``'s browser (for its cookie)."""
        now = self.clock()
        for key, (_, expires) in list(self._sessions.items()):
            if expires <= now:
                del self._sessions[key]
        session_id = secrets.token_urlsafe(32)
        self._sessions[_digest(session_id)] = (operator, now + self.session_ttl_s)
        return session_id

    def operator_for_session(self, session_id: str) -> str | None:
        """The operator of a live session, or None (unknown or expired). Sessions are found
        by the digest of their id, so no comparison runs on the id itself."""
        key = _digest(session_id)
        entry = self._sessions.get(key)
        if entry is None:
            return None
        operator, expires = entry
        if expires <= self.clock():
            del self._sessions[key]
            return None
        return operator


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer SECRET`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine only. Any other name
    counts as reachable from elsewhere: a name can resolve to anything."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def host_port(host: str, port: int) -> str:
    """``host:port`` as a browser writes it in a Host header (an IPv6 address in brackets)."""
    try:
        if ipaddress.ip_address(host.strip("[]")).version == 6:
            host = f"[{host.strip('[]')}]"
    except ValueError:
        pass
    return f"{host.lower()}:{port}"


def loopback_hosts(bind_host: str, port: int) -> frozenset[str]:
    """The Host headers a server on loopback answers without a token: the loopback names with
    its port. Any other (a name a web page rebound to 127.0.0.1) is refused, so that a page
    in the operator's browser cannot reach a desk that asks no token."""
    hosts = {host_port(name, port) for name in (*LOOPBACK_NAMES, bind_host)}
    if port == 80:
        hosts |= {name.lower() for name in (*LOOPBACK_NAMES, bind_host)}
    return frozenset(hosts)


def origin_allowed(origin: str | None, host: str | None, public_url: str | None) -> bool:
    """Whether a request's ``Origin`` is the desk's own page: the public address's origin
    when one is set, else the host the request went to (``null``, a sandboxed or local page,
    is neither). Browsers send one with every websocket and every request a script makes; a
    request without one is no script of another site's page."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    if public_url:
        public = urlsplit(public_url)
        return (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower())
    return host is not None and parts.netloc.lower() == host.lower()
