"""The store's errors. Each names the file, the place inside it and the reason.

None of them is temporary in the retry sense except `LockTimeout`: the others need a person
(fix the file, or look at who else is writing).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one state file."""

    file: str
    path: str
    """JSON path inside the file (``$.orders[3].qty``); ``$`` for the whole file."""
    reason: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.reason}"


class StoreError(Exception):
    """Base of every error the store raises."""


MAX_SHOWN = 5
"""How many problems an error's message lists; the rest are counted (all stay in .problems)."""


def summarize(problems: Sequence[Problem]) -> str:
    shown = "; ".join(str(p) for p in problems[:MAX_SHOWN])
    more = len(problems) - MAX_SHOWN
    return shown + (f"; and {more} more problem(s)" if more > 0 else "")


class StateFileError(StoreError):
    """A state file is missing, unreadable or invalid. Fix the file; retrying will not help."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(summarize(self.problems))

    @property
    def file(self) -> str:
        return self.problems[0].file


class WriteRefused(StoreError):
    """The store would not write: the file on disk does not load, or the new content would
    not load back. Nothing was changed."""

    def __init__(self, file: str, why: str, problems: Sequence[Problem] = ()) -> None:
        self.file = file
        self.problems = list(problems)
        detail = summarize(self.problems)
        super().__init__(f"not writing {file}: {why}" + (f": {detail}" if detail else ""))


class VersionConflict(StoreError):
    """Someone else wrote the file since it was read. Re-read and apply the change again."""

    def __init__(self, file: str, expected: int, found: int) -> None:
        self.file = file
        self.expected = expected
        self.found = found
        super().__init__(f"{file} is at version {found}, expected {expected}: it changed meanwhile")


class LockTimeout(StoreError):
    """Another process held the file's lock too long. Temporary: a retry may succeed."""


class JournalIntegrityError(StoreError):
    """The journal's chain is behind, or disagrees with, its recorded head or a checkpoint
    (events removed, an older vanta.db put back, history rewritten). Nothing is written until
    a person looks (``audit verify``) and accepts it with the audited ``audit repair``."""


class LockLost(StoreError):
    """A lock file was removed or replaced while this process held it, so another writer may
    have come in: nothing was written. Retry; find out who removes lock files."""


class JournalFileError(StoreError):
    """A file of the journal (vanta.db, trade_log.jsonl, its head or checkpoints) is not
    one the desk can use: not a database, a directory, a symlink leading elsewhere. Nothing
    was written; the message says which file and what to do."""


class PlanRefused(StoreError):
    """The plan given to `Journal.act` refused the action (a rule said no); nothing was
    written. The actions' refusals (`vanta_tui.actions.errors.ActionRefused`) are these."""


class UnknownVault(PlanRefused):
    """A vault id that is not in vault.json; the message names the known ones (the words
    of the actions' refusal: ``unknown vault V_X (known: V_A, V_B)``)."""

    def __init__(self, vault_id: str, known: Sequence[str]) -> None:
        self.vault_id = vault_id
        super().__init__(f"unknown vault {vault_id} (known: {', '.join(known) or 'none'})")


class JournalUnavailable(StoreError, sqlite3.OperationalError):
    """The journal's PostgreSQL server cannot be reached, or the session broke (the server
    restarted, the network went): the action is refused, nothing of it is committed, and
    the next one opens a new session. (Also an ``sqlite3.OperationalError``: the journal's
    code handles one kind of database error.)"""
