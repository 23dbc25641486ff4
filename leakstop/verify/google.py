"""Google API keys: a Geocoding API request, which reports an unknown key in its body."""

from __future__ import annotations

import urllib.parse

from leakstop.verify.base import CheckContext, Outcome, invalid, unknown, verified
from leakstop.verify.checks import HttpCheck, status_outcome
from leakstop.verify.http import Request, Response
from leakstop.verify.pairing import Credential

HOST = "maps.googleapis.com"


def _request(credential: Credential, context: CheckContext) -> Request:
    query = urllib.parse.urlencode({"address": "0", "key": credential.primary.secret})
    return Request("GET", f"https://{HOST}/maps/api/geocode/json?{query}")


def _read(response: Response) -> Outcome:
    # developers.google.com/maps/documentation/geocoding: HTTP 200 with a `status`;
    # REQUEST_DENIED with "The provided API key is invalid." for a key Google does not know;
    # other denials name an API the (live) key is not enabled for.
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return status_outcome(response, invalid_statuses=(400,))
    status = body.get("status")
    if status in ("OK", "ZERO_RESULTS", "INVALID_REQUEST", "OVER_QUERY_LIMIT"):
        return verified(f"{HOST} accepted it ({status})")
    if status == "REQUEST_DENIED":
        if "invalid" in str(body.get("error_message", "")).lower():
            return invalid(f"{HOST}: the API key is invalid")
        return verified(f"{HOST} knows the key (not enabled for the Geocoding API)")
    return unknown(f"{HOST} answered an unexpected status")


VERIFIERS = (HttpCheck("google-api-key", frozenset({HOST}), _request, _read),)
