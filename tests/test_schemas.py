"""The exported JSON Schemas: they accept the demos, describe every field, carry absolute
ids and numeric defaults, and agree with the loader on what a file may hold."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource

import vanta_tui.core.models as models
from vanta_tui.cli.main import main
from vanta_tui.core.codec import dumps_pretty
from vanta_tui.core.schemas import (
    DIALECT,
    EVERY_FILE,
    RULES,
    schema_filename,
    schema_id,
    state_file_schema,
)
from vanta_tui.core.state_files import Reference, StateKind
from vanta_tui.demo.bundled import build
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.loader import parse_model

Json = dict[str, Any]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[StateKind, Json]:
    """The schemas as `vanta-tui schema --out DIR` writes them, read back."""
    out = tmp_path_factory.mktemp("schemas")
    assert main(["schema", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(schema_filename(k) for k in StateKind)
    return {
        kind: json.loads((out / schema_filename(kind)).read_text("utf-8")) for kind in StateKind
    }


@pytest.fixture(scope="module")
def validators(exported: dict[StateKind, Json]) -> dict[StateKind, Draft202012Validator]:
    return {kind: Draft202012Validator(schema) for kind, schema in exported.items()}


@pytest.fixture(scope="module")
def demo() -> dict[StateKind, Json]:
    """The bundled demo's files as parsed JSON (plain floats, as another program reads them)."""
    files = build()
    return {kind: json.loads(files[kind.filename]) for kind in StateKind}


def _problems(validator: Draft202012Validator, data: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]


def _assert_directory_valid(state: Path, validators: dict[StateKind, Draft202012Validator]) -> None:
    for kind in StateKind:
        data = json.loads((state / kind.filename).read_text("utf-8"))
        assert _problems(validators[kind], data) == [], kind.filename


# --- The demos validate ----------------------------------------------------------------------


def test_the_bundled_demo_validates(
    state_dir: Path, validators: dict[StateKind, Draft202012Validator]
) -> None:
    _assert_directory_valid(state_dir, validators)


def test_a_copy_of_the_tracked_state_validates(
    tracked_state_copy: Path, validators: dict[StateKind, Draft202012Validator]
) -> None:
    _assert_directory_valid(tracked_state_copy, validators)


def test_a_generated_demo_validates(
    tmp_path: Path, validators: dict[StateKind, Draft202012Validator]
) -> None:
    out = tmp_path / "generated"
    args = ["--vaults", "25", "--orders", "600", "--positions", "300", "--seed", "11"]
    assert main(["demo", *args, "--out", str(out)]) == 0
    _assert_directory_valid(out, validators)


# --- What the schemas are --------------------------------------------------------------------


def test_each_schema_is_valid_2020_12_with_an_absolute_id(exported: dict[StateKind, Json]) -> None:
    ids = set()
    for kind, schema in exported.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == DIALECT
        assert schema["title"] == kind.filename
        parts = urlsplit(schema["$id"])
        assert parts.scheme and not parts.fragment, schema["$id"]  # absolute, no fragment
        assert schema["$id"] == schema_id(kind)
        ids.add(schema["$id"])
    assert len(ids) == len(StateKind)


def test_a_validator_finds_each_schema_by_its_id(
    exported: dict[StateKind, Json], demo: dict[StateKind, Json]
) -> None:
    """How another program uses the ids: the schemas in a registry, a file checked against
    ``{"$ref": <id>}`` (the ``$ref`` inside each schema resolve against its URN)."""
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in exported.values()
    )
    for kind in StateKind:
        check = Draft202012Validator({"$ref": schema_id(kind)}, registry=registry)
        assert check.is_valid(demo[kind]), kind.filename
    broken = copy.deepcopy(demo[StateKind.QUEUE])
    broken["orders"][0]["qty"] = -1
    assert not Draft202012Validator(
        {"$ref": schema_id(StateKind.QUEUE)}, registry=registry
    ).is_valid(broken)


