"""The verifya issuers (ai, cloud, commerce, crypto, dataapis, databases, devtools, ci rules)
against a local server answering as each issuer's API documents: live, dead, failing."""

from __future__ import annotations

import base64

import pytest

from leakstop.verify.model import Status
from tests.verify.conftest import Issuer
from tests.verify.test_verifiers import Case, T, bearer, expect, run


def key_basic(secret: str = T) -> str:
    return "Basic " + base64.b64encode(f"{secret}:".encode()).decode()


CASES = [
    # ai
    bearer(
        "cohere",
        "/v1/check-api-key",
        method="POST",
        live={"valid": True},
        dead=(401, {"message": "invalid api token"}),
    ),
    Case("deepgram", "/v1/projects", {"Authorization": f"Token {T}"}),
    bearer("stability-ai", "/v1/user/account"),
    # cloud
    Case("fastly", "/tokens/self", {"Fastly-Key": T}),
    bearer("render", "/v1/users"),
    Case("aiven", "/v1/project", {"Authorization": f"aivenv1 {T}"}),
    bearer("vultr", "/v2/account"),
    # commerce
    bearer("loyverse", "/v1.0/merchant/"),
    bearer("taxjar", "/v2/categories"),
    Case(
        "shippo",
        "/shippo-accounts",
        {"Authorization": f"ShippoToken {T}"},
        query={"page": "1", "results": "1"},
    ),
    # dataapis
    bearer("bannerbear", "/v2/auth"),
    Case("tiingo", "/tiingo/fundamentals/definitions", {"Authorization": f"Token {T}"}),
    Case("rebrandly", "/v1/account", {"apikey": T}),
    # devtools
    bearer("lichess", "/api/account"),
    Case("wakatime", "/api/v1/users/current", {"Authorization": key_basic()}),
    bearer("apify", "/v2/users/me"),
    bearer("zeplin", "/v1/users/me"),
    bearer("webflow", "/v2/token/introspect"),
    Case("adafruit-io", "/api/v2/user", {"X-AIO-Key": T}),
]


def test_cohere_reads_the_valid_flag(issuer: Issuer) -> None:
    case = CASES[0]
    expect(issuer, case).respond_with_json({"valid": False})
    status, _ = run(issuer, case)
    assert status is Status.INVALID


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.verifier}{c.path}")
def test_a_live_credential_is_verified(issuer: Issuer, case: Case) -> None:
    expect(issuer, case).respond_with_json(case.live)
    status, reason = run(issuer, case)
    issuer.server.check_assertions()
    assert status is Status.VERIFIED, reason
    assert T not in reason
    assert case.secret not in reason


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.verifier}{c.path}")
def test_a_dead_credential_is_invalid(issuer: Issuer, case: Case) -> None:
    code, body = case.dead
    expect(issuer, case).respond_with_json(body, status=code)
    status, reason = run(issuer, case)
    assert status is Status.INVALID, reason
    assert case.secret not in reason


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.verifier}{c.path}")
def test_an_issuer_failure_is_unknown(issuer: Issuer, case: Case) -> None:
    expect(issuer, case).respond_with_data("upstream down", status=502)
    status, reason = run(issuer, case)
    assert status is Status.UNKNOWN
    assert "502" in reason
