"""The executor's fast paths write exactly what the plain paths wrote.

orjson against simplejson (the text of every JSON the desk writes or hashes), an order's
JSON data built directly against a dump-and-parse, a queue re-rendered from its unchanged
orders against a full render, the journal's file cache against outside edits, and the paper
broker's kept account against another process changing the book.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, order_payload
from vanta_tui.brokers.base import BrokerStatus, OrderRequest
from vanta_tui.brokers.errors import DuplicateClientOrderId, OrderRejected
from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.core.codec import (
    data_sha,
    dumps_canonical,
    dumps_compact,
    dumps_pretty,
    parse_json,
)
from vanta_tui.core.enums import OrderStatus, Side
from vanta_tui.core.models import Order, QueueFile
from vanta_tui.core.models.queue import order_data
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import PlainDecimal
from vanta_tui.demo.generate import generate
from vanta_tui.store.journal.redact import redact
from vanta_tui.store.loader import parse_model, render_queue, same_order
from vanta_tui.store.spans import parse_with_spans
from vanta_tui.store.writer import render

_NUMBERS = st.decimals(allow_nan=False, allow_infinity=False).map(PlainDecimal)
_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text() | _NUMBERS
_JSON = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


def _reference(data: Any, **options: Any) -> str:
    text: str = simplejson.dumps(
        data, use_decimal=True, ensure_ascii=False, allow_nan=False, **options
    )
    return text


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_orjson_writes_what_simplejson_wrote(data: Any) -> None:
    assert dumps_pretty(data) == _reference(data, indent=2) + "\n"
    assert dumps_canonical(data) == _reference(data, sort_keys=True, separators=(",", ":"))
    assert dumps_compact(data) == _reference(data, separators=(",", ":"))
    # and the text reads back to the very same text (the hashes depend on it)
    assert dumps_canonical(parse_json(dumps_canonical(data))) == dumps_canonical(data)


def test_a_plain_decimal_with_an_exponent_is_written_without_one() -> None:
    assert dumps_compact({"q": Decimal("1E-8"), "n": Decimal("5E+2")}) == (
        '{"q":0.00000001,"n":500}'
    )


def _demo_orders() -> list[Order]:
    queue = QueueFile.model_validate_json(
        generate(vaults=4, orders=600, positions=12, seed=3)["autotrade_queue.json"]
    )
    return queue.orders


def test_order_data_is_a_dump_and_parse_built_directly() -> None:
    orders = _demo_orders()
    now = datetime(2026, 11, 30, 2, 3, 4, 5, tzinfo=UTC)
    odd = orders[0].model_copy(
        update={"avg_fill_price": Decimal("101.50"), "filled_qty": Decimal("1.0")}
    )
    odd.updated_at = now
    extra = Order.model_validate({**order_data(orders[1]), "desk_note": {"n": [1, "2.50"]}})
    for order in [*orders, odd, extra]:
        expected = parse_json(dumps_compact(order.model_dump(mode="python")))
        got = order_data(order)
        assert got == expected
        assert list(got) == list(expected)
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
        assert dumps_canonical(order_payload(order)) == dumps_canonical(
            redact(order.model_dump(mode="python"))
        )


def test_same_order_compares_numbers_as_written() -> None:
    order = _demo_orders()[0]
    copy = order.model_copy()
    assert same_order(copy, order)
    copy.qty = order.qty + 1
    assert not same_order(copy, order)
    written = order.model_copy(update={"qty": Decimal("2.50")})
    rewritten = order.model_copy(update={"qty": Decimal("2.5")})
    assert written.qty == rewritten.qty and not same_order(written, rewritten)


def test_a_queue_rendered_from_its_unchanged_orders_is_the_full_render() -> None:
    data = generate(vaults=4, orders=600, positions=12, seed=5)["autotrade_queue.json"]
    keep: list[Any] = []
    before = parse_model(StateKind.QUEUE, render(QueueFile.model_validate_json(data)), keep=keep)
    assert isinstance(before, QueueFile)
    new = before.model_copy(update={"orders": [o.model_copy() for o in before.orders]})
    new.orders[3].approved_by = "someone else"
    new.orders[10].last_error = "changed"
    new.orders[20].qty = Decimal("7.250")
    del new.orders[30]
    new.orders.append(new.orders[0].model_copy(update={"order_id": "NEW_ORDER_1"}))
    new.version += 1
    first = render_queue(new, before, keep[0])
    assert first.data == render(new)
    assert first.raw == parse_json(first.data.decode("utf-8"))
    assert first.model == parse_model(StateKind.QUEUE, first.data)
    assert first.data_sha == data_sha(first.raw)
    # The places of its orders in what it wrote are known without parsing it.
    assert first.spans is not None
    written = first.data.decode("utf-8")
    assert first.spans == parse_with_spans(written, "orders")[1]
    # Again from the written text: the unchanged orders' file texts are its slices.
    again = first.model.model_copy(update={"orders": list(first.model.orders)})
    again.orders[5] = again.orders[5].model_copy(update={"status": OrderStatus.APPROVED})
    again.orders.insert(0, again.orders.pop())
    again.version += 1
    second = render_queue(again, first.model, first.raw, None, (written, first.spans))
    assert second.data == render(again)
    assert second.data_sha == data_sha(parse_json(second.data.decode("utf-8")))
    assert second.model == parse_model(StateKind.QUEUE, second.data)
    assert second.spans == parse_with_spans(second.data.decode("utf-8"), "orders")[1]
    # Unchanged orders keep their JSON and their model: only the changed one is new.
    kept = {id(o) for o in first.model.orders}
    assert sum(id(o) not in kept for o in second.model.orders) == 1
    # Without the written text, the same bytes (each order's text rendered again).
    third = render_queue(again, first.model, first.raw)
    assert third.data == second.data and third.data_sha == second.data_sha


def test_the_journal_cache_sees_an_outside_edit(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "tester")
    try:
        staged = next(
            o
            for o in ctx.journal.current(StateKind.QUEUE).orders  # type: ignore[attr-defined]
            if o.status is OrderStatus.STAGED and o.follower_id is None
        )
        path = state_dir / StateKind.QUEUE.filename
        text = path.read_text(encoding="utf-8")
        raw = parse_json(text)
        for item in raw["orders"]:
            if item["order_id"] == staged.order_id:
                item["reason_vector"] = ["edited outside"]
        path.write_text(dumps_pretty(raw), encoding="utf-8")
        result = approve_orders(ctx, [staged.order_id])
        actions = [e.action for e in result.events]
        assert "order.approved" in actions
        approved = next(e for e in result.events if e.action == "order.approved")
        assert approved.payload["order"]["reason_vector"] == ["edited outside"]
        seen = ctx.journal.current(StateKind.QUEUE)
        assert isinstance(seen, QueueFile)
        assert seen.index()[staged.order_id].reason_vector == ("edited outside",)
        external = ctx.journal.db.execute(
            "SELECT COUNT(*) FROM events WHERE action = 'state.external_change'"
        ).fetchone()[0]
        assert external >= 1
    finally:
        ctx.close()


def test_the_paper_account_kept_between_calls_sees_another_connection(
    tmp_path: Path,
) -> None:
    def paper() -> PaperBroker:
        return PaperBroker(
            tmp_path / "paper_book.db",
            {"AAPL": Decimal(100)}.get,
            initial_cash=Decimal(150),
        )

    desk, server = paper(), paper()  # two processes' worth of connections on one book
    assert desk.submit(OrderRequest("a1", "AAPL", Side.BUY, Decimal(1))).status is (
        BrokerStatus.FILLED
    )
    assert server.account().cash == Decimal(50)
    try:
        server.submit(OrderRequest("a2", "AAPL", Side.BUY, Decimal(1)))
        raise AssertionError("the second buy had no cash")
    except OrderRejected:
        pass
    # the reused id is refused by both, and the refusal leaves the account as it was
    for broker in (desk, server):
        try:
            broker.submit(OrderRequest("a1", "AAPL", Side.SELL, Decimal(1)))
            raise AssertionError("a reused client order id was accepted")
        except DuplicateClientOrderId:
            pass
    assert desk.account().cash == Decimal(50)
    assert [(p.symbol, p.qty) for p in server.positions()] == [("AAPL", Decimal(1))]
