"""Shell completion (bash, zsh, fish) through argcomplete, with the ids of the state directory.

``vanta-tui completion bash`` prints the script a shell sources once (see the README); from
then on, each TAB runs ``vanta-tui`` with argcomplete's environment, `autocomplete` answers
from the parser (commands, options, choices) and from the state directory the command line
names (``--state-dir``, else ``VANTA_STATE_DIR``, else ``./state``): vault ids, follower
ids, and order ids narrowed to the orders the command can act on (``orders approve`` offers
staged orders, ``orders cancel`` the ones working at the broker, ``orders retry`` the
failed ones).

Completion reads the state files directly and cheaply (one JSON parse, no validation) rather
than through a `Desk`: a TAB must answer within the shell's patience, must never write (no
journal opened, no lock taken, no file created), and must stay silent on a file it cannot
read — the operator sees that file's error when the command itself runs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from vanta_tui.cli.common import DEFAULT_STATE_DIR, Subcommands, command

SHELLS = ("bash", "zsh", "fish")
PROGRAM = "vanta-tui"

Completer = Callable[..., list[str]]

STAGED = frozenset({"staged"})
WORKING = frozenset({"submitting", "submitted", "partially_filled"})
FAILED = frozenset({"failed", "broker_rejected"})


def add_completion(sub: Subcommands) -> None:
    p = command(
        sub, "completion", "print the shell completion script (bash, zsh or fish)",
        handle_completion, stateless=True,
    )  # fmt: skip
    p.add_argument("shell", choices=SHELLS)
    p.epilog = (
        'bash: eval "$(vanta-tui completion bash)" in ~/.bashrc; '
        'zsh: eval "$(vanta-tui completion zsh)" in ~/.zshrc; '
        "fish: vanta-tui completion fish > ~/.config/fish/completions/vanta-tui.fish"
    )


def handle_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode([PROGRAM], shell=args.shell), end="")
    return 0


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell and exit when argcomplete's environment says it is asking; return at
    once otherwise (one environment lookup: the normal start pays nothing else)."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    _attach(parser)
    argcomplete.autocomplete(parser, always_complete_options=False)


def _attach(parser: argparse.ArgumentParser) -> None:
    """Give the id arguments their completers (done only when completing)."""
    for path, dest, completer in _ID_ARGUMENTS:
        target = _subparser(parser, path)
        if target is None:
            continue
        for action in target._actions:
            if action.dest == dest:
                action.completer = completer  # type: ignore[attr-defined,unused-ignore]


def _subparser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Any:
    current: argparse.ArgumentParser | None = parser
    for name in path:
        if current is None:
            return None
        found = None
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                found = action.choices.get(name)
        current = found
    return current


def _state_dir(parsed: argparse.Namespace) -> Path:
    value = getattr(parsed, "state_dir", None)
    if value:
        return Path(os.path.expanduser(value))
    env = os.environ.get("VANTA_STATE_DIR")
    return Path(env) if env else DEFAULT_STATE_DIR


def _read(state_dir: Path, name: str) -> Any:
    try:
        import orjson

        return orjson.loads((state_dir / name).read_bytes())
    except (OSError, ValueError):
        return None


def _rows(document: Any, key: str) -> Iterable[dict[str, Any]]:
    rows = document.get(key) if isinstance(document, dict) else None
    if not isinstance(rows, list):
        return ()
    return (row for row in rows if isinstance(row, dict))


def order_ids_of(state_dir: Path, statuses: frozenset[str] | None = None) -> list[str]:
    """The queue's order ids (those in ``statuses`` when given), in queue order."""
    return [
        str(row["order_id"])
        for row in _rows(_read(state_dir, "autotrade_queue.json"), "orders")
        if "order_id" in row and (statuses is None or row.get("status") in statuses)
    ]


def vault_ids_of(state_dir: Path) -> list[str]:
    return [
        str(row["vault_id"])
        for row in _rows(_read(state_dir, "vault.json"), "vaults")
        if "vault_id" in row
    ]


def follower_ids_of(state_dir: Path) -> list[str]:
    return [
        str(row["follower_id"])
        for row in _rows(_read(state_dir, "followers.json"), "followers")
        if "follower_id" in row
    ]


def _orders(statuses: frozenset[str] | None) -> Completer:
    def complete(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
        return [i for i in order_ids_of(_state_dir(parsed_args), statuses) if i.startswith(prefix)]

    return complete


def _vaults(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    return [i for i in vault_ids_of(_state_dir(parsed_args)) if i.startswith(prefix)]


def _followers(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    return [i for i in follower_ids_of(_state_dir(parsed_args)) if i.startswith(prefix)]


_ID_ARGUMENTS: tuple[tuple[tuple[str, ...], str, Completer], ...] = (
    (("orders", "stage"), "vault", _vaults),
    (("orders", "approve"), "ids", _orders(STAGED)),
    (("orders", "reject"), "ids", _orders(STAGED)),
    (("orders", "unstage"), "ids", _orders(STAGED)),
    (("orders", "flip"), "order_id", _orders(STAGED)),
    (("orders", "edit"), "order_id", _orders(STAGED)),
    (("orders", "cancel"), "ids", _orders(WORKING)),
    (("orders", "retry"), "order_id", _orders(FAILED)),
    (("orders", "dismiss"), "order_id", _orders(FAILED)),
    (("audit", "show"), "order_id", _orders(None)),
    (("audit", "export"), "vault", _vaults),
    (("activity",), "vault", _vaults),
    (("activity",), "order", _orders(None)),
    (("fills",), "vault", _vaults),
    (("profit",), "vault", _vaults),
    (("stage",), "vault", _vaults),
    (("maintenance",), "vault", _vaults),
    (("trip", "clear"), "vault", _vaults),
    (("flip-mode",), "vault", _vaults),
    (("persona",), "vault", _vaults),
    (("reconcile",), "vault", _vaults),
    (("followers", "kill-switch"), "follower_id", _followers),
    (("followers", "remove"), "follower_id", _followers),
    (("fees", "close-cycle"), "vault", _vaults),
    (("fees", "ledger"), "vault", _vaults),
    (("fees", "ledger"), "follower", _followers),
)
"""(command path, argument dest, completer). `test_cli_conventions` checks every entry names
a real argument, so a renamed command cannot silently lose its completion."""
