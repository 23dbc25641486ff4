from __future__ import annotations

import io
from pathlib import Path

from leakstop.report import ReportOptions
from leakstop.report.text import TextReporter
from leakstop.results import ScanResult, ScanStats
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, assert_golden, assert_safe_output

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "report.txt"


def _render(result: ScanResult, **options: object) -> str:
    out = io.StringIO()
    TextReporter(ReportOptions(**options)).write(result, out)  # type: ignore[arg-type]
    return out.getvalue()


def test_plain_when_not_a_terminal_matches_golden(result: ScanResult, tmp_path: Path) -> None:
    text = _render(result, root=Path("."))
    assert "\x1b[" not in text
    assert_golden(EXPECTED, text)


def test_repository_text_cannot_steer_the_terminal_or_the_runner(result: ScanResult) -> None:
    text = _render(result)
    assert_safe_output(text)
    lines = text.splitlines()
    assert "\\::stop-commands::tok\\n##\\[error]x\\x1b[2K\\u202egnp.env" in lines
    assert "│ \\x1b[2K\\x1b[1A ##\\[stop-commands]tok key = \\x9b2JA…\\x1b[1A" in text
    assert "Mallory\\r\\n::add-mask::x <m@example.com\\u2028##\\[warning]y>" in text
    assert "Custom key\\n::error::from a rule file" in text


def test_colour_when_forced(result: ScanResult) -> None:
    assert "\x1b[" in _render(result, color=True)


def test_grouped_by_file_without_secrets(result: ScanResult) -> None:
    text = _render(result)
    assert text.count("src/app.py") == 1
    assert GITHUB_TOKEN not in text
    assert AWS_KEY_ID not in text
    assert "ghp_…4xXH" in text


def test_show_secrets(result: ScanResult) -> None:
    assert GITHUB_TOKEN in _render(result, show_secrets=True)


def test_clean_summary(result: ScanResult) -> None:
    empty = ScanResult([], ScanStats(scanned=3, bytes=10), result.rules)
    assert "No secrets found" in _render(empty)
