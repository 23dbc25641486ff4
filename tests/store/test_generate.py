"""`--generate`: the length asked for, only the alphabet asked for, and random."""

from __future__ import annotations

import pytest

from leakstop.commands.store import CHARSETS as CLI_CHARSETS
from leakstop.errors import StoreError
from leakstop.store.generate import CHARSETS, generate


@pytest.mark.parametrize("charset", sorted(CHARSETS))
def test_values_use_only_their_alphabet(charset: str) -> None:
    values = [generate(64, charset) for _ in range(20)]
    assert all(len(v) == 64 for v in values)
    assert set(b"".join(values).decode()) <= set(CHARSETS[charset])
    assert len(set(values)) == 20


def test_the_command_line_offers_every_charset() -> None:
    assert sorted(CLI_CHARSETS) == sorted(CHARSETS)


@pytest.mark.parametrize(("length", "charset"), [(7, "alnum"), (5000, "alnum"), (32, "emoji")])
def test_bad_requests_are_refused(length: int, charset: str) -> None:
    with pytest.raises(StoreError):
        generate(length, charset)
