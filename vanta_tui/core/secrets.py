"""Secrets by name and by value: which keys and values look like credentials, and the keys
this process has loaded, scrubbed from any text before it is written or shown.

Plain Python (no I/O): `brokers.credentials` registers every key it loads; the journal's
redaction, broker errors and the log records scrub with `scrub`.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "[redacted]"

SECRET_NAME_RE = re.compile(
    r"(api[_-]?key|api[_-]?secret|secret|passphrase|passwd|password|pwd|private[_-]?key"
    r"|access[_-]?key|token|auth[_-]?key|signing[_-]?key)",
    re.IGNORECASE,
)
"""Key names that look like credentials, anywhere in the name and in any case or style
(``secret_key``, ``secretKey``, ``api_key_id``, ``AWS_ACCESS_KEY``, ``pwd``...)."""

SECRET_VALUE_RE = re.compile(
    # A PEM private key, the whole block: its header, base64 body and footer (the body's
    # line breaks raw or escaped as in a repr or JSON). A block cut short (no footer) up
    # to where its base64 ends.
    r"-----BEGIN (?P<pem>[A-Z0-9 ]*)PRIVATE KEY-----"
    r"(?:(?s:.*?)-----END (?P=pem)PRIVATE KEY-----|[A-Za-z0-9+/=\r\n\\:,-]*)"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # a JWT
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\b(?:PK|AK|CK)[0-9A-Z]{18}\b"  # Alpaca key ids
    r"|\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
)
"""Values that look like credentials whatever their key is called."""

MIN_SCRUBBED = 6
"""Loaded values shorter than this are not scrubbed from text (they would match anywhere)."""

_known: frozenset[str] = frozenset()
_longest_first: tuple[str, ...] = ()
_lengths: tuple[int, ...] = ()
"""The loaded values longest first, and their distinct lengths (`contains_known`)."""
_index: tuple[frozenset[str], tuple[int, ...], re.Pattern[str] | None] = (frozenset(), (), None)
"""For `contains_known`, replaced as one (a reader never mixes two generations): the
loaded values, their lengths, and the pattern of stretches of text made only of characters
found in them, as long as the shortest at least (the only places one can occur)."""
FEW = 8
"""Up to this many loaded values, each is searched for in turn (C speed)."""
_alphabet: frozenset[str] = frozenset()
"""Every character of the loaded values."""
_guard = threading.Lock()


def looks_secret_key(key: str) -> bool:
    return SECRET_NAME_RE.search(key) is not None


def looks_secret_value(value: str) -> bool:
    return SECRET_VALUE_RE.search(value) is not None


def remember(*values: str | None) -> None:
    """Values (keys, secrets, passphrases) to scrub from every text this process writes."""
    global _known
    fresh = {v for v in values if v and len(v) >= MIN_SCRUBBED}
    if not fresh - _known:
        return
    global _longest_first, _lengths, _index, _alphabet
    with _guard:
        grown = _known | fresh
        _longest_first = ()  # sorted again when `scrub` needs it
        _lengths = tuple(sorted(set(_lengths) | {len(v) for v in fresh}))
        letters = _alphabet.union(*fresh)
        if letters != _alphabet or _index[2] is None or _index[1][:1] != _lengths[:1]:
            alphabet = "".join(re.escape(c) for c in sorted(letters))
            runs = re.compile(f"[{alphabet}]{{{_lengths[0]},}}")
        else:
            runs = _index[2]  # one account's keys after another's: no new pattern
        _alphabet = letters
        _known = grown
        _index = (grown, _lengths, runs)
    _install_log_scrubber()


def known() -> frozenset[str]:
    return _known


def contains_known(text: str) -> bool:
    """Whether a loaded secret occurs in ``text``. With many loaded (a thousand accounts'
    keys), not a search for each in turn: a secret can only lie inside a stretch of the
    text made of its characters and at least as long as it (found by one regular
    expression, at C speed); each window of such a stretch as long as a secret is looked
    up in the set."""
    known, lengths, runs = _index
    if not known or runs is None:
        return False
    if len(known) <= FEW:
        return any(value in text for value in known)
    for run in runs.finditer(text):
        start, end = run.span()
        for size in lengths:
            if size > end - start:
                break
            if any(text[i : i + size] in known for i in range(start, end - size + 1)):
                return True
    return False


def _by_length() -> tuple[str, ...]:
    """The loaded values, longest first (sorted once after each `remember`, when needed)."""
    global _longest_first
    ordered = _longest_first
    if len(ordered) != len(_known):
        with _guard:
            ordered = _longest_first = tuple(sorted(_known, key=len, reverse=True))
    return ordered


def scrub(text: str) -> str:
    """``text`` with every loaded secret, and everything that looks like a credential,
    replaced by ``[redacted]``."""
    if contains_known(text):
        for value in _by_length():  # a key inside another: the longer first
            if value in text:
                text = text.replace(value, REDACTED)
    if SECRET_VALUE_RE.search(text):
        text = SECRET_VALUE_RE.sub(REDACTED, text)
    return text


def clip(text: str, limit: int) -> str:
    """``text`` scrubbed, then cut to ``limit`` characters: cut first, a secret across the
    cut would leave its first characters behind, which no longer match it."""
    return scrub(text)[:limit]


_installed = False


def _install_log_scrubber() -> None:
    """Every log record is scrubbed as it is made (its message formatted, then scrubbed)."""
    global _installed
    with _guard:
        if _installed:
            return
        _installed = True
    make = logging.getLogRecordFactory()

    def scrubbed(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if _known:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: leave it for logging to report
                return record
            clean = scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return record

    logging.setLogRecordFactory(scrubbed)
