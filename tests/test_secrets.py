"""Secrets: refused or redacted by name and by value, scrubbed by value wherever the desk
writes, moved to the keyring only from a valid packet; files the owner's only."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fake_brokers import FakeAlpaca

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.followers import add_follower
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.credentials import env_names
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.cli.main import main
from vanta_tui.core.enums import AssetClass, OrderStatus, Side
from vanta_tui.core.models import FollowersFile, QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.store import load_model, update
from vanta_tui.store.journal import ActionRefused, EventDraft

SECRET = "zz-Sup3rSecretValue-991"

MISSED_NAMES = ["secret_key", "secretKey", "access_key", "api_key_id", "pwd", "private_key",
                "token", "clientSecret", "AWS_SECRET_ACCESS_KEY"]  # fmt: skip


def _packet(**venue_extra: Any) -> dict[str, Any]:
    return {
        "follower_id": "F_9100", "vault_id": "V_CORE", "max_pos_usd": 1000, "equity": 9000,
        "brokers": {"equity": {"adapter": "paper", "account_ref": "p9100", **venue_extra}},
    }  # fmt: skip


def _everything(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state_dir.iterdir()) if p.is_file())


@pytest.mark.parametrize("name", MISSED_NAMES)
def test_a_packet_with_a_key_under_any_credential_name_is_refused(
    state_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    ctx = ActionContext.open(state_dir, "dana")
    try:
        add_follower(ctx, _packet(**{name: SECRET}))
        refused = False
    except ActionRefused as exc:
        refused = True
        assert SECRET not in str(exc)
    ctx.close()
    assert refused, f"a packet carrying {name!r} was accepted"
    assert load_model(state_dir, FollowersFile).get("F_9100") is None
    assert SECRET.encode() not in _everything(state_dir)


def test_a_credential_looking_value_is_refused_whatever_its_key(state_dir: Path) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    with pytest.raises(ActionRefused):
        add_follower(ctx, _packet(note="-----BEGIN RSA PRIVATE KEY-----MIIEow"))
    ctx.close()


def test_journal_payloads_and_export_redact_by_name_and_by_value(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    payload: dict[str, Any] = {name: SECRET for name in MISSED_NAMES}
    payload["nested"] = [{"note": "AKIAIOSFODNN7EXAMPLE"}, {"jwt": "ok"}]
    payload["plain"] = "nothing to hide"
    ctx.journal.record("dana", [EventDraft("note.added", payload=payload)])
    ctx.close()
    assert SECRET.encode() not in _everything(state_dir)
    assert b"AKIAIOSFODNN7EXAMPLE" not in _everything(state_dir)
    assert main(["audit", "export", "--state-dir", str(state_dir)]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    assert "nothing to hide" in out


# --- a broker that echoes the keys ------------------------------------------------------

ECHO_KEY, ECHO_SECRET = "key-123", "secret-456"


class EchoingAlpaca(FakeAlpaca):
    """A broker that answers an order with 403 and the request's keys in its body."""

    def route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        if method == "POST" and path == "/v2/orders":
            lowered = {k.lower(): v for k, v in headers.items()}
            return 403, {
                "code": 40310000,
                "message": f"forbidden for key {lowered.get('apca-api-key-id')} / "
                f"{lowered.get('apca-api-secret-key')}",
            }, None  # fmt: skip
        return super().route(method, path, query, body, headers)


@pytest.fixture
def echoing() -> Iterator[FakeAlpaca]:
    with EchoingAlpaca({"AAPL": Decimal("190.10"), "MSFT": Decimal("415.50")}) as fake:
        yield fake  # type: ignore[misc]


def test_keys_echoed_in_a_403_body_are_scrubbed_everywhere(
    state_dir: Path,
    echoing: FakeAlpaca,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)

    def to_alpaca(vaults: VaultFile) -> None:
        core = vaults.get("V_CORE")
        assert core is not None
        core.venues[AssetClass.EQUITY] = Venue(adapter="alpaca", account_ref="alpaca-echo")

    update(state_dir, VaultFile, to_alpaca)
    key_var, secret_var = env_names("alpaca-echo")
    monkeypatch.setenv(key_var, ECHO_KEY)
    monkeypatch.setenv(secret_var, ECHO_SECRET)
    monkeypatch.setenv("VANTA_ALPACA_URL", echoing.url)
    ctx = ActionContext.open(state_dir, "dana")
    order = stage_order(ctx, vault_id="V_CORE", symbol="MSFT", side=Side.BUY, qty=Decimal(1))
    approve_orders(ctx, [order.result.order_id])
    ctx.close()
    assert cmd_executor(state_dir, once=True, timeout_s=5, retry_after=(0.01,)) == 0
    sent = next(
        o for o in load_model(state_dir, QueueFile).orders if o.order_id == order.result.order_id
    )
    assert sent.status is not OrderStatus.APPROVED and sent.last_error  # the 403 was recorded
    assert "[redacted]" in sent.last_error
    written = _everything(state_dir)
    for secret in (ECHO_KEY, ECHO_SECRET):
        assert secret.encode() not in written
        assert secret not in caplog.text
        assert secret not in capsys.readouterr().out
    assert main(["audit", "export", "--state-dir", str(state_dir)]) == 0
    assert ECHO_SECRET not in capsys.readouterr().out


# --- the keyring only gets keys from a valid packet -------------------------------------


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], str]:
    store: dict[tuple[str, str], str] = {}
    import keyring

    monkeypatch.setattr(keyring, "set_password", lambda s, u, p: store.__setitem__((s, u), p))
    monkeypatch.setattr(keyring, "get_password", lambda s, u: store.get((s, u)))
    monkeypatch.setattr(keyring, "delete_password", lambda s, u: store.pop((s, u)))
    return store


def _inline(follower_id: str, equity: int) -> dict[str, Any]:
    return {
        "follower_id": follower_id, "vault_id": "V_CORE", "max_pos_usd": 1000, "equity": equity,
        "brokers": {"equity": {"adapter": "alpaca", "account_ref": f"alpaca-{follower_id}",
                               "api_key": "PKINLINEKEY0001", "api_secret": "inline-secret-01"}},
    }  # fmt: skip


def test_a_refused_packet_leaves_nothing_in_the_keyring(
    state_dir: Path, memory_keyring: dict[tuple[str, str], str]
) -> None:
    ctx = ActionContext.open(state_dir, "dana")
    with pytest.raises(ActionRefused, match="below"):
        add_follower(ctx, _inline("F_9200", 100))  # equity below the vault's minimum
    assert memory_keyring == {}
    # Refused by the action itself (the follower exists already): the keyring as it was.
    add_follower(ctx, _inline("F_9201", 9000))
    kept = dict(memory_keyring)
    packet = _inline("F_9201", 9000)
    packet["brokers"]["equity"]["api_secret"] = "another-secret-02"
    with pytest.raises(ActionRefused, match="already registered"):
        add_follower(ctx, packet)
    assert memory_keyring == kept
    ctx.close()


# --- file modes -------------------------------------------------------------------------


def test_files_with_money_or_identity_are_the_owners_only_under_umask_022(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        state = tmp_path / "fresh"
        assert main(["init", str(state)]) == 0
        assert main(["--state-dir", str(state), "orders", "stage", "V_CORE", "KO", "buy", "1"]) == 0
        queue = load_model(state, QueueFile)
        ko = next(o for o in queue.orders if o.symbol == "KO")
        assert main(["--state-dir", str(state), "orders", "approve", ko.order_id]) == 0
        assert cmd_executor(state, once=True) == 0
        assert main(["--state-dir", str(state), "reconcile", "V_CORE"]) in (0, 1)
    finally:
        os.umask(old)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    money = [
        p for p in state.iterdir()
        if p.suffix in {".json", ".db", ".jsonl", ".head", ".lock", ".checkpoints"}
        or p.name in {"executor.lease", "paper_book.db", "vanta.db-wal", "vanta.db-shm"}
    ]  # fmt: skip
    names = {p.name for p in money}
    assert {"paper_book.db", "executor.lease", "vanta.db", "trade_log.jsonl"} <= names, names
    loose = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in money
             if stat.S_IMODE(p.stat().st_mode) != 0o600}  # fmt: skip
    assert loose == {}
    assert json.loads((state / "executor.lease").read_text())["pid"]
