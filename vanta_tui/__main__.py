"""`python -m vanta_tui` and the `vanta-tui` console script."""

from __future__ import annotations

import os
import sys

EXIT_PIPE_CLOSED = 141
"""What a shell reports for a writer whose reader went away (128 + SIGPIPE)."""


def main() -> None:
    from vanta_tui.cli.main import main as cli_main

    try:
        code = cli_main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe (`vanta-tui status --json | head -c 5`): stop quietly.
        # Python would otherwise print a traceback, and another when it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_PIPE_CLOSED)
    sys.exit(code)


if __name__ == "__main__":
    main()
