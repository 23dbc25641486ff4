"""POST one JSON message to a webhook: short timeouts, bounded retries with backoff.

Retried: connection errors, timeouts, HTTP 429 and 5xx, waiting the server's `Retry-After`
(429/503, capped) or an exponential backoff with jitter; never other 4xx, a redirect (not
followed: a POST would become a GET, perhaps to another host) or a certificate that does not
verify. One message takes at most `RetryPolicy.max_elapsed` seconds in all.

The URL is a credential (Slack's path, a Teams workflow's `sig=`): errors and logs show only
its scheme and host. Plain http:// is refused except to this machine.
"""

from __future__ import annotations

import http.client
import logging
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO

from leakstop import __version__
from leakstop.audit.sinks.http import LOCAL_HOSTS
from leakstop.notify.base import Delivery, NotifyError
from leakstop.retry_after import retry_after_seconds
from leakstop.textsafe import sanitize

log = logging.getLogger(__name__)

#: Statuses worth another attempt, and those whose Retry-After is honoured (RFC 9110
#: §10.2.3 for 503, RFC 6585 §4 for 429).
_RETRIED_STATUS = frozenset({429}) | frozenset(range(500, 600))
_RETRY_AFTER_STATUS = frozenset({429, 503})
#: How much of an error answer is shown: Slack says why in a word (`invalid_blocks`).
_SHOWN_ANSWER = 80


@dataclass(frozen=True)
class RetryPolicy:
    #: Seconds before the first retry, doubled for each later one up to `max_delay`; each wait
    #: is drawn between half and all of that, so runs that failed together do not retry
    #: together.
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A server's Retry-After is honoured up to this many seconds.
    max_retry_after: float = 30.0
    #: Seconds one message may take, attempts and waits included: a notifier that is down
    #: must not hold up the rotations it reports on.
    max_elapsed: float = 30.0


#: Builds the headers of one attempt from its body (the generic webhook signs each attempt).
HeaderFactory = Callable[[bytes], Mapping[str, str]]


def display_url(url: str) -> str:
    """Only the scheme and host of `url`: its path and query may be the credential."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return sanitize(f"{parts.scheme}://{host}{port}")


def url_problem(url: str) -> str | None:
    """Why leakstop will not POST to `url`, or None. The answer never contains the URL."""
    if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
        return "the webhook URL must be ASCII without spaces"
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "the webhook URL's port is not a number"
    if not parts.hostname:
        return "the webhook URL has no host"
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        return None
    return "the webhook URL must use https:// (plain http:// only to this machine)"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


@dataclass(frozen=True)
class _Failure:
    problem: str
    is_retryable: bool
    retry_after: float | None


class Transport:
    """POSTs bodies to one URL. `label` names the notifier in errors."""

    def __init__(
        self,
        url: str,
        label: str,
        *,
        timeout: float,
        retries: int,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._url = url
        self._label = f"{label} ({display_url(url)})"
        self._timeout = timeout
        self._retries = retries
        self._policy = policy or RetryPolicy()
        # The default context honours SSL_CERT_FILE, so a private CA needs no option here.
        context = ssl.create_default_context()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirects()
        )

    def post(self, body: bytes, headers: HeaderFactory) -> Delivery:
        """Deliver `body`; raises NotifyError once the attempts or the time are used up."""
        deadline = time.monotonic() + self._policy.max_elapsed
        attempts = self._retries + 1
        attempt = 0
        while True:
            attempt += 1
            timeout = max(min(self._timeout, deadline - time.monotonic()), 0.001)
            status, failure = self._attempt(body, headers(body), timeout)
            if failure is None:
                return Delivery(status, attempt)
            if not failure.is_retryable or attempt >= attempts:
                break
            wait = failure.retry_after
            if wait is None:
                ceiling = min(self._policy.max_delay, self._policy.base_delay * 2 ** (attempt - 1))
                wait = random.uniform(ceiling / 2, ceiling)
            if time.monotonic() + wait >= deadline:
                failure = _Failure(
                    f"{failure.problem}; out of time ({self._policy.max_elapsed:g} s)", False, None
                )
                break
            log.info(
                "%s: %s; retrying in %.1f s (attempt %d of %d)",
                self._label,
                failure.problem,
                wait,
                attempt + 1,
                attempts,
            )
            time.sleep(wait)
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        raise NotifyError(f"{self._label}: {failure.problem}{tries}", attempt)

    def _attempt(
        self, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, _Failure | None]:
        request = urllib.request.Request(
            self._url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": f"leakstop/{__version__}",
                **headers,
            },
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read(64 * 1024)
                return int(response.status), None
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, self._status_failure(exc)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                problem = f"TLS certificate not trusted ({self._clean(reason.verify_message)})"
                return 0, _Failure(problem, False, None)
            return 0, _Failure(f"cannot connect ({self._clean(reason)})", True, None)
        except TimeoutError:
            return 0, _Failure(f"no answer within {timeout:.1f} s", True, None)
        except (OSError, http.client.HTTPException) as exc:
            return 0, _Failure(f"connection failed ({self._clean(exc)})", True, None)

    def _status_failure(self, error: urllib.error.HTTPError) -> _Failure:
        code = error.code
        problem = f"HTTP {code} {self._clean(error.reason)}".rstrip()
        answer = self._answer(error)
        if answer:
            problem += f": {answer}"
        if 300 <= code < 400:
            return _Failure(f"{problem} (redirects are not followed)", False, None)
        if code not in _RETRIED_STATUS:
            return _Failure(problem, False, None)
        retry_after = None
        if code in _RETRY_AFTER_STATUS:
            retry_after = retry_after_seconds(error.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, self._policy.max_retry_after)
        return _Failure(problem, True, retry_after)

    def _answer(self, error: urllib.error.HTTPError) -> str:
        try:
            text = error.read(_SHOWN_ANSWER + 1).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException):
            return ""
        if len(text) > _SHOWN_ANSWER:
            text = text[:_SHOWN_ANSWER] + "…"
        return self._clean(text)

    def _clean(self, text: object) -> str:
        """`text` safe for one line, with the URL (should a library echo it) cut out."""
        return sanitize(str(text).replace(self._url, display_url(self._url)))
