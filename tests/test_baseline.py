from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakstop import baseline as baselines
from leakstop.errors import ConfigError
from leakstop.finding import Finding, Location, Severity, fingerprint, redact
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN


def _finding(secret: str, path: str = "a.env", line: int = 1, rule: str = "github-pat") -> Finding:
    return Finding(
        rule_id=rule,
        description="d",
        severity=Severity.HIGH,
        location=Location(path, line, 1, line, len(secret) + 1),
        secret=secret,
        fingerprint=fingerprint(rule, secret, b"k"),
        entropy=4.0,
        context=redact(secret),
    )


def test_round_trip_is_stable_and_has_no_secret(tmp_path: Path) -> None:
    findings = [
        _finding(GITHUB_TOKEN, "z.env", 9),
        _finding(AWS_KEY_ID, "a.env", 2, "aws-access-key-id"),
    ]
    baseline = baselines.from_findings(findings, "root:abc")
    target = tmp_path / "b.json"
    baselines.save(baseline, target)
    text = target.read_text()
    assert GITHUB_TOKEN not in text
    assert AWS_KEY_ID not in text
    assert [e["path"] for e in json.loads(text)["findings"]] == ["a.env", "z.env"]
    loaded = baselines.load(target)
    assert loaded.fingerprint_key == "root:abc"
    baselines.save(loaded, target)
    assert target.read_text() == text  # saving again changes nothing: no churn
    assert all(loaded.contains(f) for f in findings)


def test_contains_ignores_path_and_line() -> None:
    baseline = baselines.from_findings([_finding(GITHUB_TOKEN)], "default")
    assert baseline.contains(_finding(GITHUB_TOKEN, "elsewhere/b.env", 300))
    assert not baseline.contains(_finding(GITHUB_TOKEN[:-1] + "X"))


def test_update_keeps_reviews_adds_new_and_drops_fixed() -> None:
    old, fixed, new = _finding(GITHUB_TOKEN), _finding("ghp_" + "b" * 36), _finding(AWS_KEY_ID)
    baseline = baselines.from_findings([old, fixed], "default")
    baseline.entries[old.fingerprint].status = "accepted"
    baseline.entries[old.fingerprint].note = "test fixture, revoked"
    moved = _finding(GITHUB_TOKEN, "moved.env", 40)
    assert baseline.update([moved, new]) == (1, 1, 1)
    entry = baseline.entries[old.fingerprint]
    assert (entry.status, entry.note, entry.path, entry.line) == (
        "accepted",
        "test fixture, revoked",
        "a.env",
        1,
    )
    assert set(baseline.entries) == {old.fingerprint, new.fingerprint}


def test_update_can_keep_missing_entries() -> None:
    baseline = baselines.from_findings([_finding(GITHUB_TOKEN)], "default")
    assert baseline.update([], keep_missing=True) == (1, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"version": 7}', "not a leakstop baseline"),
        ('{"version": 1, "fingerprint_key": "d", "findings": [{"fingerprint": "x"}]}', "malformed"),
        ('{"plugins_used": [], "results": {}}', "leakstop baseline import"),
    ],
)
def test_bad_baselines(tmp_path: Path, content: str, message: str) -> None:
    target = tmp_path / "b.json"
    target.write_text(content)
    with pytest.raises(ConfigError, match=message):
        baselines.load(target)


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="baseline file not found"):
        baselines.load(tmp_path / "nope.json")
