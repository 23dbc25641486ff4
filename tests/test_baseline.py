from __future__ import annotations

import hashlib
import hmac
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from leakstop import baseline as baselines
from leakstop.errors import ConfigError
from leakstop.finding import (
    PASSWORD_MARKER,
    Finding,
    Location,
    Severity,
    fingerprint,
    legacy_fingerprint,
    redact,
)
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN

PASSWORD = "Summer2024!Deploy"
KEY = b"k"


def _finding(secret: str, path: str = "a.env", line: int = 1, rule: str = "github-pat") -> Finding:
    return Finding(
        rule_id=rule,
        description="d",
        severity=Severity.HIGH,
        location=Location(path, line, 1, line, len(secret) + 1),
        secret=secret,
        fingerprint=fingerprint(rule, secret, KEY),
        entropy=4.0,
        context=redact(secret),
        public_prefix=4,
    )


def _password_finding(secret: str = PASSWORD, wired: bool = True) -> Finding:
    """A generic password as the detector reports it; `wired=False`: as it reports one
    before it sets the password fields (version-1 fingerprint, no legacy one)."""
    rule = "generic-password"
    return Finding(
        rule_id=rule,
        description="d",
        severity=Severity.HIGH,
        location=Location("settings.py", 3, 1, 3, len(secret) + 1),
        secret=secret,
        fingerprint=fingerprint(rule, secret, KEY, password_like=wired),
        entropy=3.5,
        password_like=wired,
        legacy_fingerprint=legacy_fingerprint(rule, secret, KEY) if wired else None,
    )


