"""Where bytes come from: files, git history, a diff, standard input. One module per kind.

A source works in two halves so that a scan can spread over processes without knowing what it
reads: `items()` lists the work in the main process (file names, blob ids; cheap, picklable,
in order), and `reader()` turns items into chunks wherever it is opened (each worker process
opens its own: its own file handles, its own `git cat-file`). An item may already be a finished
`Chunk` (a skipped file, a blob seen before under another path): readers pass those through.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from leakstop.finding import Commit


class SkipReason(str, enum.Enum):
    BINARY = "binary"
    TOO_LARGE = "too large"
    UNREADABLE = "unreadable"
    SYMLINK = "symlink"
    #: A FIFO, socket or device: reading one could block forever or never end.
    NOT_REGULAR = "not a regular file"
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
    #: For history: the blob's id, so what it holds can be reported under its other paths.
    blob_id: str | None = None
    #: For history: this path holds a blob already read under another path (no `data`).
    same_as: str | None = None


class ChunkReader(Protocol):
    """Turns a source's items into chunks, in order. Picklable until entered: a worker
    process receives it and enters it once (starting, say, its own `git cat-file`)."""

    def __enter__(self) -> ChunkReader: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def read(self, items: Iterable[Any]) -> Iterator[Chunk]: ...


class Source(Protocol):
    #: What one item is, for messages and the progress line: "file", or "blob".
    unit: str

    def items(self) -> Iterator[Any]:
        """The work, in report order: source-specific picklable items or finished chunks."""
        ...

    def reader(self) -> ChunkReader: ...


def read_all(source: Source) -> Iterator[Chunk]:
    """Every chunk of `source`, read in this process."""
    with source.reader() as reader:
        yield from reader.read(source.items())


class PassThroughReader:
    """The reader of sources whose items are already chunks (standard input)."""

    def __enter__(self) -> PassThroughReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def read(self, items: Iterable[Any]) -> Iterator[Chunk]:
        for item in items:
            assert isinstance(item, Chunk)
            yield item
