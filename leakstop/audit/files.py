"""The audit log on disk: one `audit-YYYY-MM-DD.jsonl` file per UTC day (`.jsonl.gz` once
archived), read as a stream of lines that know their file and line number."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, NamedTuple

_DAY_FILE = re.compile(r"^audit-(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?$")
_READ = 1 << 16


@dataclass(frozen=True, order=True)
class DayFile:
    day: date
    path: Path

    @property
    def archived(self) -> bool:
        return self.path.name.endswith(".gz")

    def open(self) -> BinaryIO:
        if self.archived:
            return gzip.open(self.path, "rb")  # type: ignore[return-value]
        return open(self.path, "rb")


class Line(NamedTuple):
    """One line of a day file, without its newline; `complete` is False for a last line
    that has no newline (a write that did not finish). (A tuple: one is made per line read,
    and a frozen dataclass took twice as long to build.)"""

    file: DayFile
    number: int
    data: bytes
    complete: bool = True


def day_file_name(day: date) -> str:
    return f"audit-{day.isoformat()}.jsonl"


def day_files(folder: Path, since: date | None = None, until: date | None = None) -> list[DayFile]:
    """The day files in `folder`, oldest first, optionally only those from `since` to `until`
    (inclusive). A day both plain and archived (an archive that was interrupted) is listed
    once, plain."""
    found: dict[date, DayFile] = {}
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        match = _DAY_FILE.match(entry.name)
        if match is None or not entry.is_file():
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        if (since and day < since) or (until and day > until):
            continue
        candidate = DayFile(day, entry)
        if day not in found or found[day].archived:
            found[day] = candidate
    return [found[day] for day in sorted(found)]


def lines(day_file: DayFile) -> Iterator[Line]:
    """The file's lines in order, streamed (memory: one block and one line)."""
    with day_file.open() as stream:
        rest = b""
        number = 0
        while block := stream.read(_READ):
            parts = (rest + block).split(b"\n")
            rest = parts.pop()
            for part in parts:
                number += 1
                yield Line(day_file, number, part)
        if rest:
            yield Line(day_file, number + 1, rest, complete=False)


@dataclass(frozen=True, slots=True)
class Tail:
    """The end of a day file: its last complete line and what follows it."""

    #: The last complete line without its newline; None when the file has none.
    last: bytes | None
    #: Byte offset just past the last complete line (for an archived file, in the
    #: decompressed stream): where the file would end with its torn tail cut off.
    end: int
    #: Bytes after the last newline: a write that did not finish. 0 for a whole file.
    torn: int


def tail(day_file: DayFile) -> Tail:
    """The file's last complete line and torn tail, reading a plain file backwards from its end
    (one block for records of ordinary size) so that appending stays O(1) in the file's size;
    an archived file is decompressed as a stream."""
    if day_file.archived:
        last: bytes | None = None
        end = torn = 0
        for line in lines(day_file):
            if line.complete:
                last, end = line.data, end + len(line.data) + 1
            else:
                torn = len(line.data)
        return Tail(last, end, torn)
    with open(day_file.path, "rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        start, data = size, b""
        while True:
            newline = data.rfind(b"\n")
            if newline != -1:
                before = data.rfind(b"\n", 0, newline)
                if before != -1 or start == 0:
                    end = start + newline + 1
                    return Tail(data[before + 1 : newline], end, size - end)
            elif start == 0:
                return Tail(None, 0, size)
            step = min(_READ, start)
            start -= step
            stream.seek(start)
            data = stream.read(step) + data


def line_blocks(day_file: DayFile) -> Iterator[bytes]:
    """The file's bytes as blocks of whole lines, each block ending in a newline, streamed
    (memory: about two blocks); a last line without a newline comes last, alone. For readers
    that search a whole block before splitting it into lines (audit queries)."""
    with day_file.open() as stream:
        rest = b""
        while block := stream.read(_READ):
            data = rest + block
            end = data.rfind(b"\n") + 1
            rest = data[end:]
            if end:
                yield data[:end]
        if rest:
            yield rest
