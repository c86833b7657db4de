"""Giving memory back to the system after large, short-lived work.

A desk at 10,000 orders parses an 8 MB queue in one thread (the panes' reload), renders it
in another (the executor's journal) and answers brokers in a pool of others. glibc's
allocator gives each thread that allocates at once an arena of its own (up to 8 per core)
and keeps what was freed in them for later: after a full reload, tens of MB of freed
Python objects stay resident, in whichever arena they were made (measured: a desk with its
executor at 10,000 orders, 422 MB resident, 345 MB once trimmed; `bench/desk_memory.py`).

- `limit_arenas` caps the arenas (at process start, before the threads): threads then share
  a few arenas, and memory freed by one is reused by the next instead of kept apart.
- `give_back` returns the free pages of every arena to the system (``malloc_trim``), once
  large work is done (a load of many changed files, an executor cycle that recorded much),
  at most once a second.

Both do nothing where the C library is not glibc (musl, macOS, Windows): there, its own
allocator's habits apply.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from typing import Any

_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
ARENAS = 2
EVERY_S = 1.0


def _glibc() -> Any | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()
_lock = threading.Lock()
_last = 0.0


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's allocator at ``arenas`` arenas (call before starting threads); whether
    it took effect."""
    return _LIBC is not None and bool(_LIBC.mallopt(_M_ARENA_MAX, arenas))


def give_back(*, force: bool = False) -> bool:
    """Return freed memory to the system (at most once every `EVERY_S`, unless ``force``);
    whether it ran."""
    global _last
    if _LIBC is None:
        return False
    with _lock:
        now = time.monotonic()
        if not force and now - _last < EVERY_S:
            return False
        _last = now
    _LIBC.malloc_trim(0)
    return True
