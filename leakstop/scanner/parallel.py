"""Spread a scan over worker processes.

The main process lists the work (file paths; blob ids from the `git log` walk) and hands it out
in batches. Forked workers (Linux) inherit the main process's detector, compiled database
included; spawned workers (macOS, Windows) build the same detector from a picklable recipe (the
compiled Hyperscan database comes from the disk cache). For history each worker runs its own
`git cat-file`,
so blob bytes cross no extra pipe. `imap` returns batches in order: output is deterministic and
history keeps "the oldest commit first".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from leakstop.allowlist import Allowlist
from leakstop.finding import Finding
from leakstop.rules.model import Rule
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.sources import Chunk, SkipReason
from leakstop.scanner.sources.catfile import BlobReader
from leakstop.scanner.sources.files import read_file
from leakstop.scanner.sources.history import Introduction, blob_chunks

T = TypeVar("T")
#: Files per batch: small enough to balance two workers, large enough that batch overhead
#: (~50 µs) is noise.
FILE_BATCH = 32
BLOB_BATCH = 64


@dataclass(frozen=True)
class DetectorRecipe:
    """What a worker needs to build the scan's detector; small and picklable."""

    rules: tuple[Rule, ...]
    allowlists: tuple[Allowlist, ...]
    fingerprint_key: bytes
    engine: str

    def build(self) -> Detector:
        return Detector(
            build_engine(self.rules, self.engine), self.allowlists, self.fingerprint_key
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One file or blob, scanned (or skipped) by a worker."""

    path: str
    skipped: SkipReason | None
    size: int
    findings: list[Finding]
    from_history: bool = False
    #: Lines a diff added (None: all): findings must touch one.
    added_lines: frozenset[int] | None = None


class _Worker:
    """Per-process state, set up once by the pool's initializer."""

    detector: Detector
    reader: BlobReader | None = None
    max_size: int | None = None


def _initialize(recipe: DetectorRecipe | None, repo: str | None, max_size: int | None) -> None:
    if recipe is not None:
        _Worker.detector = recipe.build()
    _Worker.max_size = max_size
    if repo is not None:
        _Worker.reader = BlobReader(Path(repo), max_size)


def scan_files_here(
    detector: Detector, files: Iterable[tuple[str, str]], max_size: int | None
) -> Iterator[Outcome]:
    """Read and scan `(absolute, relative)` files in this process."""
    for absolute, relative in files:
        chunk = read_file(absolute, relative, max_size)
        if chunk is not None:
            yield scan_chunk(detector, chunk)


def scan_chunk(detector: Detector, chunk: Chunk) -> Outcome:
    """One chunk scanned, or the reason its source skipped it."""
    from_history = chunk.commit is not None
    if chunk.skipped is not None:
        return Outcome(chunk.path, chunk.skipped, chunk.size, [], from_history=from_history)
    return Outcome(
        chunk.path,
        None,
        len(chunk.data),
        detector.detect(chunk),
        from_history=from_history,
        added_lines=chunk.added_lines,
    )


def _scan_files(batch: list[tuple[str, str]]) -> list[Outcome]:
    return list(scan_files_here(_Worker.detector, batch, _Worker.max_size))


def _scan_blobs(batch: list[Introduction]) -> list[Outcome]:
    assert _Worker.reader is not None
    return [scan_chunk(_Worker.detector, chunk) for chunk in blob_chunks(_Worker.reader, batch)]


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
#: each); macOS and Windows need spawn.
FORK = sys.platform.startswith("linux")


def _pool(
    detector: Detector, recipe: DetectorRecipe, jobs: int, repo: str | None, max_size: int | None
) -> Any:
    import multiprocessing  # ~20 ms: only for scans large enough to run in parallel

    if FORK:
        _Worker.detector = detector
        return multiprocessing.get_context("fork").Pool(jobs, _initialize, (None, repo, max_size))
    return multiprocessing.get_context("spawn").Pool(jobs, _initialize, (recipe, repo, max_size))


def scan_files(
    files: Sequence[tuple[str, str]],
    detector: Detector,
    recipe: DetectorRecipe,
    jobs: int,
    max_size: int | None,
) -> Iterator[Outcome]:
    """Scan `(absolute, relative)` files on `jobs` processes, yielding outcomes in order."""
    with _pool(detector, recipe, jobs, None, max_size) as pool:
        for outcomes in pool.imap(_scan_files, batched(files, FILE_BATCH)):
            yield from outcomes


def scan_blobs(
    repo: Path,
    introductions: Iterable[Introduction],
    detector: Detector,
    recipe: DetectorRecipe,
    jobs: int,
    max_size: int | None,
) -> Iterator[Outcome]:
    """Scan history blobs on `jobs` processes (each with its own cat-file), in order."""
    with _pool(detector, recipe, jobs, str(repo), max_size) as pool:
        for outcomes in pool.imap(_scan_blobs, batched(introductions, BLOB_BATCH)):
            yield from outcomes
