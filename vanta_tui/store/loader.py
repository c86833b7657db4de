"""One loader for every state file: a validated model, or a precise `StateFileError`."""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import stat
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from pydantic import ValidationError

from vanta_tui.core.codec import (
    data_sha,
    dumps_compact,
    dumps_pretty,
    member_text,
    parse_json,
    pretty_with_members,
    same_json,
)
from vanta_tui.core.models import FollowersFile, Order, QueueFile, StateFileModel, VaultFile
from vanta_tui.core.models.queue import check_unique_order_ids, order_data
from vanta_tui.core.state_files import DEPENDS_ON, Reference, StateKind, cross_check
from vanta_tui.core.wording import validation_found
from vanta_tui.store.errors import Problem, StateFileError
from vanta_tui.store.locate import locate
from vanta_tui.store.spans import (
    NotWalkable,
    Spans,
    changed_items,
    parse_items,
    parse_with_spans,
    spliced,
)

MAX_FILE_BYTES = 32 * 1024 * 1024
"""A state file larger than this is refused rather than read (10,000 orders are ~8 MB)."""

M = TypeVar("M", bound=StateFileModel)


@dataclass(frozen=True)
class LoadedFile(Generic[M]):
    """A state file as read: its model and the fingerprint of the exact bytes."""

    kind: StateKind
    model: M
    sha256: str
    size: int
    reuse: Any = field(default=None, compare=False, repr=False)
    """For the keyed files (`KEYED`): key → (raw JSON, entry), so the next load re-validates
    only the entries that changed."""
    text: str | None = field(default=None, compare=False, repr=False)
    """For the queue: the file's text, and `spans` the place of each order in it, so the
    next load parses and validates only the orders whose text changed (`load_queue`)."""
    spans: Spans | None = field(default=None, compare=False, repr=False)
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """For the queue: its parsed JSON (never changed), each order's item kept from the last
    load while its text is the same: what the journal diffs and renders from (one parse of
    the file in a process, not one for the panes and one for the journal)."""

    @property
    def version(self) -> int:
        return self.model.version


def kind_of(model_cls: type[StateFileModel]) -> StateKind:
    for kind in StateKind:
        if kind.model is model_cls:
            return kind
    raise TypeError(f"{model_cls.__name__} is not a state-file model")


def state_path(state_dir: Path, kind: StateKind) -> Path:
    """The file's path, after making sure it does not lead outside the state directory."""
    path = state_dir / kind.filename
    if path.is_symlink():
        target = path.resolve()
        root = state_dir.resolve()
        if not target.is_relative_to(root):
            raise StateFileError(
                [
                    Problem(
                        kind.filename,
                        "$",
                        f"is a symlink to {target}, outside the state directory {root}; "
                        "refusing to follow it",
                    )
                ]
            )
        return target
    return path


def read_bytes(state_dir: Path, kind: StateKind, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, refusing missing, oversize, escaping and non-regular files (a FIFO
    is opened without blocking and refused, never waited on)."""
    return read_file(state_dir, kind, max_bytes)[0]


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the file system says of a file without reading it: any write to it, in place or
    by rename, changes its change time (the kernel sets it; ``touch`` cannot set it back)."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int


TRUSTED_AFTER_NS = 1_000_000_000
"""A stamp says "unchanged" only of a file last changed at least this long before it was
read: a write in the same tick of the file system's clock as the read (a few milliseconds
on Linux, a second on the coarsest) could leave every field as it was (git's "racy" rule)."""


def _now_ns() -> int:
    return time.time_ns()


_LOCAL_FILE_SYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs", "f2fs", "bcachefs"}
)
"""File systems whose change times the kernel sets from this machine's clock, at a fine
grain. Elsewhere (NFS, SMB, FUSE, FAT: another machine's clock, a coarse or settable
change time) a stamp vouches for nothing and files are always read."""
_STAMPS_TRUSTED: dict[str, bool] = {}


