"""The red banner under the header while trading is stopped for the whole desk (a panic, or
global maintenance): who, why and since when, and what the last panic could not cancel,
kept on screen until an operator acknowledges it (`A`). Hidden otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.message import Message
from textual.widget import Widget

if TYPE_CHECKING:
    from vanta_tui.actions.activity import Banner

SHOWN_MISSES = 4
"""How many of the orders a panic could not cancel the banner lists (then "+N more")."""
SHORT_SCREEN = 32
"""Below this many lines (the desk's "-short" breakpoint) the banner lists one order only:
the panes under it keep their rows."""


class PanicBanner(Widget):
    """Docked under the header; ``show(None)`` hides it."""

    class AcknowledgeClicked(Message):
        """The operator clicked the banner's "A: acknowledge"."""

    class Resized(Message):
        """The banner's height changed (shown, hidden, more lines): the panes under it
        share the rows again (the app's layout by content)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"panic-banner--head", "panic-banner--miss"}
    DEFAULT_CSS = """
    PanicBanner {
        dock: top;
        margin-top: 1;  /* under the header (docked at the top too: docks overlap) */
        height: auto;
        max-height: 7;
        background: $error;
        color: $text;
        display: none;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PanicBanner.-shown {
        display: block;
    }
    PanicBanner > .panic-banner--head {
        text-style: bold;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="panic-banner")
        self.banner: Banner | None = None

    def show(self, banner: Banner | None) -> None:
        self.banner = banner
        self.set_class(banner is not None, "-shown")
        self.refresh(layout=True)

    @property
    def awaiting_ack(self) -> bool:
        """The banner lists orders a panic could not cancel (`A` acknowledges them)."""
        return self.banner is not None and bool(self.banner.not_cancelled)

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def on_click(self) -> None:
        if self.awaiting_ack:
            self.post_message(self.AcknowledgeClicked())

    def render(self) -> Text:
        banner = self.banner
        if banner is None:
            return Text()
        head = self.get_component_rich_style("panic-banner--head")
        text = Text("■ " + banner.text, style=head, no_wrap=True, overflow="ellipsis")
        misses = banner.not_cancelled
        if misses:
            text.append(
                f"\nNOT CANCELLED ({len(misses)}) — still working at the broker; A: acknowledge",
                style=head,
            )
            shown = 1 if self.app.size.height < SHORT_SCREEN else SHOWN_MISSES
            for miss in misses[:shown]:
                text.append(f"\n  {miss}")
            if len(misses) > shown:
                text.append(f"\n  +{len(misses) - shown} more (A lists them all)")
        elif banner.panic:
            text.append("  · every working order was cancelled")
        return text
