"""Every HTTP verifier against a local server answering as its issuer's API documents: the
request it must make (method, path, credentials), and live / dead / failing answers. The
tables of `test_developer_apis` and `test_business_apis` run here too."""

from __future__ import annotations

import base64

import pytest

from leakstop.verify.model import Status
from leakstop.verify.registry import VERIFIERS
from tests.verify.conftest import Issuer
from tests.verify.http_cases import Case, T, basic, bearer, expect, run
from tests.verify.test_business_apis import CASES as BUSINESS_CASES
from tests.verify.test_developer_apis import CASES as DEVELOPER_CASES

GH_APP = "ghs_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
TELEGRAM = "987654321:AA" + "Hq3_kP9-qL2mN8vB4cT6wR1zD5fG7hJ0sE2"
WEBHOOK_ID, WEBHOOK_TOKEN = "112233445566778899", "w" * 34 + "-" + "Q" * 33
AZURE_KEY = base64.b64encode(bytes(range(64))).decode()
SID = "SK" + "0a" * 16

CASES = [
    bearer("github", "/user"),
    Case(
        "github",
        "/installation/repositories",
        {"Authorization": f"Bearer {GH_APP}"},
        secret=GH_APP,
        query={"per_page": "1"},
    ),
    Case("gitlab", "/api/v4/personal_access_tokens/self", {"PRIVATE-TOKEN": T}),
    Case("circleci", "/api/v2/me", {"Circle-Token": T}),
    Case("travis-ci", "/user", {"Authorization": f"token {T}", "Travis-API-Version": "3"}),
    bearer("buildkite", "/v2/access-token"),
    bearer("terraform-cloud", "/api/v2/account/details"),
    Case("pulumi", "/api/user", {"Authorization": f"token {T}"}),
    bearer("openai", "/v1/models"),
    bearer("openai-admin", "/v1/organization/projects", query={"limit": "1"}),
    Case("anthropic", "/v1/models", {"x-api-key": T, "anthropic-version": "2023-06-01"}),
    Case(
        "anthropic-admin",
        "/v1/organizations/users",
        {"x-api-key": T, "anthropic-version": "2023-06-01"},
        query={"limit": "1"},
    ),
    bearer("huggingface", "/api/whoami-v2"),
    bearer("mistral", "/v1/models"),
    bearer("groq", "/openai/v1/models"),
    bearer("replicate", "/v1/account"),
    bearer("together", "/v1/models"),
    bearer("deepseek", "/models"),
    bearer("xai", "/v1/api-key"),
    bearer("openrouter", "/api/v1/key"),
    Case("elevenlabs", "/v1/user", {"xi-api-key": T}),
    Case("pinecone", "/indexes", {"Api-Key": T}),
    bearer(
        "slack",
        "/api/auth.test",
        method="POST",
        live={"ok": True, "team": "t"},
        dead=(200, {"ok": False, "error": "invalid_auth"}),
    ),
    Case(
        "twilio",
        "/2010-04-01/Accounts.json",
        {"Authorization": basic(SID, T)},
        query={"PageSize": "1"},
        companions={"sid": SID},
    ),
    bearer("sendgrid", "/v3/scopes"),
    Case("mailgun", "/v3/domains", {"Authorization": basic("api", T)}, query={"limit": "1"}),
    Case(
        "telegram",
        f"/bot{TELEGRAM}/getMe",
        {},
        secret=TELEGRAM,
        live={"ok": True},
        dead=(404, {"ok": False}),
    ),
    Case("discord", "/api/v10/users/@me", {"Authorization": f"Bot {T}"}),
    Case(
        "discord-webhook",
        f"/api/v10/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        {},
        secret=f"https://discordapp.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        dead=(404, {"message": "Unknown Webhook"}),
    ),
    Case("postmark", "/server", {"X-Postmark-Server-Token": T}),
    bearer("intercom", "/me"),
    Case("twitch", "/oauth2/validate", {"Authorization": f"OAuth {T}"}),
    bearer("digitalocean", "/v2/account"),
    Case(
        "heroku",
        "/account",
        {"Authorization": f"Bearer {T}", "Accept": "application/vnd.heroku+json; version=3"},
    ),
    bearer("cloudflare", "/client/v4/user/tokens/verify", dead=(400, {"success": False})),
    bearer("linode", "/v4/profile"),
    bearer("vercel", "/v2/user"),
    bearer("netlify", "/api/v1/user"),
    bearer("doppler", "/v3/me"),
    bearer("stripe", "/v1/balance"),
    bearer("square", "/v2/locations"),
    Case(
        "shopify",
        "/admin/api/2024-10/shop.json",
        {"X-Shopify-Access-Token": T},
        nearby="SHOP=shop.myshopify.com",
    ),
    bearer("npm", "/-/whoami"),
    Case("rubygems", "/api/v1/gems.json", {"Authorization": T}),
    Case(
        "atlassian",
        "/rest/api/3/myself",
        {"Authorization": basic("ops@example.org", T)},
        nearby="JIRA_URL=https://shop.atlassian.net\nJIRA_USER=ops@example.org",
    ),
    Case(
        "notion", "/v1/users/me", {"Authorization": f"Bearer {T}", "Notion-Version": "2022-06-28"}
    ),
    bearer("airtable", "/v0/meta/whoami"),
    Case("figma", "/v1/me", {"X-Figma-Token": T}),
    bearer("asana", "/api/1.0/users/me"),
    Case("postman", "/me", {"X-Api-Key": T}),
    bearer("dropbox", "/2/users/get_current_account", method="POST"),
    bearer("typeform", "/me"),
    bearer("contentful", "/users/me"),
    Case("honeycomb", "/1/auth", {"X-Honeycomb-Team": T}),
    Case("launchdarkly", "/api/v2/caller-identity", {"Authorization": T}),
    Case("snyk", "/v1/user/me", {"Authorization": f"token {T}"}),
    Case(
        "google-api-key",
        "/maps/api/geocode/json",
        {},
        query={"address": "0", "key": T},
        live={"status": "ZERO_RESULTS", "results": []},
        dead=(
            200,
            {"status": "REQUEST_DENIED", "error_message": "The provided API key is invalid."},
        ),
    ),
]


