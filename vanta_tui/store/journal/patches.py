"""Minimal JSON patches between two versions of a state file, and their replay.

Operations (lists, so they hash as plain JSON):
``["set", path, value]``, ``["del", path]``, ``["append", path, value]``.
Appending to a list (new orders in the queue) costs one op per new item; any other list
change is element-wise when the length is unchanged, else the whole list is set.
"""

from __future__ import annotations

from typing import Any

Path = list[str | int]
Op = list[Any]


def _same(a: Any, b: Any) -> bool:
    # Decimal("1.0") == Decimal("1") but they are written differently: compare text too.
    return type(a) is type(b) and a == b and str(a) == str(b)


def diff(before: Any, after: Any, path: Path | None = None) -> list[Op]:
    """Operations that turn ``before`` into ``after``."""
    here: Path = path or []
    if isinstance(before, dict) and isinstance(after, dict):
        ops: list[Op] = []
        for key in before:
            if key not in after:
                ops.append(["del", [*here, key]])
        for key, value in after.items():
            old = before.get(key, _MISSING)
            if old is value:
                continue
            if old is _MISSING:
                ops.append(["set", [*here, key], value])
                continue
            kind = type(value)
            if kind is type(old) and kind in _SCALAR:
                # Strings, ints, bools, null (most fields): equal means written alike.
                if old != value:
                    ops.append(["set", [*here, key], value])
                continue
            if not _equal(old, value):
                ops.extend(diff(old, value, [*here, key]))
        return ops
    if isinstance(before, list) and isinstance(after, list):
        n = len(before)
        if len(after) >= n and _equal(after[:n], before):
            return [["append", here, item] for item in after[n:]]
        if len(after) == n:
            ops = []
            for index, (old, new) in enumerate(zip(before, after, strict=True)):
                if old is not new and not _equal(old, new):
                    ops.extend(diff(old, new, [*here, index]))
            return ops
        return [["set", here, after]]
    if _same(before, after):
        return []
    return [["set", here, after]]


def _equal(a: Any, b: Any) -> bool:
    """`_deep_equal`, after Python's own ``==`` (C speed) has ruled out most differences:
    values that differ under ``==`` always differ in text too."""
    return a is b or (bool(a == b) and _deep_equal(a, b))


def _deep_equal(a: Any, b: Any) -> bool:
    """For values already equal under ``==``: whether they are also written alike."""
    if a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        for key, x in a.items():
            y = b[key]
            if x is y:
                continue
            if type(x) is not type(y):
                return False
            if type(x) in _SCALAR:
                continue  # equal, of one type, so written alike
            if not _deep_equal(x, y):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    return _same(a, b)


_SCALAR = frozenset({str, int, bool, type(None)})
_MISSING = object()


def _parent(doc: Any, path: Path) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


def apply(doc: Any, ops: list[Op]) -> Any:
    """Apply ``ops`` to ``doc`` in place (and return it; a root ``set`` returns the value)."""
    for op in ops:
        kind, path = op[0], list(op[1])
        if kind == "set":
            if not path:
                doc = op[2]
                continue
            _parent(doc, path)[path[-1]] = op[2]
        elif kind == "del":
            del _parent(doc, path)[path[-1]]
        elif kind == "append":
            target = doc
            for part in path:
                target = target[part]
            target.append(op[2])
        else:
            raise ValueError(f"unknown patch operation {kind!r}")
    return doc
