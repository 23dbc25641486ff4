"""Issuers whose rules live in ai, cloud, commerce, crypto, dataapis, databases, devtools and
ci.yaml: one cheap, read-only "who am I" (or smallest list) request each.

Every endpoint, header and answer below was taken from the issuer's API reference (or the
verification request a public detector makes against it); each group names its source."""

from __future__ import annotations

import urllib.parse

from leakstop.verify.base import CheckContext, Outcome, invalid, unknown, verified
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


def _key_as_basic_user(
    name: str, url: str, password: str = "", read: Read | None = None
) -> HttpCheck:
    """One GET with Basic auth: the secret as the user name, a fixed (often empty) password."""

    def build(credential: Credential, context: CheckContext) -> Request:
        headers = {"Authorization": basic_auth(credential.primary.secret, password)}
        return Request("GET", url, headers)

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


def _linear_request(credential: Credential, context: CheckContext) -> Request:
    # developers.linear.app: POST /graphql; a personal API key goes in Authorization as it is.
    headers = {"Authorization": credential.primary.secret, "Content-Type": "application/json"}
    return Request("POST", "https://api.linear.app/graphql", headers, _VIEWER)


_VIEWER = b'{"query": "{ viewer { id } }"}'


def _linear_read(response: Response) -> Outcome:
    body = response.json()
    if 200 <= response.status < 300 and isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("viewer"), dict):
            return verified(f"{response.host} returned the key's viewer")
    if response.status == 400 and isinstance(body, dict):
        # GraphQL errors: an unknown key is an AUTHENTICATION_ERROR.
        errors = body.get("errors")
        codes = {
            str(e.get("extensions", {}).get("code", ""))
            for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
        }
        if "AUTHENTICATION_ERROR" in codes:
            return invalid(f"{response.host} rejected it (AUTHENTICATION_ERROR)")
    if 200 <= response.status < 300:
        return unknown(f"{response.host} answered without a viewer (HTTP {response.status})")
    return status_outcome(response, (401,))


