"""The shortcuts that make recording a 1,000-account fan-out cheap say exactly what the slow
ways say: the secret search finds every loaded secret anywhere, the journal's copy of a
model is a deep copy (equal, and sharing nothing that can change), and a plan only pays
for the files it reads.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vanta_tui.core import secrets
from vanta_tui.core.models import PnlFile, PortfolioFile, VaultFile
from vanta_tui.core.models.base import find_by_key
from vanta_tui.core.models.followers import FollowersFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store.errors import StateFileError
from vanta_tui.store.journal.journal import _deep_copy, _PrivateCopies, _Seen
from vanta_tui.store.loader import load, load_model

ALPHABET = string.ascii_letters + string.digits + "+/=_-.:\\]^[ é"


def no_secrets() -> Any:
    """From no loaded secret on (the module keeps what this process loaded), until the end
    of the ``with``."""
    return mock.patch.multiple(
        secrets, _known=frozenset(), _longest_first=(), _lengths=(), _alphabet=frozenset(),
        _index=(frozenset(), (), None), _install_log_scrubber=lambda: None,
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.text(ALPHABET, min_size=6, max_size=30), min_size=1, max_size=40),
    noise=st.text(ALPHABET + '{}",', max_size=200),
    pick=st.integers(min_value=0),
    at=st.integers(min_value=0),
    embed=st.booleans(),
)
def test_the_secret_search_finds_what_a_plain_search_finds(
    values: list[str], noise: str, pick: int, at: int, embed: bool
) -> None:
    with no_secrets():
        for start in range(0, len(values), 3):  # loaded a few at a time, as accounts are
            secrets.remember(*values[start : start + 3])
            assert secrets.REDACTED in secrets.scrub(values[start])
        text = noise
        if embed:
            secret = values[pick % len(values)]
            cut = at % (len(noise) + 1)
            text = noise[:cut] + secret + noise[cut:]
        expected = any(v in text for v in secrets.known())
        assert secrets.contains_known(text) is expected
        if embed:
            assert expected


def test_a_thousand_accounts_keys_are_found_in_an_order_payload() -> None:
    keys = [f"PK{index:018d}" for index in range(1000)]
    secret_values = [f"{index:040d}"[::-1].replace("0", "x") for index in range(1000)]
    payload = '{"order":{"order_id":"01M86735700000000000005BW0","qty":"2","symbol":"AAPL"}}'
    with no_secrets():
        secrets.remember(*keys, *secret_values)
        assert not secrets.contains_known(payload)
        assert secrets.contains_known(payload.replace("AAPL", keys[517]))
        assert secrets.contains_known(payload + f'"note":"{secret_values[999]}"')


def _everything(model: Any) -> list[Any]:
    """Every model, dict, list and set inside ``model`` (the mutable parts)."""
    found: list[Any] = []

    def walk(value: Any) -> None:
        if hasattr(value, "__pydantic_fields_set__"):
            found.append(value)
            for item in value.__dict__.values():
                walk(item)
        elif isinstance(value, dict):
            found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list | set):
            found.append(value)
            for item in value:
                walk(item)
        elif isinstance(value, tuple):
            for item in value:
                walk(item)

    walk(model)
    return found


@pytest.mark.parametrize("cls", [PortfolioFile, PnlFile, VaultFile, FollowersFile])
def test_the_journals_copy_is_deep(state_dir: Path, cls: type[Any]) -> None:
    model = load_model(state_dir, cls)
    copy = _deep_copy(model)
    assert copy == model and type(copy) is type(model)
    assert copy.model_dump(mode="json") == model.model_copy(deep=True).model_dump(mode="json")
    assert copy.model_fields_set == model.model_fields_set
    originals = {id(part) for part in _everything(model)}
    assert not originals & {id(part) for part in _everything(copy)}


def test_a_plan_copies_only_the_files_it_reads(state_dir: Path) -> None:
    copies: list[StateKind] = []

    class Counting(_Seen):
        kind_name: Any = None

        def private_model(self) -> Any:
            copies.append(self.kind_name)
            return super().private_model()

    seen: dict[StateKind, _Seen] = {}
    for kind, cls in ((StateKind.PORTFOLIO, PortfolioFile), (StateKind.PNL, PnlFile)):
        model = load_model(state_dir, cls)
        entry = Counting("sha", {}, model)
        object.__setattr__(entry, "kind_name", kind)
        seen[kind] = entry
    models = _PrivateCopies(seen)
    assert StateKind.PNL in models and StateKind.QUEUE not in models
    portfolio = models[StateKind.PORTFOLIO]
    assert models[StateKind.PORTFOLIO] is portfolio  # copied once
    assert portfolio is not seen[StateKind.PORTFOLIO].model
    assert copies == [StateKind.PORTFOLIO]
    assert models.get(StateKind.QUEUE) is None
    with pytest.raises(KeyError):
        models[StateKind.QUEUE]


@dataclass
class Item:
    key: str


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["append", "replace", "delete", "reverse", "find", "new_list"]),
            st.integers(min_value=0, max_value=30),
        ),
        max_size=60,
    )
)
def test_a_lookup_by_key_finds_what_a_scan_finds(steps: list[tuple[str, int]]) -> None:
    """Positions kept per list never give a wrong item, whatever happened to the list."""
    items = [Item(f"k{n}") for n in range(5)]
    fresh = 100
    for op, n in steps:
        if op == "append":
            fresh += 1
            items.append(Item(f"k{fresh}"))
        elif op == "replace" and items:
            fresh += 1
            items[n % len(items)] = Item(f"k{fresh}")
        elif op == "delete" and items:
            del items[n % len(items)]
        elif op == "reverse":
            items.reverse()
        elif op == "new_list":
            items = list(items)
        wanted = f"k{n}" if n % 3 else (items[n % len(items)].key if items else "k0")
        expected = next((i for i in items if i.key == wanted), None)
        assert find_by_key(items, attrgetter("key"), wanted) is expected


@pytest.mark.parametrize(
    ("kind", "field"), [(StateKind.PORTFOLIO, "accounts"), (StateKind.PNL, "vaults")]
)
def test_a_keyed_file_validates_only_its_changed_entries(
    state_dir: Path, kind: StateKind, field: str
) -> None:
    """Portfolio and PnL reloaded after one entry changed: the others are the very objects
    of the last load, the changed one is validated (and its problem placed by its key), and
    the model is what a full validation gives."""
    first = load(state_dir, kind)
    path = state_dir / kind.filename
    raw = json.loads(path.read_text())
    key = next(iter(raw[field]))
    other = list(raw[field])[1]
    if kind is StateKind.PORTFOLIO:
        raw[field][key]["cash"] = 12345.5
    else:
        raw[field][key]["realized"] = 12345.5
    path.write_text(json.dumps(raw, indent=2))
    second = load(state_dir, kind, previous=first)
    entries, before = getattr(second.model, field), getattr(first.model, field)
    assert entries[other] is before[other]
    assert entries[key] is not before[key]
    assert second.model == load(state_dir, kind).model  # as a full validation
    assert list(entries) == list(raw[field])

    raw[field][key]["cash" if kind is StateKind.PORTFOLIO else "nav"] = "lots"
    path.write_text(json.dumps(raw, indent=2))
    with pytest.raises(StateFileError) as refused:
        load(state_dir, kind, previous=second)
    [problem] = refused.value.problems
    assert problem.path.startswith(f"$.{field}.{key}.")


def test_an_entry_whose_value_changed_type_is_validated_again(state_dir: Path) -> None:
    """``true == 1`` in Python: a portfolio entry whose number became a boolean is not
    taken for the entry already validated; the file is refused as a fresh load refuses it."""
    first = load(state_dir, StateKind.PORTFOLIO)
    path = state_dir / StateKind.PORTFOLIO.filename
    raw = json.loads(path.read_text())
    key = next(iter(raw["accounts"]))
    raw["accounts"][key]["cash"] = 1
    path.write_text(json.dumps(raw, indent=2))
    second = load(state_dir, StateKind.PORTFOLIO, previous=first)
    raw["accounts"][key]["cash"] = True
    path.write_text(json.dumps(raw, indent=2))
    with pytest.raises(StateFileError):
        load(state_dir, StateKind.PORTFOLIO)
    with pytest.raises(StateFileError) as refused:
        load(state_dir, StateKind.PORTFOLIO, previous=second)
    assert refused.value.problems[0].path == f"$.accounts.{key}.cash"


def test_changing_an_orders_copy_never_changes_the_order(state_dir: Path) -> None:
    """The plan's copy of an order shares its set of fields set only when that set already
    holds every field (setting one then changes nothing); an order read with fields left
    out gets its own set."""
    from vanta_tui.core.models import Order, QueueFile
    from vanta_tui.store.journal.journal import _order_copy

    full = load_model(state_dir, QueueFile).orders[0]
    assert len(full.model_fields_set) == len(Order.model_fields)
    partial = Order.model_validate(
        {
            k: v
            for k, v in full.__dict__.items()
            if k not in {"last_error", "approved_by", "approved_at"}
        }
    )
    assert len(partial.model_fields_set) < len(Order.model_fields)
    for order in (full, partial):
        before = (order.model_dump(mode="json"), set(order.model_fields_set))
        copy = _order_copy(order)
        copy.last_error = "changed on the copy"
        copy.approved_by = "someone"
        assert copy.model_fields_set >= {"last_error", "approved_by"}
        assert (order.model_dump(mode="json"), set(order.model_fields_set)) == before


def _journal_queue(state_dir: Path) -> Any:
    """The queue as the executor's journal holds it (its own model, not a copy)."""
    from vanta_tui.actions.context import ActionContext

    ctx = ActionContext.open(state_dir, "executor")
    return ctx, ctx.journal.peek(StateKind.QUEUE)


