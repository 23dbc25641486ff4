"""`tail`: the end of a day file, read backwards without reading the whole file."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from leakstop.audit.files import DayFile, Tail, tail

DAY = date(2026, 1, 10)


def day_file(folder: Path, data: bytes, archived: bool = False) -> DayFile:
    path = folder / ("audit-2026-01-10.jsonl" + (".gz" if archived else ""))
    path.write_bytes(gzip.compress(data) if archived else data)
    return DayFile(DAY, path)


LONG = b"x" * 200_000  # longer than the block tail reads at a time


@pytest.mark.parametrize("archived", [False, True], ids=["plain", "archived"])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", Tail(None, 0, 0)),
        (b"one\n", Tail(b"one", 4, 0)),
        (b"one\ntwo\n", Tail(b"two", 8, 0)),
        (b"one\ntwo\nthr", Tail(b"two", 8, 3)),
        (b"thr", Tail(None, 0, 3)),
        (b"\n", Tail(b"", 1, 0)),
        (b"one\n" + LONG + b"\n", Tail(LONG, 200_005, 0)),
        (LONG + b"\n" + LONG, Tail(LONG, 200_001, 200_000)),
    ],
)
def test_tail(tmp_path: Path, data: bytes, expected: Tail, archived: bool) -> None:
    assert tail(day_file(tmp_path, data, archived)) == expected
