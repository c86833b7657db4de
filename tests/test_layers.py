"""The layers hold: the fronts reach the journal, the brokers, the executor and its lease only
through `vanta_tui.desk.Desk`, and the import-linter contract that CI runs catches an import
that goes up a layer."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vanta_tui"
FRONTS = ("ui", "cli")
FORBIDDEN = ("vanta_tui.store.journal", "vanta_tui.brokers", "vanta_tui.executor")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, wherever the import statement is (a function's body,
    an ``if TYPE_CHECKING:`` block), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def reaches_past_the_desk(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("front", FRONTS)
def test_the_fronts_import_no_journal_broker_executor_or_lease(front: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sorted((PACKAGE / front).rglob("*.py"))
        for line, name in imports_of(path)
        if reaches_past_the_desk(name)
    ]
    assert offenders == []


def test_the_check_sees_a_front_opening_the_journal(tmp_path: Path) -> None:
    """The check above is not blind: a front importing the journal, a broker or the lease
    is found (in a function body too)."""
    planted = tmp_path / "front.py"
    planted.write_text(
        "from vanta_tui.core.clock import utc_now\n"
        "def open_it():\n"
        "    from vanta_tui.store.journal import Journal\n"
        "    import vanta_tui.executor.lease\n"
        "    from vanta_tui.brokers import routing\n"
    )
    hits = [name for _, name in imports_of(planted) if reaches_past_the_desk(name)]
    assert hits == [
        "vanta_tui.store.journal",
        "vanta_tui.store.journal.Journal",
        "vanta_tui.executor.lease",
        "vanta_tui.brokers",
        "vanta_tui.brokers.routing",
    ]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contract_holds_and_fails_on_an_upward_import(tmp_path: Path) -> None:
    """`lint-imports` (run by `make test`) keeps the layers; on a copy of the package where
    the core imports the actions layer, and the desk's UI opens the journal, it fails and
    names both."""
    kept = _lint_imports(ROOT)
    assert kept.returncode == 0, kept.stdout[-3000:]

    copy = tmp_path / "repo"
    shutil.copytree(PACKAGE, copy / "vanta_tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    core = copy / "vanta_tui" / "core" / "wording.py"
    upward = "\n\ndef _up() -> None:\n    import vanta_tui.actions.orders\n"
    core.write_text(core.read_text() + upward)
    ui = copy / "vanta_tui" / "ui" / "format.py"
    ui.write_text(ui.read_text() + "\n\nfrom vanta_tui.store.journal import Journal  # noqa\n")
    broken = _lint_imports(copy)
    assert broken.returncode != 0
    assert "vanta_tui.core.wording -> vanta_tui.actions.orders" in broken.stdout
    assert "vanta_tui.ui.format -> vanta_tui.store.journal" in broken.stdout
