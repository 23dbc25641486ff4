"""verify_findings: one check per distinct credential, outcomes on every part, no secrets out."""

from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

from leakstop.verify.model import Status
from leakstop.verify.runner import verify_findings
from tests.verify.conftest import Issuer, make_finding

TOKEN = "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"
DEAD = "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"
GITHUB = {"github-pat": "github"}


def test_a_secret_found_twice_is_checked_once(issuer: Issuer) -> None:
    issuer.server.expect_request("/user").respond_with_json({"login": "someone"})
    findings = [
        make_finding("github-pat", TOKEN, path="a.py"),
        make_finding("github-pat", TOKEN, path="b.py", line=7),
    ]
    checked = verify_findings(findings, issuer.options(GITHUB))
    assert [f.verification.status for f in checked if f.verification] == [Status.VERIFIED] * 2
    assert len(issuer.server.log) == 1
    assert [f.location.path for f in checked] == ["a.py", "b.py"]


def test_live_and_dead_tokens_and_findings_without_a_verifier(issuer: Issuer) -> None:
    issuer.server.expect_request(
        "/user", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"login": "someone"})
    issuer.server.expect_request(
        "/user", headers={"Authorization": f"Bearer {DEAD}"}
    ).respond_with_json({"message": "Bad credentials"}, status=401)
    other = make_finding("generic-password", "hunter2-but-longer")
    live, dead, plain = verify_findings(
        [make_finding("github-pat", TOKEN), make_finding("github-pat", DEAD), other],
        issuer.options(GITHUB),
    )
    assert live.verification is not None
    assert live.verification.status is Status.VERIFIED
    assert dead.verification is not None
    assert dead.verification.status is Status.INVALID
    assert dead.verification.verifier == "github"
    assert plain is other
    assert plain.verification is None


def test_a_companion_gets_its_credentials_outcome(issuer: Issuer) -> None:
    # Twilio: the API key secret with its SID (SK...) as Basic auth.
    sid = "SK" + "3f" * 16
    token = "Zq8Lw2Xe5Rt7Yu1Io3Pa6Sd9Fg4Hj0Kl"
    issuer.server.expect_request("/2010-04-01/Accounts.json").respond_with_json({"accounts": []})
    found_sid, found_token = verify_findings(
        [make_finding("twilio-api-key-sid", sid, line=1), make_finding("twilio-auth-token", token)],
        issuer.options({"twilio-auth-token": "twilio"}),
    )
    assert found_token.verification is not None
    assert found_token.verification.status is Status.VERIFIED
    assert found_sid.verification == found_token.verification


def test_a_missing_companion_is_unknown_without_a_request(issuer: Issuer) -> None:
    [checked] = verify_findings(
        [make_finding("twilio-auth-token", "Zq8Lw2Xe5Rt7Yu1Io3Pa6Sd9Fg4Hj0Kl")],
        issuer.options({"twilio-auth-token": "twilio"}),
    )
    assert checked.verification is not None
    assert checked.verification.status is Status.UNKNOWN
    assert "SID" in checked.verification.reason
    assert issuer.server.log == []


def test_an_unknown_verifier_name_is_unknown(issuer: Issuer) -> None:
    [checked] = verify_findings(
        [make_finding("github-pat", TOKEN)], issuer.options({"github-pat": "nope"})
    )
    assert checked.verification is not None
    assert checked.verification.reason == "no verifier named 'nope'"


def test_a_rate_limit_beyond_the_cap_is_unknown_and_says_so(issuer: Issuer) -> None:
    issuer.server.expect_request("/user").respond_with_data(
        "", status=429, headers={"Retry-After": "900"}
    )
    [checked] = verify_findings([make_finding("github-pat", TOKEN)], issuer.options(GITHUB))
    assert checked.verification is not None
    assert checked.verification.status is Status.UNKNOWN
    assert "rate-limited" in checked.verification.reason


def test_no_secret_reaches_reasons_or_logs(
    issuer: Issuer, caplog: pytest.LogCaptureFixture, httpserver_ipv4: HTTPServer
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram = "123456789:AA" + "Xy3_kP9-qL2mN8vB4cT6wR1zD5fG7hJ0sE2"
    httpserver_ipv4.expect_request(f"/bot{telegram}/getMe").respond_with_json(
        {"ok": False}, status=404
    )
    checked = verify_findings(
        [make_finding("telegram-bot-token", telegram), make_finding("github-pat", TOKEN)],
        issuer.options({"telegram-bot-token": "telegram", "github-pat": "github"}, timeout=0.5),
    )
    reasons = " ".join(f.verification.reason for f in checked if f.verification)
    # Only leakstop's own records: the stand-in server logs its request lines.
    ours = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("leakstop"))
    assert checked[0].verification is not None
    assert checked[0].verification.status is Status.INVALID
    for secret in (telegram, TOKEN, telegram.split(":")[1]):
        assert secret not in reasons
        assert secret not in ours
