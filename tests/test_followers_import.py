"""`vanta-tui followers import FILE`: bulk onboarding from a JSON Lines file of API packets or a
directory of packet files. Every packet is checked first with the rules of `followers add`,
every problem is listed with its line (or file), and the packets go in together, in one
audited action, or not at all (`--partial`: the valid ones, the rest listed as skipped).
Real files on disk, a copy of the demo, the real CLI and `Desk`."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from vanta_tui.actions import followers as follower_actions
from vanta_tui.brokers.credentials import Credentials
from vanta_tui.brokers.errors import CredentialsError
from vanta_tui.cli.main import main
from vanta_tui.core.models import FollowersFile, PnlFile, PortfolioFile
from vanta_tui.desk import Desk
from vanta_tui.store.loader import load_model

LEAKS = ("Traceback", "errors.pydantic.dev", "validation error for", "Decimal(", "input_value")
DEMO_FOLLOWERS = 5


def packet(n: int, **changes: Any) -> dict[str, Any]:
    """A valid V_CORE packet (paper broker) for follower ``F_<n>``."""
    data: dict[str, Any] = {
        "follower_id": f"F_{n}", "vault_id": "V_CORE", "mode": "capped", "scale": 0.5,
        "max_pos_usd": 2000, "equity": 9000 + n % 7, "persona": "risk_averse",
        "fee_model": {"perf_share": 0.2},
        "brokers": {"equity": {"adapter": "paper", "account_ref": f"paper_f_{n}"}},
    }  # fmt: skip
    data.update(changes)
    return data


def alpaca(n: int, ref: str, **keys: str) -> dict[str, Any]:
    return packet(n, brokers={"equity": {"adapter": "alpaca", "account_ref": ref, **keys}})


def write_jsonl(path: Path, lines: Sequence[str | dict[str, Any]]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def cli(state_dir: Path, *argv: str) -> int:
    return main(["--state-dir", str(state_dir), "--log", str(state_dir.parent / "log"), *argv])


def run(state_dir: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The CLI's exit code and what it printed (never a traceback or pydantic's words)."""
    code = cli(state_dir, *argv)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    for leak in LEAKS:
        assert leak not in out, out
    return code, out


def state_files(state_dir: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(state_dir.glob("*.json"))
    }


def journal_lines(state_dir: Path) -> list[dict[str, Any]]:
    log = state_dir / "trade_log.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def added_events(state_dir: Path) -> list[dict[str, Any]]:
    return [e for e in journal_lines(state_dir) if e["action"] == "follower.added"]


