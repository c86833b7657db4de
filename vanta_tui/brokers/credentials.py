"""Broker keys: from the environment or the OS keyring, never from a file the desk writes.

For an ``account_ref`` such as ``alpaca-main``: ``VANTA_ALPACA_MAIN_API_KEY`` and
``VANTA_ALPACA_MAIN_API_SECRET``, else the keyring service ``vanta-desk`` with the user names
``alpaca-main:api_key`` and ``alpaca-main:api_secret``. Exchanges that want a passphrase
(ccxt's ``password``) get it from ``VANTA_ALPACA_MAIN_API_PASSPHRASE`` or the keyring user
``alpaca-main:api_passphrase``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

from vanta_tui.brokers.errors import CredentialsError
from vanta_tui.core.secrets import remember as remember_secrets

log = logging.getLogger(__name__)

KEYRING_SERVICE = "vanta-desk"


@dataclass(frozen=True)
class Credentials:
    account_ref: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    source: str
    """Where they came from ("environment" or "keyring"), for status lines; never the keys."""
    api_passphrase: str | None = field(default=None, repr=False)
    """The third secret some exchanges want (ccxt's ``password``: OKX, KuCoin, Coinbase
    Exchange, Bitget); None when it is not set."""

    def __post_init__(self) -> None:
        # Every key the desk loads is scrubbed from errors, logs and the journal by value.
        remember_secrets(self.api_key, self.api_secret, self.api_passphrase)


def env_names(account_ref: str) -> tuple[str, str]:
    """The environment variables holding the key and secret of ``account_ref``."""
    stem = re.sub(r"[^A-Z0-9]+", "_", account_ref.upper()).strip("_")
    return f"VANTA_{stem}_API_KEY", f"VANTA_{stem}_API_SECRET"


def passphrase_env_name(account_ref: str) -> str:
    """The environment variable holding the passphrase of ``account_ref``."""
    return env_names(account_ref)[0].removesuffix("_API_KEY") + "_API_PASSPHRASE"


def _passphrase(account_ref: str, from_keyring: bool) -> str | None:
    """The passphrase from the environment, else (``from_keyring``: where the key and secret
    came from) the keyring."""
    value = os.environ.get(passphrase_env_name(account_ref))
    if value or not from_keyring:
        return value or None
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, f"{account_ref}:api_passphrase") or None
    except Exception as exc:  # no backend, a locked store...
        log.info("keyring unavailable for %s: %s", account_ref, type(exc).__name__)
        return None


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
        return Credentials(
            account_ref, key, secret, "environment", _passphrase(account_ref, from_keyring=False)
        )
    if key or secret:
        missing = secret_var if key else key_var
        raise CredentialsError(f"account {account_ref}: {missing} is not set (its pair is)")
    stored = _from_keyring(account_ref)
    if stored is not None:
        return Credentials(
            account_ref, stored[0], stored[1], "keyring", _passphrase(account_ref, True)
        )
    raise CredentialsError(
        f"account {account_ref}: no keys; set {key_var} and {secret_var}, or store them in "
        f"the keyring (service {KEYRING_SERVICE!r}, users '{account_ref}:api_key' and "
        f"'{account_ref}:api_secret')"
    )
