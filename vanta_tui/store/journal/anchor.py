"""Anchors of the journal's head outside the two sinks: signed checkpoints and the head check.

The hash chain proves that nothing was changed *inside* the history it covers, not that
the history was not cut short or rewritten whole (anyone can recompute sha256). Two things
anchor it further:

- ``trade_log.head`` (the latest seq and hash) and ``trade_log.checkpoints``: a journal
  whose chain is behind either of them, or disagrees with them, refuses to write
  (`Journal.problem`) until an operator runs the audited ``audit repair``;
- signed checkpoints: every `CHECKPOINT_EVERY` events and whenever a journal that wrote
  closes, a line ``{seq, hash, ts, key_id, prev, mac}`` with ``mac`` = HMAC-SHA256 over the
  rest, under a key that is never on disk beside the journal (``VANTA_AUDIT_KEY``, else the
  keyring: service ``vanta-desk``, user ``audit:hmac_key``). Each checkpoint names the mac
  of the one before it, so none can be dropped from the middle. Whoever holds the key can
  tell a history rewritten with recomputed hashes from the real one.

Removing the checkpoints does not take the key's proof away: the latest checkpoint's seq and
mac are also kept in ``vanta.db`` (``meta``, `TRACE_META`), so a checkpoint file removed or
cut short is seen, and with a key a chain may not run more than `unsigned_limit` events past
its last valid checkpoint (more than a crash can leave). Both refuse writes and fail
``audit verify`` until the audited ``audit repair``. What no inside anchor can catch is the
newest events removed together with their checkpoints, the head and that trace: for that,
keep ``audit anchor`` outside the machine (``audit verify --expect-head``).

The journal reads only the last line of the checkpoint file (`last_checkpoint`, from the
end, cached by inode, size and mtime), so an action costs the same however long it grows.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vanta_tui.core.codec import dumps_canonical, parse_json
from vanta_tui.core.secrets import remember as remember_secret

log = logging.getLogger(__name__)

CHECKPOINTS_NAME = "trade_log.checkpoints"
AUDIT_KEY_ENV = "VANTA_AUDIT_KEY"
KEYRING_SERVICE = "vanta-desk"
KEYRING_USER = "audit:hmac_key"
CHECKPOINT_EVERY = 256
"""A signed checkpoint at least this often (in events), and at every close."""
TRACE_META = "checkpoint.last"
"""``meta`` key in vanta.db: ``{"seq", "mac"}`` of the latest checkpoint written."""


def unsigned_limit(every: int) -> int:
    """The most events a crash can leave past the last checkpoint, with a key: one interval
    (a writer signs when `every` have passed) plus one batch in flight (a batch is appended
    whole before the checkpoint after it). More is not explained by a crash."""
    return 2 * every


def audit_key() -> bytes | None:
    """The signing key: ``$VANTA_AUDIT_KEY``, else the keyring; None when neither has one."""
    value = os.environ.get(AUDIT_KEY_ENV)
    if value:
        remember_secret(value)  # scrubbed by value from every text the desk writes
        return value.encode("utf-8")
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception as exc:  # no backend, a locked store...
        log.info("keyring unavailable for the audit key: %s", type(exc).__name__)
        return None
    remember_secret(stored)
    return stored.encode("utf-8") if stored else None


def key_id(key: bytes) -> str:
    """A short name of a key that does not reveal it (to tell "another key" from "altered")."""
    return hmac.new(key, b"vanta-audit-key-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    number: int
    """1-based line number in the checkpoint file."""
    seq: int
    hash: str
    ts: str
    key_id: str
    prev: str
    mac: str

    def signed_text(self) -> bytes:
        body = {"seq": self.seq, "hash": self.hash, "ts": self.ts, "key_id": self.key_id,
                "prev": self.prev}  # fmt: skip
        return dumps_canonical(body).encode("utf-8")

    def valid_under(self, key: bytes) -> bool:
        expected = hmac.new(key, self.signed_text(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.mac)


def make_checkpoint(
    number: int, seq: int, digest: str, ts: str, key: bytes, prev: str
) -> Checkpoint:
    unsigned = Checkpoint(number, seq, digest, ts, key_id(key), prev, "")
    mac = hmac.new(key, unsigned.signed_text(), hashlib.sha256).hexdigest()
    return Checkpoint(number, seq, digest, ts, unsigned.key_id, prev, mac)


def _parse(number: int, line: bytes) -> Checkpoint | None:
    try:
        data = parse_json(line.decode("utf-8"))
        return Checkpoint(
            number, int(data["seq"]), str(data["hash"]), str(data["ts"]), str(data["key_id"]),
            str(data["prev"]), str(data["mac"]),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def read_checkpoints(path: Path) -> list[Checkpoint | None]:
    """Every complete line of the checkpoint file (None for one that does not parse)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    return [_parse(n, line) for n, line in enumerate(lines[:-1], start=1)]


