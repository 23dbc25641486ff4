"""The developer-API issuers (ai, cloud, commerce, crypto, dataapis, databases, devtools, ci rules)
against a local server answering as each issuer's API documents: live, dead, failing."""

from __future__ import annotations

from typing import cast

from leakstop.verify.base import CheckContext
from leakstop.verify.checks import HttpCheck
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential
from leakstop.verify.registry import VERIFIERS
from tests.verify.conftest import Issuer, make_finding
from tests.verify.http_cases import Case, T, basic, bearer, expect, run

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
    Case("deepl", "/v2/usage", {"Authorization": f"DeepL-Auth-Key {T}"}, dead=(403, {})),
    Case("langsmith", "/api/v1/api-key", {"X-API-Key": T}),
    Case("assemblyai", "/v2/transcript", {"Authorization": T}, query={"limit": "1"}),
    bearer("cerebras", "/v1/models"),
    # ci
    Case(
        "linear",
        "/graphql",
        {"Authorization": T},
        method="POST",
        live={"data": {"viewer": {"id": "u1"}}},
        dead=(
            400,
            {
                "errors": [
                    {"message": "not authenticated", "extensions": {"code": "AUTHENTICATION_ERROR"}}
                ]
            },
        ),
    ),
    Case(
        "pagerduty",
        "/users",
        {"Authorization": f"Token token={T}", "Accept": "application/vnd.pagerduty+json;version=2"},
        query={"limit": "1"},
    ),
    Case("codemagic", "/apps", {"x-auth-token": T}),
    bearer("sentry", "/api/0/organizations/"),
    Case("bitrise", "/v0.1/me", {"Authorization": T}),
    # cloud
    Case("fastly", "/tokens/self", {"Fastly-Key": T}),
    bearer("render", "/v1/users"),
    Case("aiven", "/v1/project", {"Authorization": f"aivenv1 {T}"}),
    bearer("vultr", "/v2/account"),
    Case("cisco-meraki", "/api/v1/organizations", {"X-Cisco-Meraki-API-Key": T}),
    Case(
        "tailscale",
        "/api/v2/secret-scanning/verify",
        {"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    ),
    bearer("supabase", "/v1/projects"),
    Case("buddyns", "/api/v2/zone/", {"Authorization": f"Token {T}"}),
    Case("hetzner-dns", "/api/v1/zones", {"Auth-API-Token": T}),
    # commerce
    bearer("loyverse", "/v1.0/merchant/"),
    bearer("taxjar", "/v2/categories"),
    Case(
        "shippo",
        "/shippo-accounts",
        {"Authorization": f"ShippoToken {T}"},
        query={"page": "1", "results": "1"},
    ),
    bearer("lunchmoney", "/v1/categories"),
    Case(
        "duffel",
        "/air/airlines",
        {"Authorization": f"Bearer {T}", "Duffel-Version": "v2"},
        query={"limit": "1"},
    ),
    # crypto
    # The WSGI test server drops headers spelled with underscores: see the test below.
    Case("coinmarketcap", "/v1/key/info", {}),
    Case("nftport", "/me/contracts", {"Authorization": T}),
    bearer("bitgo", "/api/v2/user/session"),
    # dataapis
    bearer("bannerbear", "/v2/auth"),
    Case("tiingo", "/tiingo/fundamentals/definitions", {"Authorization": f"Token {T}"}),
    Case("rebrandly", "/v1/account", {"apikey": T}),
    Case(
        "zerobounce",
        "/v2/getcredits",
        {},
        query={"api_key": T},
        live={"Credits": "2375"},
        dead=(200, {"Credits": "-1"}),
    ),
    Case("newsapi", "/v2/top-headlines/sources", {"X-Api-Key": T}),
    bearer("proxycurl", "/proxycurl/api/credit-balance"),
    Case("diffbot", "/v4/account", {}, query={"token": T}, live={"planCredits": 10000}),
    Case("scraperapi", "/account", {}, query={"api_key": T}, dead=(403, {})),
    Case("finnhub", "/api/v1/quote", {"X-Finnhub-Token": T}, query={"symbol": "AAPL"}),
    Case(
        "riot-games",
        "/lol/status/v4/platform-data",
        {"X-Riot-Token": T},
        dead=(403, {"status": {"status_code": 403, "message": "Forbidden"}}),
    ),
    # devtools
    bearer("lichess", "/api/account"),
    Case("wakatime", "/api/v1/users/current", {"Authorization": basic(T, "")}),
    bearer("apify", "/v2/users/me"),
    bearer("zeplin", "/v1/users/me"),
    bearer("webflow", "/v2/token/introspect"),
    Case("adafruit-io", "/api/v2/user", {"X-AIO-Key": T}),
    bearer("crowdin", "/api/v2/user"),
    bearer("pipedream", "/v1/users/me"),
    Case("bugherd", "/api_v2/projects.json", {"Authorization": basic(T, "x")}),
    Case("gtmetrix", "/api/2.0/status", {"Authorization": basic(T, "")}),
    Case("imagekit", "/v1/files", {"Authorization": basic(T, "")}, query={"limit": "1"}),
    bearer("val-town", "/v1/me"),
]


def _case(name: str) -> Case:
    return next(case for case in CASES if case.verifier == name)


def test_cohere_reads_the_valid_flag(issuer: Issuer) -> None:
    case = _case("cohere")
    expect(issuer, case).respond_with_json({"valid": False})
    status, _ = run(issuer, case)
    assert status is Status.INVALID


def test_coinmarketcap_sends_its_underscore_header() -> None:
    check = VERIFIERS["coinmarketcap"]
    assert isinstance(check, HttpCheck)
    request = check.build(Credential(make_finding("r", T), {}), cast(CheckContext, None))
    assert request.headers["X-CMC_PRO_API_KEY"] == T


def test_a_free_deepl_key_goes_to_the_free_api(issuer: Issuer) -> None:
    free = T + ":fx"
    case = Case("deepl", "/v2/usage", {"Authorization": f"DeepL-Auth-Key {free}"}, secret=free)
    expect(issuer, case).respond_with_json({"character_count": 1})
    check = VERIFIERS["deepl"]
    assert isinstance(check, HttpCheck)
    request = check.build(Credential(make_finding("r", free), {}), cast(CheckContext, None))
    assert request.url.startswith("https://api-free.deepl.com/")
    assert run(issuer, case)[0] is Status.VERIFIED


def test_a_diffbot_answer_without_an_account_is_unknown(issuer: Issuer) -> None:
    case = _case("diffbot")
    expect(issuer, case).respond_with_json({"error": "?"})
    assert run(issuer, case)[0] is Status.UNKNOWN


def test_linear_without_a_viewer_is_unknown(issuer: Issuer) -> None:
    case = _case("linear")
    expect(issuer, case).respond_with_json({"data": None, "errors": [{"message": "x"}]})
    status, _ = run(issuer, case)
    assert status is Status.UNKNOWN


def test_tailscale_posts_the_key_in_the_body_only(issuer: Issuer) -> None:
    case = _case("tailscale")
    issuer.server.expect_request(case.path, method="POST", data=f"key={T}").respond_with_data(
        "", status=204
    )
    status, _ = run(issuer, case)
    assert status is Status.VERIFIED
