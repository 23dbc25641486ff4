"""Spread a scan over worker processes, whatever the source.

The main process lists the work (`Source.items()`: file names, blob ids) and hands it out in
ordered batches; each worker opens the source's reader once (its own files, its own
`git cat-file`) and returns, per item, the hits its detector found. Forked workers (Linux)
inherit the main process's detector, compiled database included; spawned workers (macOS,
Windows) build the same detector from a picklable recipe (the compiled Hyperscan database
comes from the disk cache). `imap` returns batches in order: output is deterministic and
history keeps "the oldest commit first".
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from leakstop.allowlist import Allowlist
from leakstop.finding import Commit
from leakstop.rules.model import Rule
from leakstop.scanner.detector import Detector, Hit
from leakstop.scanner.engine import build_engine
from leakstop.scanner.sources import Chunk, ChunkReader, SkipReason

T = TypeVar("T")
#: Items per batch: small enough to balance two workers, large enough that batch overhead
#: (~50 µs) is noise.
BATCH = 48


@dataclass(frozen=True)
class DetectorRecipe:
    """What a worker needs to build the scan's detector; small and picklable."""

    rules: tuple[Rule, ...]
    allowlists: tuple[Allowlist, ...]
    fingerprint_key: bytes
    engine: str
    honor_inline_allow: bool = True

    def build(self) -> Detector:
        return Detector(
            build_engine(self.rules, self.engine),
            self.allowlists,
            self.fingerprint_key,
            self.honor_inline_allow,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One file or blob, scanned (or skipped): its hits, not yet placed at its path."""

    path: str
    skipped: SkipReason | None
    size: int
    hits: list[Hit]
    commit: Commit | None = None
    #: Lines a diff added (None: all): findings must touch one.
    added_lines: frozenset[int] | None = None
    blob_id: str | None = None
    same_as: str | None = None
    #: Rules given up on in this item (over the engine's time budget).
    timed_out: tuple[str, ...] = ()
    #: Where the engine stopped searching this item (over its time budget); None: all of it.
    stopped_at: int | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled for every item a worker returns: a tuple, not the slots dataclass's
        # field-by-field state (several times faster).
        return type(self), (
            self.path,
            self.skipped,
            self.size,
            self.hits,
            self.commit,
            self.added_lines,
            self.blob_id,
            self.same_as,
            self.timed_out,
            self.stopped_at,
        )


def scan_chunk(detector: Detector, chunk: Chunk) -> Outcome:
    """One chunk scanned, or the reason its source skipped it."""
    if chunk.skipped is not None or chunk.same_as is not None:
        return Outcome(
            chunk.path, chunk.skipped, chunk.size, [], chunk.commit, same_as=chunk.same_as
        )
    hits = detector.hits(chunk.data, chunk.path)
    return Outcome(
        chunk.path,
        None,
        len(chunk.data),
        hits,
        chunk.commit,
        chunk.added_lines,
        chunk.blob_id,
        timed_out=tuple(detector.engine.take_timeouts()),
        stopped_at=detector.engine.take_stopped_at(),
    )


def scan_here(detector: Detector, reader: ChunkReader, items: Iterable[Any]) -> Iterator[Outcome]:
    """Read and scan `items` in this process."""
    with reader:
        for chunk in reader.read(items):
            yield scan_chunk(detector, chunk)


class _Worker:
    """Per-process state, set up once by the pool's initializer."""

    detector: Detector
    reader: ChunkReader


def _initialize(recipe: DetectorRecipe | None, reader: ChunkReader) -> None:
    if recipe is not None:
        _Worker.detector = recipe.build()
    # Entered for the life of the worker; the pool's terminate() ends it (and its git).
    _Worker.reader = reader.__enter__()


def _scan_batch(batch: list[Any]) -> list[Outcome]:
    return [scan_chunk(_Worker.detector, chunk) for chunk in _Worker.reader.read(batch)]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def default_jobs() -> int:
    """The processor cores this process may use (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


#: fork is fastest and safe here on Linux (workers inherit the detector, ~0.3 s of set-up
#: each); macOS and Windows need spawn. No thread may run while the pool forks: the
#: progress line starts only once the pool exists.
FORK = sys.platform.startswith("linux")


def scan_in_pool(
    detector: Detector,
    recipe: DetectorRecipe,
    reader: ChunkReader,
    items: Iterable[Any],
    jobs: int,
) -> Iterator[Outcome]:
    """Scan `items` on `jobs` processes, each with its own copy of `reader`, in order."""
    import multiprocessing  # ~20 ms: only for scans large enough to run in parallel

    if FORK:
        _Worker.detector = detector
        # The workers get the parent's objects out of the collector's sight: a collection
        # in a worker would write to every one (the rules, the detector) and copy their
        # pages, ~5% of a two-core scan's CPU. The parent sees them again once forked.
        gc.freeze()
        try:
            pool = multiprocessing.get_context("fork").Pool(jobs, _initialize, (None, reader))
        finally:
            gc.unfreeze()
    else:
        pool = multiprocessing.get_context("spawn").Pool(jobs, _initialize, (recipe, reader))
    with pool:
        for outcomes in pool.imap(_scan_batch, batched(items, BATCH)):
            yield from outcomes
