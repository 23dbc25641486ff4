"""Run a detector over a source, on one process or several, and collect findings and
statistics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from typing import Any, Protocol

from leakstop.finding import Finding
from leakstop.results import ScanResult, ScanStats
from leakstop.rules.model import Rule
from leakstop.scanner import parallel
from leakstop.scanner.detector import Detector, Hit
from leakstop.scanner.engine import CONFIRM_BUDGET, PREFILTER_BUDGET
from leakstop.scanner.parallel import DetectorRecipe, Outcome
from leakstop.scanner.sources import SkipReason, Source

log = logging.getLogger(__name__)
#: The skipped count of a rule given up in one file (pathological input or rule).
RULE_TIMED_OUT = "rule timed out"
#: The skipped count of a file whose search was cut short (over the engine's time budget).
SEARCH_TIMED_OUT = "search timed out"
#: Skips that deserve a warning naming the file: it might hold text and was not read. Binary
#: files, symlinks and allowlisted paths are skipped by design and only counted (a warning
#: per image would bury the ones that matter); unreadable files are warned about where the
#: reason (the OS error) is known.
_WARN_SKIPPED = {
    SkipReason.TOO_LARGE: "skipped: {size} bytes, over the size limit (--max-file-size)",
    SkipReason.NOT_REGULAR: "skipped: not a regular file (a FIFO, socket or device)",
}
#: Below this many items a process pool costs more than it saves.
PARALLEL_MIN_ITEMS = 64


class Progress(Protocol):
    def advance(self, items: int, size: int) -> None: ...


def sort_key(finding: Finding) -> tuple[str, int, int, str]:
    location = finding.location
    return (location.path, location.line, location.column, finding.rule_id)


def touches(finding: Finding, lines: frozenset[int]) -> bool:
    """The finding's secret lies at least partly on one of `lines`."""
    location = finding.location
    return any(line in lines for line in range(location.line, location.end_line + 1))


class _History:
    """What history reporting remembers: the hits of each blob that had any (to report them
    under the blob's other paths) and which secret was already reported at which path."""

    def __init__(self) -> None:
        self.blob_hits: dict[str, list[Hit]] = {}
        self.reported: set[tuple[str, str]] = set()

    def hits(self, outcome: Outcome) -> list[Hit]:
        if outcome.same_as is not None:
            return self.blob_hits.get(outcome.same_as, [])
        if outcome.blob_id is not None and outcome.hits:
            self.blob_hits[outcome.blob_id] = outcome.hits
        return outcome.hits

    def first_at_path(self, found: list[Finding]) -> list[Finding]:
        """Each version of a file is its own blob, so a secret that stays in a file is in
        every later version: report it once per path, at the oldest commit (history sources
        yield blobs oldest first), as a patch-based scan would. Within one blob every
        occurrence is reported, as a scan of the files would."""
        keys = [(finding.fingerprint, finding.location.path) for finding in found]
        new = [f for f, key in zip(found, keys, strict=True) if key not in self.reported]
        self.reported.update(keys)
        return new


def run_scan(
    source: Source,
    detector: Detector,
    rules: Sequence[Rule],
    jobs: int = 1,
    recipe: DetectorRecipe | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan everything `source` holds. With `jobs` > 1, a `recipe` and enough items, on that
    many processes; the result is the same."""
    stats = ScanStats(unit=source.unit)
    findings: list[Finding] = []
    history = _History()
    started = time.perf_counter()
    for outcome in _outcomes(source, detector, jobs, recipe):
        if progress is not None:
            progress.advance(1, outcome.size)
        if outcome.skipped is not None:
            stats.skipped[outcome.skipped.value] += 1
            if (why := _WARN_SKIPPED.get(outcome.skipped)) is not None:
                log.warning("%s: %s", outcome.path, why.format(size=outcome.size))
            continue
        if outcome.same_as is None:
            stats.scanned += 1
            stats.bytes += outcome.size
        if outcome.timed_out:
            stats.skipped[RULE_TIMED_OUT] += len(outcome.timed_out)
            log.warning(
                "%s: rule %s took over %gs here and was skipped in this file",
                outcome.path,
                ", ".join(sorted(set(outcome.timed_out))),
                CONFIRM_BUDGET,
            )
        if outcome.stopped_at is not None:
            stats.skipped[SEARCH_TIMED_OUT] += 1
            log.warning(
                "%s: searching took over %gs; only its first %d of %d bytes were searched",
                outcome.path,
                PREFILTER_BUDGET,
                outcome.stopped_at,
                outcome.size,
            )
        hits = history.hits(outcome)
        if not hits:
            continue
        found = detector.place(hits, outcome.path, outcome.commit)
        if outcome.added_lines is not None:
            found = [f for f in found if touches(f, outcome.added_lines)]
        if outcome.commit is not None:
            found = history.first_at_path(found)
        findings.extend(found)
    stats.seconds = time.perf_counter() - started
    findings.sort(key=sort_key)
    return ScanResult(findings, stats, rules, detector.engine.name)


def _outcomes(
    source: Source, detector: Detector, jobs: int, recipe: DetectorRecipe | None
) -> Iterator[Outcome]:
    items: Iterator[Any] = source.items()
    if jobs > 1 and recipe is not None:
        first = list(islice(items, PARALLEL_MIN_ITEMS))
        items = chain(first, items)
        if len(first) == PARALLEL_MIN_ITEMS:
            yield from parallel.scan_in_pool(detector, recipe, source.reader(), items, jobs)
            return
    yield from parallel.scan_here(detector, source.reader(), items)
