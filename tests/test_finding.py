from __future__ import annotations

import pytest

from leakstop.finding import Finding, Location, Severity, fingerprint, redact


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("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", "ghp_…4xXH"),
        ("hunter2", "h…2"),
        ("abcd", "…"),
        ("", "…"),
        ("Summer2024!Deploy", "Sum…loy"),
    ],
)
def test_redact_shows_at_most_a_fifth(secret: str, expected: str) -> None:
    assert redact(secret) == expected
    shown = len(redact(secret)) - 1
    assert shown <= len(secret) // 5 * 2


def test_fingerprint_depends_on_rule_secret_and_key_only() -> None:
    base = fingerprint("github-pat", "ghp_x", b"k1")
    assert base == fingerprint("github-pat", "ghp_x", b"k1")
    assert base != fingerprint("github-oauth-token", "ghp_x", b"k1")
    assert base != fingerprint("github-pat", "ghp_y", b"k1")
    assert base != fingerprint("github-pat", "ghp_x", b"k2")
    assert len(base) == 32
    assert int(base, 16) >= 0


def test_fingerprint_is_not_a_bare_hash_of_the_secret() -> None:
    import hashlib

    secret = "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"
    assert fingerprint("github-pat", secret) not in hashlib.sha256(secret.encode()).hexdigest()


def test_finding_repr_never_shows_the_secret() -> None:
    secret = "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"
    finding = Finding(
        rule_id="github-pat",
        description="d",
        severity=Severity.HIGH,
        location=Location("a.py", 1, 1, 1, 41),
        secret=secret,
        fingerprint="0" * 32,
        entropy=4.0,
        context=f"token = {redact(secret)}",
    )
    assert secret not in repr(finding)
    assert finding.redacted == "ghp_…4xXH"


def test_severity_rank_orders_worst_first() -> None:
    assert sorted(Severity, key=lambda s: s.rank)[0] is Severity.CRITICAL
    assert Severity.INFO.rank > Severity.LOW.rank
