"""Reporters: one module per output format, all behind the `Reporter` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from leakstop.results import ScanResult


@dataclass(frozen=True)
class ReportOptions:
    #: Print secrets in clear (local use only; never the default).
    show_secrets: bool = False
    #: The directory finding paths are relative to.
    root: Path = Path(".")
    #: Colour for the text report: None decides from the output stream.
    color: bool | None = None
    #: SARIF `runAutomationDetails.id` prefix: separates analyses in GitHub code scanning.
    category: str = "leakstop"
    #: A line for the text report to end with when there are findings (what to do next).
    hint: str = ""
    #: Heading of the Markdown report.
    title: str = "leakstop"


class Reporter(Protocol):
    def __init__(self, options: ReportOptions) -> None: ...

    def write(self, result: ScanResult, out: TextIO) -> None: ...
