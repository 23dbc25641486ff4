"""Run a detector over a source, on one process or several, and collect findings and
statistics."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Protocol

from leakstop.finding import Finding
from leakstop.results import ScanResult, ScanStats
from leakstop.rules.model import Rule
from leakstop.scanner import parallel
from leakstop.scanner.detector import Detector
from leakstop.scanner.parallel import DetectorRecipe, Outcome
from leakstop.scanner.sources import SkipReason, Source
from leakstop.scanner.sources.files import FileSource
from leakstop.scanner.sources.history import GitHistorySource

#: Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 64


class Progress(Protocol):
    def advance(self, items: int, size: int) -> None: ...


def sort_key(finding: Finding) -> tuple[str, int, int, str]:
    location = finding.location
    return (location.path, location.line, location.column, finding.rule_id)


def touches(finding: Finding, lines: frozenset[int]) -> bool:
    """The finding's secret lies at least partly on one of `lines`."""
    location = finding.location
    return any(line in lines for line in range(location.line, location.end_line + 1))


def _first_in_history(finding: Finding, introduced: set[tuple[str, str]]) -> bool:
    key = (finding.fingerprint, finding.location.path)
    if key in introduced:
        return False
    introduced.add(key)
    return True


def run_scan(
    source: Source,
    detector: Detector,
    rules: Sequence[Rule],
    unit: str = "file",
    jobs: int = 1,
    recipe: DetectorRecipe | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan everything `source` holds. With `jobs` > 1 and a `recipe`, files and history
    blobs are scanned on that many processes; the result is the same."""
    stats = ScanStats(unit=unit)
    findings: list[Finding] = []
    # History: each version of a file is its own blob, so a secret that stays in a file is in
    # every later version. Like a patch-based scan, report it once per path: at the first
    # (oldest) commit, since history sources yield blobs oldest first.
    introduced: set[tuple[str, str]] = set()
    started = time.perf_counter()
    for outcome in _outcomes(source, detector, jobs, recipe):
        if progress is not None:
            progress.advance(1, outcome.size)
        if outcome.skipped is not None:
            stats.skipped[outcome.skipped.value] += 1
            continue
        stats.scanned += 1
        stats.bytes += outcome.size
        found = outcome.findings
        if outcome.added_lines is not None:
            found = [f for f in found if touches(f, outcome.added_lines)]
        if outcome.from_history:
            found = [f for f in found if _first_in_history(f, introduced)]
        findings.extend(found)
    stats.seconds = time.perf_counter() - started
    findings.sort(key=sort_key)
    return ScanResult(findings, stats, rules, detector.engine.name)


def _outcomes(
    source: Source, detector: Detector, jobs: int, recipe: DetectorRecipe | None
) -> Iterator[Outcome]:
    if jobs > 1 and recipe is not None:
        if isinstance(source, FileSource):
            yield from _file_outcomes(source, detector, jobs, recipe)
            return
        if isinstance(source, GitHistorySource):
            source.warn_if_shallow()
            allowlisted: list[str] = []
            yield from parallel.scan_blobs(
                source.repo,
                source.introductions(allowlisted),
                detector,
                recipe,
                jobs,
                source.max_size,
            )
            for path in allowlisted:
                yield Outcome(path, SkipReason.ALLOWLISTED, 0, [])
            return
    for chunk in source.chunks():
        yield parallel.scan_chunk(detector, chunk)


def _file_outcomes(
    source: FileSource, detector: Detector, jobs: int, recipe: DetectorRecipe
) -> Iterator[Outcome]:
    files = []
    for absolute, relative in source.files():
        if source.skip(relative):
            yield Outcome(relative, SkipReason.ALLOWLISTED, 0, [])
        else:
            files.append((absolute, relative))
    if len(files) >= PARALLEL_MIN_FILES:
        yield from parallel.scan_files(files, detector, recipe, jobs, source.max_size)
        return
    yield from parallel.scan_files_here(detector, files, source.max_size)
