"""The queue reloaded by difference (issue 24): a rewrite that changed one order is parsed and
validated as one order, and gives exactly what a full load of the same bytes gives, for
every edit another program can make (orders changed, added, removed, moved, reformatted,
the version, broken text, duplicate keys or ids)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vanta_tui.core.codec import dumps_compact, parse_json
from vanta_tui.core.models import Order
from vanta_tui.core.state_files import StateKind
from vanta_tui.demo.bundled import write_demo
from vanta_tui.store import loader
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.loader import LoadedFile, load, reference_for
from vanta_tui.store.spans import Spans, changed_items, parse_with_spans

QUEUE = StateKind.QUEUE


def _outcome(state_dir: Path, previous: LoadedFile[Any] | None) -> tuple[str, Any]:
    ref = reference_for(state_dir, QUEUE)
    try:
        loaded = load(state_dir, QUEUE, ref, previous)
    except StateFileError as exc:
        return "error", [str(p) for p in exc.problems]
    return "ok", loaded


def _same(a: tuple[str, Any], b: tuple[str, Any]) -> None:
    assert a[0] == b[0], (a, b)
    if a[0] == "error":
        assert a[1] == b[1]
        return
    left, right = a[1].model, b[1].model
    assert left.model_dump(mode="json") == right.model_dump(mode="json")
    assert [type(v) for o in left.orders for v in o.__dict__.values()] == [
        type(v) for o in right.orders for v in o.__dict__.values()
    ]


def _raw_is_the_files(loaded: LoadedFile[Any], text: str) -> None:
    """The parsed JSON a load keeps (the journal renders and diffs from it) is the file's,
    key order and each number's text included."""
    if loaded.raw is not None:
        assert dumps_compact(loaded.raw) == dumps_compact(parse_json(text))


EDITS = (
    "qty",
    "bad_qty",
    "status",
    "delete",
    "insert",
    "duplicate_id",
    "swap",
    "version",
    "unknown_field",
    "reindent",
    "text_delete",
    "text_insert",
    "duplicate_key",
    "append",
)


def _edit(data: dict[str, Any], text: str, edit: str, rnd: random.Random) -> str:
    """One edit another program could make; returns the new text."""
    orders = data["orders"]
    k = rnd.randrange(len(orders)) if orders else 0
    indent: int | None = 2
    if edit == "qty" and orders:
        orders[k]["qty"] = rnd.choice([1, 7, 43, 1000, "12.5", 0.25])
    elif edit == "bad_qty" and orders:
        orders[k]["qty"] = rnd.choice([-1, "x", None, 0])
    elif edit == "status" and orders:
        orders[k]["status"] = rnd.choice(["staged", "approved", "filled", "nonsense"])
    elif edit == "delete" and orders:
        del orders[k]
    elif edit in ("insert", "append", "duplicate_id") and orders:
        copy = json.loads(json.dumps(orders[k]))
        if edit != "duplicate_id":
            copy["order_id"] = f"01TEST{rnd.randrange(10**12):020d}"
        orders.insert(len(orders) if edit == "append" else rnd.randrange(len(orders) + 1), copy)
    elif edit == "swap" and len(orders) > 1:
        j = rnd.randrange(len(orders))
        orders[k], orders[j] = orders[j], orders[k]
    elif edit == "version":
        data["version"] = rnd.choice([1, 2, 3])
    elif edit == "unknown_field" and orders:
        orders[k]["note_from_allocator"] = rnd.choice(["x", 1, [1, 2]])
    elif edit == "reindent":
        indent = rnd.choice([None, 4])
    if edit == "text_delete" and text:
        at = rnd.randrange(len(text))
        return text[:at] + text[at + 1 :]
    if edit == "text_insert" and text:
        at = rnd.randrange(len(text))
        return text[:at] + rnd.choice([",", "}", "{", '"', " ", "1", "]"]) + text[at:]
    if edit == "duplicate_key" and orders:
        rendered = json.dumps(data, indent=2)
        at = rendered.find('"qty": ', rnd.randrange(len(rendered)))
        if at < 0:
            at = rendered.find('"qty": ')
        return rendered[:at] + '"qty": 1, ' + rendered[at:]
    return json.dumps(data, indent=indent) + "\n"


