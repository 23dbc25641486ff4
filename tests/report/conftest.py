"""A fixed scan result for reporter tests (golden files depend on nothing else)."""

from __future__ import annotations

from collections import Counter

import pytest

from leakstop.finding import Commit, Finding, Location, Severity, fingerprint, redact
from leakstop.results import ScanResult, ScanStats
from leakstop.rules import Rule, load_builtin_rules
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN


def make_finding(
    rule_id: str,
    secret: str,
    path: str,
    line: int,
    severity: Severity = Severity.HIGH,
    commit: Commit | None = None,
    description: str | None = None,
    context: str | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        description=f"{rule_id} description" if description is None else description,
        severity=severity,
        location=Location(path, line, 9, line, 9 + len(secret)),
        secret=secret,
        fingerprint=fingerprint(rule_id, secret, b"test-key"),
        entropy=4.25,
        context=f"token = {redact(secret, 4)}" if context is None else context,
        commit=commit,
        tags=("test",),
        validated=rule_id == "github-pat",
        public_prefix=4,  # ghp_, AKIA: what Rule.public_prefix gives for both rules
    )


@pytest.fixture(scope="session")
def report_rules() -> list[Rule]:
    wanted = {"github-pat", "aws-access-key-id"}
    return [rule for rule in load_builtin_rules() if rule.id in wanted]


#: Repository text that tries to steer a terminal or the Actions runner: a workflow command at
#: the start of a line, a legacy `##[` command anywhere, cursor movement, a bidi override.
HOSTILE_PATH = "::stop-commands::tok\n##[error]x\x1b[2K\u202egnp.env"
HOSTILE_CONTEXT = "\x1b[2K\x1b[1A ##[stop-commands]tok key = \x9b2JA…\x1b[1A"


def hostile_finding() -> Finding:
    """A finding whose every foreign string is hostile, from a commit by a hostile author."""
    commit = Commit(
        sha="fedcba9876543210fedcba9876543210fedcba98",
        author_name="Mallory\r\n::add-mask::x",
        author_email="m@example.com\u2028##[warning]y",
        date="2024-03-02T08:00:00+00:00",
        summary="\u202eadd\x1b]0;title\x07",
    )
    return make_finding(
        "aws-access-key-id",
        "\x9b2J" + AWS_KEY_ID * 2 + "\x1b[1A",  # long enough to show its hostile tail
        HOSTILE_PATH,
        2,
        Severity.MEDIUM,
        commit=commit,
        description="Custom key\n::error::from a rule file",
        context=HOSTILE_CONTEXT,
    )


@pytest.fixture
def result(report_rules: list[Rule]) -> ScanResult:
    commit = Commit(
        sha="0123456789abcdef0123456789abcdef01234567",
        author_name="Ada Lovelace",
        author_email="ada@example.com",
        date="2024-03-01T12:00:00+00:00",
        summary="add config",
    )
    findings = [
        make_finding("github-pat", GITHUB_TOKEN, "src/app.py", 3, Severity.CRITICAL),
        make_finding("aws-access-key-id", AWS_KEY_ID, "src/app.py", 7),
        make_finding("aws-access-key-id", AWS_KEY_ID, "deploy/my file.env", 1, commit=commit),
        hostile_finding(),
    ]
    stats = ScanStats(scanned=12, bytes=34567, skipped=Counter({"binary": 2}), seconds=0.5)
    return ScanResult(findings, stats, report_rules, "hyperscan")
