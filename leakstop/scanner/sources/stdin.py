"""Standard input as one chunk (`leakstop scan --stdin`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from leakstop.scanner.sources import Chunk, PassThroughReader, SkipReason
from leakstop.scanner.text import TextKind, sniff


@dataclass
class StdinSource:
    stream: BinaryIO
    #: The name findings are reported under.
    name: str = "<stdin>"
    max_size: int | None = None
    unit: str = "file"

    def reader(self) -> PassThroughReader:
        return PassThroughReader()

    def items(self) -> Iterator[Chunk]:
        limit = -1 if self.max_size is None else self.max_size + 1
        data = self.stream.read(limit)
        if self.max_size is not None and len(data) > self.max_size:
            yield Chunk(self.name, skipped=SkipReason.TOO_LARGE, size=len(data))
        elif sniff(data) is TextKind.BINARY:
            yield Chunk(self.name, skipped=SkipReason.BINARY, size=len(data))
        else:
            yield Chunk(self.name, data, size=len(data))
