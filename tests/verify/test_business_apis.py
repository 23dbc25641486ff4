"""The verifiers of `leakstop.verify.business_apis` against a local server answering as each
issuer's API documents: the request each must make, and live / dead / failing answers."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug import Response

from leakstop.verify.base import Unverifiable
from leakstop.verify.checks import HttpCheck
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential
from leakstop.verify.registry import VERIFIERS
from tests.verify.conftest import Issuer, make_finding
from tests.verify.http_cases import Case, T, basic, bearer, expect, run

MAILCHIMP = "0123456789abcdef0123456789abcdef-acct"  # `acct` stands for the data center
ONFIDO = "api_live_us.59-jy5tyP6y.ixyrRJ5XOA7pqv2_Nwjjviv_eUK7qMRC"


def key(verifier: str, path: str, header: str, template: str = "{secret}", **kw: Any) -> Case:
    return Case(verifier, path, {header: template.format(secret=T)}, **kw)


CASES = [
    # messaging and e-mail
    Case("mailchimp", "/3.0/", {"Authorization": basic("anystring", MAILCHIMP)}, secret=MAILCHIMP),
    key("sparkpost", "/api/v1/account", "Authorization"),
    key("messagebird", "/messages", "Authorization", "AccessKey {secret}"),
    key("mailerlite", "/api/v2/campaigns", "X-MailerLite-ApiKey"),
    key("mailsac", "/api/addresses", "Mailsac-Key"),
    key("pushbullet", "/v2/users/me", "Access-Token"),
    bearer("resend", "/api-keys", dead=(400, {"name": "validation_error"})),
    bearer("gitter", "/v1/user/me"),
    bearer("telnyx", "/v2/messaging_profiles"),
    bearer("webex", "/v1/people/me"),
    key("brevo", "/v3/account", "api-key"),
    key("getresponse", "/v3/accounts", "X-Auth-Token", "api-key {secret}"),
    bearer(
        "ayrshare", "/api/user", dead=(403, {"status": "error", "message": "API Key not valid"})
    ),
    bearer("courier", "/preferences"),
    bearer("dailyco", "/v1/rooms"),
    # observability
    key("newrelic", "/v2/users.json", "X-Api-Key"),
    key("opsgenie", "/v2/alerts", "Authorization", "GenieKey {secret}", query={"limit": "1"}),
    bearer("rootly", "/v1/incidents"),
    key("statuspage", "/v1/pages", "Authorization", "OAuth {secret}"),
    bearer("statuscake", "/v1/ssl"),
    Case(
        "mapbox",
        "/tokens/v2",
        {},
        query={"access_token": T},
        live={"code": "TokenValid", "token": {"usage": "sk"}},
        dead=(401, {"message": "Not Authorized - Invalid Token"}),
    ),
    # payments
    bearer("paystack", "/customer", query={"perPage": "1"}),
    bearer("flutterwave", "/v3/subaccounts"),
    bearer("tradier", "/v1/watchlists"),
    # registries
    key("cloudsmith", "/v1/user/self/", "X-Api-Key"),
    # SaaS
    key("lokalise", "/api2/system/languages", "X-Api-Token"),
    key("pandadoc", "/public/v1/documents", "Authorization", "API-Key {secret}"),
    key("pivotal-tracker", "/services/v5/me", "X-TrackerToken"),
    key("qase", "/v1/user", "Token"),
    key("everhour", "/clients", "X-Api-Key"),
    bearer("frameio", "/v2/me"),
    bearer("smartsheet", "/2.0/sheets"),
    key("shortcut", "/api/v3/projects", "Shortcut-Token"),
    bearer("todoist", "/rest/v2/projects"),
    Case("toggl", "/api/v9/me", {"Authorization": basic(T, "api_token")}),
    key("clickup", "/api/v2/user", "Authorization"),
    key("clockify", "/api/v1/user", "X-Api-Key"),
    bearer("coda", "/apis/v1/whoami"),
    bearer("bitly", "/v4/user"),
    Case("chartmogul", "/v1/ping", {"Authorization": basic(T, "")}),
    key("beamer", "/v0/url", "Beamer-Api-Key"),
    bearer("avaza", "/api/Account"),
    bearer("baremetrics", "/v1/account"),
    bearer("meistertask", "/api/projects"),
    Case("lemlist", "/api/team", {"Authorization": basic("", T)}),
    Case(
        "klaviyo",
        "/api/profiles",
        {"Authorization": f"Klaviyo-API-Key {T}", "revision": "2023-02-22"},
    ),
    bearer("capsulecrm", "/api/v2/users"),
    # security
    Case(
        "onfido",
        "/v3/validate_api_token",
        {"Authorization": f"Token token={ONFIDO}"},
        method="POST",
        secret=ONFIDO,
    ),
    key("alienvault-otx", "/api/v1/users/me", "X-OTX-API-KEY"),
    key("securitytrails", "/v1/ping", "APIKEY"),
    key("urlscan", "/user/quotas", "API-Key"),
    key("abuseipdb", "/api/v2/check", "Key", query={"ipAddress": "118.25.6.39"}),
]


#: Answers other than plain 2xx / 401 that the issuers document, and what they mean.
SPECIAL = [
    # A live Resend key with sending access only.
    (bearer("resend", "/api-keys"), 401, {"name": "restricted_api_key"}, Status.VERIFIED),
    (bearer("resend", "/api-keys"), 403, {"name": "suspended_api_key"}, Status.INVALID),
    (bearer("ayrshare", "/api/user"), 401, {"status": "error"}, Status.INVALID),
    (bearer("ayrshare", "/api/user"), 403, {"message": "Forbidden"}, Status.UNKNOWN),
    # A live Klaviyo key without the profiles scope.
    (
        Case("klaviyo", "/api/profiles", {"Authorization": f"Klaviyo-API-Key {T}"}),
        403,
        {"errors": [{"code": "permission_denied"}]},
        Status.VERIFIED,
    ),
    # A live Rootly key that sees no incidents.
    (bearer("rootly", "/v1/incidents"), 404, {"errors": []}, Status.VERIFIED),
    (Case("mapbox", "/tokens/v2", {}), 200, {"code": "TokenRevoked"}, Status.INVALID),
    (Case("mapbox", "/tokens/v2", {}), 200, {"code": "Other"}, Status.UNKNOWN),
]


@pytest.mark.parametrize(
    ("case", "code", "body", "want"), SPECIAL, ids=lambda v: str(v) if isinstance(v, int) else None
)
def test_documented_answers_beyond_the_status(
    issuer: Issuer, case: Case, code: int, body: object, want: Status
) -> None:
    expect(issuer, case).respond_with_json(body, status=code)
    status, reason = run(issuer, case)
    assert status is want, reason
    assert T not in reason


def test_a_regional_key_is_verified_by_its_own_region(issuer: Issuer) -> None:
    case = key("newrelic", "/v2/users.json", "X-Api-Key")
    expect(issuer, case).respond_with_json({"error": "invalid"}, status=401)
    status, _ = run(issuer, case)
    assert status is Status.INVALID
    assert len(issuer.server.log) == 2  # the US API, then the EU API
    issuer.server.clear()
    # An EU key: the US API rejects it, the EU API accepts it.
    answers = iter([Response("{}", status=401), Response("{}", status=200)])
    expect(issuer, case).respond_with_handler(lambda request: next(answers))
    status, reason = run(issuer, case)
    assert status is Status.VERIFIED, reason


def test_mailchimp_needs_the_data_center(issuer: Issuer) -> None:
    finding = make_finding("mailchimp-api-key", "0123456789abcdef0123456789abcdef")
    context = issuer.context(VERIFIERS["mailchimp"].hosts)
    with pytest.raises(Unverifiable):
        VERIFIERS["mailchimp"].check(Credential(finding), context)


@pytest.mark.parametrize(
    ("token", "host"),
    [
        ("api_live.59-jy5tyP6y.ixyrRJ5XOA7pqv2_Nwjjviv_eUK7qMRC", "api.eu.onfido.com"),
        ("api_sandbox_ca.59-jy5tyP6y.ixyrRJ5XOA7pqv2_Nwjjviv_eUK7qM", "api.ca.onfido.com"),
    ],
)
def test_an_onfido_token_goes_to_its_region(issuer: Issuer, token: str, host: str) -> None:
    check = VERIFIERS["onfido"]
    assert isinstance(check, HttpCheck)
    request = check.build(
        Credential(make_finding("onfido-api-token", token)), issuer.context(check.hosts)
    )
    assert request.url == f"https://{host}/v3/validate_api_token"