def _v1_entry(rule: str, secret: str, path: str, status: str, note: str) -> dict[str, Any]:
    """An entry as release 0.1 wrote it: HMAC-SHA256 fingerprint, two fifths shown."""
    digest = hmac.new(KEY, rule.encode() + b"\0" + secret.encode(), hashlib.sha256).hexdigest()
    keep = min(4, len(secret) // 5)
    return {
        "fingerprint": digest[:32],
        "rule_id": rule,
        "path": path,
        "line": 3,
        "secret_redacted": f"{secret[:keep]}…{secret[-keep:]}",
        "commit": None,
        "status": status,
        "note": note,
    }


def _write_v1(target: Path, *entries: dict[str, Any]) -> None:
    document = {
        "version": 1,
        "generated_by": "leakstop 0.1.0",
        "fingerprint_key": "root:abc",
        "findings": list(entries),
    }
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    target = tmp_path / "b.json"
    _write_v1(
        target,
        _v1_entry("generic-password", PASSWORD, "settings.py", "accepted", "staging only"),
        _v1_entry("github-pat", GITHUB_TOKEN, "a.env", "false-positive", "a test token"),
    )
    return target


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


def test_a_version_1_baseline_still_suppresses_its_findings(
    v1_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        baseline = baselines.load(v1_file)
    assert baseline.contains(_password_finding())  # by its legacy fingerprint
    assert baseline.contains(_password_finding(wired=False))
    assert baseline.contains(_finding(GITHUB_TOKEN))  # token fingerprints did not change
    assert not baseline.contains(_password_finding("Winter2025!Deploy"))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"run `leakstop baseline update {v1_file}`" in warnings[0].getMessage()
    assert "offline" in warnings[0].getMessage()


def test_a_version_1_baseline_of_tokens_loads_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "b.json"
    _write_v1(target, _v1_entry("github-pat", GITHUB_TOKEN, "a.env", "accepted", ""))
    with caplog.at_level(logging.WARNING):
        assert baselines.load(target).contains(_finding(GITHUB_TOKEN))
    assert caplog.records == []


def test_password_rules_come_from_the_caller(
    v1_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        baselines.load(v1_file, password_rules={"acme-password"})
    assert caplog.records == []


def test_baseline_update_loads_without_the_warning_it_would_repeat(
    v1_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        baseline = baselines.load(v1_file, warn=False)
    assert caplog.records == []
    by_rule = {e.rule_id: e.secret_redacted for e in baseline.legacy.values()}
    assert by_rule["generic-password"] == PASSWORD_MARKER


def test_update_upgrades_version_1_keeping_reviews(v1_file: Path) -> None:
    baseline = baselines.load(v1_file)
    password, token = _password_finding(), _finding(GITHUB_TOKEN, "moved.env", 9)
    assert baseline.update([password, token]) == (2, 0, 0)
    baselines.save(baseline, v1_file)
    text = v1_file.read_text()
    document = json.loads(text)
    assert document["version"] == 2
    assert "legacy" not in document
    assert password.legacy_fingerprint not in text  # the fast fingerprint is gone
    assert "Sum…" not in text
    assert "…loy" not in text
    entries = {e["rule_id"]: e for e in document["findings"]}
    assert entries["generic-password"]["fingerprint"] == password.fingerprint
    assert entries["generic-password"]["secret_redacted"] == PASSWORD_MARKER
    assert (entries["generic-password"]["status"], entries["generic-password"]["note"]) == (
        "accepted",
        "staging only",
    )
    assert (entries["github-pat"]["status"], entries["github-pat"]["note"]) == (
        "false-positive",
        "a test token",
    )
    assert entries["github-pat"]["path"] == "a.env"  # the reviewed place, as for any kept entry
    reloaded = baselines.load(v1_file)
    assert reloaded.contains(password)
    assert reloaded.contains(token)


def test_update_drops_or_keeps_legacy_entries_no_longer_found(v1_file: Path) -> None:
    kept = baselines.load(v1_file)
    assert kept.update([], keep_missing=True) == (0, 0, 0)
    baselines.save(kept, v1_file)
    document = json.loads(v1_file.read_text())
    assert document["version"] == 2
    assert len(document["legacy"]) == 2
    # The version-1 redaction showed two fifths of the password; it is not written again.
    assert "Sum…loy" not in v1_file.read_text()
    assert baselines.load(v1_file).contains(_password_finding())
    dropped = baselines.load(v1_file)
    assert dropped.update([]) == (0, 0, 2)
    assert not dropped.legacy


def test_create_writes_version_2_with_slow_password_fingerprints(tmp_path: Path) -> None:
    password = _password_finding()
    target = tmp_path / "b.json"
    baselines.save(baselines.from_findings([password], "root:abc"), target)
    document = json.loads(target.read_text())
    assert document["version"] == 2
    assert [e["fingerprint"] for e in document["findings"]] == [password.fingerprint]
    assert password.legacy_fingerprint not in target.read_text()


def test_an_unknown_status_is_refused_with_its_line(tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    baseline = baselines.from_findings([_finding(GITHUB_TOKEN), _finding(AWS_KEY_ID)], "default")
    baselines.save(baseline, target)
    lines = target.read_text().splitlines()
    bad = max(i for i, line in enumerate(lines) if '"status"' in line)
    lines[bad] = lines[bad].replace('"unreviewed"', '"acepted"')
    target.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as error:
        baselines.load(target)
    message = str(error.value)
    assert message.startswith(f'{target}:{bad + 1}: unknown status "acepted"')
    assert "accepted" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "status",
    [None, 3, "\x1b]0;pwned\x07" + "x" * 100],
)
def test_a_status_that_is_no_status_is_refused_on_one_line(tmp_path: Path, status: object) -> None:
    entry = _v1_entry("github-pat", GITHUB_TOKEN, "a.env", "accepted", "")
    entry["status"] = status
    target = tmp_path / "b.json"
    _write_v1(target, entry)
    with pytest.raises(ConfigError, match="unknown status") as error:
        baselines.load(target)
    message = str(error.value)
    assert "\n" not in message
    assert "\x1b" not in message
    assert len(message.removeprefix(str(target))) < 150  # the value is cut short


def test_an_imported_entry_status_is_checked(tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    document = {
        "version": 2,
        "fingerprint_key": "default",
        "findings": [],
        "imported": [{"path": "a", "sha1": "0" * 40, "type": "t", "line": 1, "status": "maybe"}],
    }
    target.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=r"b\.json:1: unknown status \"maybe\""):
        baselines.load(target)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"version": 7}', "version 7 is newer than this leakstop reads"),
        ('{"version": "1"}', "not a leakstop baseline"),
        ('{"version": true}', "not a leakstop baseline"),
        ("[]", "not a leakstop baseline"),
        ('{"version": 1, "fingerprint_key": "d", "findings": {}}', "malformed"),
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


# Found by tests/fuzz/test_baseline.py: both loaded, then crashed (exit 3) instead of a
# ConfigError naming the file.
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            json.dumps(
                {
                    "version": 2,
                    "fingerprint_key": "k",
                    "findings": [
                        {
                            "fingerprint": "a",
                            "rule_id": "r",
                            "path": "p",
                            "line": "one",
                            "secret_redacted": "x",
                        },
                    ],
                }
            ),
            "line is str, not int",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_baseline_of_the_wrong_shape_is_a_config_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        baselines.load(path)
