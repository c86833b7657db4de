"""A desk whose terminal goes away, or that is told to stop, closes cleanly: its executor
stops after the cycle in flight and gives back the lease, the journal says why, the
process ends (`vanta_tui.ui.hangup`). Real desk processes on a real pseudo-terminal: its
master closed is a terminal window shut, an ssh link dropped, `tmux kill-session`."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vanta_tui.actions.activity import ActivityFilter
from vanta_tui.desk import Desk
from vanta_tui.store.lease_info import lease_held

WAIT_S = 60.0

LEADER = r"""
import os, signal, subprocess, sys
tty, mode, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
fd = os.open(tty, os.O_RDWR)  # a session leader's first terminal: its controlling one
for n in (0, 1, 2):
    os.dup2(fd, n)
if mode == "exec":  # the desk leads the session: the hang-up's SIGHUP is its own
    os.execv(argv[0], argv)
# As `make run` does: the leader keeps the SIGHUP and waits for its child, which gets none.
signal.signal(signal.SIGHUP, lambda *_: None)
sys.exit(subprocess.call(argv))
"""


class Terminal:
    """A pseudo-terminal (120×40) whose master this test holds and reads all along (a
    full one would stop the desk's writes); `hang_up` closes it."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        fcntl.ioctl(self._slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.slave_name = os.ttyname(self._slave)
        # The slave stays open here too: a master without one reads as an error (EIO).
        self.seen = bytearray()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closing.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.seen += data

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def hang_up(self) -> None:
        """Close the master for good: the reader stops first (a read in progress would
        hold the master open, and the terminal would hang up only when it returned)."""
        self._closing.set()
        self._reader.join(5)
        os.close(self.master)
        os.close(self._slave)


def _env(tmp_path: Path) -> dict[str, str]:
    settings = tmp_path / "settings.toml"
    settings.write_text("first_run_done = true\n", encoding="utf-8")
    return {
        **os.environ,
        "TERM": "xterm-256color",
        "VANTA_DESK_CONFIG": str(settings),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


def _wait(what: str, done: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _desk_words(state_dir: Path) -> list[str]:
    with Desk(state_dir, operator="auditor", read_only=True) as auditor:
        return [item.text for item in auditor.activity(ActivityFilter())]


def _opened(state_dir: Path) -> bool:
    """The desk recorded that it opened: read with sqlite3 alone (no `Desk` here while the
    terminal lives: opening one looks up the keyring, whose helpers this process could
    fork, and a forked child would hold the terminal's master open past its close)."""
    import sqlite3

    db = state_dir / "vanta.db"
    if not db.exists():
        return False
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT 1 FROM events WHERE action = 'desk.opened'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None


@pytest.fixture
def desk_on_terminal(
    state_dir: Path, tmp_path: Path
) -> Iterator[Callable[[str], tuple[subprocess.Popen[bytes], Terminal]]]:
    """Starts a real desk (`vanta-tui --state-dir …`, its executor running) on a fresh
    pseudo-terminal, as the session's leader ("exec") or as the child of one that keeps
    the SIGHUP ("child"); waits until the desk opened and its executor holds the lease.
    Whatever is left is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(mode: str) -> tuple[subprocess.Popen[bytes], Terminal]:
        terminal = Terminal()
        desk = [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir)]
        desk += ["--operator", "olivia", "--log", str(tmp_path / "desk.log")]
        process = subprocess.Popen(
            [sys.executable, "-c", LEADER, terminal.slave_name, mode, *desk],
            env=_env(tmp_path),
            start_new_session=True,  # its own session, to which the terminal belongs
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)

        def ready() -> bool:
            assert process.poll() is None, bytes(terminal.seen)[-2000:]
            return _opened(state_dir) and lease_held(state_dir)

        _wait("the desk to open with its executor holding the lease", ready)
        return process, terminal

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _diagnose(pid: int) -> str:
    """What a desk that did not close was doing: its signal masks, its descriptors, and
    which processes hold a pseudo-terminal master (one still open keeps the terminal up)."""
    lines = []
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        lines += [x for x in status if x.startswith(("State", "SigIgn", "SigCgt", "SigBlk"))]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target in ("/dev/ptmx", "/dev/pts/ptmx") or target.startswith("/dev/pts/"):
                        cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")[:120]
                        lines.append(f"{proc.name} fd {fd.name} -> {target}: {cmd!r}")
    return "\n".join(lines)


def _closed_cleanly(state_dir: Path, process: subprocess.Popen[bytes], why: str) -> int:
    """The desk's process ended; its executor gave back the lease; the journal says the
    desk closed and why, and still verifies. The exit code."""
    try:
        code = process.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        print(_diagnose(process.pid))
        raise
    assert not lease_held(state_dir)
    words = _desk_words(state_dir)
    assert f"olivia closed the desk: {why}" in words, words[:5]
    with Desk(state_dir, operator="auditor", read_only=True) as auditor:
        assert auditor.verify_journal().ok
    return code


def test_a_desk_whose_terminal_hangs_up_closes_and_gives_back_the_lease(
    desk_on_terminal: Callable[[str], tuple[subprocess.Popen[bytes], Terminal]], state_dir: Path
) -> None:
    desk, terminal = desk_on_terminal("exec")
    terminal.hang_up()  # the kernel sends SIGHUP to the session's leader: the desk
    code = _closed_cleanly(state_dir, desk, "its terminal hung up (SIGHUP)")
    assert code == 128 + signal.SIGHUP


def test_a_desk_whose_terminal_goes_away_without_a_sighup_closes_too(
    desk_on_terminal: Callable[[str], tuple[subprocess.Popen[bytes], Terminal]], state_dir: Path
) -> None:
    """`make run` in a terminal that closes: make leads the session and keeps the SIGHUP,
    waiting for the desk. The desk only sees its terminal gone; it used to run on unseen,
    its executor sending and holding the lease, spinning a CPU on the dead terminal."""
    leader, terminal = desk_on_terminal("child")
    terminal.hang_up()
    code = _closed_cleanly(state_dir, leader, "its terminal went away")
    assert code == 128 + signal.SIGHUP  # the leader passes on the desk's code


def test_sigterm_closes_the_desk_and_gives_the_terminal_back(
    desk_on_terminal: Callable[[str], tuple[subprocess.Popen[bytes], Terminal]], state_dir: Path
) -> None:
    desk, terminal = desk_on_terminal("exec")
    desk.send_signal(signal.SIGTERM)
    code = _closed_cleanly(state_dir, desk, "it was told to stop (SIGTERM)")
    assert code == 128 + signal.SIGTERM
    # The terminal is left as it was found: the alternate screen left, the cursor shown.
    tail = bytes(terminal.seen)[-400:]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail
    terminal.hang_up()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_the_headless_executor_stops_after_its_cycle_on_a_signal(
    state_dir: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    executor = subprocess.Popen(
        [sys.executable, "-m", "vanta_tui", "--state-dir", str(state_dir), "executor"],
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait("the executor to hold the lease", lambda: lease_held(state_dir))
        executor.send_signal(stop)
        out, err = executor.communicate(timeout=WAIT_S)
    finally:
        if executor.poll() is None:
            os.killpg(executor.pid, signal.SIGKILL)
            executor.wait(timeout=10)
    assert executor.returncode == 0, out.decode() + err.decode()
    assert f"executor: stopped by {stop.name}" in err.decode()
    assert not lease_held(state_dir)


async def test_closing_waits_for_the_executor_cycle_in_flight(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk closes (a hang-up, SIGTERM, `q`) while its executor is in the middle of a
    send: the close waits for that cycle, whose send completes and is recorded, and only
    then records that the desk closed. (Textual cancels its workers before the desk's
    unmount, which marks them finished while their threads still run: waiting on them
    waited for nothing.)"""
    import sqlite3

    from ui_helpers import make_app, wait_for

    from vanta_tui.brokers.paper import PaperBroker

    sending = threading.Event()
    real = PaperBroker.submit

    def slow(self: PaperBroker, request: object) -> object:
        sending.set()
        time.sleep(1.5)  # a broker answering slowly: the close comes meanwhile
        return real(self, request)  # type: ignore[arg-type]

    monkeypatch.setattr(PaperBroker, "submit", slow)
    app = make_app(state_dir, executor=True, executor_paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, sending.is_set, timeout=60)
        app.stop_now("it was told to stop (SIGTERM)", 143)
    conn = sqlite3.connect(state_dir / "vanta.db")
    try:
        actions = [a for (a,) in conn.execute("SELECT action FROM events ORDER BY seq")]
    finally:
        conn.close()
    # The send's answer was recorded before the close, and nothing after it.
    marked = max(i for i, a in enumerate(actions) if a == "order.submitting")
    answers = {"order.submitted", "order.filled", "order.partially_filled"}
    assert answers & set(actions[marked:]), actions[marked:]
    assert actions[-1] == "desk.closed", actions[-6:]
