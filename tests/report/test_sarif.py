from __future__ import annotations

import dataclasses
import gzip
import io
import json
import urllib.parse
from pathlib import Path

import jsonschema
import pytest

from leakstop import __version__
from leakstop.finding import Severity
from leakstop.report import ReportOptions
from leakstop.report import sarif as sarif_module
from leakstop.report.sarif import SarifReporter
from leakstop.results import ScanResult
from leakstop.rules import Rule
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, assert_golden, assert_safe_output
from tests.report.conftest import HOSTILE_PATH, make_finding

DATA = Path(__file__).parent.parent / "data"
SCHEMA = json.loads((DATA / "schemas" / "sarif-schema-2.1.0.json").read_text())


def _text(result: ScanResult, category: str = "leakstop") -> str:
    out = io.StringIO()
    SarifReporter(ReportOptions(category=category)).write(result, out)
    return out.getvalue()


def _render(result: ScanResult, category: str = "leakstop") -> dict:  # type: ignore[type-arg]
    return json.loads(_text(result, category))  # type: ignore[no-any-return]


def _validate(document: dict) -> None:  # type: ignore[type-arg]
    jsonschema.Draft4Validator(SCHEMA).validate(document)


def test_validates_against_the_official_schema(result: ScanResult) -> None:
    _validate(_render(result))


def test_matches_golden_file(result: ScanResult) -> None:
    text = json.dumps(_render(result), indent=2).replace(__version__, "VERSION")
    assert_golden(DATA / "expected" / "report.sarif", text + "\n")


def test_what_github_needs(result: ScanResult) -> None:
    run = _render(result, category="leakstop-pr")["runs"][0]
    assert run["automationDetails"]["id"] == "leakstop-pr/"
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"github-pat", "aws-access-key-id"}
    for rule in rules.values():
        assert rule["help"]["text"]
        assert rule["help"]["markdown"]
        assert float(rule["properties"]["security-severity"]) > 0
        assert len(rule["properties"]["tags"]) <= 20
    first = run["results"][0]
    assert first["ruleId"] == "github-pat"
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "src/app.py",
        "uriBaseId": "%SRCROOT%",
    }
    assert set(first["partialFingerprints"]) == {"primaryLocationLineHash", "leakstop/v1"}
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ]
    assert "deploy/my%20file.env" in uris


def test_text_is_safe_to_print_and_locations_stay_exact(result: ScanResult) -> None:
    text = _text(result)
    assert_safe_output(text)
    hostile = json.loads(text)["runs"][0]["results"][-1]
    location = hostile["locations"][0]["physicalLocation"]["artifactLocation"]
    assert urllib.parse.unquote(location["uri"]) == HOSTILE_PATH
    assert hostile["properties"]["author"] == "Mallory\r\n::add-mask::x"
    # What people read is sanitized like every other report.
    assert hostile["message"]["text"] == (
        "Custom key\\n::error::from a rule file: \\x9b2JA…\\x1b[1A"
    )


def test_rule_texts_from_a_user_rule_file_are_sanitized(result: ScanResult) -> None:
    rule = result.rules[0]
    hostile = dataclasses.replace(
        rule,
        description="Acme\u202e key ##[error]",
        remediation="Revoke it:\n::stop-commands::x\n\x1b[2Kthen rotate.",
    )
    text = _text(dataclasses.replace(result, rules=[hostile, *result.rules[1:]]))
    assert_safe_output(text)
    descriptor = json.loads(text)["runs"][0]["tool"]["driver"]["rules"][0]
    assert descriptor["shortDescription"]["text"] == "Acme\\u202e key ##\\[error]"
    # Several lines of remediation stay several lines; each is sanitized.
    assert descriptor["help"]["text"] == "Revoke it:\n\\::stop-commands::x\n\\x1b[2Kthen rotate."
    assert descriptor["id"] == rule.id


def test_partial_fingerprints_survive_a_line_move(result: ScanResult) -> None:
    before = _render(result)["runs"][0]["results"][0]["partialFingerprints"]
    moved = make_finding("github-pat", GITHUB_TOKEN, "src/app.py", 300)
    result.findings[0] = moved
    after = _render(result)["runs"][0]["results"][0]["partialFingerprints"]
    assert before == after


