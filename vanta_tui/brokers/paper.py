"""The paper broker: no network, a book persisted in the state directory.

Market orders fill at the last price ± slippage (basis points, against the trader); limit
orders fill when the price allows, else stay working until `reprice` moves the price
through them. Optional partial fills take a fraction first and the rest on the next
`poll`. Like a real broker it rejects insufficient cash or quantity, and a reused client
order id. The book (`paper_book.json` beside the state files) survives restarts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from filelock import FileLock

from vanta_tui.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    BrokerStatus,
    OrderRequest,
)
from vanta_tui.brokers.errors import DuplicateClientOrderId, OrderNotFound, OrderRejected
from vanta_tui.core.enums import OrderType, Side
from vanta_tui.store.codec import dumps_pretty, parse_json
from vanta_tui.store.writer import atomic_replace

BOOK_NAME = "paper_book.json"
PriceSource = Callable[[str], Decimal | None]


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


class PaperBroker:
    """A broker account simulated on disk; safe to share between processes (file lock)."""

    name = "paper"

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
    ) -> None:
        self.book_path = book_path
        self.prices = prices
        self.account_ref = account_ref
        self.slippage = slippage_bps / Decimal(10_000)
        self.partial_fill_ratio = partial_fill_ratio
        self._initial_cash = initial_cash
        self._initial_positions = initial_positions or {}
        self._lock = FileLock(str(book_path) + ".lock", timeout=30)

    # ---------------------------------------------------------------- the book

    def _empty(self) -> dict[str, Any]:
        return {
            "version": 1,
            "next_id": 1,
            "accounts": {},
        }

    def _account(self, book: dict[str, Any]) -> dict[str, Any]:
        accounts: dict[str, Any] = book["accounts"]
        if self.account_ref not in accounts:
            accounts[self.account_ref] = {
                "cash": self._initial_cash,
                "positions": {
                    s: {"qty": q, "avg_price": p} for s, (q, p) in self._initial_positions.items()
                },
                "orders": {},
            }
        account: dict[str, Any] = accounts[self.account_ref]
        return account

    @contextlib.contextmanager
    def _book(self, write: bool = True) -> Iterator[dict[str, Any]]:
        with self._lock:
            if self.book_path.exists():
                book = parse_json(self.book_path.read_text(encoding="utf-8"))
            else:
                book = self._empty()
            yield book
            if write:
                atomic_replace(self.book_path, dumps_pretty(book).encode("utf-8"))

    @staticmethod
    def _as_order(data: dict[str, Any]) -> BrokerOrder:
        return BrokerOrder(
            broker_order_id=data["broker_order_id"],
            client_order_id=data["client_order_id"],
            symbol=data["symbol"],
            side=Side(data["side"]),
            qty=_d(data["qty"]),
            status=BrokerStatus(data["status"]),
            filled_qty=_d(data["filled_qty"]),
            avg_fill_price=_d(data["avg_fill_price"]) if data.get("avg_fill_price") else None,
            reason=data.get("reason"),
        )

    # ---------------------------------------------------------------- filling

    def _fill_price(self, order: dict[str, Any]) -> Decimal | None:
        last = self.prices(order["symbol"])
        if last is None:
            return None
        buy = order["side"] == Side.BUY.value
        price = last * (1 + self.slippage) if buy else last * (1 - self.slippage)
        if order["order_type"] == OrderType.LIMIT.value:
            limit = _d(order["limit_price"])
            if (buy and last > limit) or (not buy and last < limit):
                return None
            price = min(price, limit) if buy else max(price, limit)
        return price.quantize(Decimal("0.00000001"))

    def _try_fill(self, account: dict[str, Any], order: dict[str, Any]) -> None:
        if order["status"] not in {
            BrokerStatus.ACCEPTED.value,
            BrokerStatus.PARTIALLY_FILLED.value,
        }:
            return
        price = self._fill_price(order)
        if price is None:
            return
        remaining = _d(order["qty"]) - _d(order["filled_qty"])
        take = remaining
        if self.partial_fill_ratio is not None and _d(order["filled_qty"]) == 0:
            step = Decimal("0.00000001") if "/" in order["symbol"] else Decimal(1)
            take = (remaining * self.partial_fill_ratio / step).to_integral_value(ROUND_DOWN) * step
            take = take if take > 0 else remaining
        position = account["positions"].setdefault(
            order["symbol"], {"qty": Decimal(0), "avg_price": Decimal(0)}
        )
        held, avg = _d(position["qty"]), _d(position["avg_price"])
        if order["side"] == Side.BUY.value:
            cost = take * price
            if cost > _d(account["cash"]):
                partly = _d(order["filled_qty"]) > 0
                order["status"] = (
                    BrokerStatus.CANCELLED if partly else BrokerStatus.REJECTED
                ).value
                order["reason"] = "insufficient cash"
                return
            account["cash"] = _d(account["cash"]) - cost
            position["avg_price"] = ((held * avg + cost) / (held + take)).quantize(
                Decimal("0.00000001")
            )
            position["qty"] = held + take
        else:
            if take > held:
                order["status"] = BrokerStatus.REJECTED.value
                order["reason"] = "insufficient quantity"
                return
            account["cash"] = _d(account["cash"]) + take * price
            position["qty"] = held - take
        filled = _d(order["filled_qty"])
        order["avg_fill_price"] = (
            (filled * _d(order["avg_fill_price"] or 0) + take * price) / (filled + take)
        ).quantize(Decimal("0.00000001"))
        order["filled_qty"] = filled + take
        done = order["filled_qty"] == _d(order["qty"])
        order["status"] = (BrokerStatus.FILLED if done else BrokerStatus.PARTIALLY_FILLED).value

    # ---------------------------------------------------------------- interface

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self._book() as book:
            account = self._account(book)
            orders = account["orders"]
            if request.client_order_id in orders:
                raise DuplicateClientOrderId(
                    f"client order id {request.client_order_id} was already used"
                )
            broker_id = f"paper-{book['next_id']:06d}"
            book["next_id"] += 1
            order = {
                "broker_order_id": broker_id,
                "client_order_id": request.client_order_id,
                "symbol": request.symbol,
                "side": request.side.value,
                "qty": request.qty,
                "order_type": request.order_type.value,
                "limit_price": request.limit_price,
                "time_in_force": request.time_in_force.value,
                "status": BrokerStatus.ACCEPTED.value,
                "filled_qty": Decimal(0),
                "avg_fill_price": None,
                "reason": None,
            }
            orders[request.client_order_id] = order
            last = self.prices(request.symbol)
            if last is None and request.order_type is OrderType.MARKET:
                order["status"] = BrokerStatus.REJECTED.value
                order["reason"] = f"no price for {request.symbol}"
            else:
                self._try_fill(account, order)
            result = self._as_order(order)
        if result.status is BrokerStatus.REJECTED:
            raise OrderRejected(f"{request.client_order_id}: {result.reason}")
        return result

    def get_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        with self._book(write=False) as book:
            order = self._account(book)["orders"].get(client_order_id)
            return self._as_order(order) if order is not None else None

    def open_orders(self) -> list[BrokerOrder]:
        with self._book(write=False) as book:
            return [
                self._as_order(o)
                for o in self._account(book)["orders"].values()
                if BrokerStatus(o["status"]).working
            ]

    def poll(self) -> list[BrokerOrder]:
        """Let working orders fill at the current prices; returns the orders that changed."""
        changed: list[BrokerOrder] = []
        with self._book() as book:
            account = self._account(book)
            for order in account["orders"].values():
                before = (order["status"], order["filled_qty"])
                self._try_fill(account, order)
                if (order["status"], order["filled_qty"]) != before:
                    changed.append(self._as_order(order))
        return changed

    def cancel(self, broker_order_id: str) -> BrokerOrder:
        with self._book() as book:
            for order in self._account(book)["orders"].values():
                if order["broker_order_id"] == broker_order_id:
                    if BrokerStatus(order["status"]).working:
                        order["status"] = BrokerStatus.CANCELLED.value
                    return self._as_order(order)
        raise OrderNotFound(f"no paper order {broker_order_id}")

    def positions(self) -> list[BrokerPosition]:
        with self._book(write=False) as book:
            return [
                BrokerPosition(symbol, _d(p["qty"]), _d(p["avg_price"]))
                for symbol, p in self._account(book)["positions"].items()
                if _d(p["qty"]) != 0
            ]

    def account(self) -> BrokerAccount:
        with self._book(write=False) as book:
            return BrokerAccount(cash=_d(self._account(book)["cash"]))


def book_path(state_dir: Path) -> Path:
    return state_dir / BOOK_NAME
