"""The journal's JSON patches: `apply(before, diff(before, after))` gives `after`, text and
all (1.0 and 1 are different texts, so different values here)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vanta_tui.core.codec import dumps_canonical
from vanta_tui.store.journal import patches

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([Decimal("1"), Decimal("1.0"), Decimal("1.00"), Decimal("0.5")]),
    st.text("ab", max_size=2),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)
    ),
    max_leaves=12,
)


pytestmark = pytest.mark.usefixtures("journal_backend")


@settings(max_examples=300, deadline=None)
@given(values, values)
def test_apply_of_diff_rebuilds_the_after_text(before: Any, after: Any) -> None:
    ops = patches.diff(before, after)
    rebuilt = patches.apply(copy.deepcopy(before), ops)
    assert dumps_canonical(rebuilt) == dumps_canonical(after)


def test_a_decimal_written_differently_is_a_change() -> None:
    before = {"orders": [{"qty": Decimal("1.0"), "id": "a"}, {"qty": Decimal(2), "id": "b"}]}
    after = {"orders": [{"qty": Decimal("1"), "id": "a"}, {"qty": Decimal(2), "id": "b"}]}
    assert patches.diff(before, after) == [["set", ["orders", 0, "qty"], Decimal("1")]]
    assert patches.diff(after, copy.deepcopy(after)) == []
