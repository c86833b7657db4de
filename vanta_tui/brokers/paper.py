"""The paper broker: no network, a book persisted in the state directory.

Market orders fill at the last price ± slippage (basis points, against the trader); limit
orders fill when the price allows, else stay working until `reprice` moves the price
through them. Optional partial fills take a fraction first and the rest on the next
`poll`. Like a real broker it rejects insufficient cash or quantity, and a reused client
order id. The book (`paper_book.json` beside the state files) survives restarts.

An account opens (on first use) with the cash and positions of portfolio.json and the
orders the queue records as working at it (submitted, partially filled, with their client
and broker ids), so the orders a state directory ships can be cancelled or filled here.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from vanta_tui.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    BrokerStatus,
    OrderRequest,
    decimal_of,
)
from vanta_tui.brokers.errors import (
    BrokerError,
    DuplicateClientOrderId,
    OrderNotFound,
    OrderRejected,
)
from vanta_tui.core.codec import dumps_compact, parse_json
from vanta_tui.core.enums import AssetClass, OrderType, Side, asset_class_of
from vanta_tui.core.ids import client_order_id as vanta_client_id
from vanta_tui.core.sqlite_wal import connect_wal

BOOK_NAME = "paper_book.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);
CREATE TABLE IF NOT EXISTS accounts (ref TEXT PRIMARY KEY, cash TEXT, positions TEXT);
CREATE TABLE IF NOT EXISTS orders (
    ref TEXT, client_order_id TEXT, broker_order_id TEXT UNIQUE, status TEXT, body TEXT,
    PRIMARY KEY (ref, client_order_id)
);
CREATE INDEX IF NOT EXISTS orders_status ON orders(ref, status);
"""


class _Orders:
    """The account's orders, read from SQLite on demand; changes are written on flush."""

    def __init__(self, conn: sqlite3.Connection, ref: str) -> None:
        self.conn = conn
        self.ref = ref
        self.dirty: dict[str, dict[str, Any]] = {}
        self.new: dict[str, dict[str, Any]] = {}
        """Orders placed in this transaction: inserted, so a reused client order id fails."""

    def _load(self, body: str) -> dict[str, Any]:
        data: dict[str, Any] = parse_json(body)
        return data

    def get(self, client_order_id: str) -> dict[str, Any] | None:
        found = self.new.get(client_order_id) or self.dirty.get(client_order_id)
        if found is not None:
            return found
        row = self.conn.execute(
            "SELECT body FROM orders WHERE ref = ? AND client_order_id = ?",
            [self.ref, client_order_id],
        ).fetchone()
        return self._load(row[0]) if row else None

    def place(self, order: dict[str, Any]) -> None:
        """A new order; `flush` raises `DuplicateClientOrderId` if its id was used before."""
        self.new[order["client_order_id"]] = order

    def touch(self, order: dict[str, Any]) -> None:
        self.dirty[order["client_order_id"]] = order

    def working(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM orders WHERE ref = ? AND status IN ('accepted', 'partially_filled')",
            [self.ref],
        ).fetchall()
        found = [self._load(r[0]) for r in rows]
        found += [o for o in self.new.values() if BrokerStatus(o["status"]).working]
        return found

    def by_broker_id(self, broker_order_id: str) -> dict[str, Any] | None:
        for order in (*self.new.values(), *self.dirty.values()):
            if order["broker_order_id"] == broker_order_id:
                return order
        row = self.conn.execute(
            "SELECT body FROM orders WHERE ref = ? AND broker_order_id = ?",
            [self.ref, broker_order_id],
        ).fetchone()
        return self._load(row[0]) if row else None

    def all(self) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT client_order_id, body FROM orders WHERE ref = ?", [self.ref]
        ).fetchall()
        return {cid: self._load(body) for cid, body in rows}

    def flush(self) -> None:
        for cid, order in self.new.items():
            try:
                self.conn.execute(
                    "INSERT INTO orders (ref, client_order_id, broker_order_id, status, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        self.ref,
                        cid,
                        order["broker_order_id"],
                        order["status"],
                        dumps_compact(order),
                    ],
                )
            except sqlite3.IntegrityError as exc:
                if "client_order_id" not in str(exc):
                    raise
                raise DuplicateClientOrderId(f"client order id {cid} was already used") from None
        for cid, order in self.dirty.items():
            self.conn.execute(
                "INSERT OR REPLACE INTO orders (ref, client_order_id, broker_order_id, status, "
                "body) VALUES (?, ?, ?, ?, ?)",
                [self.ref, cid, order["broker_order_id"], order["status"], dumps_compact(order)],
            )
        self.new.clear()
        self.dirty.clear()


