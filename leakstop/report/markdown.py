"""Markdown report: a summary and a table of findings, redacted. Written for GitHub's job
summary (`$GITHUB_STEP_SUMMARY`), which accepts at most 1 MiB per step: longer tables are cut
with a line saying how many rows were left out."""

from __future__ import annotations

from typing import TextIO

from leakstop.finding import Finding
from leakstop.report import ReportOptions
from leakstop.results import ScanResult
from leakstop.textsafe import sanitize

#: GitHub rejects a step summary over 1 MiB; stay well clear of it.
MAX_BYTES = 900 * 1024

_SEVERITY_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}


def cell(text: str) -> str:
    """Foreign text (a path, a rule id) safe inside a Markdown table cell, and in a terminal
    or log when the report is printed: sanitized first, so no newline is left to replace."""
    return sanitize(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")


def code(text: str) -> str:
    """Foreign text as a code span inside a Markdown table cell, sanitized like `cell`.

    Backslashes are not doubled: a code span shows them as they are, so `cell`'s escaping
    would show each twice (GFM reads only `\\|` inside a code span in a table, as `|`).
    """
    return "`" + sanitize(text).replace("|", "\\|").replace("`", "'") + "`"


class MarkdownReporter:
    def __init__(self, options: ReportOptions) -> None:
        self.options = options

    def write(self, result: ScanResult, out: TextIO) -> None:
        out.write(self.render(result))

    def render(self, result: ScanResult) -> str:
        findings = sorted(result.findings, key=lambda f: (f.severity.rank, f.location.path))
        stats = result.stats
        lines = [f"## {self.options.title}", ""]
        unit = stats.unit + ("" if stats.scanned == 1 else "s")
        scanned = (
            f"Scanned {stats.scanned} {unit} ({stats.bytes / 1e6:.1f} MB) in {stats.seconds:.1f} s"
        )
        if stats.baselined:
            scanned += f"; {stats.baselined} known findings are in the baseline"
        if not findings:
            lines += [f"✅ **No secrets found.** {scanned}.", ""]
            return "\n".join(lines)
        files = len({f.location.path for f in findings})
        live = any(f.verification is not None for f in findings)
        lines += [
            f"❌ **{len(findings)} secret{'s' if len(findings) != 1 else ''} found in {files} "
            f"file{'s' if files != 1 else ''}.** {scanned}.",
            "",
            "| Severity | Rule | Location | Secret | Commit |" + (" Live |" if live else ""),
            "|---|---|---|---|---|" + ("---|" if live else ""),
        ]
        size = sum(len(line.encode()) + 1 for line in lines)
        for index, finding in enumerate(findings):
            row = _row(finding, live)
            if size + len(row.encode()) + 200 > MAX_BYTES:
                lines += ["", f"… and {len(findings) - index} more (see the SARIF or JSON report)."]
                break
            lines.append(row)
            size += len(row.encode()) + 1
        lines += [
            "",
            "Secrets are shown redacted. Treat each as compromised: revoke or rotate it, then "
            "remove it from the code. False positives can be marked with a `leakstop:allow` "
            "comment or recorded in a baseline (`leakstop baseline create`).",
            "",
        ]
        return "\n".join(lines)


def _row(finding: Finding, live: bool = False) -> str:
    location = finding.location
    commit = cell(finding.commit.sha[:10]) if finding.commit else ""
    severity = f"{_SEVERITY_ICON[finding.severity.value]} {finding.severity.value}"
    row = (
        f"| {severity} | {code(finding.rule_id)} | {code(f'{location.path}:{location.line}')} | "
        f"{code(finding.redacted)} | {commit} |"
    )
    if live:
        verification = finding.verification
        row += f" {cell(verification.status.value) if verification else ''} |"
    return row
