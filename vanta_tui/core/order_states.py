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


def check_move(order_id: str, current: S, target: S) -> None:
    """Raise `IllegalTransition` unless ``current → target`` is a legal move."""
    if can_move(current, target):
        return
    allowed = sorted(s.value for s in TRANSITIONS[current])
    where = ", ".join(allowed) if allowed else "nothing (it is final)"
    raise IllegalTransition(
        f"order {order_id} is {current.value}; it cannot become {target.value} "
        f"(from {current.value} it can become {where})"
    )