@pytest.fixture
def queue_dir(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    write_demo(state)
    return state


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(st.sampled_from(EDITS), min_size=1, max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_load_by_difference_gives_what_a_full_load_gives(
    queue_dir: Path, edits: list[str], seed: int
) -> None:
    rnd = random.Random(seed)
    path = queue_dir / "autotrade_queue.json"
    original = path.read_text()
    try:
        previous: LoadedFile[Any] | None = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE))
        text = original
        for edit in edits:
            try:
                data = json.loads(text)
                assert isinstance(data["orders"], list)
            except (ValueError, KeyError, TypeError, AssertionError):
                data = json.loads(original)
            text = _edit(data, text, edit, rnd)
            path.write_text(text)
            by_difference = _outcome(queue_dir, previous)
            whole = _outcome(queue_dir, None)
            _same(by_difference, whole)
            if by_difference[0] == "ok":
                _raw_is_the_files(by_difference[1], text)
                previous = by_difference[1]  # as the desk does: the next load starts here
    finally:
        path.write_text(original)


def test_one_changed_order_is_the_only_order_parsed_again(
    queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orders around the change are the very objects of the last load; only the changed
    one is new (counted by identity, not by time)."""
    path = queue_dir / "autotrade_queue.json"
    first = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE))
    data = json.loads(path.read_text())
    data["orders"][3]["qty"] = 4321
    path.write_text(json.dumps(data, indent=2) + "\n")
    # The demo's own formatting differs from json.dumps': this rewrite changes every line's
    # text, so every order is parsed again once...
    second = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE), first)
    data["orders"][5]["qty"] = 1234
    path.write_text(json.dumps(data, indent=2) + "\n")

    def whole_walk(*_: object) -> None:
        raise AssertionError("a change within one order walked the whole file")

    monkeypatch.setattr(loader, "_queue_by_text", whole_walk)
    third = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE), second)
    # ...and after that, one changed order is one new object.
    new = [
        i
        for i, (a, b) in enumerate(zip(second.model.orders, third.model.orders, strict=True))
        if a is not b
    ]
    assert new == [5]
    assert third.model.orders[5].qty == 1234
    assert third.text is not None and third.spans is not None
    assert third.text == path.read_text()


def test_spans_place_every_order(queue_dir: Path) -> None:
    text = (queue_dir / "autotrade_queue.json").read_text()
    raw, spans = parse_with_spans(text, "orders")
    assert raw == json.loads(text, parse_float=lambda s: s) or raw["version"] == 1
    for item, start, end in zip(raw["orders"], spans.starts, spans.ends, strict=True):
        assert json.loads(text[start:end])["order_id"] == item["order_id"]
    assert Order.model_validate(raw["orders"][0]).order_id == raw["orders"][0]["order_id"]


def test_a_change_outside_the_orders_is_not_taken_for_one_inside() -> None:
    old = '{"version": 1, "orders": [{"a": 1}, {"a": 2}]}'
    spans = Spans("orders", [26, 36], [34, 44])
    assert old[26:34] == '{"a": 1}' and old[36:44] == '{"a": 2}'
    assert changed_items(old, old.replace('"version": 1', '"version": 2'), spans) is None
    assert changed_items(old, old.replace("]}", '], "x": 1}'), spans) is None
    change = changed_items(old, old.replace('"a": 2', '"a": 22'), spans)
    assert change is not None and (change.first, change.last, change.delta) == (1, 1, 1)


def test_a_queue_the_journal_wrote_is_taken_as_written_not_parsed_again(
    queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an action writes the queue, the panes', the brokers' and the next action's load
    of those bytes is the journal's own model and parsed JSON (one copy in the process), and
    its text and orders' places are those a parse would give (the next outside change still
    goes by difference)."""
    from vanta_tui.desk import Desk

    path = queue_dir / "autotrade_queue.json"

    def no_parse(*_: object) -> None:
        raise AssertionError("the loader parsed a file the journal had just written")

    with Desk(queue_dir, operator="test") as desk:
        before = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE))
        staged = [o.order_id for o in before.model.orders if o.status.value == "staged"]
        desk.approve(staged[:1])
        seen = desk_journal_queue(desk)
        ref = reference_for(queue_dir, QUEUE)
        for name in ("_queue_by_text", "_queue_by_change", "parse_model"):
            monkeypatch.setattr(loader, name, no_parse)
        after = load(queue_dir, QUEUE, ref, before)
        monkeypatch.undo()
    text = path.read_text()
    assert after.model is seen
    assert after.text == text
    assert after.spans == parse_with_spans(text, "orders")[1]
    _raw_is_the_files(after, text)
    approved = after.model.index()[staged[0]]
    assert approved.status.value == "approved"
    # An outside change after it: by difference, from the journal's text and places.
    data = json.loads(text)
    data["orders"][2]["qty"] = 4321
    path.write_text(json.dumps(data, indent=2) + "\n")
    _same(_outcome(queue_dir, after), _outcome(queue_dir, None))


