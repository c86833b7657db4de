"""`init`, `check` and `schema`: setting up and validating a state directory."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from vanta_tui.cli import exit_codes
from vanta_tui.core.clock import utc_now
from vanta_tui.core.models import PortfolioFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc
from vanta_tui.demo.bundled import is_demo_copy, write_demo
from vanta_tui.store.loader import LoadedFile, load_all

RUNTIME_FILES = ("vanta.db", "vanta.db-wal", "vanta.db-shm", "trade_log.jsonl", "trade_log.head",
                 "paper_book.db", "paper_book.db-wal", "paper_book.db-shm")  # fmt: skip
"""What the desk makes beside the JSON files: the journal and the paper book."""


def cmd_init(target: Path, force: bool, at: datetime | None = None) -> int:
    """Write the demo into ``target`` as a working copy, dated now (its allocation and
    portfolio fresh, flip mode with its 40 minutes to run, orders minutes old, the NAV
    history ending today), or dated ``at`` (the fixed demo: `DEMO_NOW` gives the bytes of
    the tracked `state/`). ``force`` starts a demo working copy over, journal and paper
    book included; a directory that is not a demo copy keeps its journal, so it is refused."""
    moment = (at or utc_now()).replace(microsecond=0)
    names = [kind.filename for kind in StateKind]
    existing = [name for name in names if (target / name).exists()]
    if existing and not force:
        print(f"refused: {target} already holds {', '.join(existing)}; use --force to replace them")
        return exit_codes.DATA
    runtime = [name for name in RUNTIME_FILES if (target / name).exists()]
    if runtime and not is_demo_copy(target):
        print(
            f"{target} holds a journal or a paper book ({', '.join(runtime)}) and is not a demo "
            "working copy; init will not replace its files: use an empty directory"
        )
        return exit_codes.DATA
    for name in runtime:
        (target / name).unlink()
    write_demo(target, moment, working_copy=True)
    removed = f"; removed the old {', '.join(runtime)}" if runtime else ""
    dated = format_utc(moment)
    print(f"wrote the demo state ({len(names)} files, dated {dated}) to {target}{removed}")
    return 0


def cmd_check(state_dir: Path) -> int:
    """Validate every file; print each problem with its file and place."""
    result = load_all(state_dir)
    for kind in StateKind:
        if kind in result.files:
            loaded = result.files[kind]
            print(f"ok    {kind.filename} (version {loaded.version}, {loaded.size} bytes)")
        for problem in result.problems.get(kind, []):
            print(f"error {problem}")
    total = sum(len(p) for p in result.problems.values())
    if total:
        print(f"{total} problem(s) in {len(result.problems)} file(s) of {state_dir}")
        return exit_codes.FOUND
    warnings = _warnings(result.files.get(StateKind.PORTFOLIO))
    for line in warnings:
        print(f"warn  {line}")
    print(f"all {len(result.files)} state files of {state_dir} are valid")
    return exit_codes.FOUND if warnings else exit_codes.OK


def _warnings(loaded: LoadedFile[Any] | None) -> list[str]:
    """What loads but needs a look: negative cash is kept (it is the broker's truth), never
    passed over in silence."""
    if loaded is None or not isinstance(loaded.model, PortfolioFile):
        return []
    return [
        f"portfolio.json: $.accounts.{account_id}.cash: negative ({account.cash:,.2f}): an "
        "overdraft or a margin loan"
        for account_id, account in sorted(loaded.model.accounts.items())
        if account.cash < 0
    ]


def cmd_schema(out: Path) -> int:
    """Write one JSON Schema per state file for other VANTA programs to validate against."""
    out.mkdir(parents=True, exist_ok=True)
    for kind in StateKind:
        schema = kind.model.model_json_schema(by_alias=True, mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"vanta/{kind.value}.schema.json",
            **schema,
            "title": kind.filename,
        }
        path = out / f"{kind.value}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0
