"""`audit verify`: walk the chain in SQLite and in the JSONL file and cross-check them.

The JSONL pass does not parse lines: each line is canonical JSON, so cutting out its
``"hash"`` gives exactly the hashed text. The SQLite pass rebuilds the same text from the
row's columns. Both chains must link (each ``prev_hash`` is the hash before it, seqs run
1, 2, 3 ...), agree line for row, and end at the head recorded in ``trade_log.head``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vanta_tui.store.journal.anchor import (
    AUDIT_KEY_ENV,
    check_checkpoints,
    read_checkpoints,
    read_trace,
    trace_missing_from,
    unsigned_limit,
    unsigned_problem,
)
from vanta_tui.store.journal.events import GENESIS_HASH
from vanta_tui.store.journal.journal import Journal
from vanta_tui.store.journal.queries import paged_events

Progress = Callable[[int], None]


@dataclass
class VerifyResult:
    ok: bool
    events: int
    head: str
    bad_seq: int | None = None
    reason: str = ""
    signing: str = ""
    """What the signed checkpoints prove (or that there is no key), for the CLI line."""

    def __str__(self) -> str:
        if self.ok:
            return f"OK {self.events} events {self.head}"
        return f"BROKEN at seq {self.bad_seq}: {self.reason}"


_HASH_KEY = b',"hash":"'
_PREV_KEY = b'"prev_hash":"'
_SEQ_KEY = b'"seq":'


def _fail(seq: int, reason: str) -> VerifyResult:
    return VerifyResult(False, 0, "", seq, reason)


def verify_jsonl(path: Path, progress: Progress | None = None) -> VerifyResult | list[str]:
    """The JSONL chain; returns the list of hashes (index = seq - 1) or the first break.

    Works on bytes: the hashed text is the line with its ``"hash"`` member cut out.
    """
    hashes: list[str] = []
    prev = GENESIS_HASH.encode()
    sha256 = hashlib.sha256
    if not path.exists():
        return hashes
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw[-1:] != b"\n":
                return _fail(number, f"{path.name} ends in a torn line")
            cut = raw.find(_HASH_KEY)
            if cut < 0:
                return _fail(number, f"{path.name} line {number} has no hash")
            digest = raw[cut + 9 : cut + 73]
            body = raw[:cut] + raw[cut + 74 : -1]
            p = body.rfind(_PREV_KEY)
            s = body.rfind(_SEQ_KEY)
            if p < 0 or s < 0:
                return _fail(number, f"{path.name} line {number} is not an event")
            seq_text = body[s + 6 : body.find(b",", s)]
            if seq_text != str(number).encode():
                return _fail(
                    number,
                    f"{path.name} line {number} carries seq {seq_text.decode(errors='replace')}: "
                    "a line is missing, added or out of order",
                )
            if body[p + 13 : p + 77] != prev:
                return _fail(number, f"{path.name}: prev_hash does not match the event before")
            if sha256(body).hexdigest().encode() != digest:
                return _fail(number, f"{path.name}: the event's content does not match its hash")
            hashes.append(digest.decode())
            prev = digest
            if progress is not None and number % 10000 == 0:
                progress(number)
    return hashes


_CANONICAL_COLUMNS = """seq, prev_hash, hash,
  '{"action":' || json_quote(action) || ',"actor":' || json_quote(actor)
  || ',"follower_id":' || json_quote(follower_id) || ',"order_id":' || json_quote(order_id)
  || ',"parents":' || parents || ',"payload":' || payload || ',"prev_hash":"' || prev_hash
  || '","seq":' || seq || ',"ts":"' || ts || '","vault_id":' || json_quote(vault_id) || '}'
"""
"""The database builds each row's canonical text itself (C speed); Python only hashes it."""


def _row_text_in_python(journal: Journal, seq: int) -> str:
    row = journal.db.execute(
        "SELECT seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, "
        "prev_hash FROM events WHERE seq = ?",
        [seq],
    ).fetchone()
    quote = _Quoter()
    seq, ts, actor, action, vault_id, order_id, follower_id, payload, parents, p = row
    return (
        f'{{"action":{quote(action)},"actor":{quote(actor)},'
        f'"follower_id":{quote(follower_id)},"order_id":{quote(order_id)},'
        f'"parents":{parents},"payload":{payload},"prev_hash":"{p}",'
        f'"seq":{seq},"ts":"{ts}","vault_id":{quote(vault_id)}}}'
    )


def verify_sqlite(journal: Journal, progress: Progress | None = None) -> VerifyResult | list[str]:
    hashes: list[str] = []
    prev = GENESIS_HASH
    sha256 = hashlib.sha256
    rows = paged_events(journal, _CANONICAL_COLUMNS)
    for expected, (seq, p, h, text) in enumerate(rows, start=1):
        if seq != expected:
            return _fail(expected, f"{journal.db_name}: seq {expected} is missing (next is {seq})")
        if p != prev:
            return _fail(seq, f"{journal.db_name}: prev_hash does not match the event before")
        if sha256(text.encode("utf-8")).hexdigest() != h:
            # SQLite's json_quote and Python's json differ on a few rare escapes: confirm
            # with the Python rendering before calling the row broken.
            again = _row_text_in_python(journal, seq)
            if sha256(again.encode("utf-8")).hexdigest() != h:
                return _fail(seq, f"{journal.db_name}: the row's content does not match its hash")
        hashes.append(h)
        prev = h
        if progress is not None and seq % 10000 == 0:
            progress(seq)
    return hashes


