"""Day files: `tail` reads the end without the whole file; `line_blocks` yields whole lines."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from leakstop.audit.files import DayFile, Tail, day_file_name, line_blocks, lines, tail

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


def _day_file(tmp_path: Path, content: bytes, archived: bool) -> DayFile:
    path = tmp_path / day_file_name(date(2024, 3, 4))
    if archived:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as stream:
            stream.write(content)
    else:
        path.write_bytes(content)
    return DayFile(date(2024, 3, 4), path)


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("torn", [False, True])
def test_line_blocks_are_whole_lines_and_the_whole_file(
    tmp_path: Path, archived: bool, torn: bool
) -> None:
    # Lines of many lengths, one longer than a read block, and maybe a torn last line.
    content = b"".join(b"x" * (n * 37 % 900) + b"\n" for n in range(600))
    content += b"y" * 200_000 + b"\n" + b"last\n"
    if torn:
        content += b'{"action":"sec'
    day_file = _day_file(tmp_path, content, archived)
    blocks = list(line_blocks(day_file))
    assert b"".join(blocks) == content
    assert len(blocks) > 2
    whole, tail = (blocks[:-1], blocks[-1]) if torn else (blocks, None)
    assert all(block.endswith(b"\n") for block in whole)
    if torn:
        assert tail == b'{"action":"sec'
    # The same lines as `lines()` reads.
    split = [line for block in whole for line in block.split(b"\n")[:-1]]
    assert split == [line.data for line in lines(day_file) if line.complete]


def test_line_blocks_of_an_empty_file(tmp_path: Path) -> None:
    assert list(line_blocks(_day_file(tmp_path, b"", archived=False))) == []
