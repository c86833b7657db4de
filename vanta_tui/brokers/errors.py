"""The broker errors the rest of the desk sees. Each says whether a retry can help.

Adapters translate every library error into one of these (``raise ... from e``).
"""

from __future__ import annotations

import sys

from vanta_tui.core.secrets import scrub


def _scrubbed_args(args: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(scrub(a) if isinstance(a, str) else a for a in args)


def scrub_chain(error: BaseException | None) -> None:
    """Scrub, in place, the text (``args``) of ``error`` and of every exception chained to it
    (``__cause__``, ``__context__``): a library error that echoed the keys is printed by a
    traceback as the cause of ours. An exception that keeps its text elsewhere than in its
    args is not changed (the adapters put none of those in a message)."""
    todo, seen = [error], set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        try:
            clean = _scrubbed_args(current.args)
            if clean != current.args:
                current.args = clean
        except Exception:  # an exception class with its own idea of args
            pass
        todo += [current.__cause__, current.__context__]


class BrokerError(Exception):
    """Base of every broker error. Its text never carries a key the desk has loaded (a
    broker that echoes credentials in an error body): its args are scrubbed as it is made
    (so `str`, `repr` and ``args`` are clean), and so is the library error being handled
    then, which becomes its ``__cause__`` / ``__context__`` (``raise ... from exc``).

    Adapters cut a long library message with `clip` (scrub, then cut), never by slicing:
    a cut through a key leaves a prefix no scrub recognises."""

    retryable = False

    def __init__(self, *args: object) -> None:
        super().__init__(*_scrubbed_args(args))
        handled = sys.exc_info()[1]
        if handled is not None and handled is not self:
            scrub_chain(handled)

    def __str__(self) -> str:
        return scrub(super().__str__())


class TemporaryBrokerError(BrokerError):
    """The broker is busy, slow or unreachable, and nothing was accepted. Retry later."""

    retryable = True

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """The wait the broker asked for (a rate limit's Retry-After), if it said."""


class UnknownOutcome(BrokerError):
    """The request may or may not have reached the broker (timeout, dropped connection, 5xx
    after sending). Look the order up by its client order id before any resend."""

    retryable = True


class DuplicateClientOrderId(BrokerError):
    """The broker already has an order with this client order id: look it up, do not fail."""


class OrderRejected(BrokerError):
    """The broker refused the order (cash, quantity, symbol...). Final: a person decides."""


class CredentialsError(BrokerError):
    """Keys are missing or refused. Needs a person: set them in the environment or keyring."""


class VenueRefused(BrokerError):
    """This venue cannot be used as configured (an exchange without a sandbox while the desk
    is not live, credentials the desk cannot hold...). Needs a person: the message says what
    to change. Other venues keep trading."""


class OrderNotFound(BrokerError):
    """No such order at the broker."""


class RefusedBeforeSend(OrderRejected):
    """Our adapter refused the order before sending it (the venue's limits, no price to size
    it): the broker never saw it, so it is not ``broker_rejected``; it fails, and a person
    decides (edit and retry, or dismiss)."""
