"""What a scan produced, as the reporters and commands see it: findings plus statistics.

A core type: the scanner builds it, `report/` reads it, neither imports the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from leakstop.finding import Finding
from leakstop.rules.model import Rule


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
    #: Findings left out by --only-verified: their issuer did not confirm them live.
    unverified: int = 0
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
