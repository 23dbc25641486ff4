"""Observability and productivity tools: Datadog, Atlassian, Notion, Airtable, Figma, Asana,
Postman, Dropbox, Typeform, Contentful, Honeycomb, LaunchDarkly, Snyk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from leakstop.verify.base import CheckContext, Outcome, Unverifiable, invalid, unknown, verified
from leakstop.verify.checks import HttpCheck, basic_auth, by_status, simple, status_outcome
from leakstop.verify.http import Request
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential

#: docs.datadoghq.com "Getting started with Datadog sites": a key works on its own site only.
DATADOG_SITES = (
    "api.datadoghq.com",
    "api.datadoghq.eu",
    "api.us3.datadoghq.com",
    "api.us5.datadoghq.com",
    "api.ap1.datadoghq.com",
    "api.ddog-gov.com",
)


@dataclass(frozen=True)
class DatadogCheck:
    """GET /api/v1/validate on each Datadog site until one accepts the key."""

    name: str = "datadog"
    hosts: frozenset[str] = frozenset(DATADOG_SITES)

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        outcomes = []
        for host in DATADOG_SITES:
            response = context.http.send(
                Request(
                    "GET",
                    f"https://{host}/api/v1/validate",
                    {"DD-API-KEY": credential.primary.secret},
                )
            )
            body = response.json()
            if response.status == 200 and isinstance(body, dict) and body.get("valid") is True:
                return verified(f"{host} accepted it (HTTP 200)")
            outcomes.append(status_outcome(response))
        if all(outcome.status is Status.INVALID for outcome in outcomes):
            return invalid(f"every Datadog site rejected it (HTTP {len(outcomes)}x 403)")
        return unknown(next(o.reason for o in outcomes if o.status is not Status.INVALID))


_SITE = re.compile(r"\b([a-z0-9][a-z0-9-]{0,60})\.atlassian\.net\b", re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,200}\.[A-Za-z]{2,24}\b")


def _atlassian_request(credential: Credential, context: CheckContext) -> Request:
    text = context.nearby_text(credential.primary) or ""
    site, email = _SITE.search(text), _EMAIL.search(text)
    if site is None or email is None:
        raise Unverifiable("needs the account's e-mail and *.atlassian.net site near the token")
    # developer.atlassian.com "Basic auth for REST APIs": e-mail and API token;
    # GET /rest/api/3/myself reads the caller.
    url = f"https://{site.group(1).lower()}.atlassian.net/rest/api/3/myself"
    headers = {"Authorization": basic_auth(email.group(0), credential.primary.secret)}
    return Request("GET", url, headers)


VERIFIERS = (
    DatadogCheck(),
    HttpCheck("atlassian", frozenset({"*.atlassian.net"}), _atlassian_request, by_status((401,))),
    # developers.notion.com: GET /v1/users/me, Notion-Version required.
    simple("notion", "https://api.notion.com/v1/users/me", extra={"Notion-Version": "2022-06-28"}),
    simple("airtable", "https://api.airtable.com/v0/meta/whoami"),
    simple("figma", "https://api.figma.com/v1/me", "X-Figma-Token", "{secret}"),
    simple("asana", "https://app.asana.com/api/1.0/users/me"),
    simple("postman", "https://api.getpostman.com/me", "X-Api-Key", "{secret}"),
    # dropbox.com/developers: POST /2/users/get_current_account, no body.
    simple(
        "dropbox",
        "https://api.dropboxapi.com/2/users/get_current_account",
        method="POST",
        read=by_status((400, 401)),
    ),
    simple("typeform", "https://api.typeform.com/me"),
    simple("contentful", "https://api.contentful.com/users/me"),
    # docs.honeycomb.io: GET /1/auth with X-Honeycomb-Team.
    simple("honeycomb", "https://api.honeycomb.io/1/auth", "X-Honeycomb-Team", "{secret}"),
    # apidocs.launchdarkly.com: GET /api/v2/caller-identity, the key as Authorization.
    simple(
        "launchdarkly", "https://app.launchdarkly.com/api/v2/caller-identity", template="{secret}"
    ),
    simple("snyk", "https://api.snyk.io/v1/user/me", template="token {secret}"),
)
