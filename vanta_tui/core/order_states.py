"""The order state machine of the queue, exactly as the state-file contract lists it.

``staged → approved → submitting → submitted → partially_filled → filled``;
``staged → rejected`` (by the operator); ``submitting → failed`` (retries spent);
``submitted → cancelled | broker_rejected``. No other moves.
"""

from __future__ import annotations

from collections.abc import Mapping

from vanta_tui.core.enums import OrderStatus as S

TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.STAGED: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset({S.SUBMITTING}),
    S.SUBMITTING: frozenset({S.SUBMITTED, S.FAILED}),
    S.SUBMITTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.BROKER_REJECTED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED}),
    S.FILLED: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.BROKER_REJECTED: frozenset(),
}

TERMINAL: frozenset[S] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
"""States an order never leaves."""

OPEN: frozenset[S] = frozenset(S) - TERMINAL
"""States that still need someone: the operator, the executor or the broker."""

WORKING: frozenset[S] = frozenset({S.SUBMITTING, S.SUBMITTED, S.PARTIALLY_FILLED})
"""States in which the broker may hold the order."""

AT_BROKER: frozenset[S] = WORKING | {S.FILLED}
"""States of an order that went (or may have gone) to the broker and was not undone there."""


class IllegalTransition(ValueError):
    """A move the state machine forbids; the message says which and why."""


def can_move(current: S, target: S) -> bool:
    return target in TRANSITIONS[current]


MOVED: Mapping[S, str] = {
    S.STAGED: "staged",
    S.APPROVED: "approved",
    S.SUBMITTING: "sent",
    S.SUBMITTED: "marked submitted",
    S.PARTIALLY_FILLED: "partially filled",
    S.FILLED: "filled",
    S.REJECTED: "rejected",
    S.FAILED: "marked failed",
    S.CANCELLED: "cancelled",
    S.BROKER_REJECTED: "rejected by the broker",
}
"""What becoming each state is called in a refusal ("only staged orders can be approved")."""


def check_move(order_id: str, current: S, target: S) -> None:
    """Raise `IllegalTransition` unless ``current → target`` is a legal move; the message
    says which orders can make it: "order 01JD… is filled; only staged orders can be
    approved"."""
    if can_move(current, target):
        return
    sources = [s.value for s in S if target in TRANSITIONS[s]]
    if not sources:  # staged: only a new order is
        raise IllegalTransition(
            f"order {order_id} is {current.value}; only a new order can be {MOVED[target]}"
        )
    raise IllegalTransition(
        f"order {order_id} is {current.value}; "
        f"only {' or '.join(sources)} orders can be {MOVED[target]}"
    )
