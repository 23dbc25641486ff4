"""The HTTP plumbing the GitHub and webhook providers share: stdlib `urllib` (so the default
install stays light), one TLS context per provider, and responses whatever their status.

Plain `http://` is allowed only to the loopback interface (a local test server, a sidecar):
a token or a new credential never crosses a network in clear text.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from leakstop.errors import ProviderError, ProviderUnreachableError


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The body as JSON; None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def is_loopback(host: str | None) -> bool:
    """True for `localhost` and loopback addresses: a server on this machine."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why `url` may not be used, or None: it must be https://, or http:// to loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return f"{url!r} would send credentials in clear text; use https://"
    return None


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trust store, or only the CA(s) in `ca_file` (GitHub Enterprise Server)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ProviderError(f"cannot load the CA file {ca_file}: {exc.__class__.__name__}") from exc


def send(
    what: str,
    url: str,
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout: float,
    context: ssl.SSLContext,
) -> HttpResponse:
    """One request; any HTTP status is a response. Raises ProviderError (`what` first, one
    line, neither headers nor body in it) when the server cannot be reached."""
    problem = url_problem(url)
    if problem is not None:
        raise ProviderError(f"{what}: {problem}")
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _Stay())
    try:
        with opener.open(request, timeout=timeout) as answer:
            return HttpResponse(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpResponse(exc.code, dict(exc.headers.items()), exc.read())
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _no_answer(what, url, timeout) from exc
        # urllib wraps only connecting and sending: the server got no whole request.
        raise ProviderUnreachableError(
            f"{what}: cannot reach {_origin(url)}: {exc.reason}"
        ) from exc
    except TimeoutError as exc:
        # The request may have reached the server: it did not answer in time, which is not
        # the same as "cannot reach" (the step may have been done; the machine rolls back).
        raise _no_answer(what, url, timeout) from exc
    except ConnectionResetError as exc:
        # The request went out and the connection closed unanswered (http.client's
        # RemoteDisconnected): the server may have done it, so "cannot reach" would mislead.
        raise ProviderError(
            f"{what}: {_origin(url)} closed the connection before answering; it may have done "
            "the request"
        ) from exc
    except OSError as exc:
        raise ProviderError(
            f"{what}: cannot reach {_origin(url)}: {exc.__class__.__name__}"
        ) from exc


class _Stay(urllib.request.HTTPRedirectHandler):
    """Redirects are answers, not followed: urllib would resend the Authorization header to
    wherever a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _no_answer(what: str, url: str, timeout: float) -> ProviderError:
    return ProviderError(f"{what}: {_origin(url)} did not answer within {timeout:g}s (timeout)")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