class _Account:
    """One account of the book inside a transaction: cash and positions, and its orders."""

    def __init__(self, conn: sqlite3.Connection, ref: str) -> None:
        self.conn = conn
        self.ref = ref
        self.orders = _Orders(conn, ref)
        row = conn.execute("SELECT cash, positions FROM accounts WHERE ref = ?", [ref]).fetchone()
        self.missing = row is None
        self.seeded: list[dict[str, Any]] = []
        """Working orders the account opens with (placed again in each transaction until
        the account is first written)."""
        self.data: dict[str, Any] = (
            {"cash": decimal_of(row[0]), "positions": parse_json(row[1])} if row else {}
        )
        self._next_id: int | None = None

    def again(self, conn: sqlite3.Connection) -> _Account:
        """This account for a new transaction of ``conn``, when nothing else changed the book
        since this one committed (its data is then still what the book holds)."""
        self.conn = conn
        self.orders = _Orders(conn, self.ref)
        if self.missing:
            for order in self.seeded:
                self.orders.place(dict(order))
        return self

    def seed(self, cash: Decimal, positions: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.data = {
            "cash": cash,
            "positions": {s: {"qty": q, "avg_price": p} for s, (q, p) in positions.items()},
        }

    def seed_orders(self, orders: Sequence[dict[str, Any]]) -> None:
        """Open with these working orders (skipping a broker id the book already has)."""
        for order in orders:
            taken = self.conn.execute(
                "SELECT 1 FROM orders WHERE broker_order_id = ?", [order["broker_order_id"]]
            ).fetchone()
            if taken is None:
                self.seeded.append(order)
                self.orders.place(dict(order))

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def next_id(self, floor: int = 0) -> int:
        """The book's next order number, past ``floor`` (the highest paper broker id any
        order of the queue holds, whichever account: an account not opened yet may hold
        one, and its working orders join the book only when it first opens)."""
        value = self._next_id
        if value is None:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
            value = int(row[0]) if row else 1
        value = max(value, floor + 1)
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_id', ?)", [value + 1]
        )
        self._next_id = value + 1
        return value

    def flush(self) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO accounts (ref, cash, positions) VALUES (?, ?, ?)",
            [self.ref, str(self.data["cash"]), dumps_compact(self.data["positions"])],
        )
        if self.missing and self.seeded:
            # New broker ids are numbered past the seeded ones, so they never collide.
            top = max(id_number(o["broker_order_id"]) for o in self.seeded)
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
            after = max(int(row[0]) if row else 1, top + 1, self._next_id or 1)
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_id', ?)", [after]
            )
            self._next_id = after
        self.orders.flush()
        self.missing = False
        self.seeded = []


def id_number(broker_order_id: str) -> int:
    """The number in a paper broker id (``paper-000041`` → 41; 0 for another form)."""
    digits = broker_order_id.rpartition("-")[2]
    return int(digits) if digits.isdigit() else 0


PriceSource = Callable[[str], Decimal | None]


