"""`HttpCheck`: a verifier made of one request builder and one response reader, which is what
nearly every issuer's "who am I" endpoint needs."""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from leakstop.verify.base import CheckContext, Outcome, invalid, unknown, verified
from leakstop.verify.http import Request, Response
from leakstop.verify.pairing import Credential

Build = Callable[[Credential, CheckContext], Request]
Read = Callable[[Response], Outcome]


def by_status(
    invalid_statuses: Collection[int] = (401, 403),
    valid_statuses: Collection[int] = (),
) -> Read:
    """2xx (and `valid_statuses`) -> verified; `invalid_statuses` -> invalid; else unknown."""

    def read(response: Response) -> Outcome:
        return status_outcome(response, invalid_statuses, valid_statuses)

    return read


def status_outcome(
    response: Response,
    invalid_statuses: Collection[int] = (401, 403),
    valid_statuses: Collection[int] = (),
) -> Outcome:
    status, host = response.status, response.host
    if 200 <= status < 300 or status in valid_statuses:
        return verified(f"{host} accepted it (HTTP {status})")
    if status in invalid_statuses:
        return invalid(f"{host} rejected it (HTTP {status})")
    if 300 <= status < 400:
        return unknown(f"{host} redirected (HTTP {status}); redirects are not followed")
    if status == 429:
        return unknown(f"{host} rate-limited the check (HTTP 429)")
    if status >= 500:
        return unknown(f"{host} failed (HTTP {status})")
    return unknown(f"{host} answered HTTP {status}")


@dataclass(frozen=True)
class HttpCheck:
    """A verifier: `build` makes the request, `read` maps the response to an outcome."""

    name: str
    hosts: frozenset[str]
    build: Build
    read: Read = field(default_factory=by_status)

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        return self.read(context.http.send(self.build(credential, context)))


def header_get(
    url: str,
    header: str = "Authorization",
    template: str = "Bearer {secret}",
    extra: Mapping[str, str] | None = None,
    method: str = "GET",
) -> Build:
    """A request to `url` carrying the secret in `header` (formatted by `template`)."""

    def build(credential: Credential, context: CheckContext) -> Request:
        headers = {header: template.format(secret=credential.primary.secret), **(extra or {})}
        return Request(method, url, headers)

    return build


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def simple(
    name: str,
    url: str,
    header: str = "Authorization",
    template: str = "Bearer {secret}",
    extra: Mapping[str, str] | None = None,
    read: Read | None = None,
    method: str = "GET",
) -> HttpCheck:
    """The common verifier: one authenticated request to one host's "who am I" endpoint."""
    host = url.split("/")[2]
    return HttpCheck(
        name,
        frozenset({host}),
        header_get(url, header, template, extra, method),
        read or by_status(),
    )


def basic_user(name: str, url: str, user: str, read: Read | None = None) -> HttpCheck:
    """One GET with Basic auth: a fixed `user` and the secret as the password."""

    def build(credential: Credential, context: CheckContext) -> Request:
        return Request("GET", url, {"Authorization": basic_auth(user, credential.primary.secret)})

    return HttpCheck(name, frozenset({url.split("/")[2]}), build, read or by_status())