def _objects(node: Any, path: str = "#") -> Iterator[tuple[str, Json]]:
    """Every object schema (``type: object`` with ``properties``) at every depth."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{path}/{index}")


def test_every_object_and_every_property_has_a_description(
    exported: dict[StateKind, Json],
) -> None:
    missing = []
    for kind, schema in exported.items():
        objects = list(_objects(schema))
        assert len(objects) >= 2, kind  # the file and the models inside it
        for path, obj in objects:
            if not str(obj.get("description", "")).strip():
                missing.append(f"{kind.filename} {path}")
            for name, prop in obj["properties"].items():
                if not str(prop.get("description", "")).strip():
                    missing.append(f"{kind.filename} {path}/properties/{name}")
    assert missing == []


def test_descriptions_read_as_text_not_as_docstrings(exported: dict[StateKind, Json]) -> None:
    def descriptions(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("description"), str):
                yield node["description"]
            for value in node.values():
                yield from descriptions(value)
        elif isinstance(node, list):
            for value in node:
                yield from descriptions(value)

    texts = [text for schema in exported.values() for text in descriptions(schema)]
    assert texts
    assert not [t for t in texts if "``" in t]  # reStructuredText literals became Markdown
    fields = [
        prop["description"]
        for schema in exported.values()
        for _, obj in _objects(schema)
        for prop in obj["properties"].values()
    ]
    assert not [t for t in fields if "\n" in t]  # a docstring's wrapped lines are joined


def _numeric_schema(node: Json) -> bool:
    types = [node.get("type"), *(option.get("type") for option in node.get("anyOf", []))]
    return "number" in types or "integer" in types


def test_numeric_defaults_are_json_numbers(exported: dict[StateKind, Json]) -> None:
    seen = 0
    for schema in exported.values():
        for _, obj in _objects(schema):
            for name, prop in obj["properties"].items():
                if "default" not in prop:
                    continue
                default = prop["default"]
                assert not (isinstance(default, str) and _looks_numeric(default)), name
                if _numeric_schema(prop) and default is not None:
                    assert type(default) in (int, float), (name, default)
                    seen += 1
    assert seen >= 10


def _looks_numeric(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def test_defaults_are_the_models_defaults_exactly(exported: dict[StateKind, Json]) -> None:
    """The number in the schema is the model's Decimal to the digit (0.01 stays 0.01)."""
    checked = 0
    for schema in exported.values():
        for name, definition in schema.get("$defs", {}).items():
            for field, prop in definition.get("properties", {}).items():
                if type(prop.get("default")) not in (int, float):
                    continue
                model = getattr(models, name)
                expected = model.model_fields[field].default
                assert Decimal(repr(prop["default"])) == Decimal(expected), (name, field)
                checked += 1
    assert checked >= 10


def test_the_top_level_description_carries_the_rules_no_schema_can_express(
    exported: dict[StateKind, Json],
) -> None:
    for kind, schema in exported.items():
        text = schema["description"]
        for rule in RULES[kind].checked + RULES[kind].kept + EVERY_FILE.checked + EVERY_FILE.kept:
            assert rule in text, (kind.filename, rule)
    assert "`vault.json`" in exported[StateKind.QUEUE]["description"]
    assert "`followers.json`" in exported[StateKind.QUEUE]["description"]


def test_the_core_builds_what_the_cli_writes(exported: dict[StateKind, Json]) -> None:
    for kind in StateKind:
        assert json.loads(json.dumps(state_file_schema(kind))) == exported[kind]


# --- The schema and the loader agree ---------------------------------------------------------


def _loader_accepts(kind: StateKind, data: Json, ref: Reference | None = None) -> bool:
    try:
        parse_model(kind, json.dumps(data).encode("utf-8"), ref)
    except StateFileError:
        return False
    return True


Change = Callable[[Json], None]


def _first_order(data: Json) -> Json:
    return data["orders"][0]  # type: ignore[no-any-return]


def _set(key: str, value: Any, where: Callable[[Json], Json] = _first_order) -> Change:
    def change(data: Json) -> None:
        where(data)[key] = value

    return change


def _drop(key: str, where: Callable[[Json], Json] = _first_order) -> Change:
    def change(data: Json) -> None:
        del where(data)[key]

    return change


def _all(*changes: Change) -> Change:
    def change(data: Json) -> None:
        for each in changes:
            each(data)

    return change


def _vault(data: Json) -> Json:
    return data["vaults"][0]  # type: ignore[no-any-return]


def _flip(data: Json) -> Json:
    return data["vaults"]["V_CORE"]["flip_mode"]  # type: ignore[no-any-return]


