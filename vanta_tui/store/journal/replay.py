"""`audit replay`: rebuild every state file from the journal and diff it against the files.

The journal starts with a snapshot of every file (contents in ``blobs``). From there each
event's ``changes`` carry a patch per file it changed; replay applies them in order and
checks each result against the recorded digest. An external change replaces the file with
the recorded content. Content that was not JSON (a file another program broke for a while)
is recorded as its bytes only: replay steps over it, reports the span (from the change that
broke the file to the one that fixed it) and goes on. At the end the rebuilt data must equal
what the files hold (a file still broken: the same bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vanta_tui.core.codec import data_sha, parse_json
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.journal import patches
from vanta_tui.store.journal.journal import Journal
from vanta_tui.store.journal.queries import paged_events
from vanta_tui.store.loader import read_bytes


@dataclass
class ReplayResult:
    events: int = 0
    problems: list[str] = field(default_factory=list)
    differences: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Spans in which a file held content that was not JSON (stepped over, not a problem)."""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


def _describe(op: list[Any]) -> str:
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in op[1])
    if op[0] == "del":
        return f"{path}: in the file, not in the journal"
    shown = repr(op[2]) if op[0] != "append" else f"append {op[2]!r}"
    if len(shown) > 100:
        shown = shown[:97] + "..."
    return f"{path}: journal says {shown}" if op[0] == "append" else f"{path}: file has {shown}"


@dataclass(frozen=True)
class Unreadable:
    """A file whose recorded content was not JSON: known only by its bytes' sha256."""

    sha256: str
    since: int
    """The seq of the change that made it so."""


def _blob_data(journal: Journal, digest: str | None) -> Any:
    if digest is None:
        return None
    blob = journal.blob(digest)
    if blob is None or hashlib.sha256(blob).hexdigest() != digest:
        raise ValueError(f"content {digest[:12]}… is missing from blobs or does not match")
    return parse_json(blob.decode("utf-8"))


def _external(
    journal: Journal, name: str, digest: str | None, seq: int, before: Any, result: ReplayResult
) -> Any:
    """A file's content after an outside change: its data, or `Unreadable` (with a note)."""
    try:
        data = _blob_data(journal, digest)
    except (ValueError, UnicodeDecodeError, RecursionError):
        blob = journal.blob(digest) if digest else None
        if digest is None or blob is None or hashlib.sha256(blob).hexdigest() != digest:
            raise
        if not isinstance(before, Unreadable):
            result.notes.append(
                f"seq {seq}: {name} was changed by another program into content that is not "
                f"JSON ({digest[:12]}…); stepped over until it loads again"
            )
        return Unreadable(digest, before.since if isinstance(before, Unreadable) else seq)
    if isinstance(before, Unreadable):
        result.notes.append(f"seq {seq}: {name} loads again (unreadable since seq {before.since})")
    return data


def rebuild(
    journal: Journal, progress: Callable[[int], None] | None = None
) -> tuple[dict[str, Any], ReplayResult]:
    """The data of every file as the journal says it is now."""
    state: dict[str, Any] = {}
    result = ReplayResult()
    for seq, action, payload_text in paged_events(journal, "seq, action, payload"):
        result.events += 1
        payload = parse_json(payload_text)
        try:
            if action == "journal.started":
                for name, info in payload["files"].items():
                    state[name] = _blob_data(journal, (info or {}).get("sha256"))
            elif action == "state.external_change":
                name = payload["file"]
                state[name] = _external(
                    journal, name, payload.get("sha256"), seq, state.get(name), result
                )
            for change in payload.get("changes") or []:
                name = change["file"]
                state[name] = patches.apply(state[name], change["patch"])
                if data_sha(state[name]) != change["after_data"]:
                    result.problems.append(
                        f"seq {seq} ({action}): {name} after the patch does not match the "
                        "recorded digest"
                    )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            result.problems.append(f"seq {seq} ({action}): cannot apply: {exc}")
        if progress is not None and result.events % 10000 == 0:
            progress(result.events)
    return state, result


def replay(journal: Journal, progress: Callable[[int], None] | None = None) -> ReplayResult:
    state, result = rebuild(journal, progress)
    for kind in StateKind:
        name = kind.filename
        rebuilt = state.get(name)
        if isinstance(rebuilt, Unreadable):
            try:
                same = hashlib.sha256(read_bytes(journal.state_dir, kind)).hexdigest()
            except StateFileError:
                same = None
            if same != rebuilt.sha256:
                result.differences[name] = [
                    f"$: the journal last saw content that is not JSON ({rebuilt.sha256[:12]}…); "
                    "the file holds other bytes"
                ]
            continue
        try:
            on_disk: Any = parse_json(read_bytes(journal.state_dir, kind).decode("utf-8"))
        except (StateFileError, ValueError, UnicodeDecodeError, RecursionError):
            on_disk = None
        if rebuilt is None and on_disk is None:
            continue
        if rebuilt is None or on_disk is None:
            which = "the journal" if rebuilt is None else "the directory"
            result.differences[name] = [f"$: missing from {which}"]
            continue
        ops = patches.diff(rebuilt, on_disk)
        if ops:
            result.differences[name] = [_describe(op) for op in ops[:20]]
            if len(ops) > 20:
                result.differences[name].append(f"... and {len(ops) - 20} more")
    return result
