"""Run a detector over a source and collect findings and statistics."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from leakstop.finding import Finding
from leakstop.rules.model import Rule
from leakstop.scanner.detector import Detector
from leakstop.scanner.sources import Source


@dataclass
class ScanStats:
    #: Files (or blobs) whose bytes were scanned.
    scanned: int = 0
    bytes: int = 0
    #: Items not scanned, by reason ("binary", "too large", ...).
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    #: Findings left out because a baseline lists them as known.
    baselined: int = 0
    #: What was scanned, for messages: "file", or "blob" for git history.
    unit: str = "file"


@dataclass
class ScanResult:
    findings: list[Finding]
    stats: ScanStats
    #: The rules that ran, in order (reports describe each).
    rules: Sequence[Rule]
    engine: str = ""
    #: Findings a baseline lists as known: not reported as findings, but SARIF marks them
    #: suppressed and the GitHub Action masks their values.
    known: list[Finding] = field(default_factory=list)


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
    source: Source, detector: Detector, rules: Sequence[Rule], unit: str = "file"
) -> ScanResult:
    stats = ScanStats(unit=unit)
    findings: list[Finding] = []
    # History: each version of a file is its own blob, so a secret that stays in a file is in
    # every later version. Like a patch-based scan, report it once per path: at the first
    # (oldest) commit, since history sources yield blobs oldest first.
    introduced: set[tuple[str, str]] = set()
    started = time.perf_counter()
    for chunk in source.chunks():
        if chunk.skipped is not None:
            stats.skipped[chunk.skipped.value] += 1
            continue
        stats.scanned += 1
        stats.bytes += len(chunk.data)
        found = detector.detect(chunk)
        if chunk.added_lines is not None:
            found = [f for f in found if touches(f, chunk.added_lines)]
        if chunk.commit is not None:
            found = [f for f in found if _first_in_history(f, introduced)]
        findings.extend(found)
    stats.seconds = time.perf_counter() - started
    findings.sort(key=sort_key)
    return ScanResult(findings, stats, rules, detector.engine.name)
