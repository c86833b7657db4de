"""Models: round-trips, kept extras, Decimal exactness, property tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vanta_tui.core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from vanta_tui.core.models import Order, QueueFile
from vanta_tui.core.state_files import StateKind
from vanta_tui.store import load, load_model, update, write
from vanta_tui.store.loader import parse_model
from vanta_tui.store.writer import render


def _strip_version(data: bytes) -> dict[str, object]:
    parsed = json.loads(data)
    parsed.pop("version")
    return dict(parsed)


def test_every_demo_file_round_trips_changing_only_version(state_dir: Path) -> None:
    for kind in StateKind:
        before = (state_dir / kind.filename).read_bytes()
        loaded = load(state_dir, kind)
        write(state_dir, loaded.model)
        after = (state_dir / kind.filename).read_bytes()
        assert json.loads(after)["version"] == json.loads(before)["version"] + 1
        assert _strip_version(after) == _strip_version(before)
        # Byte-exact apart from the version line: numbers keep their written form.
        strip = [line for line in before.splitlines() if b'"version"' not in line]
        assert strip == [line for line in after.splitlines() if b'"version"' not in line]


def test_unknown_keys_survive_a_round_trip(state_dir: Path) -> None:
    path = state_dir / "autotrade_queue.json"
    data = json.loads(path.read_text())
    data["written_by"] = "allocator-7"
    data["orders"][0]["desk_hint"] = {"lane": 3, "weights": [0.1, 0.25]}
    path.write_text(json.dumps(data, indent=2))
    update(state_dir, QueueFile, lambda q: None)
    again = json.loads(path.read_text())
    assert again["written_by"] == "allocator-7"
    assert again["orders"][0]["desk_hint"] == {"lane": 3, "weights": [0.1, 0.25]}


def test_decimals_are_exact_in_files(state_dir: Path) -> None:
    def add(queue: QueueFile) -> None:
        order = queue.orders[0].model_copy(
            update={"order_id": "X1", "qty": Decimal("0.1") + Decimal("0.2")}
        )
        queue.orders.append(order)

    update(state_dir, QueueFile, add)
    text = (state_dir / "autotrade_queue.json").read_text()
    assert '"qty": 0.3,' in text
    assert "0.30000000000000004" not in text
    tiny = load_model(state_dir, QueueFile)
    tiny.orders[-1].qty = Decimal("0.00000001")
    write(state_dir, tiny)
    assert '"qty": 0.00000001,' in (state_dir / "autotrade_queue.json").read_text()
    assert load_model(state_dir, QueueFile).orders[-1].qty == Decimal("0.00000001")


# --- property tests: any valid model round-trips unchanged --------------------------------

_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_quantities = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("1e9"), places=8, allow_nan=False
)
_weights = st.decimals(min_value=0, max_value=1, places=4)
_symbols = st.one_of(
    st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
    st.from_regex(r"[A-Z]{2,5}/[A-Z]{3,4}", fullmatch=True),
)
_texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)


@st.composite
def orders(draw: st.DrawFn, index: int = 0) -> Order:
    symbol = draw(_symbols)
    order_type = draw(st.sampled_from(OrderType))
    created = draw(_moments)
    qty = draw(_quantities)
    status = draw(st.sampled_from(OrderStatus))
    filled = qty if status is OrderStatus.FILLED else draw(st.sampled_from([Decimal(0), qty / 2]))
    return Order(
        order_id=f"O{index}{draw(st.from_regex(r'[A-Z0-9]{4,20}', fullmatch=True))}",
        vault_id=draw(st.sampled_from(["V_CORE", "V_CRYPTO", "V_INCOME"])),
        symbol=symbol,
        asset_class=AssetClass.CRYPTO if "/" in symbol else AssetClass.EQUITY,
        side=draw(st.sampled_from(Side)),
        qty=qty,
        order_type=order_type,
        limit_price=draw(_quantities) if order_type is OrderType.LIMIT else None,
        time_in_force=draw(st.sampled_from(TimeInForce)),
        status=status,
        origin=draw(_texts),
        reason_vector=draw(st.lists(_texts, max_size=3)),
        conviction=draw(st.none() | _weights),
        created_at=created,
        updated_at=created + timedelta(seconds=draw(st.integers(0, 10**6))),
        flipped=draw(st.booleans()),
        filled_qty=filled,
        avg_fill_price=draw(_quantities) if filled > 0 else None,
        attempts=draw(st.integers(0, 9)),
        last_error=draw(st.none() | _texts),
    )


@st.composite
def queues(draw: st.DrawFn) -> QueueFile:
    count = draw(st.integers(0, 6))
    return QueueFile(
        version=draw(st.integers(1, 10**6)), orders=[draw(orders(i)) for i in range(count)]
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queues())
def test_any_valid_queue_round_trips_unchanged(queue: QueueFile) -> None:
    data = render(queue)
    again = parse_model(StateKind.QUEUE, data)
    assert again == queue
    assert render(again) == data


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        _symbols, st.decimals(min_value=0, max_value=Decimal("0.15"), places=4), max_size=6
    ),
    _moments,
)
def test_any_valid_allocation_round_trips(targets: dict[str, Decimal], asof: datetime) -> None:
    from vanta_tui.core.models import AllocationFile

    model = AllocationFile.model_validate(
        {"version": 3, "asof": asof, "vaults": {"V_CORE": {"targets": targets}}}
    )
    again = parse_model(StateKind.ALLOCATION, render(model))
    assert again == model


@st.composite
def portfolios(draw: st.DrawFn) -> dict[str, object]:
    accounts = {}
    for vault_id in draw(st.lists(st.sampled_from(["V_CORE", "V_CRYPTO", "F_1"]), unique=True)):
        positions = {}
        for symbol in draw(st.lists(_symbols, unique=True, max_size=4)):
            positions[symbol] = {
                "qty": draw(_quantities),
                "avg_price": draw(_quantities),
                "last_price": draw(_quantities),
                "asset_class": "crypto" if "/" in symbol else "equity",
            }
        cash = draw(st.decimals(min_value=-(10**7), max_value=10**9, places=2))
        accounts[vault_id] = {"cash": cash, "positions": positions}
    return {"version": 1, "asof": draw(_moments), "accounts": accounts}


@settings(max_examples=100, deadline=None)
@given(portfolios())
def test_any_valid_portfolio_round_trips(raw: dict[str, object]) -> None:
    from vanta_tui.core.models import PortfolioFile

    model = PortfolioFile.model_validate(raw)
    data = render(model)
    again = parse_model(StateKind.PORTFOLIO, data)
    assert again == model and render(again) == data


@settings(max_examples=100, deadline=None)
@given(
    st.booleans(),
    _moments,
    st.dictionaries(
        st.sampled_from(["risk_averse", "aggressive"]), st.decimals(-1, 1, places=3), max_size=2
    ),
)
def test_any_valid_overlay_round_trips(
    enabled: bool, moment: datetime, boosts: dict[str, Decimal]
) -> None:
    from vanta_tui.core.models import OverlayFile

    model = OverlayFile.model_validate(
        {
            "version": 2,
            "global": {"maintenance": {"enabled": enabled, "since": moment, "by": "x"}},
            "vaults": {
                "V_CORE": {
                    "flip_mode": {"enabled": enabled, "expires_at": moment, "amplify": 0.35},
                    "persona": "risk_averse",
                    "persona_boosts": boosts,
                }
            },
        }
    )
    again = parse_model(StateKind.OVERLAY, render(model))
    assert again == model
