from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakstop.finding import (
    MAX_SHOWN_TAIL,
    PASSWORD_MARKER,
    Finding,
    Location,
    Severity,
    fingerprint,
    legacy_fingerprint,
    redact,
)

GITHUB_TOKEN = "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"


@pytest.mark.parametrize(
    ("secret", "prefix", "expected"),
    [
        (GITHUB_TOKEN, 4, "ghp_…4xXH"),
        ("AKIAQYLPMN5HHHFPZAM2", 4, "AKIA…M2"),
        ("4f9d2c7b1e8a6f3d0c5b9e2a7d4f1c8b", 0, "…1c8b"),  # no public prefix: 4 of 32
        ("sk_test_6ARJKq31Sl9l0XO0Mk9vvsev", 8, "sk_test_…vsev"),
        ("hunter2", 0, "…2"),
        ("hunt3", 0, "…"),  # under 6 characters after the prefix: nothing
        ("abcd", 2, "ab…"),
        ("", 0, "…"),
        ("ghp_x", 40, "gh…"),  # a prefix longer than half the secret is cut
    ],
)
def test_redact_shows_the_public_prefix_and_at_most_four_more(
    secret: str, prefix: int, expected: str
) -> None:
    assert redact(secret, prefix) == expected
    shown = len(redact(secret, prefix)) - 1
    assert shown <= min(prefix, len(secret) // 2) + MAX_SHOWN_TAIL


@pytest.mark.parametrize(
    "secret", ["Summer2024!Deploy", "hunter2", "", "correct horse battery staple", GITHUB_TOKEN]
)
def test_redact_shows_nothing_of_a_password(secret: str) -> None:
    assert redact(secret, 0, password_like=True) == PASSWORD_MARKER
    assert redact(secret, 4, password_like=True) == PASSWORD_MARKER


@given(secret=st.text(), prefix=st.integers(min_value=-5, max_value=200))
def test_password_redaction_is_the_same_for_every_secret(secret: str, prefix: int) -> None:
    # Nothing of the secret, not even its length, can be read from the marker.
    assert redact(secret, prefix, password_like=True) == PASSWORD_MARKER


@given(
    secret=st.text(st.characters(blacklist_characters="…")),
    prefix=st.integers(min_value=-5, max_value=200),
)
def test_token_redaction_shows_prefix_and_at_most_four_of_the_rest(
    secret: str, prefix: int
) -> None:
    shown = redact(secret, prefix)
    head, _, tail = shown.partition("…")
    allowed = min(max(prefix, 0), len(secret) // 2)
    assert head == secret[:allowed]
    assert len(tail) <= MAX_SHOWN_TAIL
    assert len(tail) <= (len(secret) - allowed) // 6
    assert secret.endswith(tail)


def test_finding_redacts_with_its_prefix_and_kind() -> None:
    token = _finding(GITHUB_TOKEN, public_prefix=4)
    assert token.redacted == "ghp_…4xXH"
    password = _finding("Summer2024!Deploy", password_like=True)
    assert password.redacted == PASSWORD_MARKER
    assert _finding(GITHUB_TOKEN).redacted == "…4xXH"  # defaults: no prefix, not a password


def test_fingerprint_depends_on_rule_secret_and_key_only() -> None:
    base = fingerprint("github-pat", "ghp_x", b"k1")
    assert base == fingerprint("github-pat", "ghp_x", b"k1")
    assert base != fingerprint("github-oauth-token", "ghp_x", b"k1")
    assert base != fingerprint("github-pat", "ghp_y", b"k1")
    assert base != fingerprint("github-pat", "ghp_x", b"k2")
    assert re.fullmatch("[0-9a-f]{32}", base)


def test_token_fingerprints_did_not_change() -> None:
    # Baselines and allowlists written by earlier releases hold these values.
    assert fingerprint("github-pat", "ghp_x", b"k1") == "8d6b1290681f65b554981d3b60075d2c"
    assert legacy_fingerprint("github-pat", "ghp_x", b"k1") == "8d6b1290681f65b554981d3b60075d2c"
    old = hmac.new(b"k1", b"generic-password\0Summer2024!Deploy", hashlib.sha256).hexdigest()
    assert legacy_fingerprint("generic-password", "Summer2024!Deploy", b"k1") == old[:32]


def test_password_fingerprint_is_scrypt_then_hmac() -> None:
    # Restated here so that a change of cost or format, which orphans every password entry in
    # every baseline, cannot pass unnoticed: it needs a new baseline version.
    key, rule, secret = b"k1", "generic-password", "Summer2024!Deploy"
    salt = hmac.new(key, b"leakstop/scrypt-salt\0" + rule.encode(), hashlib.sha256).digest()
    stretched = hashlib.scrypt(secret.encode(), salt=salt, n=2**11, r=8, p=1, dklen=32)
    message = b"scrypt\0" + rule.encode() + b"\0" + stretched
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
    assert fingerprint(rule, secret, key, password_like=True) == expected
    assert expected == "6a267ccb497f33d5d5cfddc72fe8ae42"
    assert expected != legacy_fingerprint(rule, secret, key)


def test_password_fingerprint_depends_on_rule_secret_and_key() -> None:
    base = fingerprint("generic-password", "hunter2", b"k1", password_like=True)
    assert re.fullmatch("[0-9a-f]{32}", base)
    assert base == fingerprint("generic-password", "hunter2", b"k1", password_like=True)
    assert base != fingerprint("netrc-password", "hunter2", b"k1", password_like=True)
    assert base != fingerprint("generic-password", "hunter3", b"k1", password_like=True)
    assert base != fingerprint("generic-password", "hunter2", b"k2", password_like=True)


def test_password_fingerprints_are_memoised() -> None:
    from leakstop.finding import _stretched_fingerprint

    fingerprint("generic-password", "memo-Tq8vW3xLz6", b"k", password_like=True)
    before = _stretched_fingerprint.cache_info()
    for _ in range(100):
        fingerprint("generic-password", "memo-Tq8vW3xLz6", b"k", password_like=True)
    after = _stretched_fingerprint.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (100, 0)


def test_fingerprint_is_not_a_bare_hash_of_the_secret() -> None:
    assert (
        fingerprint("github-pat", GITHUB_TOKEN)
        not in hashlib.sha256(GITHUB_TOKEN.encode()).hexdigest()
    )


def test_finding_repr_never_shows_the_secret() -> None:
    finding = _finding(GITHUB_TOKEN, public_prefix=4)
    assert GITHUB_TOKEN not in repr(finding)
    assert GITHUB_TOKEN[4:] not in repr(finding)


def test_severity_rank_orders_worst_first() -> None:
    assert sorted(Severity, key=lambda s: s.rank)[0] is Severity.CRITICAL
    assert Severity.INFO.rank > Severity.LOW.rank


def _finding(secret: str, public_prefix: int = 0, password_like: bool = False) -> Finding:
    return Finding(
        rule_id="github-pat",
        description="d",
        severity=Severity.HIGH,
        location=Location("a.py", 1, 1, 1, len(secret) + 1),
        secret=secret,
        fingerprint="0" * 32,
        entropy=4.0,
        context=f"token = {redact(secret, public_prefix, password_like)}",
        public_prefix=public_prefix,
        password_like=password_like,
    )