def _file_system(path: str) -> str | None:
    """The type of the file system ``path`` is on (the longest mount point holding it), from
    /proc/self/mounts; None where that cannot be told."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, fields[2]
    return kind


def stamps_trusted(state_dir: Path) -> bool:
    """Whether the stamps of ``state_dir``'s files can vouch for their bytes (a local file
    system: `_LOCAL_FILE_SYSTEMS`), asked once per directory."""
    key = os.path.abspath(state_dir)
    trusted = _STAMPS_TRUSTED.get(key)
    if trusted is None:
        trusted = _STAMPS_TRUSTED[key] = _file_system(key) in _LOCAL_FILE_SYSTEMS
    return trusted


def _stamp(info: os.stat_result) -> Stamp:
    return Stamp(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


_SHAS: dict[tuple[str, StateKind], tuple[Stamp, str]] = {}
"""The sha256 of each state file this process read, by the stamp it had when read (only
stamps old enough to be trusted: `TRUSTED_AFTER_NS`)."""


def read_file(
    state_dir: Path, kind: StateKind, max_bytes: int = MAX_FILE_BYTES
) -> tuple[bytes, Stamp | None]:
    """`read_bytes`, and the file's stamp as it was opened if it can vouch for these bytes
    later (`known_sha`); None for a file changed too recently to tell."""
    read_at = _now_ns()
    path = state_path(state_dir, kind)
    name = kind.filename
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise StateFileError([Problem(name, "$", f"file is missing from {state_dir}")]) from None
    except OSError as exc:
        raise StateFileError([Problem(name, "$", f"cannot open: {exc.strerror}")]) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise StateFileError(
            [Problem(name, "$", f"is {_file_type(info.st_mode)}, not a regular file")]
        )
    found = _stamp(info)
    old_enough = max(found.mtime_ns, found.ctime_ns) <= read_at - TRUSTED_AFTER_NS
    stamp = found if old_enough and stamps_trusted(state_dir) else None
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise StateFileError(
                [
                    Problem(
                        name,
                        "$",
                        f"file is {info.st_size / MIB:.1f} MiB, over the "
                        f"{max_bytes / MIB:.0f} MiB limit; refusing to read it",
                    )
                ]
            )
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise StateFileError([Problem(name, "$", f"cannot read: {exc.strerror}")]) from exc
    if len(data) > max_bytes:
        raise StateFileError([Problem(name, "$", "file grew past the size limit while read")])
    return data, stamp


def remember_sha(state_dir: Path, kind: StateKind, stamp: Stamp | None, digest: str) -> None:
    """``digest`` is the sha256 of the bytes `read_file` read with ``stamp``."""
    if stamp is not None:
        _SHAS[(os.path.abspath(state_dir), kind)] = (stamp, digest)


def read_hashed(state_dir: Path, kind: StateKind) -> tuple[bytes, str]:
    """The file's bytes (`read_bytes`) and their sha256, which `known_sha` then knows while
    the file's stamp stays the same."""
    data, stamp = read_file(state_dir, kind)
    digest = hashlib.sha256(data).hexdigest()
    remember_sha(state_dir, kind, stamp, digest)
    return data, digest


def known_sha(state_dir: Path, kind: StateKind) -> str | None:
    """The sha256 of the file as it is now, known without reading it: its stamp is the very
    one it had when this process last read it (`read_hashed`), long enough after its last
    change (`TRUSTED_AFTER_NS`), on a local file system. None when not known: the caller
    reads it."""
    known = _SHAS.get((os.path.abspath(state_dir), kind))
    if known is None:
        return None
    try:
        fd = os.open(state_path(state_dir, kind), os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, StateFileError):
        return None
    try:
        now = _stamp(os.fstat(fd))
    finally:
        os.close(fd)
    return known[1] if now == known[0] else None


MIB = 1024 * 1024

_STATUS_KEY = re.compile(rb'"status"[ \t\n\r]*:[ \t\n\r]*"([a-z_]+)"')


def count_statuses(data: bytes) -> dict[str, int]:
    """How many orders of each status a queue file's text holds, counted without parsing
    it: a progress line's figure (10,000 orders in a few milliseconds, where loading them
    takes a second). Every order has one ``"status"`` key and nothing else in the queue
    has one; a string cannot fake it, as JSON escapes the quotes inside a string. The
    counts of a file that does not load mean nothing."""
    counts: dict[str, int] = {}
    for status in _STATUS_KEY.findall(data):
        name = status.decode("ascii")
        counts[name] = counts.get(name, 0) + 1
    return counts