def _position(data: Json) -> Json:
    return data["accounts"]["V_CORE"]["positions"]["AAPL"]  # type: ignore[no-any-return]


def _follower(data: Json) -> Json:
    return data["followers"][0]  # type: ignore[no-any-return]


Q, V, OV, P, F = (
    StateKind.QUEUE,
    StateKind.VAULT,
    StateKind.OVERLAY,
    StateKind.PORTFOLIO,
    StateKind.FOLLOWERS,
)

BOTH_REFUSE: list[tuple[str, StateKind, Change]] = [
    ("negative qty", Q, _set("qty", -7)),
    ("zero qty", Q, _set("qty", 0)),
    ("qty as a string", Q, _set("qty", "7")),
    ("garbage qty", Q, _set("qty", "seven")),
    ("boolean qty", Q, _set("qty", True)),
    ("qty beyond 10^15", Q, _set("qty", 10**16)),
    ("missing symbol", Q, _drop("symbol")),
    ("missing created_at", Q, _drop("created_at")),
    ("unknown side", Q, _set("side", "hold")),
    ("unknown status", Q, _set("status", "done")),
    ("lower-case ticker", Q, _all(_set("symbol", "aapl"), _set("asset_class", "equity"))),
    (
        "limit order without a price",
        Q,
        _all(_set("order_type", "limit"), _set("limit_price", None)),
    ),
    ("market order with a price", Q, _all(_set("order_type", "market"), _set("limit_price", 5))),
    ("pair as an equity", Q, _all(_set("symbol", "BTC/USD"), _set("asset_class", "equity"))),
    ("ticker as crypto", Q, _all(_set("symbol", "AAPL"), _set("asset_class", "crypto"))),
    ("parent without follower", Q, _all(_set("parent_id", "X1"), _set("follower_id", None))),
    ("follower without parent", Q, _all(_set("follower_id", "F_1042"), _drop("parent_id"))),
    ("fills without a price", Q, _all(_set("filled_qty", 1), _set("avg_fill_price", None))),
    ("filled with nothing filled", Q, _all(_set("status", "filled"), _set("filled_qty", 0))),
    ("timestamp without a zone", Q, _set("created_at", "2026-11-24T08:06:00")),
    ("timestamp that is no date", Q, _set("updated_at", "2026-13-40T08:06:00Z")),
    ("negative attempts", Q, _set("attempts", -1)),
    ("conviction above 1", Q, _set("conviction", 1.5)),
    ("version 0", Q, lambda d: d.update(version=0)),
    ("orders not a list", Q, lambda d: d.update(orders={})),
    ("vault without risk", V, _drop("risk", _vault)),
    ("drawdown limit above 1", V, lambda d: _vault(d)["risk"].update(max_drawdown=1.5)),
    ("persona listed twice", V, lambda d: _vault(d)["personas"].extend(_vault(d)["personas"][:1])),
    ("unknown adapter", V, lambda d: _vault(d)["venues"]["equity"].update(adapter="binance")),
    (
        "flip mode on without expiry",
        OV,
        _all(_set("enabled", True, _flip), _set("expires_at", None, _flip)),
    ),
    ("negative position qty", P, _set("qty", -1, _position)),
    ("zero last price", P, _set("last_price", 0, _position)),
    ("ticker held as crypto", P, _set("asset_class", "crypto", _position)),
    (
        "a position keyed by no symbol",
        P,
        lambda d: d["accounts"]["V_CORE"]["positions"].update({"aapl": {"qty": -5}}),
    ),
    ("an account keyed by no id", P, lambda d: d["accounts"].update({"no id!": {"cash": "x"}})),
    (
        "a target keyed by no symbol",
        StateKind.ALLOCATION,
        lambda d: d["vaults"]["V_CORE"]["targets"].update({"btc/usd": 0.01}),
    ),
    ("an overlay keyed by no id", OV, lambda d: d["vaults"].update({" V_CORE": {}})),
    (
        "a boost keyed by no id",
        OV,
        lambda d: d["vaults"]["V_CORE"]["persona_boosts"].update({"": 0.1}),
    ),
    (
        "a broker for no asset class",
        F,
        lambda d: _follower(d)["brokers"].update(fx={"adapter": "paper", "account_ref": "x"}),
    ),
    ("follower without equity", F, _drop("equity", _follower)),
    ("negative scale", F, _set("scale", -0.5, _follower)),
]


