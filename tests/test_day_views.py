"""The views of the operator's day, driven for real through Textual's Pilot on a demo copy:
the activity feed (live, filtered, opening orders), the fills blotter and its totals, the
profit by period; and what they look like (snapshots at 80×24, 120×40, 160×50).

Each screen is pushed by a tiny harness app (the desk's own wiring is tested elsewhere)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.core.clock import fixed_clock
from vanta_tui.core.enums import Side
from vanta_tui.demo.bundled import DEMO_NOW, write_demo
from vanta_tui.desk import Desk
from vanta_tui.ui.screens import activity as activity_module
from vanta_tui.ui.screens.activity import (
    ActivityEventScreen,
    ActivityScreen,
    DayScreen,
    event_table,
)
from vanta_tui.ui.screens.blotter import BlotterScreen
from vanta_tui.ui.screens.profit import ProfitScreen
from vanta_tui.ui.table import KeyedTable

SIZES = [(80, 24), (120, 40), (160, 50)]
LIVE_UPDATE_S = 1.0
"""How soon after `refresh_feed` a new event must be on screen."""


class Harness(App[None]):
    """Pushes one screen and records the orders it asks to open."""

    def __init__(self, make: Callable[[], Screen[None]]) -> None:
        super().__init__()
        self.make = make
        self.opened: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(self.make())

    def on_activity_screen_order_opened(self, message: ActivityScreen.OrderOpened) -> None:
        self.opened.append(message.order_id)

    def on_blotter_screen_order_opened(self, message: BlotterScreen.OrderOpened) -> None:
        self.opened.append(message.order_id)


# --------------------------------------------------------------------------- the state


@pytest.fixture
def state(tmp_path: Path) -> Path:
    target = tmp_path / "state"
    write_demo(target, DEMO_NOW)
    return target


def _queue(state: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((state / "autotrade_queue.json").read_text())
    return {o["order_id"]: o for o in data["orders"]}


def _staged(state: Path, symbol: str) -> str:
    return next(
        i for i, o in _queue(state).items() if o["symbol"] == symbol and o["status"] == "staged"
    )


def _desk(state: Path, operator: str = "dana") -> Desk:
    return Desk(state, operator=operator, clock=fixed_clock(DEMO_NOW))


def _run_once(desk: Desk) -> None:
    end = desk.run_executor(threading.Event(), once=True, price_every_s=None)
    assert end.why == "stopped", end


@pytest.fixture
def traded(state: Path) -> Iterator[Desk]:
    """dana approved the demo's AAPL buy (2 follower copies), rejected V_INCOME's KO buy,
    and the executor ran once (AAPL, MSFT and their copies, ETH filled)."""
    with _desk(state) as desk:
        desk.start()
        desk.approve([_staged(state, "AAPL")])
        desk.reject([_staged(state, "KO")], "not today")
        _run_once(desk)
        yield desk


# --------------------------------------------------------------------------- helpers


async def _until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 5) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.01)


async def _shown(pilot: Pilot[None], reads: int = 1) -> DayScreen:
    """The pushed screen, once it has shown ``reads`` reads of the journal and is idle."""
    await _until(pilot, lambda: isinstance(pilot.app.screen, DayScreen))
    screen = pilot.app.screen
    assert isinstance(screen, DayScreen)
    await _until(pilot, lambda: screen.reads >= reads and not screen.busy)
    await pilot.pause()
    return screen


def _column(table: KeyedTable, name: str) -> list[str]:
    index = table.column_keys.index(name)
    return [table.get_row(key)[index].plain.strip() for key in table.row_keys()]


def _number(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", "").removesuffix("+?"))


async def _read_after(pilot: Pilot[None], screen: DayScreen, *keys: str) -> None:
    """Press ``keys`` and wait for the journal read they set off."""
    reads = screen.reads
    await pilot.press(*keys)
    await _until(pilot, lambda: screen.reads > reads and not screen.busy)
    await pilot.pause()


async def _filter(
    pilot: Pilot[None], screen: ActivityScreen, text: str, typed: bool = False
) -> None:
    """Put ``text`` in the filter line (``typed``: key by key, as the operator does), press
    Enter and wait for the feed."""
    reads = screen.reads
    await pilot.press("slash")
    assert screen.filter_input.has_focus
    screen.filter_input.value = ""
    if typed:
        await pilot.press(*text)
    else:
        screen.filter_input.value = text
    await pilot.press("enter")
    await _until(pilot, lambda: screen.reads > reads and not screen.busy)
    assert screen.table.has_focus
    await pilot.pause()


# --------------------------------------------------------------------------- activity


async def test_the_feed_shows_another_processs_approval_reading_only_the_new_events(
    state: Path,
) -> None:
    aapl = _staged(state, "AAPL")
    with _desk(state) as desk:
        desk.start()
        desk.reject([_staged(state, "KO")], "not today")
        _run_once(desk)
        app = Harness(lambda: ActivityScreen(desk))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _shown(pilot)
            assert isinstance(screen, ActivityScreen)
            table = screen.table
            rows, fetched, seen = table.row_count, screen.fetched, screen.last_seq
            assert rows == fetched > 5
            table.move_cursor(row=3)
            kept = table.cursor_key

            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "vanta_tui", "--state-dir", str(state),
                 "--operator", "eve", "orders", "approve", aapl[-8:]],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            new = desk.activity(after_seq=seen)
            assert [i.text for i in new] == ["eve approved AAPL buy 43 · 2 follower copies"]

            asked = time.monotonic()
            screen.refresh_feed()
            await _until(pilot, lambda: table.row_count > rows, timeout=LIVE_UPDATE_S)
            assert time.monotonic() - asked < LIVE_UPDATE_S
            assert _column(table, "what")[0] == "eve approved AAPL buy 43 · 2 follower copies"
            assert _column(table, "actor")[0] == "eve"
            # Only the new event was read, put on top; the cursor stayed on its event.
            assert table.row_count == rows + len(new)
            assert screen.fetched == fetched + len(new)
            assert table.cursor_key == kept and table.cursor_row == 4

            # Nothing new: nothing read, nothing moves.
            reads = screen.reads
            screen.refresh_feed()
            await _until(pilot, lambda: not screen.busy)
            await pilot.pause()
            assert screen.fetched == fetched + len(new) and screen.reads == reads


async def test_the_feed_filters_by_vault_actor_order_and_words(traded: Desk, state: Path) -> None:
    aapl = next(i for i, o in _queue(state).items() if o["symbol"] == "AAPL" and o["qty"] == 43)
    app = Harness(lambda: ActivityScreen(traded))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _shown(pilot)
        assert isinstance(screen, ActivityScreen)
        table = screen.table
        everything = table.row_count
        assert {"V_CORE", "V_CRYPTO", "V_INCOME"} <= set(_column(table, "vault"))

        await _filter(pilot, screen, "v:v_income", typed=True)  # short and any case
        assert set(_column(table, "vault")) == {"V_INCOME"}
        assert "dana rejected KO buy 50: not today" in _column(table, "what")
        assert "Activity: 1 event · filter vault:V_INCOME" in str(
            screen.query_one("#activity-title").render()
        )

        await _filter(pilot, screen, "actor:executor")
        assert set(_column(table, "actor")) == {"executor"}
        assert table.row_count > 5

        # An order by the last 8 characters of its id, as the desk shows it: the order and
        # its follower copies.
        await _filter(pilot, screen, f"order:{aapl[-8:]}")
        assert screen.wanted.order_id == aapl
        texts = _column(table, "what")
        assert "dana approved AAPL buy 43 · 2 follower copies" in texts
        assert sum("follower copy AAPL buy" in t for t in texts) == 2
        assert sum(t.endswith("filled at 190.1") for t in texts) == 3
        assert not any("MSFT" in t or "KO" in t for t in texts)

        # Bare words are matched in each line, on top of the rest.
        await _filter(pilot, screen, f"order:{aapl[-8:]} F_1043")
        assert _column(table, "what") == [
            "executor: AAPL buy 4 for F_1043 at the broker (paper-000047), filled at 190.1",
            "executor: sending AAPL buy 4 for F_1043 (attempt 1)",
            "dana: follower copy AAPL buy 4 for F_1043 (mirrored)",
        ]

        # An id that is not there says so, and the feed stays as it was.
        before = table.row_keys()
        screen.set_filter("order:ZZZZZZZZ")
        await _until(pilot, lambda: bool(table.notices))
        assert "no order matches 'ZZZZZZZZ'" in table.notices[0][0]
        assert table.row_keys() == before

        # Quick keys: c clears; v and a keep only the cursor's vault, then actor.
        await _read_after(pilot, screen, "c")
        assert table.row_count == everything and not table.notices
        approval = "dana approved AAPL buy 43 · 2 follower copies"
        table.move_cursor(row=_column(table, "what").index(approval))
        await _read_after(pilot, screen, "v")
        assert screen.filter_input.value == "vault:V_CORE"
        assert set(_column(table, "vault")) == {"V_CORE"}
        await _read_after(pilot, screen, "a")
        assert screen.filter_input.value == "vault:V_CORE actor:dana"
        assert _column(table, "what") == [approval]


async def test_enter_opens_an_events_order_by_its_whole_id_else_shows_the_event(
    traded: Desk, state: Path
) -> None:
    aapl = next(i for i, o in _queue(state).items() if o["symbol"] == "AAPL" and o["qty"] == 43)
    app = Harness(lambda: ActivityScreen(traded))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _shown(pilot)
        assert isinstance(screen, ActivityScreen)
        table = screen.table
        texts = _column(table, "what")
        table.move_cursor(row=texts.index("dana approved AAPL buy 43 · 2 follower copies"))
        await pilot.press("enter")
        await _until(pilot, lambda: app.opened == [aapl])
        # What the table's copy key copies is the whole order id too (the row key is a seq).
        key = table.cursor_key
        assert key is not None and table.copy_value(key) == aapl and screen.order_of(key) == aapl

        # The bottom row (the journal's start) has no order: Enter shows it in full.
        await pilot.press("end", "enter")
        await _until(pilot, lambda: isinstance(app.screen, ActivityEventScreen))
        shown = app.screen
        assert isinstance(shown, ActivityEventScreen)
        assert (shown.item.seq, shown.item.action) == (1, "journal.started")
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(event_table(shown.item))
        fields = console.export_text()
        assert "journal.started" in fields and "#1" in fields
        assert "2026-11-24 08:05:00Z" in fields
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is screen)
        assert app.opened == [aapl]
        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, DayScreen))


async def test_older_events_are_read_a_page_at_a_time_at_the_bottom(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity_module, "PAGE", 10)
    with _desk(state) as desk:
        desk.start()
        for _ in range(12):  # a journal of a few pages
            desk.maintenance("V_CORE", True, "review")
            desk.maintenance("V_CORE", False, "done")
        head = desk.head_seq()
        assert head > 20
        app = Harness(lambda: ActivityScreen(desk))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _shown(pilot)
            assert isinstance(screen, ActivityScreen)
            table = screen.table
            assert table.row_count == 10 and not screen.exhausted
            reads = screen.reads
            await pilot.press("end")  # the cursor reaches the bottom: the next page
            await _until(pilot, lambda: screen.reads > reads and not screen.busy)
            assert table.row_count == 20
            assert table.cursor_row == 9  # still on the event it was on
            while not screen.exhausted:
                await _read_after(pilot, screen, "m")
            assert table.row_count == head == screen.fetched  # each event read once
            assert [int(k) for k in table.row_keys()] == list(range(head, 0, -1))


# --------------------------------------------------------------------------- blotter


def _no_fee_for(symbol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker that does not say what it charged for ``symbol``'s fills."""
    real = PaperBroker._as_order

    def as_order(data: dict[str, Any]) -> Any:
        order = real(data)
        return dataclasses.replace(order, fee=None) if order.symbol == symbol else order

    monkeypatch.setattr(PaperBroker, "_as_order", staticmethod(as_order))


