"""The operator's keys in the desk, one module per area: each key starts a flow (an async
worker: ask → confirm → the `vanta_tui.desk.Desk` action in a thread → toast → refresh).

- `orders`: approve, reject, flip, edit, new order ticket, rebalance, dead letters;
- `overlays`: maintenance (a vault's, the whole desk's), clear trip, flip mode (and its
  expiry), persona;
- `followers`: the followers view and their kill switch;
- `execution`: cancel, panic, reconcile, the status view and its alarms, the executor, and
  quitting (which asks first while the desk's executor has orders in flight);
- `day`: unstage (`u`), acknowledging what a panic could not cancel (`A`);
- `views`: `:` goes to a view by name (`VIEWS`).

Approving, staging and turning maintenance off go through a confirmation that says exactly
what will happen. In read-only mode none of the keys that change state is shown or works.
"""

from __future__ import annotations

from textual.binding import Binding

OPERATOR_BINDINGS = [
    Binding("a", "approve", "Approve", id="approve"),
    Binding("x", "reject", "Reject", id="reject"),
    Binding("f", "flip", "Flip", id="flip"),
    Binding("e", "edit", "Edit", id="edit"),
    Binding("n", "new_order", "New order", id="new_order"),
    Binding("s", "stage_rebalance", "Rebalance", id="stage_rebalance"),
    Binding("m", "maintenance", "Maint.", id="maintenance"),
    Binding("M", "global_maintenance", "Global maint.", id="global_maintenance", show=False),
    Binding("t", "trip_clear", "Clear trip", id="trip_clear", show=False),
    Binding("F", "flip_mode", "Flip mode", id="flip_mode", show=False),
    Binding("p", "persona", "Persona", id="persona", show=False),
    Binding("c", "cancel_order", "Cancel", id="cancel_order", show=False),
    Binding("ctrl+k", "panic", "PANIC", id="panic", show=False),
    Binding("r", "reconcile", "Reconcile", id="reconcile", show=False),
    Binding("E", "toggle_executor", "Executor", id="toggle_executor", show=False),
    Binding("u", "unstage", "Unstage", id="unstage", show=False),
    Binding("A", "acknowledge_panic", "Acknowledge panic", id="acknowledge_panic", show=False),
]
VIEW_BINDINGS = [
    Binding("d", "dead_letters", "Dead letters", id="dead_letters", show=False),
    Binding("w", "followers", "Followers", id="followers", show=False),
    Binding("S", "status", "Status", id="status", show=False),
    Binding("colon", "jump", "Go to a view by name", id="jump", show=False),
    Binding("N", "notifications", "Notifications (read again)", id="notifications", show=False),
    Binding("L", "activity", "Activity (what happened)", id="activity", show=False),
    Binding("B", "blotter", "Fills blotter", id="blotter", show=False),
    Binding("P", "profit", "Profit by period", id="profit", show=False),
]
VIEWS: dict[str, str] = {
    "vaults": "focus_pane('vaults')",
    "overlays": "focus_pane('overlays')",
    "queue": "focus_pane('queue')",
    "positions": "focus_pane('positions')",
    "pnl": "focus_pane('pnl')",
    "held": "show_held",
    "followers": "followers",
    "status": "status",
    "dead-letters": "dead_letters",
    "notifications": "notifications",
    "activity": "activity",
    "blotter": "blotter",
    "fills": "blotter",
    "profit": "profit",
    "help": "help",
}
"""What `:` goes to: a view's name → the app's action that shows it (one line per view)."""
MUTATING_ACTIONS = frozenset(b.action for b in OPERATOR_BINDINGS) | {"mark"}
"""What read-only mode neither shows nor runs."""
