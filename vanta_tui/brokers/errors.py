"""The broker errors the rest of the desk sees. Each says whether a retry can help.

Adapters translate every library error into one of these (``raise ... from e``).
"""

from __future__ import annotations

from vanta_tui.core.secrets import scrub


class BrokerError(Exception):
    """Base of every broker error. Its text never carries a key the desk has loaded (a
    broker that echoes credentials in an error body): `str` scrubs them."""

    retryable = False

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