async def test_the_blotters_totals_add_up_its_fills_and_an_unknown_fee_is_a_dash(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_fee_for("MSFT", monkeypatch)
    with _desk(state) as desk:
        desk.start()
        aapl = _staged(state, "AAPL")
        desk.approve([aapl])
        _run_once(desk)
        app = Harness(lambda: BlotterScreen(desk, selected_vault="V_CORE"))
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await _shown(pilot)
            assert isinstance(screen, BlotterScreen)
            fills, totals = screen.fills_table, screen.totals_table
            assert fills.row_count == 7
            symbols = _column(fills, "symbol")
            fees = _column(fills, "fee")
            assert {f for s, f in zip(symbols, fees, strict=True) if s == "MSFT"} == {"—"}
            assert {f for s, f in zip(symbols, fees, strict=True) if s != "MSFT"} == {"0.00"}

            added: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
            for key in fills.row_keys():
                row = {
                    c: fills.get_row(key)[i].plain.strip() for i, c in enumerate(fills.column_keys)
                }
                sums = added[row["symbol"]]
                sums["fills"] += 1
                sums["bought" if row["side"] == "buy" else "sold"] += _number(row["qty"])
                sums["bought_value" if row["side"] == "buy" else "sold_value"] += _number(
                    row["notional"]
                )
                if row["fee"] != "—":
                    sums["fees"] += _number(row["fee"])
            assert set(totals.row_keys()) == set(added) == {"AAPL", "ETH/USD", "MSFT"}
            for symbol in totals.row_keys():
                row = {
                    c: totals.get_row(symbol)[i].plain.strip()
                    for i, c in enumerate(totals.column_keys)
                }
                sums = added[symbol]
                for column in ("fills", "bought", "sold", "bought_value", "sold_value"):
                    assert _number(row[column]) == sums[column], (symbol, column)
                assert _number(row["net"]) == sums["bought"] - sums["sold"]
                assert row["fees"] == ("—" if symbol == "MSFT" else "0.00")
            assert totals.get_row("AAPL")[4].plain.strip() == "+57"

            # A follower's copy names its vault order; the vault order counts its copies.
            links = dict(zip(_column(fills, "account"), _column(fills, "link"), strict=False))
            assert links["V_CORE"] in {"⇉ 2 copies"}
            assert _column(fills, "link").count(f"↳ {aapl[-8:]}") == 2

            # Enter opens the fill's order by its whole id.
            fills.move_cursor(row=_column(fills, "account").index("F_1042"))
            await pilot.press("enter")
            child = next(
                i for i, o in _queue(state).items()
                if o.get("parent_id") == aapl and o.get("follower_id") == "F_1042"
            )  # fmt: skip
            await _until(pilot, lambda: app.opened == [child])
            at_cursor = fills.cursor_key
            assert at_cursor is not None and fills.copy_value(at_cursor) == child

            # v: the selected vault's fills (its followers' too), then every vault again.
            await _read_after(pilot, screen, "v")
            assert set(_column(fills, "account")) == {"V_CORE", "F_1042", "F_1043"}
            assert "V_CORE and its followers" in str(screen.query_one("#blotter-title").render())
            await _read_after(pilot, screen, "v")
            assert fills.row_count == 7


# --------------------------------------------------------------------------- profit


async def test_the_profit_view_switches_day_week_month_and_shows_a_sells_realized_pnl(
    state: Path,
) -> None:
    with _desk(state) as desk:
        desk.start()
        sell = desk.stage("V_CORE", "AAPL", Side.SELL, Decimal(10))
        desk.approve([sell.order_id])
        _run_once(desk)
        app = Harness(lambda: ProfitScreen(desk))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _shown(pilot)
            assert isinstance(screen, ProfitScreen)
            accounts = screen.accounts_table
            success = app.theme_variables["success"]

            def shows(label: str, name: str) -> None:
                title = str(screen.query_one("#profit-title").render())
                assert f"realized PnL by {name}" in title and "total +76.00" in title
                assert set(_column(accounts, "period")) == {label}
                row = accounts.get_row(f"{label}/V_CORE")
                cell = {c: row[i] for i, c in enumerate(accounts.column_keys)}
                assert cell["realized"].plain.strip() == "+76.00"
                assert cell["realized"].style == success  # and the sign: not colour alone
                assert (cell["closing"].plain.strip(), cell["wins"].plain.strip()) == ("1", "1")

            shows("2026-11-24", "UTC day")
            for key, label, name in (
                ("w", "2026-W48", "ISO week"),
                ("m", "2026-11", "month"),
                ("d", "2026-11-24", "UTC day"),
            ):
                await _read_after(pilot, screen, key)
                shows(label, name)
            symbols = screen.symbols_table
            assert symbols.row_keys()[0] == "AAPL"
            assert symbols.get_row("AAPL")[1].plain.strip() == "+76.00"


# --------------------------------------------------------------------------- snapshots


def _ready(pilot: Pilot[None]) -> Any:
    async def run() -> None:
        await _shown(pilot)

    return run()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_activity(traded: Desk, size: tuple[int, int], snap_compare: Any) -> None:
    app = Harness(lambda: ActivityScreen(traded))
    assert snap_compare(app, terminal_size=size, run_before=_ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_blotter(traded: Desk, size: tuple[int, int], snap_compare: Any) -> None:
    app = Harness(lambda: BlotterScreen(traded))
    assert snap_compare(app, terminal_size=size, run_before=_ready)
