"""The only way a verifier reaches the network: HTTPS to hosts it declared, nowhere else.

`GuardedHttp.send` refuses any host outside the verifier's `hosts` before a socket opens,
never follows a redirect (a 3xx is returned as it is), always checks TLS certificates, and
retries a bounded number of times: on timeouts, connection errors, 5xx and 429 (honouring
`Retry-After` up to a cap). Request URLs may hold a secret (Telegram's bot URL, a Google API
key parameter), so no message here ever includes a URL's path or query.

Tests only: `LEAKSTOP_VERIFY_ENDPOINTS` is a JSON object mapping a declared host to a local
base URL (`{"api.github.com": "http://127.0.0.1:8123"}`). The guard still checks the declared
host; only the socket goes to the local server, and the `Host` header stays the declared one.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from leakstop.errors import UsageError
from leakstop.retry_after import retry_after_seconds

ENDPOINTS_ENV = "LEAKSTOP_VERIFY_ENDPOINTS"
#: One DNS label, for a wildcard host such as `*.blob.core.windows.net`.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
#: Responses larger than this are cut: "who am I" answers are small.
MAX_BODY = 1024 * 1024


class HostNotAllowedError(Exception):
    """A verifier asked for a host it did not declare; nothing was sent."""


class TransportError(Exception):
    """No usable HTTP response after the allowed retries; the message is one safe line."""


@dataclass(frozen=True)
class Request:
    method: str
    #: An absolute `https://` URL. May contain the secret: never log it.
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Response:
    status: int
    #: Header names in lower case.
    headers: Mapping[str, str]
    body: bytes = field(repr=False)
    #: The host that answered (the declared one, even when a test endpoint stood in).
    host: str = ""

    def json(self) -> object:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def is_allowed_host(host: str, declared: frozenset[str]) -> bool:
    """`host` is one of `declared`, exactly, or matches a `*.suffix` entry with exactly one
    DNS label in place of the star (so `*.myshopify.com` admits `shop.myshopify.com` but not
    `evil.com.myshopify.com.attacker`)."""
    host = host.lower().rstrip(".")
    if host in declared:
        return True
    label, dot, suffix = host.partition(".")
    return bool(dot) and f"*.{suffix}" in declared and _LABEL.fullmatch(label) is not None


def load_endpoints(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Test-only overrides from LEAKSTOP_VERIFY_ENDPOINTS (UsageError when malformed)."""
    raw = (os.environ if environ is None else environ).get(ENDPOINTS_ENV, "")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise UsageError(f"{ENDPOINTS_ENV} is not JSON: give an object host -> base URL") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(f"{ENDPOINTS_ENV} must map host names to base URLs (strings)")
    return {key.lower(): base.rstrip("/") for key, base in value.items()}


@dataclass(frozen=True)
class HttpSettings:
    #: Seconds for each connection attempt and response.
    timeout: float = 10.0
    #: Attempts after the first, for timeouts, connection errors, 5xx and 429.
    retries: int = 2
    #: First backoff in seconds; doubled on every retry.
    backoff: float = 0.5
    #: Longest `Retry-After` honoured, in seconds; a longer one ends the check as unknown.
    max_retry_after: float = 30.0
    #: Declared host -> local base URL, for tests (see the module docstring).
    endpoints: Mapping[str, str] = field(default_factory=dict)


class GuardedHttp:
    """HTTP for one verifier: its declared `hosts` only."""

    def __init__(
        self,
        hosts: frozenset[str],
        settings: HttpSettings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hosts = hosts
        self.settings = settings
        self.sleep = sleep

    def send(self, request: Request) -> Response:
        """Send `request`, retrying as the settings allow.

        Raises HostNotAllowedError before any connection when the URL's host is not declared,
        and TransportError when no answer came (or only 429s/5xx beyond the retries: then the
        last of them is returned instead).
        """
        url = urllib.parse.urlsplit(request.url)
        host = (url.hostname or "").lower()
        if url.scheme != "https" or not is_allowed_host(host, self.hosts):
            raise HostNotAllowedError(f"refused to contact {host or '?'}: not a declared host")
        attempt = 0
        while True:
            try:
                response = self._once(request, url, host)
            except TransportError:
                if attempt >= self.settings.retries:
                    raise
            else:
                wait = self._wait_before_retry(response, attempt)
                if wait is None:
                    return response
                if attempt >= self.settings.retries:
                    return response
                self.sleep(wait)
                attempt += 1
                continue
            self.sleep(self.settings.backoff * (1 << attempt))
            attempt += 1

    def _wait_before_retry(self, response: Response, attempt: int) -> float | None:
        """Seconds to wait before retrying `response`, or None to keep it."""
        if response.status == 429:
            after = retry_after_seconds(response.headers.get("retry-after"))
            if after is None:
                return self.settings.backoff * (1 << attempt)
            if after > self.settings.max_retry_after:
                return None
            return after
        if response.status >= 500:
            return self.settings.backoff * (1 << attempt)
        return None

    def _once(self, request: Request, url: urllib.parse.SplitResult, host: str) -> Response:
        target = self.settings.endpoints.get(host)
        connection = _connection(target or f"https://{url.netloc}", self.settings.timeout)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {"User-Agent": "leakstop-verify", "Accept": "application/json"}
        headers.update(request.headers)
        # The declared host even when a test endpoint stands in: signatures (SigV4) cover it.
        headers["Host"] = url.netloc
        try:
            connection.request(request.method, path, body=request.body, headers=headers)
            raw = connection.getresponse()
            body = raw.read(MAX_BODY)
            return Response(
                raw.status, {k.lower(): v for k, v in raw.getheaders()}, body, host=host
            )
        except TimeoutError:
            raise TransportError(f"{host} timed out") from None
        except ssl.SSLError as exc:
            raise TransportError(f"TLS error talking to {host}: {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"cannot reach {host}: {type(exc).__name__}") from None
        finally:
            connection.close()


def _connection(base: str, timeout: float) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(base)
    if parts.scheme == "http":
        # Only reachable through the test-only endpoint map.
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    context = ssl.create_default_context()
    return http.client.HTTPSConnection(
        parts.hostname or "", parts.port, timeout=timeout, context=context
    )
