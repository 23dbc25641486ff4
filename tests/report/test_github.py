from __future__ import annotations

import io
from pathlib import Path

import pytest

from leakstop.finding import Severity
from leakstop.report import ReportOptions
from leakstop.report.github import MAX_PER_LEVEL, GithubReporter, escape_data, escape_property
from leakstop.results import ScanResult
from tests.conftest import (
    AWS_KEY_ID,
    GITHUB_TOKEN,
    OWN_COMMANDS,
    assert_golden,
    assert_safe_output,
)
from tests.report.conftest import make_finding

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "report.annotations"


def _render(result: ScanResult) -> str:
    out = io.StringIO()
    GithubReporter(ReportOptions()).write(result, out)
    return out.getvalue()


def runner_parse(line: str) -> tuple[str, dict[str, str], str]:
    """Command, properties and data of a workflow command, read as the Actions runner reads
    one (ActionCommand.cs `TryParseV2`, `UnescapeProperty`, `UnescapeData`); written out here
    to check our escaping against."""

    def unescape(value: str, property_value: bool) -> str:
        value = value.replace("%0D", "\r").replace("%0A", "\n")
        if property_value:
            value = value.replace("%3A", ":").replace("%2C", ",")
        return value.replace("%25", "%")

    body = line.lstrip()
    assert body.startswith("::")
    end = body.index("::", 2)
    info, data = body[2:end], body[end + 2 :]
    command, _, joined = info.partition(" ")
    properties = {}
    for pair in filter(None, joined.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = unescape(value, property_value=True)
    return command, properties, unescape(data, property_value=False)


def test_matches_golden_file(result: ScanResult) -> None:
    assert_golden(EXPECTED, _render(result))


def test_one_annotation_per_finding_most_severe_first(result: ScanResult) -> None:
    lines = _render(result).splitlines()
    commands = [runner_parse(line)[0] for line in lines]
    assert commands == ["error", "error", "error", "warning"]
    _, properties, message = runner_parse(lines[0])
    assert properties == {
        "file": "src/app.py",
        "line": "3",
        "endLine": "3",
        "title": "leakstop: github-pat",
        "col": "9",
        "endColumn": str(9 + len(GITHUB_TOKEN)),
    }
    assert message == "github-pat description (ghp_…4xXH)"
    assert "in commit 0123456789ab" in runner_parse(lines[2])[2]


def test_repository_text_cannot_steer_the_runner(result: ScanResult) -> None:
    text = _render(result)
    assert_safe_output(text, OWN_COMMANDS)
    # What the runner reads back (after unescaping) is just as safe: one line, no command.
    _, properties, message = runner_parse(text.splitlines()[-1])
    assert properties["file"] == "\\::stop-commands::tok\\n##\\[error]x\\x1b[2K\\u202egnp.env"
    assert message == (
        "Custom key\\n::error::from a rule file (\\x9b2JA…\\x1b[1A) in commit fedcba987654"
    )
    for value in [*properties.values(), message]:
        assert_safe_output(value)


def test_no_secret_in_clear(result: ScanResult) -> None:
    text = _render(result)
    assert GITHUB_TOKEN not in text
    assert AWS_KEY_ID not in text


def test_at_most_ten_per_level_then_a_note(result: ScanResult) -> None:
    result.findings[:] = [
        make_finding("github-pat", GITHUB_TOKEN, f"f{index}.env", 1, Severity.CRITICAL)
        for index in range(MAX_PER_LEVEL + 2)
    ]
    lines = _render(result).splitlines()
    assert sum(line.startswith("::error ") for line in lines) == MAX_PER_LEVEL
    assert lines[-1].startswith("2 more findings are not annotated")


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("k: v, w", "k: v, w", "k%3A v%2C w"),
    ],
)
def test_escapes(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop
