"""The terminal report: findings grouped by file, coloured on a TTY, plain when piped."""

from __future__ import annotations

import os
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leakstop.finding import Finding, Severity
from leakstop.report import ReportOptions
from leakstop.results import ScanResult, ScanStats
from leakstop.textsafe import sanitize

if TYPE_CHECKING:
    from rich.text import Text

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


#: A live credential is the worst news; a dead one the least.
_VERIFICATION_STYLE = {"verified": "bold red", "invalid": "green", "unknown": "yellow"}


class TextReporter:
    """Every string from the repository or a rule file is sanitized: it can neither move the
    terminal's cursor nor start a workflow command in an Actions log."""

    def __init__(self, options: ReportOptions) -> None:
        self.options = options

    def write(self, result: ScanResult, out: TextIO) -> None:
        # rich is imported here, not with the module: ~20 ms no JSON or SARIF scan needs.
        from rich.console import Console
        from rich.text import Text

        console = Console(
            file=out,
            force_terminal=self.options.color,
            no_color=self.options.color is False,
            highlight=False,
            emoji=False,
            soft_wrap=True,
        )
        findings = result.findings
        width = max((len(_position(f)) for f in findings), default=0)
        rule_width = max((len(sanitize(f.rule_id)) for f in findings), default=0)
        for path, group in groupby(findings, key=lambda f: f.location.path):
            console.print(Text(sanitize(self._display_path(path)), style="bold underline"))
            for finding in group:
                console.print(self._line(finding, width, rule_width))
                if finding.commit is not None:
                    commit = finding.commit
                    console.print(
                        Text(" " * (width + 4))
                        + Text(
                            f"commit {sanitize(commit.sha[:10])} · {sanitize(commit.author_name)} "
                            f"<{sanitize(commit.author_email)}> · {sanitize(commit.date)}",
                            style="dim",
                        )
                    )
                if finding.verification is not None:
                    console.print(
                        Text(" " * (width + 4))
                        + Text(
                            f"{finding.verification.status.value}: "
                            f"{sanitize(finding.verification.reason)}",
                            style="dim",
                        )
                    )
                if finding.context:
                    console.print(
                        Text(" " * (width + 4) + "│ " + sanitize(finding.context), style="dim")
                    )
            console.print()
        console.print(_summary(findings, result.stats))
        if findings and self.options.hint:
            console.print(Text(self.options.hint, style="bold"))

    def _line(self, finding: Finding, width: int, rule_width: int) -> Text:
        from rich.text import Text

        line = Text("  ")
        line.append(_position(finding).ljust(width), style="dim")
        line.append("  ")
        line.append(finding.severity.value.ljust(8), style=_SEVERITY_STYLE[finding.severity])
        line.append(" ")
        line.append(sanitize(finding.rule_id).ljust(rule_width), style="magenta")
        line.append("  ")
        shown = finding.secret if self.options.show_secrets else finding.redacted
        line.append(sanitize(shown), style="bold")
        line.append("  ")
        line.append(sanitize(finding.description))
        if finding.validated:
            line.append("  (well-formed)", style="green")
        if finding.verification is not None:
            status = finding.verification.status.value
            line.append(f"  [{status}]", style=_VERIFICATION_STYLE[status])
        return line

    def _display_path(self, path: str) -> str:
        if os.path.isabs(path):
            return path
        try:
            return os.path.relpath(self.options.root / path)
        except ValueError:  # another drive on Windows
            return str(Path(self.options.root, path))


def _position(finding: Finding) -> str:
    return f"{finding.location.line}:{finding.location.column}"


def _summary(findings: list[Finding], stats: ScanStats) -> Text:
    from rich.text import Text

    files = len({f.location.path for f in findings})
    scanned = (
        f"scanned {stats.scanned} {_plural(stats.scanned, stats.unit)} "
        f"({_size(stats.bytes)}) in {stats.seconds:.2f} s"
    )
    skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(stats.skipped.items()))
    tail = f" · {scanned}" + (f" · skipped {skipped}" if skipped else "")
    if stats.baselined:
        tail += f" · {stats.baselined} known in the baseline"
    if stats.unverified:
        tail += f" · {stats.unverified} not verified live, left out (--only-verified)"
    if not findings:
        head = "✓ No verified secrets" if stats.unverified else "✓ No secrets found"
        return Text(head, style="bold green") + Text(tail, style="dim")
    head = (
        f"✗ {len(findings)} {_plural(len(findings), 'secret')} in {files} {_plural(files, 'file')}"
    )
    return Text(head, style="bold red") + Text(tail, style="dim")


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
