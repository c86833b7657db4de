"""How numbers, ages and states are written on the desk."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from vanta_tui.core.enums import OrderStatus

STATUS_STYLE: dict[OrderStatus, str] = {
    OrderStatus.STAGED: "bold yellow",
    OrderStatus.APPROVED: "bold cyan",
    OrderStatus.SUBMITTING: "blue",
    OrderStatus.SUBMITTED: "bold blue",
    OrderStatus.PARTIALLY_FILLED: "bold magenta",
    OrderStatus.FILLED: "green",
    OrderStatus.REJECTED: "dim",
    OrderStatus.FAILED: "bold red",
    OrderStatus.CANCELLED: "dim",
    OrderStatus.BROKER_REJECTED: "red",
}


def money(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value:,.{places}f}"


def qty(value: Decimal) -> str:
    """Whole numbers without decimals; crypto sizes with as many as they carry (up to 8)."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    text = f"{value:,.8f}".rstrip("0")
    return text


def price(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:,.6f}".rstrip("0")


def pct(value: Decimal | None, places: int = 2, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:{'+' if signed else ''}.{places}f}%"


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"


def age_changes_in(seconds: float) -> float:
    """Seconds until `age` shows a different text for this age."""
    whole = max(0, int(seconds))
    if whole < 60:
        return 1 - (seconds - whole)
    step = 60 if whole < 86400 else 3600
    return step - (seconds % step)


def countdown(until: datetime, now: datetime) -> str:
    left = int((until - now).total_seconds())
    if left <= 0:
        return "expired"
    return f"{left // 60}:{left % 60:02d} left"


def stamp(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")
