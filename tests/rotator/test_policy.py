"""The response plan: one entry per distinct secret, the provider its rule names."""

from __future__ import annotations

from leakstop.finding import Finding, Location, Severity
from leakstop.rotator.policy import plan
from leakstop.rules import Rule


def _finding(rule_id: str, fingerprint: str, path: str = "a.env") -> Finding:
    return Finding(
        rule_id=rule_id,
        description="d",
        severity=Severity.HIGH,
        location=Location(path, 1, 1, 1, 10),
        secret="s3cr3t-value",
        fingerprint=fingerprint,
        entropy=3.0,
    )


def test_one_entry_per_secret_with_the_provider_its_rule_names(all_rules: list[Rule]) -> None:
    findings = [
        _finding("github-pat", "f1"),
        _finding("github-pat", "f1", "copy.env"),  # the same secret elsewhere
        _finding("aws-access-key-id", "f2"),
        _finding("generic-password", "f3"),
    ]
    entries = plan(findings, all_rules)
    assert [(e.finding.fingerprint, e.provider, e.action) for e in entries] == [
        ("f1", "github", "revoke"),
        ("f2", "aws", "rotate"),
        ("f3", None, None),
    ]
    assert entries[0].effect == "revoke through GitHub's credential revocation API"
    assert entries[2].effect.startswith("no provider can act on this credential")
    assert not any(entry.confirmed for entry in entries)


def test_a_finding_whose_rule_is_unknown_needs_a_person() -> None:
    (entry,) = plan([_finding("gone-rule", "f9")], [])
    assert entry.provider is None
    assert entry.effect == "no provider can act on this credential: rotate it by hand"


def test_a_manual_step_quotes_the_remediation_up_to_its_first_sentence(
    all_rules: list[Rule],
) -> None:
    (entry,) = plan([_finding("postgres-uri-password", "f4")], all_rules)
    # The remediation reads "(ALTER ROLE ... PASSWORD)": its dots do not end the sentence.
    assert "(ALTER ROLE ... PASSWORD)" in entry.effect
    assert entry.effect.endswith(")")
    assert entry.effect.count("(") == entry.effect.count(")")
