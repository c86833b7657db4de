"""Broker keys: from the environment or the OS keyring, never from a file the desk writes.

For an ``account_ref`` such as ``alpaca-main``: ``VANTA_ALPACA_MAIN_API_KEY`` and
``VANTA_ALPACA_MAIN_API_SECRET``, else the keyring service ``vanta-desk`` with the user names
``alpaca-main:api_key`` and ``alpaca-main:api_secret``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

from vanta_tui.brokers.errors import CredentialsError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "vanta-desk"


@dataclass(frozen=True)
class Credentials:
    account_ref: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    source: str
    """Where they came from ("environment" or "keyring"), for status lines; never the keys."""


def env_names(account_ref: str) -> tuple[str, str]:
    """The environment variables holding the key and secret of ``account_ref``."""
    stem = re.sub(r"[^A-Z0-9]+", "_", account_ref.upper()).strip("_")
    return f"VANTA_{stem}_API_KEY", f"VANTA_{stem}_API_SECRET"


def _from_keyring(account_ref: str) -> tuple[str, str] | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            key = keyring.get_password(KEYRING_SERVICE, f"{account_ref}:api_key")
            secret = keyring.get_password(KEYRING_SERVICE, f"{account_ref}:api_secret")
        except KeyringError as exc:
            log.info("keyring unavailable for %s: %s", account_ref, type(exc).__name__)
            return None
    except Exception as exc:  # no backend, a locked store, a broken D-Bus...
        log.info("keyring unavailable for %s: %s", account_ref, type(exc).__name__)
        return None
    if key and secret:
        return key, secret
    return None


def load_credentials(account_ref: str) -> Credentials:
    """The keys of ``account_ref``; `CredentialsError` says where they were looked for."""
    key_var, secret_var = env_names(account_ref)
    key, secret = os.environ.get(key_var), os.environ.get(secret_var)
    if key and secret:
        return Credentials(account_ref, key, secret, "environment")
    if key or secret:
        missing = secret_var if key else key_var
        raise CredentialsError(f"account {account_ref}: {missing} is not set (its pair is)")
    stored = _from_keyring(account_ref)
    if stored is not None:
        return Credentials(account_ref, stored[0], stored[1], "keyring")
    raise CredentialsError(
        f"account {account_ref}: no keys; set {key_var} and {secret_var}, or store them in "
        f"the keyring (service {KEYRING_SERVICE!r}, users '{account_ref}:api_key' and "
        f"'{account_ref}:api_secret')"
    )