@pytest.fixture
def keyring_store(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], str]:
    """A keyring in memory (the OS one is not ours to write in tests)."""
    store: dict[tuple[str, str], str] = {}
    import keyring

    monkeypatch.setattr(keyring, "set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr(keyring, "get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr(keyring, "delete_password", lambda s, u: store.pop((s, u)))
    return store


@pytest.fixture
def counted_credentials(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The action's credentials loader, counting its calls per account ref: refs that start
    with ``alpaca-ok`` have keys, every other one has none."""
    calls: Counter[str] = Counter()

    def load(account_ref: str) -> Credentials:
        calls[account_ref] += 1
        if account_ref.startswith("alpaca-ok"):
            return Credentials(account_ref, "key-for-tests", "secret-for-tests", "environment")
        raise CredentialsError(f"account {account_ref}: no keys; set them")

    monkeypatch.setattr(follower_actions, "load_credentials", load)
    return calls


# --- a thousand packets ---------------------------------------------------------------


def test_a_thousand_packets_go_in_as_one_audited_action(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[str | dict[str, Any]] = []
    for n in range(20000, 21000):
        lines.append(packet(n))
        if n % 250 == 0:
            lines.append("   ")  # blank lines are allowed and keep the numbering
    source = write_jsonl(tmp_path / "packets.jsonl", lines)

    code, out = run(state_dir, capsys, "followers", "import", str(source))

    assert code == 0, out
    assert out.startswith(f"imported 1000 followers into V_CORE from {source}"), out
    registry = load_model(state_dir, FollowersFile)
    assert len(registry.followers) == DEMO_FOLLOWERS + 1000
    portfolio, pnl = load_model(state_dir, PortfolioFile), load_model(state_dir, PnlFile)
    for n in (20000, 20499, 20999):
        follower = registry.get(f"F_{n}")
        assert follower is not None and follower.equity == D(9000 + n % 7)
        assert portfolio.accounts[f"F_{n}"].cash == D(9000 + n % 7)
        assert pnl.vaults[f"F_{n}"].nav == pnl.vaults[f"F_{n}"].high_water_mark == D(9000 + n % 7)

    # One audited action: its events share one time, follow each other, and only the first
    # carries the action's file changes; one follower.added per follower (the fee cycle
    # charges a follower from it), each naming its line.
    added = added_events(state_dir)
    assert len(added) == 1000
    assert len({e["ts"] for e in added}) == 1
    assert [e["seq"] for e in added] == list(range(added[0]["seq"], added[0]["seq"] + 1000))
    assert [bool(e["payload"].get("changes")) for e in added] == [True] + [False] * 999
    assert added[0]["payload"]["imported_from"] == f"{source}:1"
    assert added[-1]["payload"]["imported_from"] == f"{source}:1004"
    assert {e["follower_id"] for e in added} == {f"F_{n}" for n in range(20000, 21000)}
    with Desk(state_dir, operator="dana", read_only=True) as desk:
        assert desk.journal_actions_after(added[0]["seq"] - 1) == 1

    assert run(state_dir, capsys, "audit", "verify")[0] == 0
    code, out = run(state_dir, capsys, "audit", "replay")
    assert code == 0 and "every state file matches" in out, out

    # The same file again: every packet is a follower already registered; nothing changes.
    files = state_files(state_dir)
    code, out = run(state_dir, capsys, "followers", "import", str(source))
    assert code == 65
    assert f"{source}:1: follower_id: F_20000 is already registered" in out
    assert "nothing imported: 1000 of 1000 packets have problems" in out
    assert state_files(state_dir) == files


# --- bad lines ------------------------------------------------------------------------


def bad_file(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "bad.jsonl",
        [
            packet(1),                                                          # 1 valid
            '{"follower_id": "F_2", "vault_id": "V_CORE",',                     # 2 bad JSON
            "",                                                                 # 3 blank
            {k: v for k, v in packet(3).items() if k != "equity"},              # 4 missing
            packet(4, vault_id="V_NOPE"),                                       # 5 vault
            packet(5),                                                          # 6 dup (a)
            packet(5, equity=12000),                                            # 7 dup (b)
            packet(6, follower_id="F_1042"),                                    # 8 registered
            packet(7, equity=100),                                              # 9 below min
            alpaca(8, "alpaca-f8"),                                             # 10 no keys
            "[1, 2]",                                                           # 11 not a packet
            packet(9, scale=-1, max_pos_usd="lots"),                            # 12 two problems
            packet(10),                                                         # 13 valid
        ],
    )  # fmt: skip


EXPECTED = [
    ":2: not JSON: ",
    ":4: equity: missing (required)",
    ":5: vault_id: unknown vault 'V_NOPE'",
    ":6: follower_id: F_5 is in this import again (line 7)",
    ":7: follower_id: F_5 is in this import again (line 6)",
    ":8: follower_id: F_1042 is already registered",
    ":9: equity: 100 is below V_CORE's minimum 5000",
    ":10: brokers.equity: account alpaca-f8: no keys; set VANTA_ALPACA_F8_API_KEY and "
    "VANTA_ALPACA_F8_API_SECRET",
    ":11: a packet is one JSON object",
    ":12: scale: must be greater than 0 (found -1)",
    ":12: max_pos_usd: ",
]


def test_every_bad_line_is_listed_and_nothing_is_written(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = bad_file(tmp_path)
    cli(state_dir, "status", "--no-probe")  # the journal starts: its first snapshot
    capsys.readouterr()
    files, before = state_files(state_dir), len(journal_lines(state_dir))

    code, out = run(state_dir, capsys, "followers", "import", str(source))

    assert code == 65, out
    lines = out.splitlines()
    for expected in EXPECTED:
        assert any(line.startswith(f"{source}{expected}") for line in lines), (expected, out)
    assert not any(line.startswith((f"{source}:1:", f"{source}:13:")) for line in lines), out
    assert lines[-1] == (
        "nothing imported: 10 of 12 packets have problems; --partial imports the 2 valid packets"
    )
    assert state_files(state_dir) == files
    assert len(journal_lines(state_dir)) == before


def test_partial_adds_the_valid_packets_and_lists_the_skipped_ones(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = bad_file(tmp_path)

    code, out = run(state_dir, capsys, "followers", "import", str(source), "--partial")

    assert code == 1, out  # done, with something to look at
    for expected in EXPECTED:
        assert f"{source}{expected}" in out, expected
    assert f"imported 2 followers into V_CORE from {source}" in out
    assert out.splitlines()[-1] == "skipped 10 of 12 packets (listed above)"
    registry = load_model(state_dir, FollowersFile)
    assert {"F_1", "F_10"} <= {f.follower_id for f in registry.followers}
    assert len(registry.followers) == DEMO_FOLLOWERS + 2
    assert [e["follower_id"] for e in added_events(state_dir)] == ["F_1", "F_10"]
    assert run(state_dir, capsys, "audit", "replay")[0] == 0


def test_a_refusal_says_the_same_as_followers_add(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One set of rules: the single add words a packet's problems as the import does."""
    bad = packet(7, equity=100, vault_id="V_INCOME")
    (tmp_path / "one.json").write_text(json.dumps(bad))
    code, out = run(state_dir, capsys, "followers", "add", str(tmp_path / "one.json"))
    assert code == 65
    assert "equity: 100 is below V_INCOME's minimum 5000" in out
    source = write_jsonl(tmp_path / "one.jsonl", [bad])
    code, out = run(state_dir, capsys, "followers", "import", str(source))
    assert code == 65
    assert f"{source}:1: equity: 100 is below V_INCOME's minimum 5000" in out


# --- keys -----------------------------------------------------------------------------


def test_keys_are_looked_up_once_per_account_ref(
    state_dir: Path,
    tmp_path: Path,
    counted_credentials: Counter[str],
    keyring_store: dict[tuple[str, str], str],
) -> None:
    refs = ["alpaca-ok-1", "alpaca-ok-2", "alpaca-ok-3", "alpaca-missing"]
    lines: list[str | dict[str, Any]] = [alpaca(30000 + i, refs[i % len(refs)]) for i in range(200)]
    # Keys carried inline by one packet serve the others of the import: never looked up.
    lines.append(alpaca(31000, "alpaca-inline", api_key="PKINLINE", api_secret="inline-s3cret"))
    lines.extend(alpaca(31001 + i, "alpaca-inline") for i in range(20))
    source = write_jsonl(tmp_path / "keys.jsonl", lines)

    with Desk(state_dir, operator="dana") as desk:
        report = desk.import_followers(source, partial=True)

    assert counted_credentials == Counter(dict.fromkeys(refs, 1))
    assert len(report.imported) == 150 + 21
    assert report.skipped == 50
    assert {p.reason for p in report.problems} == {
        "brokers.equity: account alpaca-missing: no keys; set them"
    }
    assert report.keys_moved == ["alpaca-inline"]
    assert keyring_store == {
        ("vanta-desk", "alpaca-inline:api_key"): "PKINLINE",
        ("vanta-desk", "alpaca-inline:api_secret"): "inline-s3cret",
    }
    for path in state_dir.iterdir():
        if path.is_file():
            assert b"inline-s3cret" not in path.read_bytes(), path.name


def test_keys_from_a_skipped_packet_serve_no_other(
    state_dir: Path,
    tmp_path: Path,
    counted_credentials: Counter[str],
    keyring_store: dict[tuple[str, str], str],
) -> None:
    source = write_jsonl(
        tmp_path / "keys.jsonl",
        [
            alpaca(1, "alpaca-shared", api_key="PKSHARED", api_secret="shared-s3cret")
            | {"equity": 100},  # skipped: below the minimum, so its keys are not stored
            alpaca(2, "alpaca-shared"),
            packet(3),
        ],
    )
    with Desk(state_dir, operator="dana") as desk:
        report = desk.import_followers(source, partial=True)
    assert [f.follower_id for f in report.imported] == ["F_3"]
    assert [str(p) for p in report.problems] == [
        f"{source}:1: equity: 100 is below V_CORE's minimum 5000",
        f"{source}:2: brokers.equity: account alpaca-shared: its keys come with line 1, "
        "which is not added",
    ]
    assert keyring_store == {}
    assert counted_credentials == Counter({"alpaca-shared": 1})


def test_inline_keys_without_a_keyring_are_each_refused(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    source = write_jsonl(
        tmp_path / "keys.jsonl",
        [alpaca(n, f"alpaca-k{n}", api_key=f"PKKEY{n}", api_secret=f"s3cret-{n}") for n in (1, 2)]
        + [packet(3)],
    )
    files = state_files(state_dir)
    with Desk(state_dir, operator="dana") as desk:
        report = desk.import_followers(source)
    assert report.refused and report.skipped == 2
    for n in (1, 2):
        (problem,) = [p for p in report.problems if p.where == f"{source}:{n}"]
        assert "no keyring is available" in problem.reason
        assert f"VANTA_ALPACA_K{n}_API_KEY" in problem.reason
        assert f"s3cret-{n}" not in problem.reason
    assert state_files(state_dir) == files


# --- a directory, and the edges ---------------------------------------------------------


def test_a_directory_of_packets(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "packets"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(packet(1), indent=2))  # one packet, pretty
    (folder / "b.json").write_text(json.dumps(packet(2)))
    (folder / "c.json").write_text(json.dumps(packet(3, equity="lots")))
    (folder / "d.json").write_text('{"follower_id": "F_4",\n  "equity": }')
    (folder / "notes.txt").write_text("not a packet: ignored")

    code, out = run(state_dir, capsys, "followers", "import", str(folder))
    assert code == 65, out
    assert f"{folder / 'c.json'}: equity: expected a number" in out
    assert f"{folder / 'd.json'}: not JSON: Expecting value (line 2, column 13)" in out
    assert "nothing imported: 2 of 4 packets have problems" in out

    (folder / "c.json").unlink()
    (folder / "d.json").unlink()
    code, out = run(state_dir, capsys, "followers", "import", str(folder))
    assert code == 0, out
    assert out.startswith(f"imported 2 followers into V_CORE from {folder}")
    assert [e["payload"]["imported_from"] for e in added_events(state_dir)] == [
        str(folder / "a.json"),
        str(folder / "b.json"),
    ]


def test_nothing_to_import_and_read_only_are_refused(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = write_jsonl(tmp_path / "empty.jsonl", ["", "  "])
    code, out = run(state_dir, capsys, "followers", "import", str(empty))
    assert (code, out.strip()) == (65, f"refused: {empty}: no packets in it")
    code, out = run(state_dir, capsys, "followers", "import", str(tmp_path / "nowhere.jsonl"))
    assert code == 65 and "no such file or directory" in out
    source = write_jsonl(tmp_path / "ok.jsonl", [packet(1)])
    code, out = run(state_dir, capsys, "--read-only", "followers", "import", str(source))
    assert code == 77
    assert load_model(state_dir, FollowersFile).get("F_1") is None
