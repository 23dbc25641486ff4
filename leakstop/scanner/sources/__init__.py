"""Where bytes come from. Each source yields `Chunk`s; one module per kind of source."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from leakstop.finding import Commit


class SkipReason(str, enum.Enum):
    BINARY = "binary"
    TOO_LARGE = "too large"
    UNREADABLE = "unreadable"
    SYMLINK = "symlink"
    ALLOWLISTED = "allowlisted"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One file's (or blob's) bytes, as stored. `path` is relative to the scan root, with `/`."""

    path: str
    data: bytes = b""
    commit: Commit | None = None
    #: Set when the source skipped this item; `data` is then empty.
    skipped: SkipReason | None = None
    #: Bytes the item holds on disk (also for skipped items, when known).
    size: int = 0
    #: For diffs: the (1-based) lines the change added; findings must touch one. None: all.
    added_lines: frozenset[int] | None = None


class Source(Protocol):
    def chunks(self) -> Iterator[Chunk]: ...
