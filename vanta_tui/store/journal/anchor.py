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
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vanta_tui.store.codec import dumps_canonical, parse_json

log = logging.getLogger(__name__)

CHECKPOINTS_NAME = "trade_log.checkpoints"
AUDIT_KEY_ENV = "VANTA_AUDIT_KEY"
KEYRING_SERVICE = "vanta-desk"
KEYRING_USER = "audit:hmac_key"
CHECKPOINT_EVERY = 256
"""A signed checkpoint at least this often (in events), and at every close."""


def audit_key() -> bytes | None:
    """The signing key: ``$VANTA_AUDIT_KEY``, else the keyring; None when neither has one."""
    value = os.environ.get(AUDIT_KEY_ENV)
    if value:
        return value.encode("utf-8")
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception as exc:  # no backend, a locked store...
        log.info("keyring unavailable for the audit key: %s", type(exc).__name__)
        return None
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


def last_checkpoint(path: Path) -> tuple[int, Checkpoint | None]:
    """(how many complete lines, the last of them) without reading the whole file twice."""
    found = read_checkpoints(path)
    return len(found), (found[-1] if found else None)


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    line = dumps_canonical(
        {"seq": checkpoint.seq, "hash": checkpoint.hash, "ts": checkpoint.ts,
         "key_id": checkpoint.key_id, "prev": checkpoint.prev, "mac": checkpoint.mac}
    )  # fmt: skip
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class IntegrityProblem:
    """Why a journal refuses to write: its chain is behind, or disagrees with, an anchor."""

    kind: str
    """``truncated``, ``rollback``, ``rewritten``, ``head`` or ``checkpoint``."""
    message: str

    def __str__(self) -> str:
        return (
            f"journal integrity: {self.message}. The journal refuses to write and leaves the "
            "evidence as it is; check with 'vanta-tui audit verify', then an operator may "
            "accept it with 'vanta-tui audit repair --reason TEXT' (audited)"
        )


def check_checkpoints(
    checkpoints: list[Checkpoint | None],
    chain_length: int,
    hashes: Sequence[str],
    key: bytes | None,
) -> tuple[str | None, int | None, int]:
    """Check checkpoints against a chain: (what is wrong or None, the seq it concerns,
    the seq the signed history reaches). ``hashes[seq - 1]`` is the chain's hash at seq."""
    prev = ""
    signed_through = 0
    mine = key_id(key) if key is not None else None
    for index, cp in enumerate(checkpoints, start=1):
        if cp is None:
            return f"checkpoint {index} does not parse", None, signed_through
        if cp.seq > chain_length:
            return (
                f"checkpoint {cp.number} records seq {cp.seq} ({cp.hash[:12]}…) but the chain "
                f"ends at seq {chain_length}: events were removed",
                cp.seq,
                signed_through,
            )
        if hashes[cp.seq - 1] != cp.hash:
            return (
                f"checkpoint {cp.number} (seq {cp.seq}) records hash {cp.hash[:12]}… but the "
                f"chain has {hashes[cp.seq - 1][:12]}… there: history was rewritten",
                cp.seq,
                signed_through,
            )
        if key is not None:
            if cp.prev != prev:
                return (
                    f"checkpoint {cp.number} (seq {cp.seq}) does not follow the one before it: "
                    "a checkpoint was removed or reordered",
                    cp.seq,
                    signed_through,
                )
            if cp.key_id != mine:
                return (
                    f"checkpoint {cp.number} (seq {cp.seq}) was signed with another key "
                    f"({cp.key_id}, this key is {mine})",
                    cp.seq,
                    signed_through,
                )
            if not cp.valid_under(key):
                return (
                    f"checkpoint {cp.number} (seq {cp.seq}): its signature does not match: "
                    "the checkpoint was altered",
                    cp.seq,
                    signed_through,
                )
            signed_through = cp.seq
        prev = cp.mac
    return None, None, signed_through


def move_aside(path: Path, stamp: str) -> Path | None:
    """Keep ``path`` as evidence under a new name (``<name>.before-repair-<stamp>``)."""
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.before-repair-{stamp}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, target)
        return target
    return None
