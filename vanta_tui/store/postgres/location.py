"""Where a state directory's journal is: SQLite's ``vanta.db`` beside the files (the
default), or a PostgreSQL database (`JOURNAL_URL_ENV`, issue 25). No psycopg here: every
process asks, and only those given a URL import it.

A directory whose journal is on PostgreSQL says so in `LOCATION_NAME` (the URL without a
password, and the journal's id, also kept in the database's ``meta``): a process that
opens the directory without the URL is refused rather than starting a second journal in
``vanta.db``, and a database that is another directory's journal is refused too.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

JOURNAL_URL_ENV = "VANTA_JOURNAL_URL"
LOCATION_NAME = "journal.location.json"


def journal_url() -> str | None:
    """The PostgreSQL journal's URL (`JOURNAL_URL_ENV`), or None: the SQLite journal."""
    url = os.environ.get(JOURNAL_URL_ENV, "").strip()
    return url or None


def redact_url(url: str) -> str:
    """``url`` without a password (it is shown, and written in the state directory)."""
    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def read_location(state_dir: Path) -> dict[str, Any] | None:
    """The directory's note that its journal is on PostgreSQL, or None. A note that does
    not read is an error naming it (the directory's journal is somewhere it cannot say)."""
    from vanta_tui.store.errors import JournalFileError

    path = state_dir / LOCATION_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalFileError(f"{LOCATION_NAME}: cannot be read ({exc})") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("journal_id"), str):
            raise ValueError("no journal_id")
    except ValueError as exc:
        raise JournalFileError(
            f"{LOCATION_NAME}: not the note of a PostgreSQL journal ({exc}); it says this "
            "directory's journal is in PostgreSQL: put back a good copy"
        ) from None
    return data


def write_location(state_dir: Path, url: str, journal_id: str) -> None:
    from vanta_tui.store.writer import atomic_replace

    text = json.dumps(
        {"backend": "postgresql", "url": redact_url(url), "journal_id": journal_id}, indent=2
    )
    atomic_replace(state_dir / LOCATION_NAME, (text + "\n").encode("utf-8"))


def journal_present(state_dir: Path) -> bool:
    """Whether ``state_dir`` has a journal to read: ``vanta.db``, or the note of one in
    PostgreSQL (a read-only desk makes none)."""
    return (state_dir / "vanta.db").exists() or (state_dir / LOCATION_NAME).exists()
