"""Followers (API packets): add one, import many, kill switch, remove. Keys never reach a file.

An API packet is broker account refs + persona preference + fee agreement (+ mode, scale,
caps, equity). A packet may carry keys inline (``api_key``/``api_secret`` beside a venue's
``account_ref``): they are moved to the OS keyring first, or the packet is refused with
instructions when no keyring is available. Adding a follower also opens its account in
``portfolio.json`` (cash = its equity) and its PnL in ``pnl_summary.json``, so its child
orders can be checked, filled and charged.

`add_follower` (one packet) and `import_followers` (a JSON Lines file of packets, or a
directory of packet files) share the checks (`PacketChecker`) and the write (`_register`):
an import checks every packet first and lists every problem with its line (or file), then
adds the packets in one audited action with one ``follower.added`` event per follower, the
same event a single add records (the fee cycle charges a follower from its
``follower.added``; `audit replay` applies the action's patches), so an imported follower is
the same as one added by hand.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.errors import ActionRefused
from vanta_tui.brokers.credentials import KEYRING_SERVICE, env_names, load_credentials
from vanta_tui.brokers.errors import CredentialsError
from vanta_tui.core.codec import parse_json
from vanta_tui.core.models import (
    Account,
    Follower,
    FollowersFile,
    PnlFile,
    PortfolioFile,
    QueueFile,
    StateFileModel,
    Vault,
    VaultFile,
    VaultPnl,
)
from vanta_tui.core.order_states import OPEN
from vanta_tui.core.secrets import remember as remember_secrets
from vanta_tui.core.secrets import scrub
from vanta_tui.core.state_files import StateKind
from vanta_tui.core.wording import validation_found
from vanta_tui.store.journal import ActResult, EventDraft, Plan
from vanta_tui.store.loader import load_model

if TYPE_CHECKING:
    from vanta_tui.actions.audit import ProgressFactory

INLINE_KEY = "api_key"
INLINE_SECRET = "api_secret"
SHOWN_IDS = 5
"""How many ids a message names before it says how many more there are."""


def _known_adapter(adapter: str) -> bool:
    if adapter in {"paper", "alpaca"}:
        return True
    if adapter.startswith("ccxt:"):
        from vanta_tui.brokers.ccxt_adapter import exchange_known

        return exchange_known(adapter.split(":", 1)[1])
    return False


def _some(ids: Sequence[str]) -> str:
    """``ids`` for a message: the first `SHOWN_IDS`, then how many more."""
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown if len(ids) <= SHOWN_IDS else f"{shown} and {len(ids) - SHOWN_IDS} more"


# --- one packet -----------------------------------------------------------------------


@dataclass(frozen=True)
class InlineKeys:
    """Keys a packet carries beside a venue's ``account_ref``, bound for the keyring."""

    asset: str
    """The venue (``equity``, ``crypto``) they were found under, for messages."""
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


@dataclass
class CheckedPacket:
    """A packet after `PacketChecker.check`: its follower (None when the packet does not
    validate), the keys it carried inline (already taken out of it) and what is wrong."""

    where: str
    """Where the packet is, as problems name it: ``FILE:LINE``, a packet file, ``packet``."""
    label: str
    """How another packet of the same import refers to it: ``line 12``, ``f_1.json``."""
    follower: Follower | None
    keys: dict[str, InlineKeys]
    """Account ref → the keys carried inline for it."""
    problems: list[str] = field(default_factory=list)
    """Each ``place: reason`` (``equity: 100 is below V_CORE's minimum 5000``)."""

    @property
    def ok(self) -> bool:
        return self.follower is not None and not self.problems

    def accepted(self) -> Follower:
        """The follower of a packet without problems."""
        assert self.follower is not None and not self.problems, self.where
        return self.follower


