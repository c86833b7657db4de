"""The one way a state file is written: under its lock, atomically, and only if it loads back.

A write holds ``<file>.lock`` (filelock), refuses to overwrite a file that does not load,
bumps ``version``, checks that the new text loads back (cross-file rules included), then
replaces the file: temp file in the same directory, flush, fsync, rename, fsync the
directory. A reader never sees half a file; a crash leaves the old file or the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

from vanta_tui.core.codec import dumps_pretty
from vanta_tui.core.models import StateFileModel
from vanta_tui.core.state_files import Reference, StateKind
from vanta_tui.store.errors import StateFileError, VersionConflict, WriteRefused
from vanta_tui.store.loader import (
    LoadedFile,
    kind_of,
    parse_model,
    read_bytes,
    reference_for,
    state_path,
)
from vanta_tui.store.locks import PathLock, Waiting

LOCK_TIMEOUT_S = 30.0
"""How long a writer waits for another process's lock before giving up (temporary), unless
``$VANTA_LOCK_WAIT_S`` or `set_lock_wait` (the CLI's ``--wait``) says otherwise."""
LOCK_WAIT_ENV = "VANTA_LOCK_WAIT_S"
_lock_wait: float | None = None


def set_lock_wait(seconds: float | None) -> None:
    """How long this process's writers wait for a lock (None: the environment, else 30 s)."""
    global _lock_wait
    _lock_wait = seconds


def lock_wait_configured() -> float | None:
    """The wait set by `set_lock_wait` or the environment, None if neither set one."""
    if _lock_wait is not None:
        return _lock_wait
    try:
        return float(os.environ[LOCK_WAIT_ENV])
    except (KeyError, ValueError):
        return None


def lock_wait() -> float:
    if _lock_wait is not None:
        return _lock_wait
    try:
        return float(os.environ.get(LOCK_WAIT_ENV, "") or LOCK_TIMEOUT_S)
    except ValueError:
        return LOCK_TIMEOUT_S


M = TypeVar("M", bound=StateFileModel)


def lock_path(state_dir: Path, kind: StateKind) -> Path:
    return state_dir / f"{kind.filename}.lock"


@contextlib.contextmanager
def file_lock(
    state_dir: Path,
    kind: StateKind,
    timeout: float | None = None,
    waiting: Waiting | None = None,
) -> Iterator[PathLock]:
    """Hold the file's lock; other writers (in any process) wait, up to `lock_wait` seconds
    (then `LockTimeout` names who holds it). Besides ``<file>.lock`` the holder locks the
    file's own inode, so removing the lock file does not let another desk writer in;
    `PathLock.check` tells whether the lock file was replaced meanwhile."""
    lock = PathLock(
        lock_path(state_dir, kind),
        state_path(state_dir, kind),
        kind.filename,
        lock_wait() if timeout is None else timeout,
    )
    with lock.hold(waiting):
        yield lock


def render(model: StateFileModel) -> bytes:
    """The exact bytes a model is written as."""
    return dumps_pretty(model.model_dump(mode="python", by_alias=True)).encode("utf-8")


_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
"""What `atomic_replace` names its temp files: ``.<file>.<pid>.<8 hex>.tmp``."""


def remove_stale_temps(directory: Path, names: Iterable[str]) -> list[str]:
    """Remove our own temp files of ``names`` left by writers that were killed (their
    process is gone). Call it holding those files' locks, so no writer of ours is midway."""
    wanted = set(names)
    removed: list[str] = []
    for entry in directory.iterdir():
        found = _TEMP.match(entry.name)
        if found is None or found["name"] not in wanted or not entry.is_file():
            continue
        if int(found["pid"]) != os.getpid() and _alive(int(found["pid"])):
            continue
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
            removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def atomic_replace(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file beside it, fsync, rename, fsync the directory."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600  # a file the desk creates is its owner's only, whatever the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _current(state_dir: Path, kind: StateKind, ref: Reference) -> StateFileModel | None:
    """What the file holds now (None if missing); refuses if it does not load."""
    if not (state_dir / kind.filename).exists() and not (state_dir / kind.filename).is_symlink():
        return None
    try:
        data = read_bytes(state_dir, kind)
        # Only the file's own rules decide whether it may be replaced; a dangling reference in
        # the old content is what the new content may be fixing.
        return parse_model(kind, data, None)
    except StateFileError as exc:
        raise WriteRefused(
            kind.filename, "the file on disk does not load, so it is left as it is", exc.problems
        ) from None


def _write_locked(
    state_dir: Path,
    kind: StateKind,
    model: StateFileModel,
    current: StateFileModel | None,
    ref: Reference,
    lock: PathLock | None = None,
) -> LoadedFile[Any]:
    version = current.version + 1 if current is not None else model.version
    new = model.model_copy(update={"version": version})
    data = render(new)
    try:
        checked = parse_model(kind, data, ref)
    except StateFileError as exc:
        raise WriteRefused(
            kind.filename, "the new content would not load back", exc.problems
        ) from None
    if lock is not None:
        lock.check()
    atomic_replace(state_path(state_dir, kind), data)
    return LoadedFile(kind, checked, hashlib.sha256(data).hexdigest(), len(data))


def write(
    state_dir: Path,
    model: M,
    *,
    expect_version: int | None = None,
    ref: Reference | None = None,
) -> LoadedFile[M]:
    """Replace a state file with ``model`` (its version becomes the file's version + 1).

    With ``expect_version``, raise `VersionConflict` if the file changed since it was read.
    """
    kind = kind_of(type(model))
    ref = ref if ref is not None else reference_for(state_dir, kind)
    with file_lock(state_dir, kind) as lock:
        current = _current(state_dir, kind, ref)
        if expect_version is not None and current is not None and current.version != expect_version:
            raise VersionConflict(kind.filename, expect_version, current.version)
        return cast(LoadedFile[M], _write_locked(state_dir, kind, model, current, ref, lock))


def update(
    state_dir: Path,
    model_cls: type[M],
    change: Callable[[M], M | None],
    *,
    ref: Reference | None = None,
) -> LoadedFile[M]:
    """Re-read the file under its lock, apply ``change`` and write the result.

    ``change`` gets a private copy; it may modify it in place (return None) or return a new
    model. Two processes updating the same file concurrently both keep their changes. A
    missing file starts from the model's defaults when it has them.
    """
    kind = kind_of(model_cls)
    ref = ref if ref is not None else reference_for(state_dir, kind)
    with file_lock(state_dir, kind) as lock:
        current = _current(state_dir, kind, ref)
        base: M
        if current is None:
            try:
                base = model_cls()
            except Exception:
                raise WriteRefused(kind.filename, "the file is missing") from None
        else:
            base = cast(M, current)  # parsed just now for this call: already a private copy
        changed = change(base)
        result = changed if changed is not None else base
        return cast(LoadedFile[M], _write_locked(state_dir, kind, result, current, ref, lock))
