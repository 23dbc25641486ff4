"""`revocation:` in the config: defaults, choices, and one clear line (file and line) when
wrong; the schema agrees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakstop.config import parse_config
from leakstop.config.revocation import ApprovalMode, RevocationSettings
from leakstop.errors import ConfigError
from leakstop.finding import Severity
from tests.config.test_schema import _schema_errors


def parse(text: str, tmp_path: Path) -> RevocationSettings | None:
    return parse_config(text, ".leakstop.yaml", base_dir=tmp_path, with_rules=False).revocation


def test_absent_means_the_defaults(tmp_path: Path) -> None:
    assert parse("version: 1\n", tmp_path) is None
    defaults = RevocationSettings()
    assert (defaults.approval_from, defaults.max_without_approval) == (Severity.HIGH, 3)
    assert defaults.approval is ApprovalMode.PERSON


def test_every_option(tmp_path: Path) -> None:
    text = (
        "revocation:\n  approval_from: medium\n  max_without_approval: 10\n"
        "  approval: environment\n  environment: leakstop-revoke\n"
    )
    assert _schema_errors(text) == []
    assert parse(text, tmp_path) == RevocationSettings(
        Severity.MEDIUM, 10, ApprovalMode.ENVIRONMENT, "leakstop-revoke"
    )


@pytest.mark.parametrize(
    ("severity", "count", "many", "why"),
    [
        ("low", 1, False, None),
        ("medium", 1, False, None),
        ("high", 1, False, "severity high is at or above high"),
        ("critical", 1, False, "severity critical is at or above high"),
        ("low", 3, True, None),
        ("low", 4, True, "4 secrets is more than max_without_approval (3)"),
        ("low", 4, False, None),  # the count only limits revoke-all
    ],
)
def test_when_approval_is_needed(severity: str, count: int, many: bool, why: str | None) -> None:
    assert RevocationSettings().needs_approval(Severity(severity), count, many=many) == why


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  approval_from: urgent\n", "'approval_from' must be one of low, medium, high, critical"),
        ("  approval_from: info\n", "'approval_from' must be one of low"),
        ("  max_without_approval: -1\n", "'max_without_approval' must be between 0 and"),
        ("  max_without_approval: many\n", "'max_without_approval' must be an integer"),
        ("  approval: manager\n", "'approval' must be one of person, environment"),
        ("  environment: prod\n", "'environment' needs approval: environment"),
        ("  approvers: [bob]\n", "approvers"),
    ],
)
def test_mistakes_are_one_line_with_the_line_number(
    body: str, message: str, tmp_path: Path
) -> None:
    text = "version: 1\nrevocation:\n" + body
    assert _schema_errors(text) != []
    with pytest.raises(ConfigError) as raised:
        parse(text, tmp_path)
    assert message in str(raised.value)
    assert ".leakstop.yaml:3" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_schema_names_every_key_and_choice() -> None:
    from leakstop.config.revocation import REVOCATION_KEYS, SEVERITIES
    from tests.config.test_schema import DEFS

    schema = DEFS["revocation"]["properties"]
    assert set(schema) == set(REVOCATION_KEYS)
    assert schema["approval_from"]["enum"] == [s.value for s in SEVERITIES]
    assert schema["approval"]["enum"] == [m.value for m in ApprovalMode]


def test_the_readme_examples_pass_the_schema_and_the_parser(tmp_path: Path) -> None:
    from tests.config.test_schema import README

    section = README.read_text("utf-8").split("## Emergency revocation\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"^```yaml\n(revocation:.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        assert _schema_errors(block) == []
        assert parse(block, tmp_path) is not None
