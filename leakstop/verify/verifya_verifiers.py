"""Issuers whose rules live in ai, cloud, commerce, crypto, dataapis, databases, devtools and
ci.yaml: one cheap, read-only "who am I" (or smallest list) request each.

Every endpoint, header and answer below was taken from the issuer's API reference (or the
verification request a public detector makes against it); each group names its source."""

from __future__ import annotations

from leakstop.verify.base import CheckContext, Outcome, invalid, verified
from leakstop.verify.checks import (
    HttpCheck,
    Read,
    basic_auth,
    by_status,
    simple,
    status_outcome,
)
from leakstop.verify.http import Request, Response
from leakstop.verify.pairing import Credential


def _key_as_basic_user(name: str, url: str, read: Read | None = None) -> HttpCheck:
    """One GET with Basic auth: the secret as the user name, an empty password."""

    def build(credential: Credential, context: CheckContext) -> Request:
        return Request("GET", url, {"Authorization": basic_auth(credential.primary.secret, "")})

    return HttpCheck(name, frozenset({url.split("/")[2]}), build, read or by_status())


def _cohere_read(response: Response) -> Outcome:
    # docs.cohere.com "Check API key": 200 with {"valid": true|false}; 401 for an unknown key.
    body = response.json()
    if response.status == 200 and isinstance(body, dict) and isinstance(body.get("valid"), bool):
        if body["valid"]:
            return verified(f"{response.host} check-api-key: valid")
        return invalid(f"{response.host} check-api-key: not valid")
    return status_outcome(response, (401,))


def _cohere_request(credential: Credential, context: CheckContext) -> Request:
    headers = {
        "Authorization": f"Bearer {credential.primary.secret}",
        "Content-Type": "application/json",
    }
    return Request("POST", "https://api.cohere.com/v1/check-api-key", headers, b"{}")


AI = (
    HttpCheck("cohere", frozenset({"api.cohere.com"}), _cohere_request, _cohere_read),
    # developers.deepgram.com: GET /v1/projects, "Authorization: Token <key>".
    simple("deepgram", "https://api.deepgram.com/v1/projects", template="Token {secret}"),
    # platform.stability.ai REST v1: GET /v1/user/account describes the key's account.
    simple("stability-ai", "https://api.stability.ai/v1/user/account"),
)

CLOUD = (
    # fastly.com API reference: GET /tokens/self reads the token used, in Fastly-Key.
    simple("fastly", "https://api.fastly.com/tokens/self", "Fastly-Key", "{secret}"),
    # api-docs.render.com: GET /v1/users, the user the key belongs to.
    simple("render", "https://api.render.com/v1/users"),
    # api.aiven.io/doc: "Authorization: aivenv1 <token>"; GET /v1/project lists projects.
    simple("aiven", "https://api.aiven.io/v1/project", template="aivenv1 {secret}"),
    # vultr.com/api: GET /v2/account.
    simple("vultr", "https://api.vultr.com/v2/account"),
)

COMMERCE = (
    # developer.loyverse.com: GET /v1.0/merchant/ reads the merchant the token belongs to.
    simple("loyverse", "https://api.loyverse.com/v1.0/merchant/"),
    # developers.taxjar.com: GET /v2/categories, a small static list, Bearer token.
    simple("taxjar", "https://api.taxjar.com/v2/categories"),
    # docs.goshippo.com: "Authorization: ShippoToken <token>"; a one-item page of accounts.
    simple(
        "shippo",
        "https://api.goshippo.com/shippo-accounts?page=1&results=1",
        template="ShippoToken {secret}",
    ),
)

DATA_APIS = (
    # developers.bannerbear.com: GET /v2/auth checks the key.
    simple("bannerbear", "https://api.bannerbear.com/v2/auth"),
    # api.tiingo.com docs: "Authorization: Token <key>"; the definitions list is static.
    simple(
        "tiingo",
        "https://api.tiingo.com/tiingo/fundamentals/definitions",
        template="Token {secret}",
    ),
    # developers.rebrandly.com: GET /v1/account with the key in the apikey header.
    simple("rebrandly", "https://api.rebrandly.com/v1/account", "apikey", "{secret}"),
)

DEVTOOLS = (
    # lichess.org/api: GET /api/account (accountMe), Bearer token.
    simple("lichess", "https://lichess.org/api/account"),
    # wakatime.com/developers: GET /api/v1/users/current, the key as Basic auth user.
    _key_as_basic_user("wakatime", "https://wakatime.com/api/v1/users/current"),
    # docs.apify.com/api/v2: GET /v2/users/me (private user data), Bearer token.
    simple("apify", "https://api.apify.com/v2/users/me"),
    # docs.zeplin.dev: GET /v1/users/me.
    simple("zeplin", "https://api.zeplin.dev/v1/users/me"),
    # developers.webflow.com Data API v2: GET /v2/token/introspect describes the token.
    simple("webflow", "https://api.webflow.com/v2/token/introspect"),
    # io.adafruit.com/api/docs: X-AIO-Key header; GET /api/v2/user is the key's user.
    simple("adafruit-io", "https://io.adafruit.com/api/v2/user", "X-AIO-Key", "{secret}"),
)

VERIFIERS = AI + CLOUD + COMMERCE + DATA_APIS + DEVTOOLS