class PaperBroker:
    """A broker account simulated on disk; safe to share between processes (file lock)."""

    name = "paper"
    mode = "paper"
    parallel = False
    """A local book: served from the executor's own thread."""

    def __init__(
        self,
        book_path: Path,
        prices: PriceSource,
        *,
        account_ref: str = "paper",
        slippage_bps: Decimal = Decimal(0),
        partial_fill_ratio: Decimal | None = None,
        initial_cash: Decimal = Decimal(0),
        initial_positions: dict[str, tuple[Decimal, Decimal]] | None = None,
        initial_orders: Callable[[], Sequence[tuple[OrderRequest, BrokerOrder]]] | None = None,
        id_floor: Callable[[], int] | None = None,
        read_only: bool = False,
    ) -> None:
        self.book_path = book_path
        self.read_only = read_only
        """Read the book without ever writing the state directory: a copy in memory (what a
        reading of the book may seed or change stays there)."""
        self.prices = prices
        self.account_ref = account_ref
        self.slippage = slippage_bps / Decimal(10_000)
        self.partial_fill_ratio = partial_fill_ratio
        self._initial_cash = initial_cash
        self._initial_positions = initial_positions or {}
        self._initial_orders = initial_orders
        """The working orders the account opens with (asked only when it first opens)."""
        self._id_floor = id_floor
        """The highest paper broker id the queue holds (new ids are numbered past it)."""
        self._local = threading.local()

    # ---------------------------------------------------------------- the book
    # SQLite (WAL, synchronous=FULL): one small durable transaction per broker call, so
    # the cost of a call does not grow with the book.

    def _connect(self) -> sqlite3.Connection:
        """One connection per broker object and thread, opened on first use (the desk calls
        a broker from its executor, its operator actions and its status checks)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                if self.book_path.is_symlink() or (
                    self.book_path.exists() and not self.book_path.is_file()
                ):
                    raise sqlite3.DatabaseError("it is not a regular file")
                conn = (
                    self._memory_copy() if self.read_only else connect_wal(self.book_path, _SCHEMA)
                )
            except sqlite3.DatabaseError as exc:  # OperationalError too
                raise BrokerError(
                    f"paper book {self.book_path.name} cannot be opened ({exc}); move it aside "
                    "to start a new book from portfolio.json"
                ) from None
            self._local.conn = conn
        return conn

    def _memory_copy(self) -> sqlite3.Connection:
        """The book as it is on disk (if it is there), copied into memory through a
        read-only connection: nothing beside it is created, even where one may write."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        if self.book_path.exists():
            uri = f"{self.book_path.resolve().as_uri()}?mode=ro"
            if not self.book_path.with_name(self.book_path.name + "-wal").exists():
                uri += "&immutable=1"  # no writer: the file is the whole book
            source = sqlite3.connect(uri, uri=True)
            try:
                source.backup(conn)
            finally:
                source.close()
        conn.executescript(_SCHEMA)
        return conn

    @contextlib.contextmanager
    def _book(self, write: bool = True) -> Iterator[_Account]:
        """One transaction on the account. The account's cash, positions and next id are
        kept from this connection's last transaction while no other connection has changed
        the book (SQLite's ``data_version``), so a run of orders does not read them back."""
        conn = self._connect()
        kept: tuple[int, _Account] | None = getattr(self._local, "account", None)
        self._local.account = None  # until this transaction has committed
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if kept is not None and kept[0] == version:
                account = kept[1].again(conn)
            else:
                account = _Account(conn, self.account_ref)
                if account.missing:
                    account.seed(self._initial_cash, self._initial_positions)
                    if self._initial_orders is not None:
                        account.seed_orders([_book_order(r, b) for r, b in self._initial_orders()])
            yield account
            if write:
                account.flush()
            conn.execute("COMMIT")
            self._local.account = (version, account)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _as_order(data: dict[str, Any]) -> BrokerOrder:
        return BrokerOrder(
            broker_order_id=data["broker_order_id"],
            client_order_id=data["client_order_id"],
            symbol=data["symbol"],
            side=Side(data["side"]),
            qty=decimal_of(data["qty"]),
            status=BrokerStatus(data["status"]),
            filled_qty=decimal_of(data["filled_qty"]),
            avg_fill_price=decimal_of(data["avg_fill_price"])
            if data.get("avg_fill_price")
            else None,
            reason=data.get("reason"),
            fee=Decimal(0),  # the paper broker charges nothing (its fills say so: 0, not "—")
        )

    # ---------------------------------------------------------------- filling

    def _fill_price(self, order: dict[str, Any], last: Decimal | None) -> Decimal | None:
        if last is None:
            return None
        buy = order["side"] == Side.BUY.value
        price = last * (1 + self.slippage) if buy else last * (1 - self.slippage)
        if order["order_type"] == OrderType.LIMIT.value:
            limit = decimal_of(order["limit_price"])
            if (buy and last > limit) or (not buy and last < limit):
                return None
            price = min(price, limit) if buy else max(price, limit)
        return price.quantize(Decimal("0.00000001"))

    def _try_fill(
        self, account: _Account, order: dict[str, Any], last: Decimal | None = None
    ) -> None:
        """Fill what the price allows (``last``: the price already looked up, if it was)."""
        if order["status"] not in {
            BrokerStatus.ACCEPTED.value,
            BrokerStatus.PARTIALLY_FILLED.value,
        }:
            return
        price = self._fill_price(order, last or self.prices(order["symbol"]))
        if price is None:
            return
        remaining = decimal_of(order["qty"]) - decimal_of(order["filled_qty"])
        take = remaining
        if self.partial_fill_ratio is not None and decimal_of(order["filled_qty"]) == 0:
            crypto = asset_class_of(order["symbol"]) is AssetClass.CRYPTO
            step = Decimal("0.00000001") if crypto else Decimal(1)
            take = (remaining * self.partial_fill_ratio / step).to_integral_value(ROUND_DOWN) * step
            take = take if take > 0 else remaining
        position = account["positions"].setdefault(
            order["symbol"], {"qty": Decimal(0), "avg_price": Decimal(0)}
        )
        held, avg = decimal_of(position["qty"]), decimal_of(position["avg_price"])
        if order["side"] == Side.BUY.value:
            cost = take * price
            if cost > decimal_of(account["cash"]):
                partly = decimal_of(order["filled_qty"]) > 0
                order["status"] = (
                    BrokerStatus.CANCELLED if partly else BrokerStatus.REJECTED
                ).value
                order["reason"] = "insufficient cash"
                return
            account["cash"] = decimal_of(account["cash"]) - cost
            position["avg_price"] = ((held * avg + cost) / (held + take)).quantize(
                Decimal("0.00000001")
            )
            position["qty"] = held + take
        else:
            if take > held:
                # As for cash: the rest of a partly filled order is cancelled (its fills
                # stand); only an order with no fill is rejected.
                partly = decimal_of(order["filled_qty"]) > 0
                order["status"] = (
                    BrokerStatus.CANCELLED if partly else BrokerStatus.REJECTED
                ).value
                order["reason"] = "insufficient quantity"
                return
            account["cash"] = decimal_of(account["cash"]) + take * price
            position["qty"] = held - take
        filled = decimal_of(order["filled_qty"])
        order["avg_fill_price"] = (
            (filled * decimal_of(order["avg_fill_price"] or 0) + take * price) / (filled + take)
        ).quantize(Decimal("0.00000001"))
        order["filled_qty"] = filled + take
        done = order["filled_qty"] == decimal_of(order["qty"])
        order["status"] = (BrokerStatus.FILLED if done else BrokerStatus.PARTIALLY_FILLED).value

    # ---------------------------------------------------------------- interface

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self._book() as account:
            # A reused client order id fails when the order is inserted (the book's key).
            floor = self._id_floor() if self._id_floor is not None else 0
            accepted = BrokerOrder(
                f"paper-{account.next_id(floor):06d}", request.client_order_id, request.symbol,
                request.side, request.qty, BrokerStatus.ACCEPTED,
            )  # fmt: skip
            order = _book_order(request, accepted)
            last = self.prices(request.symbol)
            if last is None and request.order_type is OrderType.MARKET:
                order["status"] = BrokerStatus.REJECTED.value
                order["reason"] = f"no price for {request.symbol}"
            else:
                self._try_fill(account, order, last)
            account.orders.place(order)
            result = self._as_order(order)
        if result.status is BrokerStatus.REJECTED:
            raise OrderRejected(f"{request.client_order_id}: {result.reason}")
        return result

    def client_order_id_for(self, order_id: str) -> str:
        return vanta_client_id(order_id)

    def get_by_client_id(
        self,
        client_order_id: str,
        symbol: str | None = None,
        broker_order_id: str | None = None,
    ) -> BrokerOrder | None:
        with self._book(write=False) as account:
            order = account.orders.get(client_order_id)
            return self._as_order(order) if order is not None else None

    def prepare(self) -> None:
        """Nothing to make ahead: the book is opened per call."""

    def open_orders(self, symbols: Sequence[str] | None = None) -> list[BrokerOrder]:
        """Every working order (one list for the account, whatever ``symbols``)."""
        with self._book(write=False) as account:
            return [self._as_order(o) for o in account.orders.working()]

    def poll(self) -> list[BrokerOrder]:
        """Let working orders fill at the current prices; returns the orders that changed."""
        changed: list[BrokerOrder] = []
        with self._book() as account:
            for order in account.orders.working():
                before = (order["status"], order["filled_qty"])
                self._try_fill(account, order)
                if (order["status"], order["filled_qty"]) != before:
                    account.orders.touch(order)
                    changed.append(self._as_order(order))
        return changed

    def cancel(self, broker_order_id: str, symbol: str | None = None) -> BrokerOrder:
        with self._book() as account:
            order = account.orders.by_broker_id(broker_order_id)
            if order is not None:
                if BrokerStatus(order["status"]).working:
                    order["status"] = BrokerStatus.CANCELLED.value
                    account.orders.touch(order)
                return self._as_order(order)
        raise OrderNotFound(f"no paper order {broker_order_id}")

    def quotes(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """The paper broker's prices are the portfolio's last prices."""
        found = {symbol: self.prices(symbol) for symbol in symbols}
        return {symbol: price for symbol, price in found.items() if price is not None}

    def positions(self) -> list[BrokerPosition]:
        with self._book(write=False) as account:
            return [
                BrokerPosition(symbol, decimal_of(p["qty"]), decimal_of(p["avg_price"]))
                for symbol, p in account["positions"].items()
                if decimal_of(p["qty"]) != 0
            ]

    def account(self) -> BrokerAccount:
        with self._book(write=False) as account:
            return BrokerAccount(cash=decimal_of(account["cash"]))


def _book_order(request: OrderRequest, state: BrokerOrder) -> dict[str, Any]:
    """An order as the book keeps it (a new one, or a working one the account opens with)."""
    return {
        "broker_order_id": state.broker_order_id,
        "client_order_id": request.client_order_id,
        "symbol": request.symbol,
        "side": request.side.value,
        "qty": request.qty,
        "order_type": request.order_type.value,
        "limit_price": request.limit_price,
        "time_in_force": request.time_in_force.value,
        "status": state.status.value,
        "filled_qty": state.filled_qty,
        "avg_fill_price": state.avg_fill_price,
        "reason": None,
    }


def book_path(state_dir: Path) -> Path:
    return state_dir / BOOK_NAME


def read_book(path: Path) -> dict[str, Any]:
    """The whole book as plain data: ``{account_ref: {cash, positions, orders}}``."""
    conn = connect_wal(path, _SCHEMA)
    try:
        book: dict[str, Any] = {}
        for ref, cash, positions in conn.execute("SELECT ref, cash, positions FROM accounts"):
            book[ref] = {
                "cash": decimal_of(cash),
                "positions": parse_json(positions),
                "orders": _Orders(conn, ref).all(),
            }
        return book
    finally:
        conn.close()