def _tailscale_request(credential: Credential, context: CheckContext) -> Request:
    # api.tailscale.com secret-scanning verify: POST the key as a form field; 204 when it is
    # live, 401 when not. No authentication of its own, and the key stays out of the URL.
    body = urllib.parse.urlencode({"key": credential.primary.secret}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return Request("POST", "https://api.tailscale.com/api/v2/secret-scanning/verify", headers, body)


def _zerobounce_request(credential: Credential, context: CheckContext) -> Request:
    # zerobounce.net/docs: GET /v2/getcredits?api_key=...; the API takes the key only as a
    # query parameter (the guarded client keeps URLs out of every message).
    key = urllib.parse.quote(credential.primary.secret, safe="")
    return Request("GET", f"https://api.zerobounce.net/v2/getcredits?api_key={key}")


def _zerobounce_read(response: Response) -> Outcome:
    # 200 either way: {"Credits": "-1"} for a key it does not know.
    body = response.json()
    if response.status == 200 and isinstance(body, dict) and "Credits" in body:
        if str(body["Credits"]).strip() == "-1":
            return invalid(f"{response.host} getcredits: -1 (unknown key)")
        return verified(f"{response.host} getcredits answered")
    return status_outcome(response, (400, 401))


def _deepl_request(credential: Credential, context: CheckContext) -> Request:
    # developers.deepl.com "Retrieve usage and quota": GET /v2/usage with
    # "Authorization: DeepL-Auth-Key <key>"; free keys (suffix ":fx") use api-free.deepl.com.
    key = credential.primary.secret
    host = "api-free.deepl.com" if key.endswith(":fx") else "api.deepl.com"
    return Request("GET", f"https://{host}/v2/usage", {"Authorization": f"DeepL-Auth-Key {key}"})


def _query_key(name: str, url: str, param: str, read: Read | None = None) -> HttpCheck:
    """One GET with the secret as a query parameter, for APIs that take it no other way
    (the guarded client never puts a URL in a message)."""

    def build(credential: Credential, context: CheckContext) -> Request:
        key = urllib.parse.quote(credential.primary.secret, safe="")
        return Request("GET", f"{url}?{param}={key}")

    return HttpCheck(name, frozenset({url.split("/")[2]}), build, read or by_status())


def _diffbot_read(response: Response) -> Outcome:
    # The account answer names the plan's credits; anything else from a 2xx is not proof.
    body = response.json()
    if 200 <= response.status < 300:
        if isinstance(body, dict) and "planCredits" in body:
            return verified(f"{response.host} returned the token's account")
        return unknown(f"{response.host} answered without an account (HTTP {response.status})")
    return status_outcome(response)


AI = (
    HttpCheck("cohere", frozenset({"api.cohere.com"}), _cohere_request, _cohere_read),
    # developers.deepgram.com: GET /v1/projects, "Authorization: Token <key>".
    simple("deepgram", "https://api.deepgram.com/v1/projects", template="Token {secret}"),
    # platform.stability.ai REST v1: GET /v1/user/account describes the key's account.
    simple("stability-ai", "https://api.stability.ai/v1/user/account"),
    HttpCheck("deepl", frozenset({"api.deepl.com", "api-free.deepl.com"}), _deepl_request),
    # docs.smith.langchain.com: X-API-Key; GET /api/v1/api-key lists the caller's keys.
    simple("langsmith", "https://api.smith.langchain.com/api/v1/api-key", "X-API-Key", "{secret}"),
    # assemblyai.com/docs: the key as Authorization; a one-item transcript list.
    simple("assemblyai", "https://api.assemblyai.com/v2/transcript?limit=1", template="{secret}"),
    # inference-docs.cerebras.ai: GET /v1/models, Bearer.
    simple("cerebras", "https://api.cerebras.ai/v1/models"),
)

CI = (
    HttpCheck("linear", frozenset({"api.linear.app"}), _linear_request, _linear_read),
    # developer.pagerduty.com "Authentication": "Authorization: Token token=<key>" and the
    # v2 Accept header; a one-user page.
    simple(
        "pagerduty",
        "https://api.pagerduty.com/users?limit=1",
        template="Token token={secret}",
        extra={"Accept": "application/vnd.pagerduty+json;version=2"},
    ),
    # docs.codemagic.io REST API: x-auth-token header; GET /apps.
    simple("codemagic", "https://api.codemagic.io/apps", "x-auth-token", "{secret}"),
    # docs.sentry.io/api/organizations: GET /api/0/organizations/, Bearer; 403 means a live
    # token without the org:read scope, so it stays unknown rather than invalid.
    simple("sentry", "https://sentry.io/api/0/organizations/", read=by_status((401,))),
    # docs.bitrise.io API overview: GET /v0.1/me, the token as Authorization.
    simple("bitrise", "https://api.bitrise.io/v0.1/me", template="{secret}"),
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
    # developer.cisco.com/meraki/api-v1: X-Cisco-Meraki-API-Key; GET /organizations.
    simple(
        "cisco-meraki",
        "https://api.meraki.com/api/v1/organizations",
        "X-Cisco-Meraki-API-Key",
        "{secret}",
        read=by_status((401,)),
    ),
    HttpCheck(
        "tailscale",
        frozenset({"api.tailscale.com"}),
        _tailscale_request,
        by_status((401,)),
    ),
    # supabase.com/docs/reference/api: GET /v1/projects with a personal access token.
    simple("supabase", "https://api.supabase.com/v1/projects"),
    # buddyns.com/support/api: "Authorization: Token <key>"; GET /api/v2/zone/.
    simple("buddyns", "https://www.buddyns.com/api/v2/zone/", template="Token {secret}"),
    # dns.hetzner.com/api-docs: Auth-API-Token header; GET /api/v1/zones.
    simple("hetzner-dns", "https://dns.hetzner.com/api/v1/zones", "Auth-API-Token", "{secret}"),
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
    # lunchmoney.dev: Bearer token; GET /v1/categories.
    simple("lunchmoney", "https://dev.lunchmoney.app/v1/categories"),
    # duffel.com/docs/api: Bearer and Duffel-Version; one airline (reference data).
    simple(
        "duffel",
        "https://api.duffel.com/air/airlines?limit=1",
        extra={"Duffel-Version": "v2"},
    ),
)

CRYPTO = (
    # coinmarketcap.com/api/documentation: GET /v1/key/info (no credits) with X-CMC_PRO_API_KEY.
    simple(
        "coinmarketcap",
        "https://pro-api.coinmarketcap.com/v1/key/info",
        "X-CMC_PRO_API_KEY",
        "{secret}",
    ),
    # docs.nftport.xyz: the key as Authorization; GET /me/contracts.
    simple("nftport", "https://api.nftport.xyz/me/contracts", template="{secret}"),
    # developers.bitgo.com: Bearer access token; GET /api/v2/user/session.
    simple("bitgo", "https://app.bitgo.com/api/v2/user/session"),
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
    HttpCheck(
        "zerobounce", frozenset({"api.zerobounce.net"}), _zerobounce_request, _zerobounce_read
    ),
    # newsapi.org/docs/authentication: the key in X-Api-Key; the sources list is small.
    simple("newsapi", "https://newsapi.org/v2/top-headlines/sources", "X-Api-Key", "{secret}"),
    # nubela.co/proxycurl/docs: Bearer; GET /proxycurl/api/credit-balance costs no credit.
    simple("proxycurl", "https://nubela.co/proxycurl/api/credit-balance"),
    # docs.diffbot.com: GET /v4/account?token=...; the token is only taken in the query.
    _query_key("diffbot", "https://api.diffbot.com/v4/account", "token", _diffbot_read),
    # docs.scraperapi.com "Account Information": GET /account?api_key=... (query only).
    _query_key("scraperapi", "https://api.scraperapi.com/account", "api_key"),
    # finnhub.io/docs/api: the key in X-Finnhub-Token; a quote is on every plan, so 403
    # (a premium endpoint) is not taken as a dead key.
    simple(
        "finnhub",
        "https://finnhub.io/api/v1/quote?symbol=AAPL",
        "X-Finnhub-Token",
        "{secret}",
        read=by_status((401,)),
    ),
    # developer.riotgames.com: X-Riot-Token; the platform status needs only a valid key.
    simple(
        "riot-games",
        "https://na1.api.riotgames.com/lol/status/v4/platform-data",
        "X-Riot-Token",
        "{secret}",
    ),
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
    # support.crowdin.com/developer/api/v2: Bearer token; GET /api/v2/user (the token's user).
    simple("crowdin", "https://api.crowdin.com/api/v2/user"),
    # pipedream.com/docs/rest-api: GET /v1/users/me.
    simple("pipedream", "https://api.pipedream.com/v1/users/me"),
    # bugherd.com/api_v2: Basic auth with the key as user and "x" as password.
    _key_as_basic_user("bugherd", "https://www.bugherd.com/api_v2/projects.json", "x"),
    # gtmetrix.com/api/docs/2.0: Basic auth, the key as user; GET /api/2.0/status.
    _key_as_basic_user("gtmetrix", "https://gtmetrix.com/api/2.0/status"),
    # docs.imagekit.io: Basic auth, the private key as user; a one-file list.
    _key_as_basic_user("imagekit", "https://api.imagekit.io/v1/files?limit=1"),
    # docs.val.town: GET /v1/me, Bearer.
    simple("val-town", "https://api.val.town/v1/me"),
)

VERIFIERS = AI + CI + CLOUD + COMMERCE + CRYPTO + DATA_APIS + DEVTOOLS