_Stamp = tuple[int, int, int]
_TAIL_CACHE: dict[str, tuple[_Stamp, tuple[bool, Checkpoint | None]]] = {}
"""Per path: (inode, size, mtime_ns) and what `last_checkpoint` found in that file."""


def _stamp(info: os.stat_result) -> _Stamp:
    return info.st_ino, info.st_size, info.st_mtime_ns


def _read_at(fd: int, offset: int, length: int) -> bytes:
    """Every read of the checkpoint file by `last_checkpoint` (one place to count them)."""
    return os.pread(fd, length, offset)


def last_checkpoint(path: Path) -> tuple[bool, Checkpoint | None]:
    """(whether the file has a complete line, the last complete line parsed, or None if it
    does not parse). Reads from the end only as far as the line before the last newline,
    and nothing at all when the file's inode, size and mtime are those of the last call.
    Its ``number`` is 0 (unknown: counting lines would mean reading the whole file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        _TAIL_CACHE.pop(str(path), None)
        return False, None
    try:
        stamp = _stamp(os.fstat(fd))
        cached = _TAIL_CACHE.get(str(path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        found = _read_last_line(fd, stamp[1])
    finally:
        os.close(fd)
    _TAIL_CACHE[str(path)] = (stamp, found)
    return found


def _read_last_line(fd: int, size: int) -> tuple[bool, Checkpoint | None]:
    want = 1024
    while True:
        start = max(0, size - want)
        data = _read_at(fd, start, size - start)
        last_nl = data.rfind(b"\n")  # bytes after it are a torn write, not a line
        if last_nl < 0:
            if start == 0:
                return False, None
            want *= 2
            continue
        prev_nl = data.rfind(b"\n", 0, last_nl)
        if prev_nl < 0 and start > 0:
            want *= 2
            continue
        return True, _parse(0, data[prev_nl + 1 : last_nl])


def checkpoint_line(checkpoint: Checkpoint) -> str:
    return dumps_canonical(
        {"seq": checkpoint.seq, "hash": checkpoint.hash, "ts": checkpoint.ts,
         "key_id": checkpoint.key_id, "prev": checkpoint.prev, "mac": checkpoint.mac}
    )  # fmt: skip


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    write_checkpoints(path, [checkpoint], append=True)


def write_checkpoints(path: Path, checkpoints: Sequence[Checkpoint], *, append: bool) -> None:
    """Append (or write anew) checkpoint lines in one write, fsynced; the tail cache learns
    the new last line, so the next `last_checkpoint` reads nothing."""
    data = "".join(checkpoint_line(cp) + "\n" for cp in checkpoints).encode("utf-8")
    mode = os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | mode, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
        if checkpoints:
            _TAIL_CACHE[str(path)] = (_stamp(os.fstat(fd)), (True, checkpoints[-1]))
        else:
            _TAIL_CACHE.pop(str(path), None)
    finally:
        os.close(fd)


def trace_text(checkpoint: Checkpoint) -> str:
    """What `TRACE_META` holds for ``checkpoint``."""
    return dumps_canonical({"seq": checkpoint.seq, "mac": checkpoint.mac})


def read_trace(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """(seq, mac) of the latest checkpoint as vanta.db recorded it, or None."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [TRACE_META]).fetchone()
    if row is None:
        return None
    try:
        data = parse_json(str(row[0]))
        return int(data["seq"]), str(data["mac"])
    except (ValueError, KeyError, TypeError):
        return -1, ""  # unreadable: no checkpoint can match it


