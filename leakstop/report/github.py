"""GitHub Actions workflow commands: one annotation per finding, most severe first.

GitHub shows at most 10 error, 10 warning and 10 notice annotations per step (50 per job) and
drops the rest silently, so leakstop emits the most important ones within those limits and
says in the log how many it left out.
"""

from __future__ import annotations

from typing import TextIO

from leakstop.finding import SUPPRESSED_BY_CHANGE, SUPPRESSED_BY_CHANGE_NOTE, Finding, Severity
from leakstop.report import ReportOptions
from leakstop.results import ScanResult
from leakstop.textsafe import sanitize

#: docs.github.com "Annotations": per step, per level.
MAX_PER_LEVEL = 10

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    """Escape a workflow command's message (actions/toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (actions/toolkit `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter:
    def __init__(self, options: ReportOptions) -> None:
        self.options = options

    def write(self, result: ScanResult, out: TextIO) -> None:
        shown: dict[str, int] = {"error": 0, "warning": 0, "notice": 0}
        left_out = 0
        # Live credentials first: GitHub drops annotations past its per-level limit.
        for finding in sorted(result.findings, key=lambda f: (not _is_live(f), f.severity.rank)):
            level = "error" if _is_live(finding) else _LEVEL[finding.severity]
            if shown[level] >= MAX_PER_LEVEL:
                left_out += 1
                continue
            shown[level] += 1
            out.write(annotation(finding, level) + "\n")
        if left_out:
            out.write(
                f"{left_out} more findings are not annotated (GitHub shows {MAX_PER_LEVEL} per "
                "level and step); see the job summary and the SARIF report for all of them.\n"
            )


def _is_live(finding: Finding) -> bool:
    return finding.verification is not None and finding.verification.status.value == "verified"


def annotation(finding: Finding, level: str) -> str:
    """One `::error`/`::warning`/`::notice` line for `finding`.

    Foreign text is sanitized before the workflow-command escaping: the runner unescapes
    `%0A` back into a newline, which would then reach the annotation's title or message. A
    path with such characters is shown escaped, so GitHub cannot link it to its file.
    """
    location = finding.location
    properties = {
        "file": sanitize(location.path),
        "line": str(location.line),
        "endLine": str(location.end_line),
        "title": f"leakstop: {sanitize(finding.rule_id)}",
    }
    if SUPPRESSED_BY_CHANGE in finding.tags:
        properties["title"] += f" ({SUPPRESSED_BY_CHANGE_NOTE})"
    if location.line == location.end_line:
        properties["col"] = str(location.column)
        properties["endColumn"] = str(location.end_column)
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = f"{sanitize(finding.description)} ({sanitize(finding.redacted)})"
    if finding.commit is not None:
        message += f" in commit {sanitize(finding.commit.sha[:12])}"
    if finding.verification is not None:
        verification = finding.verification
        message += f" [{verification.status.value}: {sanitize(verification.reason)}]"
    return f"::{level} {joined}::{escape_data(message)}"