def queue_statuses(state_dir: Path) -> dict[str, int] | None:
    """`count_statuses` of the queue file as it is now; None when it cannot be read."""
    try:
        return count_statuses(read_bytes(state_dir, StateKind.QUEUE))
    except StateFileError:
        return None


def _file_type(mode: int) -> str:
    for test, what in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return what
    return "not a regular file"


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(raw: Any, path: tuple[int | str, ...] = ()) -> tuple[int | str, ...] | None:
    """The place of the first string holding a lone surrogate (not text UTF-8 can carry)."""
    stack: list[tuple[tuple[int | str, ...], Any]] = [(path, raw)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif isinstance(value, dict):
            for key, item in value.items():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return (*where, "[key]")
                stack.append(((*where, key), item))
        elif isinstance(value, list):
            stack.extend(((*where, i), item) for i, item in enumerate(value))
    return None


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return line, column


def path_text(loc: tuple[int | str, ...]) -> str:
    """``("orders", 3, "qty")`` → ``$.orders[3].qty``; odd keys in brackets."""
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (the key)"
        elif part.replace("_", "").isalnum():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _reason(error: Mapping[str, Any]) -> str:
    """The error in an operator's words, with the value found (never a Python repr)."""
    return validation_found(error)


def _json_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's internal steps (union branches, validator names) from a location."""
    return tuple(
        p for p in loc if isinstance(p, int) or not (p.startswith("function-") or p in _NOISE)
    )


_NOISE = {"decimal", "str", "datetime", "tuple", "list", "dict", "none", "is-instance"}


class _LocatedErrors(Exception):
    def __init__(self, errors: list[tuple[tuple[int | str, ...], Mapping[str, Any]]]) -> None:
        self.errors = errors


def _validate_queue_reusing(
    raw: dict[str, Any], reuse: dict[str, Any], kept: Sequence[Order | None] | None = None
) -> QueueFile:
    """Validate a queue, taking unchanged orders (same raw dict) from the previous load;
    ``kept`` (if known: a render's) says which, by place: the order of each unchanged item,
    None for the others."""
    orders_raw = raw.get("orders")
    if not isinstance(orders_raw, list):
        return QueueFile.model_validate(raw)
    errors: list[tuple[tuple[int | str, ...], Mapping[str, Any]]] = []
    if kept is not None and len(kept) == len(orders_raw):
        found = list(kept)
    else:
        found = []
        for item in orders_raw:
            hit = reuse.get(str(item.get("order_id"))) if isinstance(item, dict) else None
            if hit is not None and (hit[0] is item or hit[0] == item):
                found.append(hit[1])  # the very item of an unchanged order: no comparison
            else:
                found.append(None)
    for index in [i for i, order in enumerate(found) if order is None]:
        try:
            found[index] = Order.model_validate(orders_raw[index])
        except ValidationError as exc:
            for error in exc.errors():
                errors.append((("orders", index, *_json_loc(tuple(error["loc"]))), error))
    orders = cast(list[Order], found)  # every None replaced, or errors raised below
    if errors:
        raise _LocatedErrors(errors)
    model = QueueFile.model_validate({**raw, "orders": []})
    try:
        check_unique_order_ids(orders)
    except ValueError as exc:
        raise _LocatedErrors([((), {"msg": str(exc), "type": "value_error"})]) from None
    model.orders = orders
    return model


def queue_reuse(model: StateFileModel, raw_orders: Any) -> dict[str, Any] | None:
    if not isinstance(model, QueueFile) or not isinstance(raw_orders, list):
        return None
    return {o.order_id: (item, o) for item, o in zip(raw_orders, model.orders, strict=False)}


KEYED: Mapping[StateKind, str] = {StateKind.PORTFOLIO: "accounts", StateKind.PNL: "vaults"}
"""Files that are one object of entries by id (an account, a vault's PnL): an entry whose
JSON did not change is not validated again (as a queue's orders)."""


def file_reuse(kind: StateKind, model: StateFileModel, raw: Any) -> dict[str, Any] | None:
    """What a later load of ``kind`` may take from this one (its parsed JSON ``raw`` and
    its ``model``): each order, or each entry of a keyed file, with the JSON it came from."""
    if not isinstance(raw, dict):
        return None
    if kind is StateKind.QUEUE:
        return queue_reuse(model, raw.get("orders"))
    field = KEYED.get(kind)
    if field is None:
        return None
    items, models = raw.get(field), getattr(model, field, None)
    if not isinstance(items, dict) or not isinstance(models, dict):
        return None
    return {key: (item, models[key]) for key, item in items.items() if key in models}


def _validate_keyed_reusing(
    kind: StateKind, raw: dict[str, Any], reuse: dict[str, Any]
) -> StateFileModel:
    """Validate a keyed file, taking the entries whose JSON is unchanged from the previous
    load; the rest (and the file's own fields, and every new key) are validated as usual,
    their problems placed by key."""
    field = KEYED[kind]
    items = raw.get(field)
    if not isinstance(items, dict):
        return kind.model.model_validate(raw)
    kept: dict[str, Any] = {}
    fresh: dict[str, Any] = {}
    for key, item in items.items():
        hit = reuse.get(key)
        if hit is not None and same_json(hit[0], item):
            kept[key] = hit[1]
        else:
            fresh[key] = item
    model = kind.model.model_validate({**raw, field: fresh})
    checked = getattr(model, field)
    model.__dict__[field] = {key: kept[key] if key in kept else checked[key] for key in items}
    return model


def parse_model(
    kind: StateKind,
    data: bytes,
    ref: Reference | None = None,
    reuse: dict[str, Any] | None = None,
    keep: list[Any] | None = None,
    *,
    ours: bool = False,
) -> StateFileModel:
    """Validate the bytes of a state file; every problem is reported with its place.

    ``reuse`` (the queue only) lets unchanged orders skip validation; ``keep``, if given,
    receives the parsed JSON so the caller can build the next ``reuse``. ``ours`` says the
    bytes were just rendered by us from a model (no duplicate keys can occur): the JSON is
    parsed without the duplicate-key check, which runs in Python for every object.
    """
    name = kind.filename
    if not data.strip():
        raise StateFileError([Problem(name, "$", "file is empty")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise StateFileError(
            [Problem(name, "$", f"not UTF-8: byte 0x{data[exc.start]:02x}", line, col)]
        ) from None
    try:
        raw = parse_json(text, check_duplicates=not ours)
    except json.JSONDecodeError as exc:
        raise StateFileError(
            [Problem(name, "$", f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)]
        ) from None
    except ValueError as exc:
        raise StateFileError([Problem(name, "$", f"invalid JSON: {exc}")]) from None
    except RecursionError:
        raise StateFileError(
            [Problem(name, "$", "invalid JSON: nested too deeply (arrays or objects)")]
        ) from None
    if not isinstance(raw, dict):
        raise StateFileError([Problem(name, "$", "the top level must be a JSON object")])
    if not ours and _SURROGATE_ESCAPE.search(text):
        where = _lone_surrogate(raw)
        if where is not None:
            raise StateFileError(
                [
                    Problem(
                        name,
                        path_text(where),
                        "holds a lone surrogate escape (\\ud800–\\udfff without its pair): "
                        "not text that UTF-8 can carry",
                        locate(text, where),
                    )
                ]
            )
    if keep is not None:
        keep.append(raw)
    return validate_raw(kind, raw, text, ref, reuse)


def _decoded(source: str | bytes) -> str:
    return source if isinstance(source, str) else source.decode("utf-8")


def validate_raw(
    kind: StateKind,
    raw: dict[str, Any],
    source: str | bytes,
    ref: Reference | None = None,
    reuse: dict[str, Any] | None = None,
    kept: Sequence[Order | None] | None = None,
) -> StateFileModel:
    """The model of a state file's parsed JSON; ``source`` is its text (or UTF-8 bytes, decoded
    only if there are problems to locate in it). ``kept``: see `_validate_queue_reusing`."""
    name = kind.filename
    model: StateFileModel
    try:
        if kind is StateKind.QUEUE and reuse:
            model = _validate_queue_reusing(raw, reuse, kept)
        elif kind in KEYED and reuse:
            model = _validate_keyed_reusing(kind, raw, reuse)
        else:
            model = kind.model.model_validate(raw)
    except _LocatedErrors as exc:
        text = _decoded(source)
        problems = [
            Problem(name, path_text(loc), _reason(error), locate(text, loc))
            for loc, error in exc.errors
        ]
        raise StateFileError(problems) from None
    except ValidationError as exc:
        text = _decoded(source)
        problems = []
        for error in exc.errors():
            loc = _json_loc(tuple(error["loc"]))
            problems.append(Problem(name, path_text(loc), _reason(error), locate(text, loc)))
        raise StateFileError(problems) from None
    if ref is not None:
        cross = cross_check(kind, model, ref)
        if cross:
            raise StateFileError([Problem(name, c.path, c.reason) for c in cross])
    return model


def load(
    state_dir: Path,
    kind: StateKind,
    ref: Reference | None = None,
    previous: LoadedFile[Any] | None = None,
) -> LoadedFile[Any]:
    """Read and validate one state file (against ``ref`` for cross-file rules, if given).

    With ``previous`` (the last load of the same file), an unchanged file is not parsed again
    and a queue re-validates only the orders that changed.
    """
    key = (os.path.abspath(state_dir), kind)
    unchanged = known_sha(state_dir, kind)
    if unchanged is not None:
        # Not read again: the file is as this process last read it.
        if previous is None or previous.sha256 != unchanged:
            previous = shared_load(state_dir, kind, unchanged) or previous
        if previous is not None and previous.sha256 == unchanged:
            cross = cross_check(kind, previous.model, ref) if ref is not None else []
            if cross:
                raise StateFileError([Problem(kind.filename, c.path, c.reason) for c in cross])
            return previous
    data, digest = read_hashed(state_dir, kind)
    if previous is None or previous.sha256 != digest:
        # Another reader of this process (the desk's panes, its executor, an action) may
        # have loaded these very bytes: one model of them, not one per reader.
        with _LATEST_LOCK:
            shared = _LATEST.get(key)
        if shared is not None and (previous is None or shared.sha256 == digest):
            previous = shared
    if previous is not None and previous.sha256 == digest:
        cross = cross_check(kind, previous.model, ref) if ref is not None else []
        if cross:
            raise StateFileError([Problem(kind.filename, c.path, c.reason) for c in cross])
        return previous
    if kind is StateKind.QUEUE:
        loaded: LoadedFile[Any] = load_queue(data, digest, ref, previous)
    else:
        kept: list[Any] = []
        reuse = previous.reuse if previous is not None else None
        keyed = kind in KEYED
        model = parse_model(kind, data, ref, reuse, kept if keyed else None)
        next_reuse = file_reuse(kind, model, kept[0]) if kept else None
        loaded = LoadedFile(kind, model, digest, len(data), next_reuse)
    with _LATEST_LOCK:
        _LATEST[key] = loaded
    return loaded


_LATEST: weakref.WeakValueDictionary[tuple[str, StateKind], LoadedFile[Any]] = (
    weakref.WeakValueDictionary()
)
"""The newest load of each file of each state directory that someone still holds. The
models are shared, never changed in place: an action changes the journal's private copy
(`Journal.act`), a reader only reads."""
_LATEST_LOCK = threading.Lock()


def publish(state_dir: Path, loaded: LoadedFile[Any]) -> None:
    """``loaded`` is now the newest load of its file in this process: the journal wrote these
    bytes and knows their model, so the panes, the brokers and the next action take it
    instead of parsing what was just written (one model of the file, not one per reader)."""
    with _LATEST_LOCK:
        _LATEST[(os.path.abspath(state_dir), loaded.kind)] = loaded


def shared_load(state_dir: Path, kind: StateKind, digest: str) -> LoadedFile[Any] | None:
    """The newest load of ``kind`` in this process if it was made of the bytes whose sha256
    is ``digest`` (its model is shared, never to be changed), else None."""
    with _LATEST_LOCK:
        shared = _LATEST.get((os.path.abspath(state_dir), kind))
    return shared if shared is not None and shared.sha256 == digest else None


def load_queue(
    data: bytes, digest: str, ref: Reference | None, previous: LoadedFile[Any] | None
) -> LoadedFile[QueueFile]:
    """The queue, by difference from ``previous`` when there is one.

    Another program rewrites the whole file to change an order; here the new text is
    compared with the last one (`spans.changed_items`), and only the orders whose text
    changed are parsed and validated; every other order is the very `Order` of the last
    load (its text is the same characters). A change outside the orders (the version), a
    first load, or text the walk cannot follow parse the whole file, still keeping each
    order whose text is unchanged; any problem at all is reported by the usual full parse,
    with its place (`parse_model`).
    """
    kind = StateKind.QUEUE
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        parse_model(kind, data, ref)  # raises the located problem
        raise
    loaded = None
    if previous is not None and previous.text is not None and previous.spans is not None:
        loaded = _queue_by_change(text, previous)
    if loaded is None:
        loaded = _queue_by_text(text, previous)
    if loaded is None:
        model = cast(QueueFile, parse_model(kind, data, ref))  # raises, or the model
        return LoadedFile(kind, model, digest, len(data))
    model, spans, raw = loaded
    if ref is not None:
        cross = cross_check(kind, model, ref)
        if cross:
            raise StateFileError([Problem(kind.filename, c.path, c.reason) for c in cross])
    return LoadedFile(kind, model, digest, len(data), text=text, spans=spans, raw=raw)


_ByText = tuple[QueueFile, Spans, "dict[str, Any] | None"]


def _queue_by_change(text: str, previous: LoadedFile[Any]) -> _ByText | None:
    """The queue when the difference from the last text lies within its orders: the orders
    of the changed run validated, the rest taken as they were. None: parse it whole."""
    old_text, old_spans, old_model = previous.text, previous.spans, previous.model
    assert old_text is not None and old_spans is not None
    if not isinstance(old_model, QueueFile) or len(old_model.orders) != len(old_spans.starts):
        return None
    change = changed_items(old_text, text, old_spans)
    if change is None or _SURROGATE_ESCAPE.search(text, change.start, change.end):
        return None
    try:
        items, starts, ends = parse_items(text, change.start, change.end)
    except NotWalkable:
        return None
    if not items:
        return None  # the run's commas around it may no longer be JSON: parse it whole
    try:
        fresh = [Order.model_validate(item) for item in items]
    except ValidationError:
        return None
    orders = [*old_model.orders[: change.first], *fresh, *old_model.orders[change.last + 1 :]]
    try:
        check_unique_order_ids(orders)
    except ValueError:
        return None
    model = old_model.model_copy(update={"orders": orders})
    raw = None
    old_raw = previous.raw
    if old_raw is not None and isinstance(old_raw.get("orders"), list):
        kept = old_raw["orders"]
        raw = {**old_raw, "orders": [*kept[: change.first], *items, *kept[change.last + 1 :]]}
    return model, spliced(old_spans, change, starts, ends), raw


def _queue_by_text(text: str, previous: LoadedFile[Any] | None) -> _ByText | None:
    """The whole queue walked, each order whose text is the same characters as in the last
    load taken as it was, the others validated. None on any problem (the caller's full
    parse reports it)."""
    if _SURROGATE_ESCAPE.search(text):
        return None
    try:
        raw, spans = parse_with_spans(text, "orders")
    except NotWalkable:
        return None
    old: dict[str, tuple[str, Order, Any]] = {}
    if previous is not None and previous.text is not None and previous.spans is not None:
        model = previous.model
        if isinstance(model, QueueFile) and len(model.orders) == len(previous.spans.starts):
            old_text = previous.text
            old_raw = previous.raw.get("orders") if previous.raw is not None else None
            if not isinstance(old_raw, list) or len(old_raw) != len(model.orders):
                old_raw = [None] * len(model.orders)
            old = {
                o.order_id: (old_text[s:e], o, item)
                for o, s, e, item in zip(
                    model.orders, previous.spans.starts, previous.spans.ends, old_raw, strict=True
                )
            }
    orders: list[Order] = []
    items = raw["orders"]
    try:
        for index, (item, start, end) in enumerate(
            zip(items, spans.starts, spans.ends, strict=True)
        ):
            hit = old.get(str(item.get("order_id"))) if isinstance(item, dict) else None
            if hit is not None and hit[0] == text[start:end]:
                orders.append(hit[1])
                if hit[2] is not None:
                    # The same characters: the item parsed last time, not a second copy
                    # (shared with the journal, which renders from it).
                    items[index] = hit[2]
            else:
                orders.append(Order.model_validate(item))
        queue = QueueFile.model_validate({**raw, "orders": []})
        check_unique_order_ids(orders)
    except (ValidationError, ValueError, TypeError):
        return None
    queue.orders = orders
    return queue, spans, raw


def load_model(state_dir: Path, model_cls: type[M], ref: Reference | None = None) -> M:
    """Typed shortcut: ``load_model(d, QueueFile)`` returns a `QueueFile`."""
    return cast(M, load(state_dir, kind_of(model_cls), ref).model)


def reference_for(
    state_dir: Path, kind: StateKind, known: Mapping[StateKind, LoadedFile[Any]] | None = None
) -> Reference:
    """The files ``kind`` refers to, from ``known`` (when given) or read now; a file that
    fails to load is left out (its own load reports it)."""
    parts: dict[str, Any] = {}
    for dep in DEPENDS_ON[kind]:
        loaded = known.get(dep) if known is not None else None
        if loaded is None and known is None:
            try:
                loaded = load(state_dir, dep, reference_for(state_dir, dep))
            except StateFileError:
                continue
        if loaded is not None:
            parts[dep.value] = loaded.model
    vaults = parts.get(StateKind.VAULT.value)
    followers = parts.get(StateKind.FOLLOWERS.value)
    return Reference(
        vaults=vaults if isinstance(vaults, VaultFile) else None,
        followers=followers if isinstance(followers, FollowersFile) else None,
    )


def same_order(a: Order, b: Order) -> bool:
    """Whether two orders would be written as the same text (numbers compared as written:
    ``1.50`` and ``1.5`` are equal as values but not as text). Fields holding the very same
    object are not compared: a copy the caller did not change costs one identity test each."""
    if a is b:
        return True
    mine, theirs = a.__dict__, b.__dict__
    if len(mine) != len(theirs) or a.__pydantic_extra__ != b.__pydantic_extra__:
        return False
    if all(map(operator.is_, mine.values(), theirs.values())):
        return True  # an unchanged copy (same fields, same objects), tested at C speed
    for (key, value), (other_key, other) in zip(mine.items(), theirs.items(), strict=True):
        if value is other:
            continue
        if key != other_key or type(value) is not type(other) or value != other:
            return False
        if isinstance(value, Decimal) and value.as_tuple() != other.as_tuple():
            return False
    return True


@dataclass(frozen=True)
class RenderedQueue:
    data: bytes
    raw: dict[str, Any]
    model: QueueFile
    data_sha: str
    """sha256 of the canonical text of ``raw`` (what `data_sha` gives)."""
    spans: Spans | None = None
    """Where each order lies in ``data`` (as `parse_with_spans` would say of its text),
    when known without parsing it: what the next load by difference starts from."""


_ORDERS_OPEN = b'\n  "orders": ['
_ORDERS_CLOSE = b"\n  ]"
_MEMBER_SEP = len(b",\n    ")


def member_spans(data: bytes, members: Sequence[bytes]) -> Spans | None:
    """The places of the queue's orders in ``data`` written by `pretty_with_members` from
    their ``members`` texts (in characters of the decoded text, as `parse_with_spans` counts
    them), from their lengths, without parsing: the members are written one after another
    with the same separator, so they are where their lengths put them if the list closes
    where the lengths say (checked, with the first member's place). None when the text is
    not laid out as expected: the caller then parses it."""
    head = data.find(_ORDERS_OPEN)
    if head < 0:
        return None
    at = head + len(_ORDERS_OPEN)  # in bytes
    if not members:
        return Spans("orders", [], []) if data.startswith(b"]", at) else None
    at += len(b"\n    ")
    if not data.startswith(members[0], at):
        return None
    byte_sizes = list(map(len, members))
    closes = at + sum(byte_sizes) + _MEMBER_SEP * (len(members) - 1)
    if not data.startswith(_ORDERS_CLOSE, closes) or not data.endswith(members[-1], 0, closes):
        return None
    sizes = [
        size if member.isascii() else len(member.decode("utf-8"))
        for member, size in zip(members, byte_sizes, strict=True)
    ]
    start = len(data[:at].decode("utf-8"))  # in characters
    starts = list(accumulate((size + _MEMBER_SEP for size in sizes[:-1]), initial=start))
    ends = [begin + size for begin, size in zip(starts, sizes, strict=True)]
    return Spans("orders", starts, ends, ours=True)


_MEMBER_HEAD = '{\n      "'
_MEMBER_TAIL = "\n    }"


def _file_texts(source: tuple[str, Spans], items: Any) -> dict[int, tuple[int, int]]:
    """Where each item of the file's orders lies in its text (by the item's identity), for
    the items laid out as this desk writes them (an object indented for its place in the
    list): their pretty text is that slice of the file."""
    text, spans = source
    if not isinstance(items, list) or len(items) != len(spans.starts):
        return {}
    if spans.ours:  # counted in a text this desk wrote: every member laid out so
        return dict(zip(map(id, items), zip(spans.starts, spans.ends, strict=True), strict=True))
    return {
        id(item): (start, end)
        for item, start, end in zip(items, spans.starts, spans.ends, strict=True)
        if text.startswith(_MEMBER_HEAD, start) and text.endswith(_MEMBER_TAIL, start, end)
    }


def render_queue(
    new: QueueFile,
    before: QueueFile,
    before_raw: dict[str, Any],
    ref: Reference | None = None,
    source: tuple[str, Spans] | None = None,
) -> RenderedQueue:
    """The bytes, parsed JSON and validated model of ``new``, a changed copy of ``before``
    (whose parsed JSON is ``before_raw``): orders that did not change keep their JSON and
    their model, and (given the ``source`` text of the file and the places of its orders)
    their text, so a large queue costs little more than the orders an action changed.

    Raises `StateFileError` if the new content would not load.
    """
    before_items = before_raw.get("orders")
    reuse = queue_reuse(before, before_items) or {}
    places = _file_texts(source, before_items) if source is not None else {}
    items: list[Any] = []
    pretties: list[bytes] | None = []
    kept: list[Order | None] = []
    for order in new.orders:
        hit = reuse.get(order.order_id)
        if hit is not None and same_order(order, hit[1]):
            item = hit[0]
            kept.append(hit[1])
        else:
            item = order_data(order)
            kept.append(None)
        items.append(item)
        if pretties is None:
            continue
        place = places.get(id(item))
        if place is not None and source is not None:
            # Unchanged and laid out as we write it: the file's own text.
            pretties.append(source[0][place[0] : place[1]].encode("utf-8"))
            continue
        try:
            pretties.append(member_text(item))
        except TypeError:
            pretties = None  # orjson refuses it: the whole file the slow way
    top = new.model_copy(update={"orders": []}).model_dump(mode="python", by_alias=True)
    raw: dict[str, Any] = parse_json(dumps_compact(top), check_duplicates=False)
    raw["orders"] = items
    data: bytes | None = None
    if pretties is not None:
        try:
            data = pretty_with_members(raw, "orders", pretties)
        except TypeError:
            data, pretties = None, None
    if data is None:
        data = dumps_pretty(raw).encode("utf-8")
    # The canonical text in one call: 10,000 orders' in 25 ms, where one call per order
    # (kept for the next render) cost twice that the first time and half as much later.
    digest = data_sha(raw)
    model = validate_raw(StateKind.QUEUE, raw, data, ref, reuse, kept)
    assert isinstance(model, QueueFile)
    spans = member_spans(data, pretties) if pretties is not None else None
    return RenderedQueue(data, raw, model, digest, spans)
