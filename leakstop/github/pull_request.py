"""A pull request's scan, judged twice: strictly (the base's config and baseline, its own
`leakstop:allow` markers ignored) and as the pull request asks (its own config, baseline and
markers). What the second hides is reported as the pull request's weakening of its own scan;
a hidden secret that is live or high-severity stays a finding."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from leakstop import gitcli
from leakstop.errors import LeakstopError
from leakstop.finding import Finding
from leakstop.results import ScanResult
from leakstop.scanner.session import ScanRequest, execute
from leakstop.scanner.weakening import (
    SuppressedBy,
    Weakening,
    baseline_changes,
    config_changes,
    marker_in,
    suppressed,
    with_reported_anyway,
)
from leakstop.textsafe import sanitize

log = logging.getLogger(__name__)


def scan_pull_request(
    trusted: ScanRequest, own: ScanRequest, repo: Path, head: str
) -> tuple[ScanResult, Weakening]:
    """`trusted`: the diff scan with the base's config and baseline; `own`: the same with the
    pull request's. The result is the trusted scan, whose findings the pull request's
    markers hide only when they are neither live nor high-severity."""
    base, strict = execute(dataclasses.replace(trusted, honor_inline_allow=False))
    blobs: dict[str, bytes | None] = {}

    def has_marker(finding: Finding) -> bool:
        path = finding.location.path
        if path not in blobs:
            blobs[path] = gitcli.show_file(repo, head, path)
        data = blobs[path]
        return data is not None and marker_in(data, finding.location.line)

    own_findings: list[Finding] | None
    own_known: list[Finding] = []
    changes: list[str] = []
    unreadable = ""
    try:
        prepared, own_result = execute(own)
    except LeakstopError as exc:
        # A config that does not load hides nothing from the trusted scan; only the markers
        # are judged then, and the summary says why.
        own_findings, unreadable = None, str(exc)
        log.warning("the pull request's own config does not load: %s", sanitize(unreadable))
    else:
        own_findings, own_known = own_result.findings, own_result.known
        changes = config_changes(base.config, prepared.config)
        changes += baseline_changes(base.baseline, prepared.baseline)
    hidden = suppressed(strict.findings, own_findings, own_known, has_marker)
    weakening = Weakening(tuple(hidden), tuple(changes), unreadable)
    by_marker = {id(s.finding) for s in hidden if s.by is SuppressedBy.INLINE}
    kept = [f for f in strict.findings if id(f) not in by_marker]
    strict.findings = with_reported_anyway(kept, weakening)
    return strict, weakening