class _Quoter:
    """JSON-quotes short strings, remembering the ones it has seen (ids and actions repeat)."""

    def __init__(self) -> None:
        self._seen: dict[str | None, str] = {}

    def __call__(self, value: str | None) -> str:
        quoted = self._seen.get(value)
        if quoted is None:
            quoted = json.dumps(value, ensure_ascii=False)
            if len(self._seen) < 100_000:
                self._seen[value] = quoted
        return quoted


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (what `audit anchor` prints) as (seq, hash); ValueError if malformed."""
    seq_text, _, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    if not seq_text.strip().isdigit() or len(digest) != 64 or not _is_hex(digest):
        raise ValueError(f"{text!r} is not SEQ:HASH (a seq number, a colon, 64 hex digits)")
    return int(seq_text), digest


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def verify(
    journal: Journal,
    progress: Progress | None = None,
    *,
    expect_head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Both chains, their agreement, the recorded head, the checkpoints (their signatures
    when the key is configured) and, if given, a head the operator kept elsewhere."""
    result, chain = _verify_chains(journal, progress)
    if not result.ok:
        return result
    # vanta.db's trace of the latest checkpoint before the file: a writer appends the line
    # first, so a checkpoint written meanwhile cannot look removed.
    trace = read_trace(journal.db.conn)
    checkpoints = read_checkpoints(journal.checkpoint_path)
    wrong, seq, signed = check_checkpoints(checkpoints, len(chain), chain, journal.key)
    if wrong is not None:
        return _fail(seq or len(chain), wrong)
    # Checkpoints removed: vanta.db keeps the latest one's seq and mac ...
    missing = trace_missing_from(trace, [cp.mac for cp in checkpoints if cp is not None])
    if missing is not None and trace is not None:
        return _fail(trace[0] if 0 < trace[0] <= len(chain) else len(chain), missing)
    # ... and with a key, no more events past the last signed one than a crash leaves.
    limit = unsigned_limit(journal.checkpoint_every)
    unsigned_wrong = unsigned_problem(signed, len(chain), limit) if journal.key else None
    if unsigned_wrong is not None:
        return _fail(signed + 1, unsigned_wrong)
    if expect_head is not None:
        want_seq, want_hash = expect_head
        if want_seq > len(chain):
            return _fail(
                len(chain) + 1,
                f"the expected head is seq {want_seq} but the chain ends at seq {len(chain)}: "
                "events were removed",
            )
        if want_seq > 0 and chain[want_seq - 1] != want_hash:
            return _fail(
                want_seq,
                f"the expected head has hash {want_hash[:12]}… at seq {want_seq}; the chain "
                f"has {chain[want_seq - 1][:12]}…: history was rewritten",
            )
    if journal.key is None:
        result.signing = (
            f"not signed: no audit key ({AUDIT_KEY_ENV} or the keyring), so history is only "
            "hash-chained"
        )
    elif not checkpoints:
        result.signing = (
            f"signing key set, but no signed checkpoint yet ({len(chain)} event(s), no more "
            f"than a crash before the first checkpoint leaves; at most {limit})"
        )
    else:
        unsigned = len(chain) - signed
        result.signing = f"signed through seq {signed} ({len(checkpoints)} checkpoints)" + (
            f"; the last {unsigned} event(s) are only hash-chained" if unsigned else ""
        )
    repaired = [
        int(s) for (s,) in journal.db.execute(
            "SELECT seq FROM events WHERE action = 'journal.repaired' ORDER BY seq"
        )
    ]  # fmt: skip
    if repaired:
        result.signing += (
            "; repaired at seq "
            + ", ".join(str(s) for s in repaired)
            + (" (journal.repaired: what was found and why it was accepted)")
        )
    if expect_head is not None:
        result.signing += f"; expected head seq {expect_head[0]} matches"
    return result


def _verify_chains(
    journal: Journal, progress: Progress | None = None
) -> tuple[VerifyResult, list[str]]:
    """Both chains, their agreement, and the recorded head (and the chain's hashes)."""
    total = journal.count()
    file_chain = verify_jsonl(journal.log_path, progress)
    if isinstance(file_chain, VerifyResult):
        return file_chain, []
    db_chain = verify_sqlite(journal, (lambda n: progress(total + n)) if progress else None)
    if isinstance(db_chain, VerifyResult):
        return db_chain, []
    for index, (a, b) in enumerate(zip(file_chain, db_chain, strict=False)):
        if a != b:
            return _fail(
                index + 1, f"trade_log.jsonl and {journal.db_name} disagree on this event"
            ), []
    if len(file_chain) != len(db_chain):
        shorter = "trade_log.jsonl" if len(file_chain) < len(db_chain) else journal.db_name
        what = (
            "truncated"
            if shorter == "trade_log.jsonl"
            else f"an older {journal.db_name} was put back (a rollback), or its last rows "
            "were removed"
        )
        return _fail(
            min(len(file_chain), len(db_chain)) + 1,
            f"{shorter} ends early ({len(file_chain)} lines, {len(db_chain)} rows): {what}",
        ), []
    head = journal.read_head_file()
    last = db_chain[-1] if db_chain else GENESIS_HASH
    if db_chain and head is None:
        return _fail(len(db_chain), "trade_log.head is missing or unreadable"), []
    if head is not None and head != (len(db_chain), last):
        return _fail(
            min(head[0], len(db_chain) + 1),
            f"the chain ends at seq {len(db_chain)} but the recorded head is seq {head[0]} "
            f"({head[1][:12]}…): events were removed or the head was changed",
        ), []
    return VerifyResult(True, len(db_chain), last), db_chain
