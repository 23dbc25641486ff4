"""Records that cross to and from worker processes pickle as tuples (`__reduce__`): every
field must survive, including one added later."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from leakstop.finding import Commit
from leakstop.scanner.parallel import Outcome
from leakstop.scanner.sources import SkipReason
from leakstop.scanner.sources.history import Introduction

COMMIT = Commit("a" * 40, "Ana Author", "ana@example.com", "2024-05-06T07:08:09+02:00", "add")


@pytest.mark.parametrize(
    "record",
    [
        COMMIT,
        Introduction("b" * 40, "config/app.env", COMMIT, "b" * 40 + ":3"),
        Outcome(
            "config/app.env",
            SkipReason.TOO_LARGE,
            1234,
            [],
            COMMIT,
            frozenset({3, 4}),
            "b" * 40,
            "c" * 40,
            ("generic-secret",),
            77,
        ),
    ],
    ids=lambda record: type(record).__name__,
)
def test_every_field_survives_pickling(record: Any) -> None:
    defaults = type(record)(*(getattr(record, f.name) for f in dataclasses.fields(record)))
    assert defaults == record  # the positional order __reduce__ relies on
    for field in dataclasses.fields(record):
        if field.default is not dataclasses.MISSING:
            assert getattr(record, field.name) != field.default, f"set {field.name} in the test"
    assert pickle.loads(pickle.dumps(record)) == record
