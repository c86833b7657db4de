"""The desk's commands in the command palette (Ctrl+P).

Each command runs one of the app's actions by name (the one its key runs), so this module
needs nothing of the app but Textual's `App` (it does not import `vanta_tui.ui.app`).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider


class DeskCommands(Provider):
    """Desk commands; commands that change state are hidden in read-only mode."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object], bool]]:
        app = self.app

        def queue_action(name: str) -> Callable[[], object]:
            return lambda: app.query_one("#queue").run_action(name)

        def focus(pane: str) -> Callable[[], object]:
            return lambda: app.run_action(f"focus_pane({pane!r})")

        def act(name: str) -> Callable[[], object]:
            return lambda: app.run_action(name)

        # (name, help, callback, mutating)
        return [
            ("Orders: approve selected or marked", "Approve staged orders", act("approve"), True),
            ("Orders: reject selected or marked", "Reject staged orders", act("reject"), True),
            ("Orders: flip the selected order", "Reverse buy/sell", act("flip"), True),
            ("Orders: edit the selected order", "Qty, type, limit, TIF", act("edit"), True),
            ("Orders: new order ticket", "Stage an order by hand", act("new_order"), True),
            ("Vault: stage a rebalance", "Preview, then stage", act("stage_rebalance"), True),
            ("Vault: maintenance on/off", "For the selected vault", act("maintenance"), True),
            ("Desk: global maintenance on/off", "For every vault", act("global_maintenance"), True),
            ("Vault: clear trip", "After review, with a reason", act("trip_clear"), True),
            ("Vault: flip mode on/off", "Amplify with a TTL", act("flip_mode"), True),
            ("Vault: persona and boosts", "Set the active persona", act("persona"), True),
            ("Help: list every key", "Show the help screen", act("help"), False),
            ("Focus: vaults", "Move to the vaults pane", focus("vaults"), False),
            ("Focus: queue", "Move to the order queue", focus("queue"), False),
            ("Focus: positions", "Move to positions vs targets", focus("positions"), False),
            ("Queue: filter", "Filter the queue by any text", queue_action("filter"), False),
            (
                "Queue: show or hide finished orders",
                "Toggle finished orders",
                queue_action("toggle_finished"),
                False,
            ),
            (
                "Queue: next sort order",
                "Cycle the queue's sort column",
                queue_action("cycle_sort"),
                False,
            ),
            (
                "Queue: all vaults or the selected one",
                "Toggle the queue's scope",
                queue_action("toggle_scope"),
                False,
            ),
        ]

    def _visible(self) -> list[tuple[str, str, Callable[[], object], bool]]:
        read_only = getattr(self.app, "read_only", False)
        return [c for c in self._commands() if not (read_only and c[3])]

    async def discover(self) -> Hits:
        for name, help_text, callback, _ in self._visible():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback, _ in self._visible():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
