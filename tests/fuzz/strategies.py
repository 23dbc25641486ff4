"""Strategies shared by the fuzz tests: JSON and YAML data shaped like what leakstop reads,
with the vocabulary of its files mixed in so that generated documents get past the first
checks and reach the code behind them."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from tests.fuzz.conftest import PROFILE, SCALE


def fuzz_settings(examples: int, **overrides: Any) -> settings:
    """`examples` in the ci profile, scaled for dev; no deadline (CI machines stall)."""
    return settings(max_examples=examples * SCALE[PROFILE], **overrides)


#: Timestamps near the edges of what `datetime` holds: year 1 and 9999 with an offset
#: overflow when moved to UTC.
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-01-10T09:00:00Z",
            "2026-01-10T09:00:00.000000Z",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2026-02-30T00:00:00Z",
            "2026-01-10",
            "",
        ]
    ),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.text(max_size=30),
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    TIMESTAMPS,
)


def json_data(
    keys: st.SearchStrategy[str], leaves: st.SearchStrategy[Any] = SCALARS, max_leaves: int = 8
) -> Any:
    """Nested JSON-like data (dicts with string keys, lists, scalars)."""
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(keys, children, max_size=6),
        ),
        max_leaves=max_leaves,
    )


def keys_from(vocabulary: list[str]) -> st.SearchStrategy[str]:
    """Mostly keys leakstop knows, sometimes any text."""
    return st.one_of(st.sampled_from(vocabulary), st.sampled_from(vocabulary), st.text(max_size=12))


#: Deeply nested JSON / YAML flow collections: a parser that recurses runs out of stack.
DEEP_NESTING = st.integers(min_value=1, max_value=5_000).map(lambda n: "[" * n + "]" * n)


def check_message(error: Exception) -> None:
    """An error the user sees is one non-empty line of text."""
    message = str(error)
    assert message.strip(), f"{type(error).__name__} without a message"