def test_same_secret_twice_in_a_file_gets_distinct_fingerprints(result: ScanResult) -> None:
    result.findings.append(make_finding("aws-access-key-id", AWS_KEY_ID, "src/app.py", 9))
    hashes = [
        r["partialFingerprints"]["primaryLocationLineHash"]
        for r in _render(result)["runs"][0]["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/app.py"
    ]
    assert len(hashes) == len(set(hashes)) == 3


def test_no_secret_in_clear(result: ScanResult) -> None:
    text = json.dumps(_render(result))
    assert GITHUB_TOKEN not in text
    assert AWS_KEY_ID not in text


def test_result_limit_keeps_the_most_severe(
    result: ScanResult, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sarif_module, "MAX_RESULTS", 2)
    document = _render(result)
    _validate(document)
    run = document["runs"][0]
    assert len(run["results"]) == 2
    assert run["results"][0]["ruleId"] == "github-pat"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "2 findings were left out" in notes[0]["message"]["text"]
    assert "truncated to 2 of 4" in caplog.text


def test_real_limits_on_a_large_report(result: ScanResult) -> None:
    """25,001 findings: the upload must stay under 25,000 results and 10 MB gzipped."""
    many = [
        make_finding(
            "aws-access-key-id", f"AKIA{index:016d}", f"gen/file{index % 997}.txt", index % 5000 + 1
        )
        for index in range(25_001)
    ]
    result.findings[:] = many
    out = io.StringIO()
    SarifReporter(ReportOptions()).write(result, out)
    text = out.getvalue()
    assert len(gzip.compress(text.encode())) <= 10 * 1024 * 1024
    assert len(json.loads(text)["runs"][0]["results"]) == 25_000


def test_gzip_limit_truncates(result: ScanResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif_module, "MAX_GZIP_BYTES", 3000)
    result.findings[:] = [
        make_finding("aws-access-key-id", f"AKIA{i:016d}", f"f{i}.txt", 1) for i in range(200)
    ]
    out = io.StringIO()
    SarifReporter(ReportOptions()).write(result, out)
    assert len(gzip.compress(out.getvalue().encode())) <= 3000
    kept = len(json.loads(out.getvalue())["runs"][0]["results"])
    assert 0 < kept < 200


def test_serialises_as_jschema_to_python_does(result: ScanResult) -> None:
    """Our default= hook must write what the library's own (slow) to_json writes: a library
    change to its rules would show here. The log holds defaults to leave out (a `warning`
    level, a rule index of -1), renamed properties, plain dicts and a notification."""
    from jschema_to_python.to_json import to_json

    result.findings.append(
        make_finding("unknown-rule", "Xk4pRz8wQm9aB3", "a.env", 2, Severity.MEDIUM)
    )
    reporter = SarifReporter(ReportOptions())
    log = reporter.log(result.rules, result.findings, 7, known={id(result.findings[0])})
    ours = json.loads(json.dumps(log, default=sarif_module.sarif_object))
    assert ours == json.loads(to_json(log))
    assert ours["$schema"] == sarif_module.SARIF_SCHEMA
    last = ours["runs"][0]["results"][-1]
    assert "level" not in last
    assert "ruleIndex" not in last
    assert ours["runs"][0]["results"][0]["suppressions"][0]["status"] == "accepted"


def test_only_sarif_om_objects_are_serialised() -> None:
    with pytest.raises(TypeError, match="Path is not a sarif-om object"):
        json.dumps({"x": Path("a")}, default=sarif_module.sarif_object)


def test_rule_tags_stay_unique_when_a_rule_is_tagged_security_itself(
    result: ScanResult, all_rules: list[Rule]
) -> None:
    # Found by tests/e2e/test_no_secret_escapes.py: the Action's SARIF, which describes every
    # rule, listed `security` twice for loginradius-api-secret and failed the schema.
    tagged = [rule for rule in all_rules if {"security", "secret"} & set(rule.tags)]
    assert tagged
    document = _render(dataclasses.replace(result, rules=[*result.rules, *tagged]))
    _validate(document)
    for rule in document["runs"][0]["tool"]["driver"]["rules"]:
        tags = rule["properties"]["tags"]
        assert len(tags) == len(set(tags)), rule["id"]
