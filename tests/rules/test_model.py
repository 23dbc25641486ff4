from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakstop.finding import redact
from leakstop.rules import Rule, load_builtin_rules
from leakstop.rules.model import MIN_HIDDEN

PEM_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEApqoQCh4GMQ5Vo3tmfTef4aS8QDdX+Vqi"
    + "A" * 64
    + "\n-----END RSA PRIVATE KEY-----"
)


@pytest.fixture(scope="module")
def rules() -> dict[str, Rule]:
    return {rule.id: rule for rule in load_builtin_rules()}


@pytest.mark.parametrize(
    ("rule_id", "secret", "shown"),
    [
        ("github-pat", "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", "ghp_…4xXH"),
        ("github-fine-grained-pat", "github_pat_11A" + "b" * 79, "github_pat_…bbbb"),
        (
            "slack-bot-token",
            "xoxb-37513314024-4128424849934-8dWDBKbgk97bmGTou0TTdjHC",
            "xoxb-…djHC",
        ),
        ("aws-access-key-id", "AKIAQYLPMN5HHHFPZAM2", "AKIA…M2"),
        ("aws-access-key-id", "akiaqylpmn5hhhfpzam2", "akia…m2"),  # keywords ignore case
        ("stripe-secret-key", "sk_live_" + "x1" * 49, "sk_live_…x1x1"),
        ("private-key-rsa", PEM_KEY, "-----BEGIN RSA PRIVATE KEY…----"),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ", "eyJ…VyZQ"),
        ("generic-password", "Summer2024!Deploy", "[redacted]"),
        ("postgres-uri-password", "Vq7rTz2LmK9x", "[redacted]"),
    ],
)
def test_real_rules_show_only_their_public_prefix(
    rules: dict[str, Rule], rule_id: str, secret: str, shown: str
) -> None:
    rule = rules[rule_id]
    assert redact(secret, rule.public_prefix(secret), rule.password_like) == shown


def test_password_like_rules(rules: dict[str, Rule]) -> None:
    assert rules["generic-password"].password_like  # generic and tagged
    assert rules["generic-secret"].password_like  # generic: a person may have chosen it
    assert rules["netrc-password"].password_like  # tagged only
    assert not rules["github-pat"].password_like
    assert rules["generic-secret"].public_prefix("token_abcdefghijklmnopqrstuvwxyz") == 0


@given(secret=st.text(max_size=80), keyword=st.text("abcdefgh_-", min_size=1, max_size=40))
def test_public_prefix_keeps_half_and_min_hidden_characters(secret: str, keyword: str) -> None:
    rule = Rule(id="x", description="x", regex="x", keywords=(keyword,))
    prefix = rule.public_prefix(keyword + secret)
    length = len(keyword) + len(secret)
    assert 0 <= prefix <= length // 2
    assert prefix == 0 or length - prefix >= MIN_HIDDEN
    if length - len(keyword) >= max(MIN_HIDDEN, length - length // 2):
        assert prefix == len(keyword)


def test_public_prefix_is_the_longest_keyword_at_the_start() -> None:
    rule = Rule(id="x", description="x", regex="x", keywords=("sk_", "sk_live_", "live"))
    assert rule.public_prefix("sk_live_" + "a" * 30) == 8
    assert rule.public_prefix("xsk_live_" + "a" * 30) == 0  # not at the start
    assert rule.public_prefix("-----" + "a" * 30) == 0  # armour alone is no prefix