def _copied(packet: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the packet that taking its inline keys out leaves the caller's intact."""
    data = dict(packet)
    brokers = data.get("brokers")
    if isinstance(brokers, dict):
        data["brokers"] = {k: dict(v) if isinstance(v, dict) else v for k, v in brokers.items()}
    return data


def _take_inline_keys(packet: dict[str, Any]) -> tuple[dict[str, InlineKeys], list[str]]:
    """Take keys carried inline out of the packet's venues (account ref → keys), and what is
    wrong with them. Nothing is stored yet: the keyring gets them only once the packet (the
    whole import) is valid."""
    taken: dict[str, InlineKeys] = {}
    problems: list[str] = []
    brokers = packet.get("brokers")
    for asset, venue in (brokers if isinstance(brokers, dict) else {}).items():
        if not isinstance(venue, dict) or not ({INLINE_KEY, INLINE_SECRET} & set(venue)):
            continue
        ref = venue.get("account_ref")
        key, secret = venue.pop(INLINE_KEY, None), venue.pop(INLINE_SECRET, None)
        texts = [v for v in (key, secret) if isinstance(v, str)]
        remember_secrets(*texts)  # scrubbed from every message from now on
        if not (ref and isinstance(ref, str) and key and secret and len(texts) == 2):
            problems.append(
                f"brokers.{asset}: carries keys inline but not an account_ref, {INLINE_KEY} "
                f"and {INLINE_SECRET} together (as text)"
            )
            continue
        keys = InlineKeys(str(asset), str(key), str(secret))
        before = taken.setdefault(ref, keys)
        if (before.api_key, before.api_secret) != (keys.api_key, keys.api_secret):
            problems.append(
                f"brokers.{asset}: other keys for {ref} than under brokers.{before.asset}"
            )
    return taken, problems


def _worded(exc: ValidationError) -> list[str]:
    """Every problem of ``exc`` as ``place: reason`` in an operator's words (no secret)."""
    out: list[str] = []
    for error in exc.errors():
        place = ".".join(str(step) for step in error["loc"])
        reason = validation_found(error)
        out.append(scrub(f"{place}: {reason}" if place else reason))
    return out


def _no_keyring(ref: str, why: str) -> str:
    key_var, secret_var = env_names(ref)
    return (
        f"the packet carries keys for {ref} and no keyring is available ({why}); remove "
        f"them from the packet and set {key_var} and {secret_var} in the environment instead"
    )


class PacketChecker:
    """The checks of API packets against the state as it is now: the follower model, its id
    (not registered, not a vault's), its vault (known; equity at least its
    ``mirroring.min_account_equity``), its adapters, and the keys of each non-paper account,
    looked up once per ``account_ref`` (environment, then keyring) and remembered."""

    def __init__(self, vaults: VaultFile, registered: Iterable[str]) -> None:
        self.vaults: dict[str, Vault] = {v.vault_id: v for v in vaults.vaults}
        self.registered = frozenset(registered)
        self._adapters: dict[str, bool] = {}
        self._credentials: dict[str, str | None] = {}

    @classmethod
    def now(cls, ctx: ActionContext) -> PacketChecker:
        """A checker of the vaults and the registry as the state directory has them."""
        registry = load_model(ctx.state_dir, FollowersFile)
        return cls(
            load_model(ctx.state_dir, VaultFile), (f.follower_id for f in registry.followers)
        )

    def check(self, packet: Mapping[str, Any], where: str, label: str = "") -> CheckedPacket:
        """The packet checked on its own (keys: see `key_problems`); inline keys taken out."""
        data = _copied(packet)
        keys, problems = _take_inline_keys(data)
        try:
            follower = Follower.model_validate(data)
        except ValidationError as exc:
            return CheckedPacket(where, label or where, None, keys, problems + _worded(exc))
        fid = follower.follower_id
        if fid in self.registered:
            problems.append(f"follower_id: {fid} is already registered")
        elif fid in self.vaults:
            problems.append(f"follower_id: {fid} is a vault's id (accounts are keyed by id)")
        vault = self.vaults.get(follower.vault_id)
        if vault is None:
            problems.append(f"vault_id: unknown vault {follower.vault_id!r}")
        elif follower.equity < (minimum := vault.mirroring.min_account_equity):
            problems.append(
                f"equity: {follower.equity} is below {vault.vault_id}'s minimum {minimum}"
            )
        for asset, venue in follower.brokers.items():
            if not self.adapter_known(venue.adapter):
                problems.append(f"brokers.{asset.value}: unknown adapter {venue.adapter!r}")
        return CheckedPacket(where, label or where, follower, keys, problems)

    def key_problems(
        self,
        checked: CheckedPacket,
        provided: Iterable[str] = (),
        offered: Mapping[str, str] | None = None,
    ) -> list[str]:
        """The venues of ``checked`` whose keys are nowhere: not inline in it, not among
        ``provided`` (refs whose keys other packets of the same import bring), not in the
        environment or keyring. ``offered``: ref → the label of a packet that carries its
        keys but is not added (named in the reason)."""
        if checked.follower is None:
            return []
        provided = set(provided)
        problems: list[str] = []
        for asset, venue in checked.follower.brokers.items():
            ref = venue.account_ref
            if venue.adapter == "paper" or ref in checked.keys or ref in provided:
                continue
            if not self.adapter_known(venue.adapter):
                continue  # said already
            missing = self.credentials_problem(ref)
            if missing is None:
                continue
            carrier = (offered or {}).get(ref)
            if carrier is not None:
                missing = f"account {ref}: its keys come with {carrier}, which is not added"
            problems.append(f"brokers.{asset.value}: {missing}")
        return problems

    def adapter_known(self, adapter: str) -> bool:
        if adapter not in self._adapters:
            self._adapters[adapter] = _known_adapter(adapter)
        return self._adapters[adapter]

    def credentials_problem(self, account_ref: str) -> str | None:
        """Why the keys of ``account_ref`` cannot be loaded (None: they can); asked once."""
        if account_ref not in self._credentials:
            try:
                load_credentials(account_ref)
            except CredentialsError as exc:
                self._credentials[account_ref] = str(exc)
            else:
                self._credentials[account_ref] = None
        return self._credentials[account_ref]


# --- the write, shared ----------------------------------------------------------------


def _store_keys(taken: Mapping[str, InlineKeys], where: str) -> Callable[[], None]:
    """Put ``taken`` in the keyring; returns what undoes it (the previous values back).
    Refuses (with instructions) when there is no usable keyring: keys are never written."""
    if not taken:
        return lambda: None
    try:
        import keyring
    except Exception as exc:  # pragma: no cover - keyring is a dependency
        raise ActionRefused(f"{where}: no keyring ({type(exc).__name__})") from None
    before: list[tuple[str, str | None]] = []

    def undo() -> None:
        for user, old in reversed(before):
            with contextlib.suppress(Exception):
                if old is None:
                    keyring.delete_password(KEYRING_SERVICE, user)
                else:
                    keyring.set_password(KEYRING_SERVICE, user, old)

    ref = next(iter(taken))
    try:
        for ref, keys in taken.items():
            for user, value in (
                (f"{ref}:api_key", keys.api_key),
                (f"{ref}:api_secret", keys.api_secret),
            ):
                old = keyring.get_password(KEYRING_SERVICE, user)
                keyring.set_password(KEYRING_SERVICE, user, value)
                before.append((user, old))
    except Exception as exc:
        undo()
        raise ActionRefused(f"{where}: {_no_keyring(ref, type(exc).__name__)}") from None
    return undo


def _keyring_problem() -> str | None:
    """Why the keyring cannot be used (None: it answers), asked by reading one entry."""
    try:
        import keyring

        keyring.get_password(KEYRING_SERVICE, "vanta-desk:probe")
    except Exception as exc:
        return type(exc).__name__
    return None


def _register(
    ctx: ActionContext, packets: Sequence[CheckedPacket], *, imported_from: str | None = None
) -> ActResult:
    """Register the followers of checked packets in one audited action (result: the
    followers): each opens its account and PnL and records ``follower.added``. Their inline
    keys go to the keyring first, and back out if the action is refused."""
    followers = [p.accepted() for p in packets]

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        registry, portfolio, pnl = (
            models[StateKind.FOLLOWERS],
            models[StateKind.PORTFOLIO],
            models[StateKind.PNL],
        )
        assert isinstance(registry, FollowersFile)
        assert isinstance(portfolio, PortfolioFile) and isinstance(pnl, PnlFile)
        # Checked before the locks were taken; checked again under them.
        known = {f.follower_id for f in registry.followers}
        again = [f.follower_id for f in followers if f.follower_id in known]
        if len(again) == 1:
            raise ActionRefused(f"follower {again[0]} is already registered")
        if again:
            raise ActionRefused(f"followers {_some(again)} are already registered")
        now = ctx.clock()
        events: list[EventDraft] = []
        for packet, follower in zip(packets, followers, strict=True):
            registry.followers.append(follower)
            portfolio.accounts.setdefault(follower.follower_id, Account(cash=follower.equity))
            pnl.vaults.setdefault(
                follower.follower_id,
                VaultPnl(
                    nav=follower.equity,
                    high_water_mark=follower.equity,
                    nav_history=[(now, follower.equity)],
                ),
            )
            payload: dict[str, Any] = {
                "follower": follower.model_dump(mode="python"),
                "keys_moved_to_keyring": list(packet.keys),
            }
            if imported_from is not None:
                payload["imported_from"] = packet.where
            events.append(
                EventDraft(
                    "follower.added",
                    vault_id=follower.vault_id,
                    follower_id=follower.follower_id,
                    payload=payload,
                )
            )
        return Plan(
            {
                StateKind.FOLLOWERS: registry,
                StateKind.PORTFOLIO: portfolio,
                StateKind.PNL: pnl,
            },
            events,
            followers,
        )

    keys = {ref: k for p in packets for ref, k in p.keys.items()}
    undo = _store_keys(keys, imported_from or packets[0].where)  # only now: all are valid
    try:
        return ctx.journal.act(
            ctx.actor, [StateKind.FOLLOWERS, StateKind.PORTFOLIO, StateKind.PNL], plan
        )
    except BaseException:
        undo()  # a refused action leaves nothing in the keyring
        raise


# --- add one --------------------------------------------------------------------------


def _parse_packet(text: str, *, one_line: bool) -> tuple[dict[str, Any] | None, str | None]:
    """A packet's JSON text → (its data, None) or (None, why not)."""
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        at = f"column {exc.colno}" if one_line else f"line {exc.lineno}, column {exc.colno}"
        return None, f"not JSON: {exc.msg} ({at})"
    except (ValueError, RecursionError) as exc:
        return None, f"not JSON: {scrub(str(exc)) or type(exc).__name__}"
    if not isinstance(data, dict):
        return None, "a packet is one JSON object"
    return data, None


def read_packet(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ActionRefused(f"{path}: cannot read the packet: {exc}") from None
    data, problem = _parse_packet(text, one_line=False)
    if data is None:
        raise ActionRefused(f"{path}: {problem}")
    return data


def add_follower(ctx: ActionContext, packet: dict[str, Any], where: str = "packet") -> ActResult:
    """Validate an API packet and register the follower (keys to the keyring, never a file);
    a refusal names every problem of the packet."""
    ctx.require_writable("adding a follower")
    checker = PacketChecker.now(ctx)
    checked = checker.check(packet, where)
    checked.problems.extend(checker.key_problems(checked))
    if not checked.ok:
        raise ActionRefused(f"{where}: " + "; ".join(checked.problems))
    done = _register(ctx, [checked])
    return dataclasses.replace(done, result=done.result[0])


# --- import many ----------------------------------------------------------------------


@dataclass(frozen=True)
class PacketProblem:
    """One thing wrong with one packet of an import: where (``FILE:LINE``, or the packet's
    file) and why (``equity: 100 is below V_CORE's minimum 5000``)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ImportReport:
    """What `import_followers` did: the followers it added (none when it refused), every
    problem it found, one per line, and the accounts whose inline keys went to the keyring."""

    source: str
    packets: int
    """How many packets the file or directory holds (blank lines are none)."""
    partial: bool
    imported: list[Follower] = field(default_factory=list)
    problems: list[PacketProblem] = field(default_factory=list)
    keys_moved: list[str] = field(default_factory=list)
    events: tuple[int, int] | None = None
    """The seqs of the first and last ``follower.added`` event (one audited action)."""

    @property
    def skipped(self) -> int:
        """How many packets have a problem (not added)."""
        return len({p.where for p in self.problems})

    @property
    def refused(self) -> bool:
        """Problems, and nothing added: without ``partial``, one bad packet stops them all."""
        return bool(self.problems) and not self.imported

    def by_vault(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for follower in self.imported:
            counts[follower.vault_id] = counts.get(follower.vault_id, 0) + 1
        return counts


@dataclass(frozen=True)
class _Read:
    """A packet as read from an import: its data, or why it has none."""

    where: str
    label: str
    packet: dict[str, Any] | None
    problem: str | None


def read_packets(source: Path) -> list[_Read]:
    """The packets of a JSON Lines file (one per line, blank lines skipped; ``FILE:LINE``)
    or of a directory (each ``*.json`` file one packet, by name)."""
    if source.is_dir():
        found: list[_Read] = []
        for path in sorted(p for p in source.glob("*.json") if p.is_file()):
            try:
                data, problem = _parse_packet(path.read_text(encoding="utf-8"), one_line=False)
            except (OSError, ValueError) as exc:
                data, problem = None, f"cannot read: {exc}"
            found.append(_Read(str(path), path.name, data, problem))
        return found
    if not source.exists():
        raise ActionRefused(f"{source}: no such file or directory")
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise ActionRefused(f"{source}: cannot read: {exc}") from None
    lines: list[_Read] = []
    # Lines end at "\n" only: str.splitlines would also split at U+2028 inside a string.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            data, problem = _parse_packet(line, one_line=True)
            lines.append(_Read(f"{source}:{number}", f"line {number}", data, problem))
    return lines


def _flag_repeated_ids(checked: Sequence[CheckedPacket]) -> None:
    """A follower_id in more than one packet: a problem of each (which one was meant?)."""
    where: dict[str, list[CheckedPacket]] = {}
    for packet in checked:
        if packet.follower is not None:
            where.setdefault(packet.follower.follower_id, []).append(packet)
    for fid, packets in where.items():
        for packet in packets if len(packets) > 1 else ():
            others = [p.label for p in packets if p is not packet]
            packet.problems.append(f"follower_id: {fid} is in this import again ({_some(others)})")


def _flag_key_conflicts(checked: Sequence[CheckedPacket]) -> None:
    """Inline keys for one account ref that differ between packets; and, with no keyring,
    every packet that carries keys (listed now, rather than refused at the first)."""
    first: dict[str, tuple[CheckedPacket, InlineKeys]] = {}
    for packet in checked:
        for ref, keys in packet.keys.items():
            seen = first.setdefault(ref, (packet, keys))
            if (seen[1].api_key, seen[1].api_secret) != (keys.api_key, keys.api_secret):
                packet.problems.append(
                    f"brokers.{keys.asset}: other keys for {ref} than {seen[0].label}"
                )
    if not first:
        return
    why = _keyring_problem()
    if why is None:
        return
    for packet in checked:
        for ref, keys in packet.keys.items():
            packet.problems.append(f"brokers.{keys.asset}: {_no_keyring(ref, why)}")


def _check_keys(checker: PacketChecker, checked: Sequence[CheckedPacket]) -> None:
    """Every packet's missing keys (each account ref looked up once). Inline keys count for
    every packet of the import, but only from a packet that is added: the packets that
    would be added are narrowed until the keys they rely on come with them."""
    offered = {ref: p.label for p in checked for ref in p.keys}
    for packet in checked:
        if not packet.ok:  # listed, as if every packet's inline keys went in
            packet.problems.extend(checker.key_problems(packet, offered))
    adding = [p for p in checked if p.ok]
    while True:
        provided = {ref for p in adding for ref in p.keys}
        left = {ref: label for ref, label in offered.items() if ref not in provided}
        for packet in adding:
            packet.problems.extend(checker.key_problems(packet, provided, left))
        still = [p for p in adding if p.ok]
        if len(still) == len(adding):
            return
        adding = still


def import_followers(
    ctx: ActionContext,
    source: Path,
    *,
    partial: bool = False,
    progress: ProgressFactory | None = None,
) -> ImportReport:
    """Check every packet of ``source`` (a JSON Lines file or a directory of packet files),
    then register them all in one audited action; with any problem, none (the report lists
    every problem), unless ``partial``: then the valid ones, and the others are listed."""
    ctx.require_writable("importing followers")
    read = read_packets(source)
    if not read:
        raise ActionRefused(f"{source}: no packets in it")
    checker = PacketChecker.now(ctx)
    done = progress("check", len(read)) if progress is not None else None
    checked: list[CheckedPacket] = []
    unreadable: dict[int, PacketProblem] = {}
    for index, entry in enumerate(read):
        if entry.packet is None:
            unreadable[index] = PacketProblem(entry.where, entry.problem or "not a packet")
        else:
            checked.append(checker.check(entry.packet, entry.where, entry.label))
        if done is not None:
            done(index + 1)
    _flag_repeated_ids(checked)
    _flag_key_conflicts(checked)
    _check_keys(checker, checked)
    report = ImportReport(str(source), len(read), partial)
    by_where = {p.where: p for p in checked}
    for index, entry in enumerate(read):
        if index in unreadable:
            report.problems.append(unreadable[index])
            continue
        packet = by_where[entry.where]
        report.problems.extend(PacketProblem(packet.where, r) for r in packet.problems)
    adding = [p for p in checked if p.ok]
    if not adding or (report.problems and not partial):
        return report  # nothing written
    result = _register(ctx, adding, imported_from=str(source))
    report.imported = list(result.result)
    report.keys_moved = sorted({ref for p in adding for ref in p.keys})
    report.events = (result.events[0].seq, result.events[-1].seq)
    return report


def set_kill_switch(ctx: ActionContext, follower_id: str, on: bool) -> ActResult:
    ctx.require_writable("switching a follower's kill switch")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        registry = models[StateKind.FOLLOWERS]
        assert isinstance(registry, FollowersFile)
        follower = registry.get(follower_id)
        if follower is None:
            raise ActionRefused(f"no follower {follower_id}")
        if follower.kill_switch == on:
            raise ActionRefused(f"{follower_id}'s kill switch is already {'on' if on else 'off'}")
        follower.kill_switch = on
        event = EventDraft(
            "follower.kill_switch",
            vault_id=follower.vault_id,
            follower_id=follower_id,
            payload={"on": on},
        )
        return Plan({StateKind.FOLLOWERS: registry}, [event], follower)

    return ctx.journal.act(ctx.actor, [StateKind.FOLLOWERS], plan)


def remove_follower(ctx: ActionContext, follower_id: str) -> ActResult:
    """Remove a follower with no open orders and no positions (its account and PnL go too;
    the journal keeps its history)."""
    ctx.require_writable("removing a follower")

    def plan(models: dict[StateKind, StateFileModel]) -> Plan:
        registry, portfolio, pnl, queue = (
            models[StateKind.FOLLOWERS],
            models[StateKind.PORTFOLIO],
            models[StateKind.PNL],
            models[StateKind.QUEUE],
        )
        assert isinstance(registry, FollowersFile) and isinstance(queue, QueueFile)
        assert isinstance(portfolio, PortfolioFile) and isinstance(pnl, PnlFile)
        follower = registry.get(follower_id)
        if follower is None:
            raise ActionRefused(f"no follower {follower_id}")
        open_orders = [o.order_id for o in queue.orders if o.follower_id == follower_id]
        if any(o.status in OPEN for o in queue.orders if o.follower_id == follower_id):
            raise ActionRefused(f"{follower_id} has open child orders; cancel or reject them first")
        account = portfolio.accounts.get(follower_id)
        if account is not None and any(p.qty != 0 for p in account.positions.values()):
            raise ActionRefused(f"{follower_id} still holds positions; close them first")
        if open_orders:
            raise ActionRefused(
                f"{follower_id} has {len(open_orders)} order(s) in the queue; they name it, "
                "so it stays registered (switch its kill switch on instead)"
            )
        registry.followers.remove(follower)
        portfolio.accounts.pop(follower_id, None)
        pnl.vaults.pop(follower_id, None)
        event = EventDraft(
            "follower.removed",
            vault_id=follower.vault_id,
            follower_id=follower_id,
            payload={"final_cash": account.cash if account else Decimal(0)},
        )
        changed: dict[StateKind, StateFileModel] = {
            StateKind.FOLLOWERS: registry,
            StateKind.PORTFOLIO: portfolio,
            StateKind.PNL: pnl,
        }
        return Plan(changed, [event], follower)

    return ctx.journal.act(
        ctx.actor,
        [StateKind.FOLLOWERS, StateKind.PORTFOLIO, StateKind.PNL, StateKind.QUEUE],
        plan,
    )
