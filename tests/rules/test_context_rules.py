"""Context rules: an issuer name, an assignment, then a value of the issuer's alphabet."""

from __future__ import annotations

import pytest
import regex

from leakstop.errors import RuleError
from leakstop.rules.loader import load_rule_document

CONTEXT_RULE = """version: 1
rules:
  - id: acme-api-key
    description: ACME API key, next to an ACME name
    context:
      names: [acmecorp, acme-corp]
      value: '[a-f0-9]{32}'
"""
VALUE = "5d41402abc4b2a76b9719d911017c592"


def _secret(text: str) -> str | None:
    (rule,) = load_rule_document(CONTEXT_RULE, "acme.yaml")
    match = regex.compile(rule.regex.encode()).search(text.encode())
    return match.group("secret").decode() if match else None


def test_names_become_the_keywords() -> None:
    (rule,) = load_rule_document(CONTEXT_RULE, "acme.yaml")
    assert rule.keywords == ("acmecorp", "acme-corp")


@pytest.mark.parametrize(
    "text",
    [
        f"ACMECORP_API_KEY={VALUE}",
        f'acme-corp.token: "{VALUE}"',
        f"export AcmeCorpKey='{VALUE}'",
        f'client = AcmeCorp(api_key="{VALUE}")',
        f'{{"acmecorp_secret": "{VALUE}"}}',
    ],
)
def test_the_value_is_found_after_the_name(text: str) -> None:
    assert _secret(text) == VALUE


@pytest.mark.parametrize(
    "text",
    [
        f"key={VALUE}  # acmecorp",  # the name after the value
        f"notacmecorp_key={VALUE}",  # the name inside another word
        f"ACMECORP_KEY={VALUE}ff",  # the value inside a longer token
        f"ACMECORP_KEY={VALUE[:-1]}",  # too short
        f"acmecorp is the vendor; see the runbook for the service key handling {VALUE}",
    ],
)
def test_near_misses_are_not_found(text: str) -> None:
    assert _secret(text) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "    context: {names: [acmecorp], value: '[a-f0-9]{32}'}\n    regex: 'x'\n",
            "either `context`",
        ),
        ("    context: {names: [ac], value: '[a-f0-9]{32}'}\n", "3 characters or more"),
        ("    context: {names: [acmecorp], value: '(?P<secret>[a-f0-9]{32})'}\n", "must not name"),
        ("    context: {names: [acmecorp]}\n", "missing required key 'value'"),
    ],
)
def test_bad_context_rules_are_refused_with_one_line(body: str, message: str) -> None:
    text = "version: 1\nrules:\n  - id: acme-api-key\n    description: ACME\n" + body
    with pytest.raises(RuleError, match=message) as error:
        load_rule_document(text, "acme.yaml")
    assert "acme.yaml: rule 'acme-api-key'" in str(error.value)
