"""`init`, `check` and `schema`: setting up and validating a state directory."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from vanta_tui.core.clock import utc_now
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.types import format_utc
from vanta_tui.demo.bundled import build, write_demo
from vanta_tui.store.loader import load_all


def cmd_init(target: Path, force: bool, at: datetime | None = None) -> int:
    """Write the demo into ``target`` as a working copy, dated now (its allocation and
    portfolio fresh, flip mode with its 40 minutes to run, orders minutes old, the NAV
    history ending today), or dated ``at`` (the fixed demo: `DEMO_NOW` gives the bytes of
    the tracked `state/`)."""
    moment = (at or utc_now()).replace(microsecond=0)
    files = build(moment)
    existing = [name for name in files if (target / name).exists()]
    if existing and not force:
        print(f"{target} already holds {', '.join(existing)}; use --force to replace them")
        return 1
    write_demo(target, moment, working_copy=True)
    print(f"wrote the demo state ({len(files)} files, dated {format_utc(moment)}) to {target}")
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
        return 1
    print(f"all {len(result.files)} state files of {state_dir} are valid")
    return 0


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