@dataclass(frozen=True)
class IntegrityProblem:
    """Why a journal refuses to write: its chain is behind, or disagrees with, an anchor."""

    kind: str
    """``truncated``, ``rollback``, ``rewritten``, ``head``, ``checkpoint`` or ``unsigned``."""
    message: str

    def __str__(self) -> str:
        return (
            f"journal integrity: {self.message}. The journal refuses to write and leaves the "
            "evidence as it is; check with 'vanta-tui audit verify', then an operator may "
            "accept it with 'vanta-tui audit repair --reason TEXT' (audited)"
        )


def check_checkpoints(
    checkpoints: Sequence[Checkpoint | None],
    chain_length: int,
    hashes: Sequence[str],
    key: bytes | None,
) -> tuple[str | None, int | None, int]:
    """Check checkpoints against a chain: (what is wrong or None, the seq it concerns,
    the seq the signed history reaches). ``hashes[seq - 1]`` is the chain's hash at seq."""
    _, wrong, seq, signed_through = _first_bad(checkpoints, chain_length, hashes, key)
    return wrong, seq, signed_through


def valid_prefix(
    checkpoints: Sequence[Checkpoint | None],
    chain_length: int,
    hashes: Sequence[str],
    key: bytes | None,
) -> list[Checkpoint]:
    """The checkpoints before the first that does not hold for this chain (for a repair to
    keep, so the signed chain goes on from the last of them)."""
    index = _first_bad(checkpoints, chain_length, hashes, key)[0]
    return [cp for cp in checkpoints[:index] if cp is not None]


def _first_bad(
    checkpoints: Sequence[Checkpoint | None],
    chain_length: int,
    hashes: Sequence[str],
    key: bytes | None,
) -> tuple[int, str | None, int | None, int]:
    """(index of the first checkpoint that does not hold, or their number; what is wrong;
    the seq it concerns; the seq the signed checkpoints before it reach)."""
    prev = ""
    signed_through = 0
    mine = key_id(key) if key is not None else None
    for index, cp in enumerate(checkpoints, start=1):
        wrong, seq = _wrong(index, cp, chain_length, hashes, key, mine, prev)
        if wrong is not None:
            return index - 1, wrong, seq, signed_through
        assert cp is not None
        if key is not None:
            signed_through = cp.seq
        prev = cp.mac
    return len(checkpoints), None, None, signed_through


def _wrong(
    index: int,
    cp: Checkpoint | None,
    chain_length: int,
    hashes: Sequence[str],
    key: bytes | None,
    mine: str | None,
    prev: str,
) -> tuple[str | None, int | None]:
    if cp is None:
        return f"checkpoint {index} does not parse", None
    if cp.seq > chain_length:
        return (
            f"checkpoint {cp.number} records seq {cp.seq} ({cp.hash[:12]}…) but the chain "
            f"ends at seq {chain_length}: events were removed",
            cp.seq,
        )
    if hashes[cp.seq - 1] != cp.hash:
        return (
            f"checkpoint {cp.number} (seq {cp.seq}) records hash {cp.hash[:12]}… but the "
            f"chain has {hashes[cp.seq - 1][:12]}… there: history was rewritten",
            cp.seq,
        )
    if key is not None:
        if cp.prev != prev:
            return (
                f"checkpoint {cp.number} (seq {cp.seq}) does not follow the one before it: "
                "a checkpoint was removed or reordered",
                cp.seq,
            )
        if cp.key_id != mine:
            return (
                f"checkpoint {cp.number} (seq {cp.seq}) was signed with another key "
                f"({cp.key_id}, this key is {mine})",
                cp.seq,
            )
        if not cp.valid_under(key):
            return (
                f"checkpoint {cp.number} (seq {cp.seq}): its signature does not match: "
                "the checkpoint was altered",
                cp.seq,
            )
    return None, None


