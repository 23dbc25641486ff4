"""Issuers of the messaging, observability, payment, registry, SaaS and security rules that
have a cheap, read-only "who am I" (or small list) endpoint.

Each check is one authenticated GET (a few regional APIs: one per region until one accepts).
Endpoints, headers and answers follow each issuer's API documentation; the comment above each
group names what the request is.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from leakstop.verify.base import (
    CheckContext,
    Outcome,
    Unverifiable,
    Verifier,
    invalid,
    unknown,
    verified,
)
from leakstop.verify.checks import (
    HttpCheck,
    Read,
    basic_auth,
    basic_user,
    by_status,
    simple,
    status_outcome,
)
from leakstop.verify.http import Request, Response
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential


@dataclass(frozen=True)
class RegionalCheck:
    """The same GET on each regional API in turn: verified by the first that accepts the
    credential, invalid when every region rejects it, else unknown (a key lives in one
    region only, so one region's 401 says nothing by itself)."""

    name: str
    urls: tuple[str, ...]
    header: str = "Authorization"
    template: str = "Bearer {secret}"
    extra: Mapping[str, str] = field(default_factory=dict)
    read: Read = field(default_factory=by_status)

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(url.split("/")[2] for url in self.urls)

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        headers = {self.header: self.template.format(secret=credential.primary.secret)}
        outcomes = []
        for url in self.urls:
            outcome = self.read(context.http.send(Request("GET", url, {**headers, **self.extra})))
            if outcome.status is Status.VERIFIED:
                return outcome
            outcomes.append(outcome)
        if all(outcome.status is Status.INVALID for outcome in outcomes):
            return invalid(f"every region rejected it ({len(outcomes)} tried)")
        return next(o for o in outcomes if o.status is not Status.INVALID)


def basic_secret_user(name: str, url: str, password: str = "") -> HttpCheck:
    """One GET with Basic auth: the secret as the user name, a fixed `password`."""

    def build(credential: Credential, context: CheckContext) -> Request:
        return Request(
            "GET", url, {"Authorization": basic_auth(credential.primary.secret, password)}
        )

    return HttpCheck(name, frozenset({url.split("/")[2]}), build, by_status())


# --- Mailchimp -----------------------------------------------------------------------------
# mailchimp.com/developer "Marketing API conventions": the key ends in its data center
# (`-us12`), the API root is https://<dc>.api.mailchimp.com/3.0/, Basic auth with any user name.
_MAILCHIMP_DC = re.compile(r"-([a-z]{2,4}[0-9]{0,2})\Z")


def _mailchimp_request(credential: Credential, context: CheckContext) -> Request:
    secret = credential.primary.secret
    match = _MAILCHIMP_DC.search(secret)
    if match is None:
        raise Unverifiable("the key does not end in its data center (-usN)")
    url = f"https://{match.group(1)}.api.mailchimp.com/3.0/"
    return Request("GET", url, {"Authorization": basic_auth("anystring", secret)})


# --- Resend --------------------------------------------------------------------------------
# resend.com/docs api-reference/errors: GET /api-keys answers 200 for a full-access key and
# 401 `restricted_api_key` for a live sending-only key; 400 `validation_error` (and 401 with
# another name) for an unknown key; 403 for a suspended one.
def _resend_read(response: Response) -> Outcome:
    body = response.json()
    name = body.get("name") if isinstance(body, dict) else None
    if response.status == 401 and name == "restricted_api_key":
        return verified(f"{response.host} knows the key (sending access only)")
    return status_outcome(response, invalid_statuses=(400, 401, 403))


# --- Ayrshare ------------------------------------------------------------------------------
# ayrshare.com/docs apis/user/profile-details: GET /api/user; an unknown key gets 401, or 403
# with "API Key not valid".
def _ayrshare_read(response: Response) -> Outcome:
    if response.status == 403 and b"API Key not valid" in response.body:
        return invalid(f"{response.host} rejected it (HTTP 403, API Key not valid)")
    return status_outcome(response, invalid_statuses=(401,))


# --- Mapbox --------------------------------------------------------------------------------
# docs.mapbox.com/api/accounts/tokens "Retrieve a token": GET /tokens/v2?access_token=...; the
# Tokens API takes the token only as that query parameter. The body's `code` says TokenValid
# or why not (TokenExpired, TokenRevoked, TokenMalformed, TokenInvalid).
_MAPBOX_DEAD = frozenset({"TokenExpired", "TokenRevoked", "TokenMalformed", "TokenInvalid"})


def _mapbox_request(credential: Credential, context: CheckContext) -> Request:
    query = urllib.parse.urlencode({"access_token": credential.primary.secret})
    return Request("GET", f"https://api.mapbox.com/tokens/v2?{query}")


def _mapbox_read(response: Response) -> Outcome:
    body = response.json()
    code = body.get("code") if isinstance(body, dict) else None
    code = code if isinstance(code, str) else ""
    if response.status == 200 and code == "TokenValid":
        return verified(f"{response.host}: TokenValid")
    if code in _MAPBOX_DEAD:
        return invalid(f"{response.host}: {code}")
    if response.status == 200:
        return unknown(f"{response.host} answered without TokenValid")
    return status_outcome(response)


# --- Onfido --------------------------------------------------------------------------------
# documentation.onfido.com: "Authorization: Token token=<token>"; the token's prefix names its
# region (api_live_us., api_live_ca., else EU); POST /v3/validate_api_token checks it and
# changes nothing.
_ONFIDO_REGION = re.compile(r"api_(?:live|sandbox)(?:_(us|ca))?\.")


def _onfido_request(credential: Credential, context: CheckContext) -> Request:
    secret = credential.primary.secret
    match = _ONFIDO_REGION.match(secret)
    if match is None:
        raise Unverifiable("not an Onfido API token (api_live. / api_sandbox.)")
    url = f"https://api.{match.group(1) or 'eu'}.onfido.com/v3/validate_api_token"
    return Request("POST", url, {"Authorization": f"Token token={secret}"})


VERIFIERS: tuple[Verifier, ...] = (
    # --- messaging and e-mail ---
    HttpCheck(
        "mailchimp", frozenset({"*.api.mailchimp.com"}), _mailchimp_request, by_status((401,))
    ),
    # developers.sparkpost.com: GET /api/v1/account, the key itself as Authorization; EU
    # accounts live on api.eu.sparkpost.com.
    RegionalCheck(
        "sparkpost",
        (
            "https://api.sparkpost.com/api/v1/account",
            "https://api.eu.sparkpost.com/api/v1/account",
        ),
        template="{secret}",
    ),
    # developers.messagebird.com: "Authorization: AccessKey <key>"; GET /messages lists.
    simple("messagebird", "https://rest.messagebird.com/messages", template="AccessKey {secret}"),
    # MailerLite classic API v2: X-MailerLite-ApiKey; GET /api/v2/campaigns lists.
    simple(
        "mailerlite",
        "https://api.mailerlite.com/api/v2/campaigns",
        "X-MailerLite-ApiKey",
        "{secret}",
    ),
    # mailsac.com/docs: Mailsac-Key header; GET /api/addresses lists the owned addresses.
    simple("mailsac", "https://mailsac.com/api/addresses", "Mailsac-Key", "{secret}"),
    # docs.pushbullet.com: Access-Token header; GET /v2/users/me.
    simple("pushbullet", "https://api.pushbullet.com/v2/users/me", "Access-Token", "{secret}"),
    HttpCheck(
        "resend",
        frozenset({"api.resend.com"}),
        lambda credential, context: Request(
            "GET",
            "https://api.resend.com/api-keys",
            {"Authorization": f"Bearer {credential.primary.secret}"},
        ),
        _resend_read,
    ),
    # developer.gitter.im: GET /v1/user/me with a bearer token.
    simple("gitter", "https://api.gitter.im/v1/user/me"),
    # developers.telnyx.com API v2: bearer key; GET /v2/messaging_profiles lists.
    simple("telnyx", "https://api.telnyx.com/v2/messaging_profiles"),
    # developer.webex.com People API: GET /v1/people/me ("get my own details"), bearer token.
    simple("webex", "https://webexapis.com/v1/people/me"),
    # developers.brevo.com "Get account details": GET /v3/account with the api-key header.
    simple("brevo", "https://api.brevo.com/v3/account", "api-key", "{secret}"),
    # apidocs.getresponse.com v3: "X-Auth-Token: api-key <key>"; GET /v3/accounts.
    simple(
        "getresponse",
        "https://api.getresponse.com/v3/accounts",
        "X-Auth-Token",
        "api-key {secret}",
    ),
    HttpCheck(
        "ayrshare",
        frozenset({"app.ayrshare.com"}),
        lambda credential, context: Request(
            "GET",
            "https://app.ayrshare.com/api/user",
            {"Authorization": f"Bearer {credential.primary.secret}"},
        ),
        _ayrshare_read,
    ),
    # courier.com/docs: bearer auth token; GET /preferences lists preference sections.
    simple("courier", "https://api.courier.com/preferences"),
    # docs.daily.co REST API: bearer key; GET /v1/rooms lists rooms.
    simple("dailyco", "https://api.daily.co/v1/rooms"),
    # --- observability ---
    # docs.newrelic.com REST API v2: X-Api-Key with a user key; US and EU data centers.
    RegionalCheck(
        "newrelic",
        (
            "https://api.newrelic.com/v2/users.json",
            "https://api.eu.newrelic.com/v2/users.json",
        ),
        "X-Api-Key",
        "{secret}",
    ),
    # docs.opsgenie.com: "Authorization: GenieKey <key>"; GET /v2/alerts; US and EU.
    RegionalCheck(
        "opsgenie",
        (
            "https://api.opsgenie.com/v2/alerts?limit=1",
            "https://api.eu.opsgenie.com/v2/alerts?limit=1",
        ),
        template="GenieKey {secret}",
    ),
    # docs.rootly.com: bearer key; GET /v1/incidents (404 when a live key sees no incidents).
    simple(
        "rootly",
        "https://api.rootly.com/v1/incidents",
        read=by_status((401,), valid_statuses=(404,)),
    ),
    # developer.statuspage.io: "Authorization: OAuth <key>"; GET /v1/pages.
    simple("statuspage", "https://api.statuspage.io/v1/pages", template="OAuth {secret}"),
    # developers.statuscake.com API v1: bearer key; GET /v1/ssl lists SSL checks.
    simple("statuscake", "https://api.statuscake.com/v1/ssl"),
    HttpCheck("mapbox", frozenset({"api.mapbox.com"}), _mapbox_request, _mapbox_read),
    # --- payments ---
    # paystack.com/docs/api: bearer secret key; GET /customer lists customers.
    simple("paystack", "https://api.paystack.co/customer?perPage=1"),
    # developer.flutterwave.com v3: bearer secret key; GET /v3/subaccounts lists.
    simple("flutterwave", "https://api.flutterwave.com/v3/subaccounts"),
    # documentation.tradier.com: bearer token; GET /v1/watchlists.
    simple("tradier", "https://api.tradier.com/v1/watchlists"),
    # --- registries ---
    # help.cloudsmith.io API: X-Api-Key; GET /v1/user/self/.
    simple("cloudsmith", "https://api.cloudsmith.io/v1/user/self/", "X-Api-Key", "{secret}"),
    # --- SaaS ---
    # developers.lokalise.com: X-Api-Token; GET /api2/system/languages.
    simple("lokalise", "https://api.lokalise.com/api2/system/languages", "X-Api-Token", "{secret}"),
    # developers.pandadoc.com: "Authorization: API-Key <key>"; GET /public/v1/documents.
    simple("pandadoc", "https://api.pandadoc.com/public/v1/documents", template="API-Key {secret}"),
    # pivotaltracker.com/help/api/rest/v5: X-TrackerToken; GET /services/v5/me.
    simple(
        "pivotal-tracker",
        "https://www.pivotaltracker.com/services/v5/me",
        "X-TrackerToken",
        "{secret}",
    ),
    # developers.qase.io: Token header; GET /v1/user.
    simple("qase", "https://api.qase.io/v1/user", "Token", "{secret}"),
    # everhour.docs.apiary.io: X-Api-Key; GET /clients.
    simple("everhour", "https://api.everhour.com/clients", "X-Api-Key", "{secret}"),
    # developer.frame.io API v2: bearer developer token; GET /v2/me.
    simple("frameio", "https://api.frame.io/v2/me"),
    # smartsheet.redoc.ly: bearer token; GET /2.0/sheets lists sheets.
    simple("smartsheet", "https://api.smartsheet.com/2.0/sheets"),
    # developer.shortcut.com API v3: Shortcut-Token header; GET /api/v3/projects.
    simple(
        "shortcut", "https://api.app.shortcut.com/api/v3/projects", "Shortcut-Token", "{secret}"
    ),
    # developer.todoist.com REST v2: bearer token; GET /rest/v2/projects.
    simple("todoist", "https://api.todoist.com/rest/v2/projects"),
    # engineering.toggl.com API v9: Basic auth, the token as user and "api_token" as
    # password; GET /api/v9/me.
    basic_secret_user("toggl", "https://api.track.toggl.com/api/v9/me", "api_token"),
    # clickup.com/api: the personal token itself as Authorization; GET /api/v2/user.
    simple("clickup", "https://api.clickup.com/api/v2/user", template="{secret}"),
    # docs.clockify.me: X-Api-Key; GET /api/v1/user.
    simple("clockify", "https://api.clockify.me/api/v1/user", "X-Api-Key", "{secret}"),
    # coda.io/developers/apis/v1: bearer token; GET /apis/v1/whoami.
    simple("coda", "https://coda.io/apis/v1/whoami"),
    # dev.bitly.com API v4: bearer token; GET /v4/user.
    simple("bitly", "https://api-ssl.bitly.com/v4/user"),
    # dev.chartmogul.com: Basic auth, the key as user and no password; GET /v1/ping.
    basic_secret_user("chartmogul", "https://api.chartmogul.com/v1/ping"),
    # getbeamer.com/api: Beamer-Api-Key header; GET /v0/url.
    simple("beamer", "https://api.getbeamer.com/v0/url", "Beamer-Api-Key", "{secret}"),
    # api.avaza.com: bearer personal access token; GET /api/Account.
    simple("avaza", "https://api.avaza.com/api/Account"),
    # developers.baremetrics.com: bearer key; GET /v1/account.
    simple("baremetrics", "https://api.baremetrics.com/v1/account"),
    # developers.meistertask.com: bearer token; GET /api/projects.
    simple("meistertask", "https://www.meistertask.com/api/projects"),
    # developer.lemlist.com: Basic auth with an empty user and the key as password.
    basic_user("lemlist", "https://api.lemlist.com/api/team", ""),
    # developers.klaviyo.com: "Authorization: Klaviyo-API-Key <key>" and a revision header;
    # 401 for an unknown key, 403 for a live key without the profiles scope.
    simple(
        "klaviyo",
        "https://a.klaviyo.com/api/profiles",
        template="Klaviyo-API-Key {secret}",
        extra={"revision": "2023-02-22"},
        read=by_status((401,), valid_statuses=(403,)),
    ),
    # developer.capsulecrm.com API v2: bearer token; GET /api/v2/users.
    simple("capsulecrm", "https://api.capsulecrm.com/api/v2/users"),
    # --- security ---
    HttpCheck(
        "onfido",
        frozenset({"api.eu.onfido.com", "api.us.onfido.com", "api.ca.onfido.com"}),
        _onfido_request,
        by_status((401,)),
    ),
    # otx.alienvault.com/api: X-OTX-API-KEY; GET /api/v1/users/me.
    simple(
        "alienvault-otx", "https://otx.alienvault.com/api/v1/users/me", "X-OTX-API-KEY", "{secret}"
    ),
    # docs.securitytrails.com: APIKEY header; GET /v1/ping.
    simple("securitytrails", "https://api.securitytrails.com/v1/ping", "APIKEY", "{secret}"),
    # urlscan.io/docs/api: API-Key header; GET /user/quotas.
    simple("urlscan", "https://urlscan.io/user/quotas", "API-Key", "{secret}"),
    # docs.abuseipdb.com: Key header; GET /api/v2/check for the docs' example address.
    simple(
        "abuseipdb",
        "https://api.abuseipdb.com/api/v2/check?ipAddress=118.25.6.39",
        "Key",
        "{secret}",
        read=by_status((401,)),
    ),
)
