from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import jsonschema

from leakstop import __version__
from leakstop.report import ReportOptions
from leakstop.report.json import JsonReporter
from leakstop.results import ScanResult
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, assert_golden, assert_safe_output
from tests.report.conftest import HOSTILE_CONTEXT, HOSTILE_PATH

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "report.json"


def _render(result: ScanResult, **options: object) -> str:
    out = io.StringIO()
    JsonReporter(ReportOptions(**options)).write(result, out)  # type: ignore[arg-type]
    return out.getvalue()


def _schema() -> dict:  # type: ignore[type-arg]
    text = resources.files("leakstop.report").joinpath("schemas/report-v1.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def test_matches_golden_file(result: ScanResult) -> None:
    rendered = _render(result).replace(f'"version": "{__version__}"', '"version": "VERSION"')
    assert_golden(EXPECTED, rendered)


def test_text_is_safe_to_print_and_values_stay_exact(result: ScanResult) -> None:
    text = _render(result, show_secrets=True)
    assert_safe_output(text)
    hostile = json.loads(text)["findings"][-1]
    assert hostile["path"] == HOSTILE_PATH
    assert hostile["context"] == HOSTILE_CONTEXT
    assert hostile["secret"] == result.findings[-1].secret
    assert hostile["commit"]["author_name"] == "Mallory\r\n::add-mask::x"
    assert "tok\\n##\\u005berror]x" in text


def test_validates_against_the_published_schema(result: ScanResult) -> None:
    jsonschema.validate(json.loads(_render(result)), _schema())
    jsonschema.validate(json.loads(_render(result, show_secrets=True)), _schema())


def test_secrets_only_with_show_secrets(result: ScanResult) -> None:
    hidden = _render(result)
    assert GITHUB_TOKEN not in hidden
    assert AWS_KEY_ID not in hidden
    shown = json.loads(_render(result, show_secrets=True))
    assert next(f["secret"] for f in shown["findings"]) == GITHUB_TOKEN
