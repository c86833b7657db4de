"""Secrets: refused or redacted by name and by value, scrubbed by value wherever the desk
writes, moved to the keyring only from a valid packet; files the owner's only."""

from __future__ import annotations

import json
import logging
import os
import stat
import traceback
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fake_brokers import FakeAlpaca

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.actions.followers import add_follower
from vanta_tui.actions.orders import approve_orders, stage_order
from vanta_tui.brokers.credentials import env_names
from vanta_tui.cli.executor_cmd import cmd_executor
from vanta_tui.cli.main import main
from vanta_tui.core.enums import AssetClass, OrderStatus, Side
from vanta_tui.core.models import FollowersFile, QueueFile, VaultFile
from vanta_tui.core.models.vault import Venue
from vanta_tui.store import load_model, update
from vanta_tui.store.journal import EventDraft

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


# --- scrubbed before cut, and in the chained library error ------------------------------

CUT_KEY = "sk9Q2xLmT7vR4wPz8Yq1-cutkey"
"""A loaded key an exchange echoes right where the adapter cuts its message."""


def _clean(error: BaseException, secret: str) -> None:
    """No trace of ``secret`` (nor its first five characters) wherever the error is shown:
    its text, repr, args, and the traceback an uncaught one prints (with its cause)."""
    shown = [
        str(error), repr(error), *map(str, error.args),
        "".join(traceback.format_exception(error)),
    ]  # fmt: skip
    for text in shown:
        assert secret not in text and secret[:5] not in text, text


def _ccxt_broker() -> Any:
    from vanta_tui.brokers.ccxt_adapter import CcxtBroker
    from vanta_tui.brokers.credentials import Credentials

    return CcxtBroker("binance", Credentials("ccxt-cut", CUT_KEY, "ccxt-cut-secret", "test"))


@pytest.mark.parametrize(
    ("kind", "cut", "sending"),
    [("ExchangeError", 300, True), ("ExchangeError", 300, False), ("NetworkError", 200, False),
     ("BaseError", 300, True), ("ValueError", 200, False)],
)  # fmt: skip
def test_a_key_across_the_adapters_cut_leaves_no_prefix(kind: str, cut: int, sending: bool) -> None:
    import ccxt

    from vanta_tui.brokers.errors import BrokerError

    broker = _ccxt_broker()
    cls = getattr(ccxt, kind, None) or ValueError
    for before in (cut - 5, cut - 12, cut - len(CUT_KEY) + 2):
        message = "x" * before + CUT_KEY + " trailing words"

        def fail(message: str = message) -> None:
            raise cls(message)

        with pytest.raises(BrokerError) as caught:
            broker._call("place order", fail, sending=sending)
        _clean(caught.value, CUT_KEY)
        assert caught.value.__cause__ is not None  # still chained: only its text is scrubbed


def test_alpaca_scrubs_before_it_cuts() -> None:
    from alpaca.common.exceptions import APIError

    from vanta_tui.brokers.alpaca import AlpacaBroker
    from vanta_tui.brokers.credentials import Credentials
    from vanta_tui.brokers.errors import BrokerError

    broker = AlpacaBroker(Credentials("alpaca-cut", CUT_KEY, "alpaca-cut-secret", "test"))
    for before in (295, 290):
        body = json.dumps({"code": 40010001, "message": "y" * before + CUT_KEY})

        def fail(body: str = body) -> None:
            raise APIError(body)  # type: ignore[no-untyped-call]

        with pytest.raises(BrokerError) as caught:
            broker._call("list orders", fail)
        _clean(caught.value, CUT_KEY)


def test_a_broker_error_is_clean_in_its_args_and_its_cause() -> None:
    from vanta_tui.brokers.errors import CredentialsError, OrderRejected
    from vanta_tui.core.secrets import remember

    secret = "Hq7Lp0-cause-secret"
    remember(secret)
    error = OrderRejected(f"venue said: bad key {secret}")
    assert secret not in error.args[0] and secret not in repr(error)
    try:
        try:
            raise RuntimeError(f"401 for apiKey={secret}")
        except RuntimeError as exc:
            raise CredentialsError(f"ccxt:x: refused: {exc}") from exc
    except CredentialsError as exc:
        _clean(exc, secret)
        assert isinstance(exc.__cause__, RuntimeError)
        assert "[redacted]" in str(exc.__cause__)


# --- a PEM key, the whole block ---------------------------------------------------------

PEM_BODY = [
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo",
]
PEM = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *PEM_BODY, "-----END RSA PRIVATE KEY-----"])


@pytest.mark.parametrize(
    "shown",
    [f"before {PEM} after", f"config={ {'pem': PEM} !r} after", json.dumps({"k": PEM}) + " after",
     "before " + PEM.split("\n-----END")[0]],  # cut short: no footer
)  # fmt: skip
def test_a_pem_private_key_is_redacted_whole(shown: str) -> None:
    from vanta_tui.core.secrets import scrub

    clean = scrub(shown)
    assert "[redacted]" in clean
    for line in PEM_BODY:
        assert line not in clean and line[:12] not in clean, clean
    assert "PRIVATE KEY" not in clean
    if "after" in shown:
        assert clean.endswith("after")  # the text around it stays


# --- the audit key is scrubbed by value -------------------------------------------------

AUDIT_VALUE = "audit-Zq81xWv3-hmac-key"


def test_the_audit_key_from_the_environment_is_scrubbed_by_value(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vanta_tui.store.journal.anchor import AUDIT_KEY_ENV

    monkeypatch.setenv(AUDIT_KEY_ENV, AUDIT_VALUE)
    ctx = ActionContext.open(state_dir, "dana")  # the journal loads the key
    ctx.journal.record("dana", [EventDraft("note.added", payload={"memo": AUDIT_VALUE})])
    ctx.close()
    assert AUDIT_VALUE.encode() not in _everything(state_dir)
    assert main(["audit", "export", "--state-dir", str(state_dir)]) == 0
    assert AUDIT_VALUE not in capsys.readouterr().out


def test_the_audit_key_from_the_keyring_is_scrubbed_by_value(
    memory_keyring: dict[tuple[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vanta_tui.core.secrets import scrub
    from vanta_tui.store.journal.anchor import (
        AUDIT_KEY_ENV,
        KEYRING_SERVICE,
        KEYRING_USER,
        audit_key,
    )

    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)
    stored = "audit-from-keyring-Pw52kk"
    memory_keyring[(KEYRING_SERVICE, KEYRING_USER)] = stored
    assert audit_key() == stored.encode()
    assert stored not in scrub(f"signing with {stored}")


# --- the desk's crash report ------------------------------------------------------------

LOCAL_SECRET = "unregistered-Kx42Secret"
"""Held in a local variable only (never loaded as a key): only dropping locals hides it."""


async def test_the_desk_crash_report_shows_no_locals_and_no_loaded_key(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui_helpers import loaded, make_app

    from vanta_tui.core.secrets import remember

    remember(CUT_KEY)
    app = make_app(state_dir, watch=False)

    def crash() -> None:
        config = {"apiKey": LOCAL_SECRET}
        raise RuntimeError(f"exchange refused {CUT_KEY} with {len(config)} settings")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            app.call_later(crash)
            await pilot.pause(0.2)
    printed = capsys.readouterr()
    shown = printed.out + printed.err
    assert "RuntimeError" in shown and "exchange refused" in shown  # there was a report
    assert LOCAL_SECRET not in shown
    assert CUT_KEY not in shown and CUT_KEY[:5] not in shown
