"""The broker errors the rest of the desk sees. Each says whether a retry can help.

Adapters translate every library error into one of these (``raise ... from e``).
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base of every broker error."""

    retryable = False


class TemporaryBrokerError(BrokerError):
    """The broker is busy, slow or unreachable, and nothing was accepted. Retry later."""

    retryable = True


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


class OrderNotFound(BrokerError):
    """No such order at the broker."""