def desk_journal_queue(desk: Any) -> Any:
    """The queue model the loader now shares for the desk's state directory."""
    shared = loader._LATEST.get((str(desk.state_dir.resolve()), QUEUE))
    assert shared is not None
    return shared.model


def test_member_spans_count_characters() -> None:
    """Places of orders after text that is not ASCII are in characters, as a parse says."""
    member = '{\n      "order_id": "A",\n      "why": "4.1% \u2192 7.0%"\n    }'.encode()
    data = b'{\n  "note": "\xc3\xa9",\n  "orders": [\n    ' + member + b",\n    "
    data += member.replace(b'"A"', b'"B"') + b"\n  ]\n}\n"
    spans = loader.member_spans(data, [member, member.replace(b'"A"', b'"B"')])
    assert spans == parse_with_spans(data.decode(), "orders")[1]
    assert loader.member_spans(data, [member, member]) is None  # not where counted
    assert spans is not None and spans.ours
    wider = data.replace(b",\n    {", b",\n      {")  # laid out otherwise: not counted
    assert loader.member_spans(wider, [member, member.replace(b'"A"', b'"B"')]) is None


def test_an_unchanged_order_keeps_its_parsed_item_when_the_whole_file_is_walked(
    queue_dir: Path,
) -> None:
    """A rewrite that changes the version (walked whole): each order whose text is the same
    keeps the very item of the last load, not a second parse of it."""
    path = queue_dir / "autotrade_queue.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data, indent=2) + "\n")
    first = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE))
    data["version"] += 1
    data["orders"][1]["qty"] = 777
    text = json.dumps(data, indent=2) + "\n"
    path.write_text(text)
    second = load(queue_dir, QUEUE, reference_for(queue_dir, QUEUE), first)
    assert first.raw is not None and second.raw is not None
    kept = [a is b for a, b in zip(first.raw["orders"], second.raw["orders"], strict=True)]
    assert kept == [i != 1 for i in range(len(kept))]
    _raw_is_the_files(second, text)


def test_orders_parsed_one_by_one_share_their_field_names_and_short_words(
    queue_dir: Path,
) -> None:
    """The walk parses each order on its own (its parser forgets the keys after each): the
    field names and the short repeated values are one string each, not one per order."""
    raw, _ = parse_with_spans((queue_dir / "autotrade_queue.json").read_text(), "orders")
    orders = raw["orders"]
    first = orders[0]
    same_vault = next(o for o in orders[1:] if o["vault_id"] == first["vault_id"])
    assert all(a is b for a, b in zip(first, same_vault, strict=False))
    assert first["vault_id"] is same_vault["vault_id"]
    assert first["order_id"] != same_vault["order_id"]
