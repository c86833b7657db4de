"""`python -m vanta_tui` and the `vanta-tui` console script."""

from __future__ import annotations

import sys


def main() -> None:
    from vanta_tui.cli.main import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
