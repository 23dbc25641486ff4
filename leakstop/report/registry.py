"""Format name → reporter class. Adding a format: its module, one line here, a test file.

Each reporter's module is imported when its format is asked for: the terminal report needs
rich and SARIF needs attrs (~35 ms together), and a JSON scan in CI needs neither."""

from __future__ import annotations

import importlib

from leakstop.report import Reporter

#: Format name → "module:class".
_REPORTERS = {
    "text": "leakstop.report.text:TextReporter",
    "json": "leakstop.report.json:JsonReporter",
    "sarif": "leakstop.report.sarif:SarifReporter",
    "github": "leakstop.report.github:GithubReporter",
    "markdown": "leakstop.report.markdown:MarkdownReporter",
}

FORMATS: tuple[str, ...] = tuple(_REPORTERS)


def reporter_class(name: str) -> type[Reporter]:
    """The reporter of format `name` (one of FORMATS)."""
    module, _, cls = _REPORTERS[name].partition(":")
    reporter: type[Reporter] = getattr(importlib.import_module(module), cls)
    return reporter
