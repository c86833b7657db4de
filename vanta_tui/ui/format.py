"""How numbers, ages and states are written on the desk, and the colours that mean something."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from textual.color import Color

from vanta_tui.core.enums import OrderStatus

WORKING_STYLE = "bold blue"
"""At the broker, still working: submitted or partially filled."""

STATUS_STYLE: dict[OrderStatus, str] = {
    # One colour per stage: the operator's (yellow), waiting to go (cyan), at the broker
    # (blue: a partial fill is still working, not an error), done (green / dim), failed (red).
    OrderStatus.STAGED: "bold yellow",
    OrderStatus.APPROVED: "bold cyan",
    OrderStatus.SUBMITTING: "blue",
    OrderStatus.SUBMITTED: WORKING_STYLE,
    OrderStatus.PARTIALLY_FILLED: WORKING_STYLE,
    OrderStatus.FILLED: "green",
    OrderStatus.REJECTED: "dim",
    OrderStatus.FAILED: "bold red",
    OrderStatus.CANCELLED: "dim",
    OrderStatus.BROKER_REJECTED: "red",
}

BORDER_CONTRAST = 80.0
"""How far apart (RGB distance, up to 441) the focused pane's border stays from the other
panes' border, an error's border and the background."""


def colour_distance(a: Color, b: Color) -> float:
    """How different two colours look on screen: RGB distance; ANSI colours (which the
    terminal paints) differ when their numbers do."""
    if a.ansi is not None or b.ansi is not None:
        return 0.0 if a.ansi == b.ansi else 255.0
    return float(sum((x - y) ** 2 for x, y in zip(a.rgb, b.rgb, strict=True)) ** 0.5)


def focus_border(variables: Mapping[str, str]) -> str:
    """The focused pane's border colour in a theme (its CSS ``variables``): the theme's
    accent, unless it is too close to the unfocused border (primary at 50%), the error
    border or the background; then its foreground, or secondary."""
    background = Color.parse(variables["background"])
    others = (
        background + Color.parse(variables["primary"]).multiply_alpha(0.5),
        background + Color.parse(variables["error"]),
        background,
    )
    for name in ("accent", "foreground", "secondary"):
        colour = background + Color.parse(variables[name])
        if all(colour_distance(colour, other) >= BORDER_CONTRAST for other in others):
            return variables[name]
    return variables["foreground"]


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
