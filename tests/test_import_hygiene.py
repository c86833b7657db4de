"""The core and the store run without a screen: they never import Textual (nor brokers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import {module}
bad = sorted(m for m in sys.modules if m.split('.')[0] in {{'textual', 'rich', 'ccxt', 'alpaca'}})
print(','.join(bad))
"""


@pytest.mark.parametrize(
    "module",
    [
        "vanta_tui.core.models",
        "vanta_tui.core.state_files",
        "vanta_tui.store",
        "vanta_tui.cli.main",
    ],
)
def test_module_imports_no_textual_or_broker_sdk(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"