BOTH_ACCEPT: list[tuple[str, StateKind, Change]] = [
    ("the demo as it is", Q, lambda d: None),
    ("a limit order", Q, _all(_set("order_type", "limit"), _set("limit_price", 182.5))),
    (
        "a crypto order",
        Q,
        _all(
            _set("symbol", "ETH/USD"),
            _set("asset_class", "crypto"),
            _set("qty", 0.000000000000000001),
        ),
    ),
    (
        "a partial fill",
        Q,
        _all(
            _set("status", "partially_filled"), _set("filled_qty", 3), _set("avg_fill_price", 190.1)
        ),
    ),
    ("an unknown key (kept)", Q, _set("desk_note", "from the allocator")),
    (
        "defaults left out",
        Q,
        _all(
            *(_drop(k) for k in ("order_type", "limit_price", "status", "attempts", "filled_qty"))
        ),
    ),
    ("qty at the bound", Q, _set("qty", 10**15)),
    ("a fraction of a second", Q, _set("updated_at", "2026-11-24T08:06:00.250Z")),
    (
        "flip mode on with expiry",
        OV,
        _all(_set("enabled", True, _flip), _set("expires_at", "2026-11-24T09:00:00Z", _flip)),
    ),
    ("negative cash", P, lambda d: d["accounts"]["V_CORE"].update(cash=-10)),
    ("a follower on defaults", F, _all(_drop("mode", _follower), _drop("scale", _follower))),
]


def _case(demo: dict[StateKind, Json], kind: StateKind, change: Change) -> Json:
    data = copy.deepcopy(demo[kind])
    change(data)
    return data


@pytest.mark.parametrize(("name", "kind", "change"), BOTH_REFUSE, ids=[c[0] for c in BOTH_REFUSE])
def test_a_broken_file_fails_the_schema_and_the_loader(
    name: str,
    kind: StateKind,
    change: Change,
    demo: dict[StateKind, Json],
    validators: dict[StateKind, Draft202012Validator],
) -> None:
    data = _case(demo, kind, change)
    assert _problems(validators[kind], data), f"the schema accepts: {name}"
    assert not _loader_accepts(kind, data), f"the loader accepts: {name}"


@pytest.mark.parametrize(("name", "kind", "change"), BOTH_ACCEPT, ids=[c[0] for c in BOTH_ACCEPT])
def test_a_good_file_passes_the_schema_and_the_loader(
    name: str,
    kind: StateKind,
    change: Change,
    demo: dict[StateKind, Json],
    validators: dict[StateKind, Draft202012Validator],
) -> None:
    data = _case(demo, kind, change)
    assert _problems(validators[kind], data) == [], name
    assert _loader_accepts(kind, data), name


def _with_ref(demo: dict[StateKind, Json]) -> Reference:
    from vanta_tui.core.models import FollowersFile, VaultFile

    return Reference(
        vaults=VaultFile.model_validate(demo[StateKind.VAULT]),
        followers=FollowersFile.model_validate(demo[StateKind.FOLLOWERS]),
    )