#: Every table: this file's, and the two verifier modules' own.
EVERY_CASE = CASES + DEVELOPER_CASES + BUSINESS_CASES


def test_the_table_covers_every_http_verifier() -> None:
    offline = {"aws", "postgres", "pypi", "docker-hub", "azure-storage", "datadog"}
    assert {c.verifier for c in EVERY_CASE} | offline == set(VERIFIERS)


@pytest.mark.parametrize("case", EVERY_CASE, ids=lambda c: f"{c.verifier}{c.path}")
def test_a_live_credential_is_verified(issuer: Issuer, case: Case) -> None:
    expect(issuer, case).respond_with_json(case.live)
    status, reason = run(issuer, case)
    issuer.server.check_assertions()
    assert status is Status.VERIFIED, reason
    assert T not in reason
    assert case.secret not in reason


@pytest.mark.parametrize("case", EVERY_CASE, ids=lambda c: f"{c.verifier}{c.path}")
def test_a_dead_credential_is_invalid(issuer: Issuer, case: Case) -> None:
    code, body = case.dead
    expect(issuer, case).respond_with_json(body, status=code)
    status, reason = run(issuer, case)
    assert status is Status.INVALID, reason
    assert case.secret not in reason


@pytest.mark.parametrize("case", EVERY_CASE, ids=lambda c: f"{c.verifier}{c.path}")
def test_an_issuer_failure_is_unknown(issuer: Issuer, case: Case) -> None:
    expect(issuer, case).respond_with_data("upstream down", status=502)
    status, reason = run(issuer, case)
    assert status is Status.UNKNOWN
    assert "502" in reason
