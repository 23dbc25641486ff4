"""Format name → reporter class. Adding a format: its module, one line here, a test file."""

from __future__ import annotations

from leakstop.report import Reporter
from leakstop.report.github import GithubReporter
from leakstop.report.json import JsonReporter
from leakstop.report.markdown import MarkdownReporter
from leakstop.report.sarif import SarifReporter
from leakstop.report.text import TextReporter

REPORTERS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "json": JsonReporter,
    "sarif": SarifReporter,
    "github": GithubReporter,
    "markdown": MarkdownReporter,
}