ONLY_THE_DESK: list[tuple[str, StateKind, Change, str, str]] = [
    # (case, file, change, words of the schema's description, words of the loader's refusal)
    ("an unknown vault", Q, _set("vault_id", "V_NOPE"),
     "is a `vault_id` of `vault.json`", "unknown vault 'V_NOPE'"),
    ("a follower of an unknown vault", F, _set("vault_id", "V_NOPE", _follower),
     "`vault_id` of `vault.json`", "unknown vault 'V_NOPE'"),
    ("an unknown parent", Q, _all(_set("parent_id", "NOPE"), _set("follower_id", "F_1042")),
     "the `order_id` of an order in this file", "unknown parent order 'NOPE'"),
    ("an order id twice", Q, lambda d: d["orders"].append(copy.deepcopy(d["orders"][0])),
     "Each `order_id` appears once", "appears again"),
    ("more filled than ordered", Q, _all(_set("status", "partially_filled"), _set("qty", 2),
                                         _set("filled_qty", 3), _set("avg_fill_price", 1)),
     "`filled_qty` is at most `qty`", "exceeds qty"),
    ("updated before created", Q, _set("updated_at", "2020-01-01T00:00:00Z"),
     "`updated_at` is not earlier than `created_at`", "earlier than created_at"),
    ("a date that does not exist", Q, _set("created_at", "2026-02-30T08:06:00Z"),
     "A date that does not exist", "not an ISO 8601 timestamp"),
    ("19 decimal places", Q, _set("qty", Decimal("0.0000000000000000001")),
     "18 decimal places", "more than 18 decimal places"),
    ("a credential-like key", Q, _set("api_key", "x"),
     "look like a credential", "credential-like keys"),
    ("1.0 as an integer", Q, _set("attempts", Decimal("1.0")),
     "written without a fraction", "attempts"),
    ("targets above 1 in all", StateKind.ALLOCATION,
     lambda d: d["vaults"]["V_CORE"]["targets"].update(AAPL=0.99),
     "sum to at most 1", "more than 1"),
    ("history out of order", StateKind.PNL,
     lambda d: d["vaults"]["V_CORE"]["nav_history"].reverse(),
     "later than the one before", "not later than"),
    ("a persona the vault lacks", OV, lambda d: d["vaults"]["V_CORE"].update(persona="nobody"),
     "one of that vault's `personas`", "not one of the vault's personas"),
    ("an unknown account", P, lambda d: d["accounts"].update(X_NOBODY={"cash": 1}),
     "`follower_id` of `followers.json`", "neither a vault nor a follower"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "change", "rule", "refusal"),
    ONLY_THE_DESK,
    ids=[c[0] for c in ONLY_THE_DESK],
)
def test_what_no_schema_can_say_is_in_the_description_and_the_loader_refuses(
    name: str,
    kind: StateKind,
    change: Change,
    rule: str,
    refusal: str,
    demo: dict[StateKind, Json],
    exported: dict[StateKind, Json],
    validators: dict[StateKind, Draft202012Validator],
) -> None:
    data = _case(demo, kind, change)
    text = dumps_pretty(data)  # a Decimal goes in as its exact digits
    assert _problems(validators[kind], json.loads(text)) == [], f"the schema refuses: {name}"
    assert rule in exported[kind]["description"], rule
    with pytest.raises(StateFileError) as refused:
        parse_model(kind, text.encode("utf-8"), _with_ref(demo))
    assert refusal in str(refused.value), name


# --- Property: on orders, the schema accepts exactly what the loader accepts ----------------

_ABSENT = object()
"""A field left out of the order."""

