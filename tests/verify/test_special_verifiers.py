"""Verifiers with more than one request, a signed request, or no request at all."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone

from werkzeug import Request as WsgiRequest
from werkzeug import Response as WsgiResponse

from leakstop.verify.azure_storage import AzureStorageCheck
from leakstop.verify.base import Unverifiable
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential
from leakstop.verify.registry import VERIFIERS
from leakstop.verify.tools import DATADOG_SITES
from tests.verify.conftest import Issuer, make_finding

DD_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
AZURE_KEY = base64.b64encode(bytes(range(7, 71))).decode()
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def check(issuer: Issuer, name: str, secret: str, nearby: str | None = None) -> tuple[Status, str]:
    verifier = VERIFIERS[name]
    try:
        outcome = verifier.check(
            Credential(make_finding("r", secret)), issuer.context(verifier.hosts, nearby)
        )
    except Unverifiable as exc:  # what the runner reports as unknown
        return Status.UNKNOWN, str(exc)
    return outcome.status, outcome.reason


def test_datadog_tries_each_site_until_one_accepts(issuer: Issuer) -> None:
    answers = iter([403, 403, 200])

    def handler(request: WsgiRequest) -> WsgiResponse:
        assert request.headers["DD-API-KEY"] == DD_KEY
        code = next(answers)
        body = '{"valid": true}' if code == 200 else '{"errors": ["Forbidden"]}'
        return WsgiResponse(body, status=code, content_type="application/json")

    issuer.server.expect_request("/api/v1/validate").respond_with_handler(handler)
    status, reason = check(issuer, "datadog", DD_KEY)
    assert status is Status.VERIFIED
    assert reason.startswith(DATADOG_SITES[2])
    assert len(issuer.server.log) == 3


def test_datadog_is_invalid_only_when_every_site_rejects(issuer: Issuer) -> None:
    issuer.server.expect_request("/api/v1/validate").respond_with_json(
        {"errors": ["Forbidden"]}, status=403
    )
    assert check(issuer, "datadog", DD_KEY)[0] is Status.INVALID
    assert len(issuer.server.log) == len(DATADOG_SITES)


def _expected_signature(request: WsgiRequest) -> str:
    # Written from the Shared Key docs for this one request shape, independently of the module.
    string_to_sign = (
        "GET\n\n\n\n\n\n\n\n\n\n\n\n"
        f"x-ms-date:{request.headers['x-ms-date']}\nx-ms-version:{request.headers['x-ms-version']}\n"
        "/acct/\ncomp:list\nmaxresults:1"
    )
    digest = hmac.new(base64.b64decode(AZURE_KEY), string_to_sign.encode(), hashlib.sha256)
    return "SharedKey acct:" + base64.b64encode(digest.digest()).decode()


def _azure(request: WsgiRequest) -> WsgiResponse:
    if request.headers.get("Authorization") == _expected_signature(request):
        return WsgiResponse("<EnumerationResults/>", status=200)
    return WsgiResponse("<Error><Code>AuthenticationFailed</Code></Error>", status=403)


def test_azure_storage_signs_list_containers_with_shared_key(issuer: Issuer) -> None:
    issuer.server.expect_request(
        "/", query_string={"comp": "list", "maxresults": "1"}
    ).respond_with_handler(_azure)
    verifier = AzureStorageCheck(clock=lambda: NOW)
    nearby = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={AZURE_KEY};"
    context = issuer.context(verifier.hosts, nearby)
    live = verifier.check(Credential(make_finding("r", AZURE_KEY)), context)
    assert live.status is Status.VERIFIED
    wrong = base64.b64encode(bytes(64)).decode()
    dead = verifier.check(Credential(make_finding("r", wrong)), context)
    assert dead.status is Status.INVALID
    assert issuer.server.log[0][0].headers["x-ms-date"] == "Wed, 04 Mar 2026 05:06:07 GMT"


def test_azure_storage_without_an_account_name_is_unknown(issuer: Issuer) -> None:
    status, reason = check(issuer, "azure-storage", AZURE_KEY, nearby="AccountKey=...")
    assert status is Status.UNKNOWN
    assert "account name" in reason
    assert issuer.server.log == []


def test_shopify_without_a_shop_domain_makes_no_request(issuer: Issuer) -> None:
    status, reason = check(issuer, "shopify", "shpat_" + "ab" * 16, nearby=None)
    assert status is Status.UNKNOWN
    assert "myshopify.com" in reason
    assert issuer.server.log == []


def test_registries_without_a_read_only_check_are_unknown_offline(issuer: Issuer) -> None:
    for name in ("pypi", "docker-hub"):
        assert VERIFIERS[name].hosts == frozenset()
        status, reason = check(issuer, name, "pypi-AgEIcHlwaS5vcmc" + "x" * 60)
        assert status is Status.UNKNOWN
        assert reason
    assert issuer.server.log == []


def test_slack_errors_other_than_dead_tokens_are_unknown(issuer: Issuer) -> None:
    issuer.server.expect_request("/api/auth.test").respond_with_json(
        {"ok": False, "error": "ratelimited"}
    )
    status, reason = check(issuer, "slack", "xoxb-1-2-abc")
    assert status is Status.UNKNOWN
    assert "ratelimited" in reason
