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


@dataclass
class ScanResult:
    findings: list[Finding]
    stats: ScanStats
    #: The rules that ran, in order (reports describe each).
    rules: Sequence[Rule]
    engine: str = ""


def sort_key(finding: Finding) -> tuple[str, int, int, str]:
    location = finding.location
    return (location.path, location.line, location.column, finding.rule_id)


def run_scan(source: Source, detector: Detector, rules: Sequence[Rule]) -> ScanResult:
    stats = ScanStats()
    findings: list[Finding] = []
    started = time.perf_counter()
    for chunk in source.chunks():
        if chunk.skipped is not None:
            stats.skipped[chunk.skipped.value] += 1
            continue
        stats.scanned += 1
        stats.bytes += len(chunk.data)
        findings.extend(detector.detect(chunk))
    stats.seconds = time.perf_counter() - started
    findings.sort(key=sort_key)
    return ScanResult(findings, stats, rules, detector.engine.name)
