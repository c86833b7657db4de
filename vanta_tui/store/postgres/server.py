"""A PostgreSQL server of one's own in a directory: the tests' throwaway server, and the way
to try the multi-host mode on one machine (issue 25).

It runs the machine's own PostgreSQL programs (Debian's ``postgresql`` package:
``/usr/lib/postgresql/<version>/bin``; or ``$VANTA_PG_BINDIR``), listens on a Unix socket
in its directory only (no TCP port, nothing reachable from elsewhere), trusts the local
user it was made for, and is stopped with `stop` (``pg_ctl stop``, fast).

Why Debian's binaries and not a pip package that ships PostgreSQL or `pytest-postgresql`:
the binaries are the real server the multi-host mode will meet in production, installed
and updated by the system; `pytest-postgresql` needs them too (it only drives
``pg_ctl``), and what it adds (a fixture factory) is a dozen lines here that the desk's own
command shares with the tests.

PostgreSQL refuses to run as root. As root (CI), the server's files belong to, and its
programs run as, an unprivileged user: ``$VANTA_PG_OS_USER``, else the Debian package's
``postgres`` user, else ``nobody``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROLE = "vanta"
"""The database superuser the server is made with (trusted on its socket)."""
DATABASE = "postgres"
"""The database the URL names (made by initdb)."""
START_WAIT_S = 60
"""How long `start` waits for the server to accept connections."""


class ServerProgramsMissing(RuntimeError):
    """No PostgreSQL server programs on this machine."""


def find_bindir() -> Path:
    """Where ``initdb``, ``pg_ctl`` and ``postgres`` are: ``$VANTA_PG_BINDIR``, else the
    newest ``/usr/lib/postgresql/<version>/bin``, else the directory of ``initdb`` on the
    PATH. Raises `ServerProgramsMissing` naming what to install."""
    given = os.environ.get("VANTA_PG_BINDIR")
    candidates: list[Path] = [Path(given)] if given else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if re.fullmatch(r"\d+(\.\d+)?", p.name)]
        versions.sort(key=lambda p: tuple(int(n) for n in p.name.split(".")), reverse=True)
        candidates += [p / "bin" for p in versions]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise ServerProgramsMissing(
        "PostgreSQL's server programs (initdb, pg_ctl, postgres) were not found: install "
        "Debian's postgresql package (apt-get install postgresql) or set VANTA_PG_BINDIR"
    )


def server_os_user() -> pwd.struct_passwd | None:
    """The user the server runs as when this process is root (None when it is not: the
    server runs as this user)."""
    if os.geteuid() != 0:
        return None
    names = [os.environ.get("VANTA_PG_OS_USER") or "", "postgres", "nobody"]
    for name in filter(None, names):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServerProgramsMissing("running as root and no unprivileged user to run PostgreSQL as")


def _server_env() -> dict[str, str]:
    """What the server's programs are given of the environment: the path and the locale,
    not this process's secrets (broker keys: a server run as another user could read them
    through /proc)."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "TZ", "TMPDIR"}}
    return {**keep, "LC_ALL": "C.UTF-8"}


@dataclass
class LocalServer:
    """A server whose data, socket and log live in ``root`` (made if missing)."""

    root: Path

    def __post_init__(self) -> None:
        self.bindir = find_bindir()
        self.os_user = server_os_user()

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """The connection URL (libpq's form; the socket's directory as the host)."""
        return f"postgresql://{ROLE}@/{DATABASE}?host={self.socket_dir}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        user = self.os_user
        done = subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            check=False,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            cwd=self.root,
            env=_server_env(),
        )
        if done.returncode != 0:
            said = done.stderr.strip() or done.stdout
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(f"{argv[0]} failed (exit {done.returncode}): {said}\n{log}")
        return done

    def _check_reachable(self) -> None:
        """As root, the server's user must be able to reach ``root``: each directory above
        it searchable by that user (a temp directory made by root with mode 0700 is not)."""
        user = self.os_user
        if user is None:
            return
        for parent in self.root.resolve().parents:
            info = parent.stat()
            if info.st_uid == user.pw_uid:
                ok = info.st_mode & 0o100
            elif info.st_gid == user.pw_gid:
                ok = info.st_mode & 0o010
            else:
                ok = info.st_mode & 0o001
            if not ok:
                raise PermissionError(
                    f"{parent} cannot be searched by {user.pw_name}, the user PostgreSQL runs "
                    f"as: put the server's directory elsewhere (under /tmp, say)"
                )

    def _check_owner(self, path: Path) -> None:
        """A directory that exists already is the server's own or this user's: not one
        another local user made for the server to run in (a socket they could reach)."""
        if not path.exists():
            return
        info = path.lstat()
        owners = {os.geteuid()} | ({self.os_user.pw_uid} if self.os_user else set())
        if info.st_uid not in owners or info.st_mode & 0o022:
            raise PermissionError(
                f"{path} belongs to another user or others may write it: give the server a "
                "directory of its own"
            )

    def _own(self, path: Path) -> None:
        if self.os_user is not None:
            os.chown(path, self.os_user.pw_uid, self.os_user.pw_gid)

    def start(self) -> str:
        """Make the server's files if they are missing, start it, wait until it accepts
        connections; its URL."""
        self._check_reachable()
        for path in (self.root, self.data_dir, self.socket_dir):
            self._check_owner(path)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._own(self.root)
        if not (self.data_dir / "PG_VERSION").is_file():
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", ROLE, "--auth=trust",
                "--encoding=UTF8", "--no-instructions",
            )  # fmt: skip
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._own(self.socket_dir)
        options = " ".join(
            [
                f"-k {self.socket_dir}",
                "-c listen_addresses=''",
                "-c unix_socket_permissions=0700",  # its user's (and root's) only
                "-c max_connections=200",
            ]
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options,
            "-w", "-t", str(START_WAIT_S), "start",
        )  # fmt: skip
        return self.url

    def database(self, name: str, url: str | None = None) -> str:
        """The URL of database ``name`` on this (running) server, made if missing."""
        import psycopg

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
        base = url or self.url
        with psycopg.connect(base, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(f"CREATE DATABASE {name}")
        return base.replace(f"/{DATABASE}?", f"/{name}?", 1)

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended); nothing when it does not run."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def server_pid(self) -> int | None:
        """The postmaster's process id, from its pid file (None when it does not run)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
