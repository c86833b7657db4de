"""One broker interface: every adapter implements all of `Broker` (``poll`` and ``mode``
included), routing (`VenueBrokers`) is a `Brokers` that reads the state through the
`StateSource` its caller gives it (never the store; the source's errors pass through), and
nothing above the brokers layer inspects an adapter's type or probes it with ``getattr``."""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from vanta_tui.actions.brokers import FreshState, brokers_for, paper_brokers
from vanta_tui.brokers.alpaca import AlpacaBroker
from vanta_tui.brokers.base import (
    Broker,
    Brokers,
    BrokerStatus,
    OrderRequest,
    StateSource,
)
from vanta_tui.brokers.ccxt_adapter import CcxtBroker
from vanta_tui.brokers.credentials import Credentials
from vanta_tui.brokers.paper import PaperBroker
from vanta_tui.brokers.routing import VenueBrokers
from vanta_tui.core.enums import OrderStatus, OrderType, Side
from vanta_tui.core.models import (
    FollowersFile,
    Order,
    PortfolioFile,
    QueueFile,
    VaultFile,
)
from vanta_tui.store import load_model

ROOT = Path(__file__).resolve().parents[1] / "vanta_tui"
CREDS = Credentials("test-acct", "key-123", "secret-456", "environment")
ADAPTERS: list[type[Broker]] = [PaperBroker, AlpacaBroker, CcxtBroker]
"""Every adapter, as the protocol's type (mypy checks each has all of `Broker`)."""


def members(protocol: type) -> set[str]:
    """The protocol's own members (methods, properties and annotated attributes)."""
    names = {n for n in vars(protocol) if not n.startswith("_")}
    return names | set(getattr(protocol, "__annotations__", {}))


def adapters(tmp_path: Path) -> list[Broker]:
    return [
        PaperBroker(tmp_path / "book.db", lambda symbol: Decimal(100)),
        AlpacaBroker(CREDS),
        CcxtBroker("binance", CREDS),
    ]


def test_every_adapter_has_every_member_of_the_broker_protocol(tmp_path: Path) -> None:
    wanted = members(Broker)
    assert {"poll", "quotes", "positions", "account", "open_orders", "mode"} <= wanted
    for broker in adapters(tmp_path):
        missing = sorted(n for n in wanted if not hasattr(broker, n))
        assert missing == [], f"{type(broker).__name__} lacks {missing}"


def test_real_venues_have_nothing_to_poll_and_say_their_mode(tmp_path: Path) -> None:
    paper, alpaca, ccxt = adapters(tmp_path)
    assert alpaca.poll() == [] and ccxt.poll() == []  # no network asked
    assert (paper.mode, alpaca.mode, ccxt.mode) == ("paper", "sandbox", "sandbox")
    assert AlpacaBroker(CREDS, live=True).mode == "live"


def test_the_paper_broker_fills_a_working_limit_order_when_polled(tmp_path: Path) -> None:
    price = {"AAPL": Decimal(110)}
    broker: Broker = PaperBroker(tmp_path / "book.db", price.get, initial_cash=Decimal(10_000))
    request = OrderRequest(
        "vanta-1", "AAPL", Side.BUY, Decimal(2), OrderType.LIMIT, limit_price=Decimal(100)
    )
    assert broker.submit(request).status is BrokerStatus.ACCEPTED
    assert broker.poll() == []  # the price has not come down yet
    price["AAPL"] = Decimal(99)
    [filled] = broker.poll()
    assert filled.status is BrokerStatus.FILLED and filled.filled_qty == 2
    assert broker.poll() == []


class Files:
    """A `StateSource` in memory: the brokers need no store to route."""

    def __init__(self, state_dir: Path) -> None:
        self.vault_file = load_model(state_dir, VaultFile)
        self.followers_file = load_model(state_dir, FollowersFile)
        self.portfolio_file = load_model(state_dir, PortfolioFile)
        self.queue_file = load_model(state_dir, QueueFile)

    def vaults(self) -> VaultFile:
        return self.vault_file

    def followers(self) -> FollowersFile:
        return self.followers_file

    def portfolio(self) -> PortfolioFile:
        return self.portfolio_file

    def queue(self) -> QueueFile | None:
        return self.queue_file


