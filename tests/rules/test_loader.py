"""Rule files: typed `respond:` and `verify:` specs, one clear error for a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.errors import RuleError
from leakstop.rules.loader import load_builtin_rules, load_rule_document
from leakstop.rules.model import RespondSpec, ResponseAction, VerifySpec

RULE = """version: 1
rules:
  - id: acme-key
    description: ACME key
    regex: '\\b(?P<secret>acme_[a-z0-9]{32})\\b'
    keywords: [acme_]
"""


def test_respond_and_verify_are_typed() -> None:
    (rule,) = load_rule_document(
        RULE + "    respond: {provider: webhook, action: notify}\n    verify: {verifier: acme}\n",
        "acme.yaml",
    )
    assert rule.respond == RespondSpec("webhook", ResponseAction.NOTIFY)
    assert rule.verify == VerifySpec("acme")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    respond: {provider: webhook, action: explode}\n", "action must be one of"),
        ("    respond: {provider: webhook}\n", "missing required key 'action'"),
        ("    respond: {provider: 'Web Hook', action: notify}\n", "not a provider type name"),
        ("    respond: {provider: aws, action: rotate, when: now}\n", "unknown key 'when'"),
        ("    respond: rotate\n", "respond"),
        ("    verify: {url: 'https://x'}\n", "unknown key 'url'"),
    ],
)
def test_bad_specs_name_the_file_rule_and_line(extra: str, message: str) -> None:
    with pytest.raises(RuleError, match=message) as error:
        load_rule_document(RULE + extra, "acme.yaml")
    assert "acme.yaml: rule 'acme-key'" in str(error.value)


def test_builtin_respond_specs_are_typed() -> None:
    specs = {rule.id: rule.respond for rule in load_builtin_rules() if rule.respond}
    assert specs["github-pat"] == RespondSpec("github", ResponseAction.REVOKE)
    assert all(isinstance(spec, RespondSpec) for spec in specs.values())


def test_a_rule_id_with_a_trailing_newline_is_refused() -> None:
    text = RULE.replace("id: acme-key", 'id: "acme-key\\n"')
    with pytest.raises(RuleError, match="id must be lower-case"):
        load_rule_document(text, "acme.yaml")


def test_builtin_rules_come_back_the_same_from_the_json_cache_and_survive_a_bad_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shape() -> list[tuple[object, ...]]:
        return [
            (r.id, r.regex, r.keywords, r.severity, r.paths, r.triggers, r.positives, r.negatives)
            for r in load_builtin_rules()
        ]

    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(tmp_path))
    first = shape()  # parses the YAML, writes the entry
    (entry,) = tmp_path.glob("rules-*.json")
    assert shape() == first
    entry.write_text('{"not": "a list"')  # torn or tampered: ignored, parsed again
    assert shape() == first
    entry.write_text("[1, 2]")  # wrong shape: ignored too
    assert shape() == first