def test_an_action_that_lends_the_orders_copies_only_those_it_changes(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor's mark before a send copies the order it marks, not the queue's other
    orders (each of which stays the very object the journal held); the file says it."""
    from vanta_tui.actions.execution import execution_step
    from vanta_tui.actions.orders import approve_orders
    from vanta_tui.core.enums import OrderStatus
    from vanta_tui.core.models import QueueFile
    from vanta_tui.store.journal import journal as journal_module

    ctx, queue = _journal_queue(state_dir)
    staged = next(
        o for o in queue.orders if o.status is OrderStatus.STAGED and o.follower_id is None
    )
    approve_orders(ctx, [staged.order_id])
    before = ctx.journal.peek(StateKind.QUEUE)
    copies: list[str] = []
    real_copy = journal_module._order_copy

    def counting(order: Any) -> Any:
        copies.append(order.order_id)
        return real_copy(order)

    monkeypatch.setattr(journal_module, "_order_copy", counting)
    result = execution_step(ctx, mark=[staged.order_id])
    assert copies == [staged.order_id]
    [marked] = result.result
    assert marked.status is OrderStatus.SUBMITTING and marked.attempts == 1
    shared = before.get(staged.order_id)
    assert shared is not None and shared.status is OrderStatus.APPROVED  # not changed
    after = ctx.journal.peek(StateKind.QUEUE)
    kept = [o for o in after.orders if o.order_id != staged.order_id]
    assert all(o is before.get(o.order_id) for o in kept)
    on_disk = load_model(state_dir, QueueFile).get(staged.order_id)
    assert on_disk is not None and on_disk.status is OrderStatus.SUBMITTING
    ctx.close()


def test_a_plan_that_changes_a_lent_order_is_refused_and_changes_nothing(
    state_dir: Path,
) -> None:
    """A plan that sets a field of an order lent to it (not its own copy) raises: the
    journal's order, the file and the journal are as they were, and once the plan is over
    the order is no longer lent."""
    from vanta_tui.core.models import QueueFile
    from vanta_tui.core.models.queue import _LENT, OrderLentError
    from vanta_tui.store.journal import EventDraft, Plan, own_order

    ctx, queue = _journal_queue(state_dir)
    shared = queue.orders[0]
    text = (state_dir / "autotrade_queue.json").read_bytes()
    head = ctx.journal.db.execute("SELECT count(*) FROM events").fetchone()[0]

    def careless(models: Any) -> Plan:
        mine = models[StateKind.QUEUE]
        mine.orders[0].last_error = "set on the journal's own order"
        return Plan({StateKind.QUEUE: mine}, [EventDraft("order.note")])

    with pytest.raises(OrderLentError, match=shared.order_id):
        ctx.journal.act("dana", [StateKind.QUEUE], careless, lend_orders=True)
    assert shared.last_error is None and not _LENT
    assert (state_dir / "autotrade_queue.json").read_bytes() == text
    assert ctx.journal.db.execute("SELECT count(*) FROM events").fetchone()[0] == head

    owned: list[Any] = []

    def careful(models: Any) -> Plan:
        mine = models[StateKind.QUEUE]
        copy = own_order(mine, mine.orders[0])
        assert own_order(mine, mine.orders[0]) is copy is mine.orders[0]  # made once
        assert own_order(mine, shared) is copy  # the lent order, looked up again
        copy.last_error = "set on the plan's copy"
        owned.append(copy)
        return Plan({StateKind.QUEUE: mine}, [EventDraft("order.note")])

    ctx.journal.act("dana", [StateKind.QUEUE], careful, lend_orders=True)
    assert shared.last_error is None and owned[0] is not shared and not _LENT
    written = load_model(state_dir, QueueFile).get(shared.order_id)
    assert written is not None and written.last_error == "set on the plan's copy"
    ctx.close()


def test_a_plan_owns_a_lent_order_wherever_it_moved(state_dir: Path) -> None:
    """Orders added or removed before an order is owned: its copy takes its new place; an
    order the plan took out of the queue is still the plan's own copy to change."""
    from vanta_tui.core.models import QueueFile
    from vanta_tui.store.journal import EventDraft, Plan, own_order

    ctx, queue = _journal_queue(state_dir)
    first, second, last = queue.orders[0], queue.orders[1], queue.orders[-1]

    def moving(models: Any) -> Plan:
        mine = models[StateKind.QUEUE]
        mine.orders.insert(0, mine.orders.pop())  # the last order to the front
        del mine.orders[1]  # the first order out
        copy = own_order(mine, second)
        assert mine.orders[1] is copy and copy is not second
        copy.last_error = "moved and changed"
        gone = own_order(mine, first)
        assert gone is not first and all(o is not gone for o in mine.orders)
        gone.last_error = "a copy of an order taken out"
        return Plan({StateKind.QUEUE: mine}, [EventDraft("order.note")])

    ctx.journal.act("dana", [StateKind.QUEUE], moving, lend_orders=True)
    written = load_model(state_dir, QueueFile)
    assert [o.order_id for o in written.orders[:2]] == [last.order_id, second.order_id]
    assert written.orders[1].last_error == "moved and changed"
    assert written.get(first.order_id) is None
    assert first.last_error is None and second.last_error is None
    ctx.close()


def test_a_lending_plan_that_never_read_the_queue_lends_nothing_for_good(
    state_dir: Path,
) -> None:
    """A plan that hands back a queue it made without reading its lent one: once the plan
    is over no order stays lent, and the action's result holds none of the journal's."""
    from vanta_tui.core.models import QueueFile
    from vanta_tui.core.models.queue import _LENT
    from vanta_tui.store.journal import EventDraft, Plan

    ctx, queue = _journal_queue(state_dir)
    made = QueueFile.model_validate(json.loads((state_dir / "autotrade_queue.json").read_text()))
    made.orders[0].last_error = "made by the plan"

    def blind(models: Any) -> Plan:
        return Plan({StateKind.QUEUE: made}, [EventDraft("order.note")])

    result = ctx.journal.act("dana", [StateKind.QUEUE], blind, lend_orders=True)
    assert not _LENT and result.models == {}
    written = load_model(state_dir, QueueFile)
    assert written.orders[0].last_error == "made by the plan"
    assert written.version == queue.version + 1
    ctx.close()


def test_a_plan_that_puts_back_an_order_it_owned_is_refused(state_dir: Path) -> None:
    """Its copy's changes would be lost without a word: nothing is written."""
    from vanta_tui.core.models.queue import _LENT, OrderLentError
    from vanta_tui.store.journal import EventDraft, Plan, own_order

    ctx, queue = _journal_queue(state_dir)
    text = (state_dir / "autotrade_queue.json").read_bytes()
    first = queue.orders[0]

    def swapping(models: Any) -> Plan:
        mine = models[StateKind.QUEUE]
        copy = own_order(mine, first)
        copy.last_error = "lost"
        mine.orders[0] = first
        return Plan({StateKind.QUEUE: mine}, [EventDraft("order.note")])

    with pytest.raises(OrderLentError, match="put the order back"):
        ctx.journal.act("dana", [StateKind.QUEUE], swapping, lend_orders=True)
    assert not _LENT and (state_dir / "autotrade_queue.json").read_bytes() == text
    ctx.close()