Group = tuple[tuple[str, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]
"""Fields drawn together (they constrain each other), their good and their bad values."""

_GROUPS: list[Group] = [
    (("symbol", "asset_class"),
     [("AAPL", "equity"), ("BRK.B", "equity"), ("BTC/USD", "crypto"), ("ETH/USDT", "crypto")],
     [("AAPL", "crypto"), ("BTC/USD", "equity"), ("aapl", "equity"), ("", "equity"),
      ("BTC/", "crypto"), ("AAPL", "fx"), (_ABSENT, "equity")]),
    (("side",), [("buy",), ("sell",)], [("hold",), ("BUY",), (_ABSENT,), (None,)]),
    (("qty",), [(1,), (7,), (0.5,), (10**15,), (0.000001,)],
     [(0,), (-1,), ("7",), (True,), (None,), (1e16,), (_ABSENT,)]),
    (("order_type", "limit_price"),
     [("market", _ABSENT), ("market", None), (_ABSENT, _ABSENT), (_ABSENT, None),
      ("limit", 62.4), ("limit", 1)],
     [("limit", _ABSENT), ("limit", None), ("market", 62.4), (_ABSENT, 5), ("stop", _ABSENT),
      ("limit", 0), ("limit", -3), ("limit", "62.4")]),
    (("time_in_force",), [("day",), ("gtc",), ("ioc",), ("fok",), (_ABSENT,)],
     [("week",), (None,)]),
    # "half" and "all" stand for half the quantity and the whole of it (filled_qty ≤ qty).
    (("status", "filled_qty", "avg_fill_price"),
     [("staged", _ABSENT, _ABSENT), (_ABSENT, _ABSENT, _ABSENT), ("approved", 0, None),
      ("submitted", 0, _ABSENT), ("partially_filled", "half", 100), ("filled", "all", 100.5),
      ("cancelled", "half", 0.5)],
     [("filled", 0, 100), ("partially_filled", "half", None), ("partially_filled", "half", 0),
      ("done", _ABSENT, _ABSENT), ("staged", -1, _ABSENT), ("staged", "1", _ABSENT)]),
    (("attempts",), [(_ABSENT,), (0,), (3,)], [(-1,), (1.5,), ("2",), (True,)]),
    (("conviction",), [(_ABSENT,), (None,), (0,), (0.87,), (1,)], [(1.5,), (-0.1,), ("0.5",)]),
    (("parent_id", "follower_id"),
     [(_ABSENT, _ABSENT), (None, None), (None, _ABSENT), ("01JDX4W2M8Q0F3Z6V7K9T1B2C3", "F_1042")],
     [("01JDX4W2M8Q0F3Z6V7K9T1B2C3", _ABSENT), (_ABSENT, "F_1042"), ("bad id!", "F_1042"),
      (None, "F_1042")]),
    (("created_at",), [("2026-11-24T08:06:00Z",), ("2026-11-24T08:06:00.5Z",)],
     [("2026-11-24T08:06:00",), ("yesterday",), (_ABSENT,), (5,)]),
    (("flipped",), [(_ABSENT,), (False,), (True,)], [("no",), (0,), (None,)]),
    (("desk_note",), [(_ABSENT,), ("kept",), (3,), ({"nested": [1, None]},)], []),
]  # fmt: skip


@st.composite
def _orders(draw: st.DrawFn) -> tuple[Json, int]:
    """An order with up to two groups of fields broken, and how many were."""
    breakable = [index for index, group in enumerate(_GROUPS) if group[2]]
    broken = draw(st.sets(st.sampled_from(breakable), max_size=2))
    order: Json = {
        "order_id": "01JDX4W2M8Q0F3Z6V7K9T1B2C9",
        "vault_id": "V_CORE",
        "updated_at": "2026-11-24T09:00:00Z",
    }
    for index, (names, good, bad) in enumerate(_GROUPS):
        values = draw(st.sampled_from(bad if index in broken else good))
        order.update((n, v) for n, v in zip(names, values, strict=True) if v is not _ABSENT)
    qty = order.get("qty")
    if order.get("filled_qty") in ("half", "all"):
        whole = qty if isinstance(qty, int | float) and not isinstance(qty, bool) else 1
        order["filled_qty"] = whole / 2 if order["filled_qty"] == "half" else whole
    return order, len(broken)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(repr(value))


def _only_the_loader_can_tell(order: Json) -> bool:
    """The order breaks a rule the description states but the schema cannot: filled more
    than ordered, or filled with less than the whole quantity."""
    qty, filled = _number(order.get("qty")), _number(order.get("filled_qty", 0))
    if qty is None or filled is None:
        return False
    return filled > qty or (order.get("status") == "filled" and filled != qty)


@settings(max_examples=400, deadline=None)
@given(drawn=_orders())
def test_on_orders_the_schema_accepts_exactly_what_the_loader_accepts(
    drawn: tuple[Json, int], validators: dict[StateKind, Draft202012Validator]
) -> None:
    order, broken = drawn
    assume(not _only_the_loader_can_tell(order))
    queue = {"version": 1, "orders": [order]}
    by_schema = not _problems(validators[StateKind.QUEUE], json.loads(json.dumps(queue)))
    event(f"{'accepted' if by_schema else 'refused'} ({broken} group(s) broken)")
    assert by_schema == _loader_accepts(StateKind.QUEUE, queue), order


def test_a_trailing_newline_is_not_part_of_a_symbol_or_an_adapter() -> None:
    """`re.match` with `$` accepts a final newline; the loader must not (the schema's
    pattern would, in Python validators, for the same reason)."""
    import pytest
    from pydantic import TypeAdapter, ValidationError

    from vanta_tui.core.types import AdapterName, Symbol

    symbol: TypeAdapter[str] = TypeAdapter(Symbol)
    adapter: TypeAdapter[str] = TypeAdapter(AdapterName)
    assert symbol.validate_python("AAPL") == "AAPL"
    assert adapter.validate_python("alpaca") == "alpaca"
    for check, bad in ((symbol, "AAPL\n"), (symbol, "BTC/USD\n"), (adapter, "alpaca\n")):
        with pytest.raises(ValidationError):
            check.validate_python(bad)