def routing(source: StateSource, tmp_path: Path) -> VenueBrokers:
    return VenueBrokers(
        source,
        tmp_path / "book.db",
        live=False,
        slippage_bps=Decimal(0),
        partial_fill_ratio=None,
        timeout_s=1.0,
        paper_only=False,
    )


def staged(state_dir: Path) -> Order:
    queue = load_model(state_dir, QueueFile)
    return next(o for o in queue.orders if o.status is OrderStatus.STAGED and not o.follower_id)


def test_routing_reads_the_state_through_the_source_it_is_given(
    state_dir: Path, tmp_path: Path
) -> None:
    brokers = routing(Files(state_dir), tmp_path)
    assert isinstance(brokers, Brokers)
    order = staged(state_dir)
    broker = brokers.for_order(order)
    assert broker.name == "paper"
    assert broker is brokers.for_order(order)  # one adapter per account
    assert broker.account().cash > 0  # opened with portfolio.json's cash, from the source


def test_the_sources_errors_pass_through_routing_unchanged(state_dir: Path, tmp_path: Path) -> None:
    class Unreadable(Exception):
        pass

    class Broken(Files):
        def vaults(self) -> VaultFile:
            raise Unreadable("vault.json: $: not today")

    brokers = routing(Broken(state_dir), tmp_path)
    with pytest.raises(Unreadable, match="not today"):
        brokers.for_order(staged(state_dir))


def test_the_store_source_reads_a_file_again_only_when_it_changed(state_dir: Path) -> None:
    source = FreshState(state_dir)
    first = source.vaults()
    assert source.vaults() is first
    path = state_dir / "vault.json"
    path.write_bytes(path.read_bytes() + b"\n")
    assert source.vaults() is not first
    (state_dir / "autotrade_queue.json").write_text("{")
    assert source.queue() is None  # a paper account then opens without working orders


def test_the_actions_side_builds_the_routing() -> None:
    state = Path("/nonexistent")
    assert isinstance(brokers_for(state), Brokers)
    assert paper_brokers(state).paper_only and not brokers_for(state).paper_only
    assert brokers_for(state, live=True).live


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_the_brokers_never_import_the_store_or_a_layer_above() -> None:
    above = ("vanta_tui.store", "vanta_tui.actions", "vanta_tui.executor", "vanta_tui.desk")
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "brokers").rglob("*.py"))
        for name in _imports(path)
        if name.startswith(above)
    ]
    assert offenders == []
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, vanta_tui.brokers.routing, vanta_tui.brokers.paper; "
            "print(sorted(m for m in sys.modules if m.startswith('vanta_tui.store')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def _type_probes(path: Path) -> list[str]:
    """``PaperBroker`` named, or ``getattr`` on something called broker(s)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "PaperBroker":
            found.append(f"{node.lineno}: PaperBroker")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "hasattr"}
            and node.args
            and "broker" in ast.unparse(node.args[0]).lower()
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_above_the_brokers_inspects_an_adapter() -> None:
    files = [ROOT / "desk.py"]
    for package in ("executor", "actions", "ui", "cli"):
        files += sorted((ROOT / package).rglob("*.py"))
    offenders = {
        f"{p.relative_to(ROOT)}: {hit.partition(': ')[2]}" for p in files for hit in _type_probes(p)
    }
    assert offenders == set()


def test_the_probe_is_not_blind(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def f(brokers, order):\n"
        "    broker = brokers.for_order(order)\n"
        "    if isinstance(broker, PaperBroker):\n"
        "        broker.poll()\n"
        "    return getattr(brokers, 'for_venue', None)\n"
    )
    assert sorted(hit.split(":")[0] for hit in _type_probes(planted)) == ["3", "5"]