def check_tail(
    path: Path,
    db_seq: int,
    hash_at: Callable[[int], str | None],
    key: bytes | None,
    trace: tuple[int, str] | None,
    limit: int,
    *,
    rolled_back: str | None,
) -> IntegrityProblem | None:
    """The last checkpoint (read from the end of the file only) and vanta.db's trace of it
    against the chain, which ends at ``db_seq``: what a journal checks before every write.
    ``rolled_back`` says why, if trade_log.jsonl is ahead of vanta.db (a rollback)."""
    present, last = last_checkpoint(path)
    if present and last is None:
        return IntegrityProblem("checkpoint", f"the last line of {CHECKPOINTS_NAME} does not read")
    if last is not None and last.seq > db_seq:
        kind = "rollback" if rolled_back else "truncated"
        return IntegrityProblem(
            kind,
            f"the last checkpoint records seq {last.seq} but the chain in vanta.db ends at seq "
            f"{db_seq}: " + (rolled_back or "events were removed from the end"),
        )
    if last is not None and hash_at(last.seq) != last.hash:
        return IntegrityProblem(
            "rewritten",
            f"the last checkpoint records hash {last.hash[:12]}… at seq {last.seq} but the "
            "chain has another there: history was rewritten",
        )
    if key is not None and last is not None and not last.valid_under(key):
        return IntegrityProblem(
            "checkpoint",
            f"the last checkpoint (seq {last.seq}) is not signed by this key: altered, or "
            "written with another key",
        )
    missing = _trace_missing(trace, last)
    if missing is not None:
        return IntegrityProblem("checkpoint", missing)
    signed = last.seq if last is not None else 0
    if key is not None and db_seq - signed > limit:
        return IntegrityProblem("unsigned", _unsigned_message(signed, db_seq, limit))
    return None


def _trace_missing(trace: tuple[int, str] | None, last: Checkpoint | None) -> str | None:
    """What is wrong when the file's last checkpoint is behind vanta.db's trace of it (a
    writer records the trace after the line, so the file may be ahead, never behind)."""
    if trace is None:
        return None
    seq, mac = trace
    if last is None:
        return (
            f"vanta.db records a signed checkpoint at seq {seq}, but {CHECKPOINTS_NAME} is "
            "missing or empty: the checkpoints were removed"
        )
    if last.seq < seq or (last.seq == seq and last.mac != mac):
        return (
            f"vanta.db records a signed checkpoint at seq {seq}, but the last one in "
            f"{CHECKPOINTS_NAME} is at seq {last.seq}"
            + ("" if last.seq < seq else " with another signature")
            + ": checkpoints were removed or replaced"
        )
    return None


def trace_missing_from(trace: tuple[int, str] | None, macs: Sequence[str]) -> str | None:
    """For `audit verify`, which reads every checkpoint: the trace must name one of them."""
    if trace is None or trace[1] in macs:
        return None
    if not macs:
        return _trace_missing(trace, None)
    return (
        f"vanta.db records a signed checkpoint at seq {trace[0]} that {CHECKPOINTS_NAME} does "
        "not hold: checkpoints were removed or replaced"
    )


def _unsigned_message(signed: int, db_seq: int, limit: int) -> str:
    where = f"after the last signed checkpoint (seq {signed})" if signed else "and none is signed"
    return (
        f"a signing key is set but events {signed + 1}–{db_seq} ({db_seq - signed}) are not "
        f"covered by a signed checkpoint {where}; a crash leaves at most {limit}: "
        f"{CHECKPOINTS_NAME} was removed or cut short (or the key is new to this journal, "
        "which an operator accepts with the repair)"
    )


def unsigned_problem(signed: int, db_seq: int, limit: int) -> str | None:
    """For `audit verify`: too many events past the last signed checkpoint, or None."""
    return _unsigned_message(signed, db_seq, limit) if db_seq - signed > limit else None


def move_aside(path: Path, stamp: str) -> Path | None:
    """Keep ``path`` as evidence under a new name (``<name>.before-repair-<stamp>``)."""
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.before-repair-{stamp}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, target)
        return target
    return None


def keep_valid(
    conn: sqlite3.Connection,
    old: Path | None,
    path: Path,
    key: bytes | None,
    hashes: Sequence[str],
) -> list[Checkpoint]:
    """For a repair: write to ``path`` (anew) the checkpoints of ``old`` (the file moved
    aside) that still hold for the chain whose hashes are ``hashes``, up to the first that
    does not, and make vanta.db's trace name the last of them (or none). Returns them."""
    found = read_checkpoints(old) if old is not None else []
    still = valid_prefix(found, len(hashes), hashes, key)
    if still:
        write_checkpoints(path, still, append=True)
    with conn:
        if still:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [TRACE_META, trace_text(still[-1])],
            )
        else:
            conn.execute("DELETE FROM meta WHERE key = ?", [TRACE_META])
    return still
