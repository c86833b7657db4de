"""Bad input: a clear error naming the file and the place, and every file left as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from vanta_tui.cli.main import main
from vanta_tui.core.models import QueueFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store import StateFileError, WriteRefused, load, load_all, update


def _edit_json(name: str, change: Callable[[dict], None]) -> Callable[[Path], object]:  # type: ignore[type-arg]
    def apply(state_dir: Path) -> None:
        path = state_dir / name
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data, indent=2))

    return apply


def _write(name: str, content: bytes) -> Callable[[Path], object]:
    return lambda d: (d / name).write_bytes(content)


def _truncate(name: str) -> Callable[[Path], object]:
    def apply(state_dir: Path) -> None:
        data = (state_dir / name).read_bytes()
        (state_dir / name).write_bytes(data[: len(data) // 2])

    return apply


def _set(path: list[str | int], value: object) -> Callable[[dict], None]:  # type: ignore[type-arg]
    def change(data: dict) -> None:  # type: ignore[type-arg]
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def _symlink_outside(state_dir: Path) -> None:
    outside = state_dir.parent / "elsewhere.json"
    outside.write_bytes((state_dir / "followers.json").read_bytes())
    (state_dir / "followers.json").unlink()
    (state_dir / "followers.json").symlink_to(outside)


def _huge(state_dir: Path) -> None:
    path = state_dir / "autotrade_queue.json"
    with path.open("ab") as handle:
        handle.write(b" " * (50 * 1024 * 1024))


def _duplicate_ids(data: dict) -> None:  # type: ignore[type-arg]
    data["orders"][1]["order_id"] = data["orders"][0]["order_id"]


CASES: dict[str, tuple[Callable[[Path], object], str, str, str]] = {
    # name: (break it, file, expected place, expected words in the reason)
    "missing file": (lambda d: (d / "portfolio.json").unlink(), "portfolio.json", "$", "missing"),
    "empty file": (_write("vault.json", b""), "vault.json", "$", "empty"),
    "truncated JSON": (
        _truncate("autotrade_queue.json"),
        "autotrade_queue.json",
        "$",
        "invalid JSON",
    ),
    "non-UTF-8 bytes": (
        _write("followers.json", b'{"version": 1, "followers": [], "note": "caf\xe9"}'),
        "followers.json",
        "$",
        "not UTF-8",
    ),
    "wrong type": (
        _edit_json("autotrade_queue.json", _set(["orders", 2, "qty"], "7")),
        "autotrade_queue.json",
        "$.orders[2].qty",
        "expected a number",
    ),
    "negative qty": (
        _edit_json("autotrade_queue.json", _set(["orders", 0, "qty"], -5)),
        "autotrade_queue.json",
        "$.orders[0].qty",
        "greater than 0",
    ),
    "zero qty": (
        _edit_json("autotrade_queue.json", _set(["orders", 1, "qty"], 0)),
        "autotrade_queue.json",
        "$.orders[1].qty",
        "greater than 0",
    ),
    "NaN": (
        lambda d: (d / "portfolio.json").write_text(
            (d / "portfolio.json").read_text().replace('"cash": 210000', '"cash": NaN')
        ),
        "portfolio.json",
        "$",
        "NaN is not allowed",
    ),
    "Infinity": (
        lambda d: (d / "pnl_summary.json").write_text(
            (d / "pnl_summary.json")
            .read_text()
            .replace('"realized": 13425', '"realized": Infinity')
        ),
        "pnl_summary.json",
        "$",
        "Infinity is not allowed",
    ),
    "weights over 1": (
        _edit_json("vault_allocation.json", _set(["vaults", "V_CORE", "targets", "AAPL"], 0.95)),
        "vault_allocation.json",
        "$.vaults.V_CORE.targets",
        "more than 1",
    ),
    "unknown vault in queue": (
        _edit_json("autotrade_queue.json", _set(["orders", 3, "vault_id"], "V_GHOST")),
        "autotrade_queue.json",
        "$.orders[3].vault_id",
        "unknown vault 'V_GHOST'",
    ),
    "duplicate order ids": (
        _edit_json("autotrade_queue.json", _duplicate_ids),
        "autotrade_queue.json",
        "$",
        "appears again at orders[1]",
    ),
    "unknown order state": (
        _edit_json("autotrade_queue.json", _set(["orders", 0, "status"], "pending_magic")),
        "autotrade_queue.json",
        "$.orders[0].status",
        "'staged'",
    ),
    "50 MB file": (_huge, "autotrade_queue.json", "$", "over the"),
    "symlink outside": (_symlink_outside, "followers.json", "$", "outside the state directory"),
}


def _snapshot(state_dir: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(state_dir.iterdir())
        if p.is_file() and p.suffix == ".json"
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_named_and_nothing_is_lost(
    case: str, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breaker, file, place, words = CASES[case]
    breaker(state_dir)
    before = _snapshot(state_dir)

    result = load_all(state_dir)
    kind = next(k for k in StateKind if k.filename == file)
    problems = result.problems.get(kind)
    assert problems, f"{case}: no problem reported for {file}"
    assert any(p.file == file and p.path == place and words in p.reason for p in problems), problems

    assert main(["check", "--state-dir", str(state_dir)]) == 1
    out = capsys.readouterr().out
    assert f"error {file}" in out and words in out

    # A writer refuses to replace the broken file; nothing on disk changes.
    with pytest.raises((WriteRefused, StateFileError)):
        update(state_dir, kind.model, lambda m: None)
    assert _snapshot(state_dir) == before


def test_syntax_errors_carry_line_and_column(state_dir: Path) -> None:
    path = state_dir / "vault.json"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].rstrip(",")  # drop a comma inside "defaults"
    path.write_text("\n".join(lines))
    with pytest.raises(StateFileError) as info:
        load(state_dir, StateKind.VAULT)
    problem = info.value.problems[0]
    assert problem.line == 6 and problem.column is not None
    assert str(problem).startswith("vault.json:6:")


def test_validation_errors_carry_the_line(state_dir: Path) -> None:
    _edit_json("autotrade_queue.json", _set(["orders", 2, "side"], "hold"))(state_dir)
    with pytest.raises(StateFileError) as info:
        load(state_dir, StateKind.QUEUE)
    problem = info.value.problems[0]
    text = (state_dir / "autotrade_queue.json").read_text().splitlines()
    assert problem.path == "$.orders[2].side"
    assert problem.line is not None and '"side": "hold"' in text[problem.line - 1]


def test_update_of_a_broken_queue_is_refused_and_the_file_kept(state_dir: Path) -> None:
    path = state_dir / "autotrade_queue.json"
    path.write_bytes(path.read_bytes()[:-40])
    before = path.read_bytes()
    with pytest.raises(WriteRefused, match="does not load"):
        update(state_dir, QueueFile, lambda q: None)
    assert path.read_bytes() == before
    assert not [p for p in state_dir.iterdir() if p.name.endswith(".tmp")]


def test_secrets_are_refused_in_state_files(state_dir: Path) -> None:
    def add_key(data: dict) -> None:  # type: ignore[type-arg]
        data["followers"][0]["brokers"]["equity"]["api_secret"] = "s3cr3t"

    _edit_json("followers.json", add_key)(state_dir)
    with pytest.raises(StateFileError, match="credential-like keys"):
        load(state_dir, StateKind.FOLLOWERS)
