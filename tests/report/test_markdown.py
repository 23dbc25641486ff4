from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.report import ReportOptions
from leakstop.report import markdown as markdown_module
from leakstop.report.markdown import MarkdownReporter, cell, code
from leakstop.results import ScanResult, ScanStats
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, assert_golden, assert_safe_output

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "report.md"


def _render(result: ScanResult, **options: object) -> str:
    return MarkdownReporter(ReportOptions(**options)).render(result)  # type: ignore[arg-type]


def test_matches_golden_file(result: ScanResult) -> None:
    assert_golden(EXPECTED, _render(result))


def test_repository_text_cannot_steer_the_terminal_or_the_runner(result: ScanResult) -> None:
    text = _render(result)
    assert_safe_output(text)
    rows = [line for line in text.splitlines() if line.startswith("| 🟡")]
    assert rows == [
        "| 🟡 medium | `aws-access-key-id` | "
        "`\\::stop-commands::tok\\n##\\[error]x\\x1b[2K\\u202egnp.env:2` | "
        "`\\x9b2JA…\\x1b[1A` | fedcba9876 |"
    ]


def test_one_row_per_finding_most_severe_first_without_secrets(result: ScanResult) -> None:
    text = _render(result)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    severities = [row.split(" | ")[0] for row in rows]
    assert severities == ["| 🔴 critical", "| 🟠 high", "| 🟠 high", "| 🟡 medium"]
    assert GITHUB_TOKEN not in text
    assert AWS_KEY_ID not in text
    assert "| 0123456789 |" in text  # the commit that introduced it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", "a\\|b"),
        ("`code`", "'code'"),
        ("two\nlines", "two\\\\nlines"),
        ("##[error]", "##\\\\[error]"),
    ],
)
def test_cell(text: str, expected: str) -> None:
    assert cell(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", "`a\\|b`"),
        ("`x`", "`'x'`"),
        ("C:\\dir\\f.env", "`C:\\dir\\f.env`"),  # a code span shows backslashes as they are
        ("two\nlines ##[error]", "`two\\nlines ##\\[error]`"),
    ],
)
def test_code(text: str, expected: str) -> None:
    assert code(text) == expected


def test_a_long_table_is_cut_with_a_note(
    result: ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(markdown_module, "MAX_BYTES", 500)
    text = _render(result)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert 0 < len(rows) < 4
    assert f"… and {4 - len(rows)} more (see the SARIF or JSON report)." in text


def test_clean(result: ScanResult) -> None:
    clean = ScanResult([], ScanStats(scanned=1, bytes=10, seconds=0.1), result.rules)
    assert "✅ **No secrets found.** Scanned 1 file (0.0 MB) in 0.1 s." in _render(clean)
