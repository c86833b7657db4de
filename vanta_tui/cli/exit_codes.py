"""The exit codes of every `vanta-tui` command, one table (README, Command line).

===  =====================================================================================
 0   done
 1   done, with something to look at: status WARN, `check` problems, `audit verify` /
     `audit replay` / `reconcile` differences, orders `cancel` / `panic` could not cancel
 2   status FAIL
 3   another executor holds the state directory's lease
64   usage: an unknown flag, a missing or malformed argument, no state directory
65   refused, bad input data: a state file or the journal that does not load or disagrees
     with its anchors, an order id that matches nothing, a rule that forbids the action
     ("order … is filled; only staged orders can be approved"); nothing was written
69   a broker (or the PostgreSQL server) unavailable: unreachable, refusing, or its keys
     (its programs) missing
70   internal error: a bug; one line on the terminal, the traceback in the log file
75   temporary: a file locked by another program longer than ``--wait``, or changed
     meanwhile; nothing was written, try again
77   refused by read-only mode (``--read-only``, or a directory this user cannot write)
===  =====================================================================================

Codes 64 and above are the BSD ``sysexits.h`` ones, so scripts can tell "fix the command"
(64), "fix the data" (65), "the broker" (69), "a bug" (70), "try again" (75) and
"read-only" (77) apart; 1 and 2 stay the verdicts of commands that look for problems, so a
refusal or a crash is never mistaken for a WARN. A crash never exits 0 or 1.
"""

from __future__ import annotations

OK = 0
FOUND = 1
FAIL = 2
LEASE_HELD = 3
USAGE = 64
DATA = 65
BROKER_UNAVAILABLE = 69
INTERNAL = 70
TEMPORARY = 75
READ_ONLY = 77


class UsageError(ValueError):
    """The command line is wrong (a malformed value, a missing choice): exit `USAGE` with
    the subcommand's usage."""


def refusal(exc: Exception) -> tuple[int, str] | None:
    """The exit code and the operator's message for an exception a command may end with
    (a refusal, a held lock, a broker down...); None for one that is a bug."""
    if isinstance(exc, UsageError):
        return USAGE, str(exc)
    from vanta_tui.core.wording import first_problem
    from vanta_tui.desk import BrokerError, ReadOnlyRefused
    from vanta_tui.store.errors import LockLost, LockTimeout, StoreError, VersionConflict

    if isinstance(exc, ReadOnlyRefused):
        return READ_ONLY, f"refused: {exc}"
    if isinstance(exc, LockTimeout | LockLost | VersionConflict):
        return TEMPORARY, f"not done: {exc}; nothing was changed (try again, or --wait longer)"
    if isinstance(exc, BrokerError):
        return BROKER_UNAVAILABLE, f"broker unavailable: {exc}"
    if isinstance(exc, StoreError | ValueError):
        return DATA, f"refused: {first_problem(exc)}"
    return None
