"""GitHub's REST API over `urllib`: JSON in and out, the token from the environment, and
GitHub's answers turned into one-line ProviderErrors (rate limits into RateLimitedError, with
how long to wait)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from leakstop.errors import ProviderError
from leakstop.retry_after import retry_after_seconds
from leakstop.rotator.providers.github_options import GitHubSettings
from leakstop.rotator.providers.http import HttpResponse, send, tls_context

#: The REST API version leakstop is written against (GitHub's `X-GitHub-Api-Version`).
API_VERSION = "2022-11-28"
_TOKEN_SHAPE = re.compile(r"(?:gh[a-z]_|github_pat_)[A-Za-z0-9_]+")


class RateLimitedError(ProviderError):
    """GitHub said to slow down (429, or 403 with its rate-limit headers); nothing is retried."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        #: Seconds until GitHub takes requests again, when it said.
        self.retry_after = retry_after


class GitHubApi:
    """One GitHub (github.com or an Enterprise Server). Raises ProviderError for what GitHub
    refuses; the token is never in a message."""

    def __init__(
        self,
        provider: str,
        settings: GitHubSettings,
        environ: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self._environ = environ
        self._clock = clock
        self._context = tls_context(settings.ca_file) if settings.ca_file else None

    def has_token(self) -> bool:
        return bool(self._environ.get(self.settings.token_env))

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        authenticated: bool = True,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> HttpResponse:
        """`method path` with a JSON `body`; the response when its status is in `ok`."""
        response = self.request(method, path, body, authenticated=authenticated)
        if response.status not in ok:
            raise self.refused(response, f"{method} {path}")
        return response

    def request(
        self, method: str, path: str, body: Any = None, *, authenticated: bool = True
    ) -> HttpResponse:
        """Any answer but a rate limit (RateLimitedError)."""
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "leakstop",
        }
        if authenticated:
            headers["Authorization"] = f"Bearer {self._token()}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        context = self._context or tls_context(None)
        what = f"github {self.provider!r}"
        response = send(
            what,
            self.settings.api_url + path,
            method,
            headers,
            data,
            self.settings.timeout,
            context,
        )
        if self._is_rate_limited(response):
            wait = self.retry_after(response)
            when = f"; GitHub takes requests again in {wait:.0f}s" if wait is not None else ""
            raise RateLimitedError(f"{what}: rate limited ({response.status}){when}", wait)
        return response

    def refused(self, response: HttpResponse, doing: str) -> ProviderError:
        """The error for an unexpected answer: its status and GitHub's own message."""
        message = ""
        found = response.json()
        if isinstance(found, dict) and isinstance(found.get("message"), str):
            # GitHub does not echo credentials, but a message is foreign text: no token shape
            # may pass through it into a log.
            message = ": " + _TOKEN_SHAPE.sub("[redacted]", found["message"][:200])
        hint = {
            401: " (the token in $" + self.settings.token_env + " is not valid)",
            403: " (the token may not do this)",
            404: " (not found, or the token cannot see it)",
        }.get(response.status, "")
        return ProviderError(
            f"github {self.provider!r}: {doing} failed with {response.status}{hint}{message}"
        )

    def retry_after(self, response: HttpResponse) -> float | None:
        """Seconds to wait, from `Retry-After`, else from `X-RateLimit-Reset` (epoch)."""
        headers = {k.lower(): v for k, v in response.headers.items()}
        after = retry_after_seconds(headers.get("retry-after"))
        if after is not None:
            return after
        reset = headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(0.0, float(reset) - self._clock())
        return None

    def _is_rate_limited(self, response: HttpResponse) -> bool:
        # GitHub answers a primary rate limit with 403 or 429 and X-RateLimit-Remaining: 0, a
        # secondary one with Retry-After (docs: "Rate limits for the REST API").
        if response.status not in (403, 429):
            return False
        headers = {k.lower(): v for k, v in response.headers.items()}
        return (
            response.status == 429
            or headers.get("x-ratelimit-remaining") == "0"
            or "retry-after" in headers
        )

    def _token(self) -> str:
        token = self._environ.get(self.settings.token_env, "")
        if not token:
            raise ProviderError(
                f"github {self.provider!r}: ${self.settings.token_env} is not set (a token "
                "that may write Actions secrets)"
            )
        return token
