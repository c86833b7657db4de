"""Random bytes and random JSON into the loader of every state file (issue 19): it returns a
model or raises our own `StateFileError` (with the file named), and nothing else comes out."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.loader import parse_model

KINDS = list(StateKind)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["1e400", "NaN", "\ud800", "2026-11-24T08:05:00Z", "V_CORE", "F_1042"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
KEYS = ["version", "orders", "vaults", "accounts", "followers", "asof", "global", "defaults"]
documents = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_values, max_size=5)


def _loads(kind: StateKind, data: bytes) -> None:
    try:
        parse_model(kind, data)
    except StateFileError as exc:
        assert exc.problems and all(p.file == kind.filename for p in exc.problems), exc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), st.binary(max_size=300))
def test_random_bytes(kind: StateKind, data: bytes) -> None:
    _loads(kind, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), documents)
def test_random_json(kind: StateKind, document: dict[str, Any]) -> None:
    _loads(kind, json.dumps(document).encode("utf-8", "surrogatepass"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), st.data())
def test_a_demo_file_with_one_value_replaced(kind: StateKind, data: st.DataObject) -> None:
    """A real file with one random value swapped in somewhere: the usual damage."""
    from vanta_tui.demo.bundled import build

    document = json.loads(build()[kind.filename])
    path: list[Any] = []
    node: Any = document
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path.append(key)
        node = node[key]
    replacement = data.draw(json_values)
    if path:
        parent: Any = document
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = replacement
    else:
        document = replacement
    _loads(kind, json.dumps(document).encode("utf-8", "surrogatepass"))
