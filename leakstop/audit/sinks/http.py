"""An HTTP endpoint as an audit sink (a SIEM's collector): each record POSTed as JSON, signed
with HMAC-SHA256, retried with backoff.

The request, one per record and attempt::

    POST <url>
    Content-Type: application/json
    User-Agent: leakstop/<version>
    Idempotency-Key: <the record's id>
    X-Leakstop-Timestamp: <Unix time of this attempt, whole seconds>
    X-Leakstop-Signature: sha256=<64 lowercase hex digits>     (only when `key_env` is set)

    <the record's canonical JSON: sorted keys, no spaces, UTF-8, no trailing newline>

Checking a request, for the team that runs the endpoint (`key` is the value of the
environment variable `key_env` names, as UTF-8 bytes)::

    signed = timestamp_header.encode("ascii") + b"." + raw_body   # bytes as received
    expected = "sha256=" + hmac.new(key, signed, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, signature_header)               # else refuse
    abs(time.time() - int(timestamp_header)) <= 300                # else refuse: a replay
    Idempotency-Key seen before -> answer 2xx, store nothing       # a retry of a delivered record

The timestamp is signed with the body, so a captured request cannot be replayed once the
endpoint's window has passed, nor given a fresh timestamp without the key. Each retry is
signed again with its own timestamp; its body and Idempotency-Key stay the same. The record's
`mac` field (the local log's chain, under another key) is part of the body and is not what
this signature is.

Delivery: `settings.retries` retries after the first attempt, on connection errors, timeouts,
HTTP 429 and 5xx; never on other 4xx, a redirect (not followed: configure the final URL) or a
certificate that does not verify. The wait before a retry doubles from `RetryPolicy.base_delay`
with jitter, or is the server's `Retry-After` on 429/503, capped. No record takes longer than
`RetryPolicy.max_elapsed`. Once a record has failed, the next ones get a single attempt each
until one is delivered: a SIEM that is down costs the retry budget once per run, not once per
record.

TLS is verified against the system's trust store (or the CA file the caller passes, which
replaces it). Plain http:// is refused except to this machine (127.0.0.1, localhost, ::1):
records name secrets and actors.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO

from leakstop import __version__
from leakstop.audit.record import Record, canonical
from leakstop.audit.sinks import SinkError
from leakstop.config.audit import HttpSinkSettings
from leakstop.retry_after import retry_after_seconds
from leakstop.textsafe import sanitize

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Leakstop-Timestamp"
SIGNATURE_HEADER = "X-Leakstop-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Hosts plain http:// may reach: the traffic never leaves the machine.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Statuses worth another attempt; of these, the two whose Retry-After is honoured
#: (RFC 9110 §10.2.3 defines it for 503 and 3xx, RFC 6585 §4 for 429).
_RETRIED_STATUS = frozenset({429}) | frozenset(range(500, 600))
_RETRY_AFTER_STATUS = frozenset({429, 503})
#: A collector's answer is not used; reading a little lets a small body arrive whole.
_MAX_RESPONSE_READ = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How long one record may take. The number of attempts comes from the settings."""

    #: Seconds before the first retry; doubled for each later one, up to `max_delay`. Each
    #: wait is drawn between half and all of that ("equal jitter"), so runners that failed
    #: together do not retry together.
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A server's Retry-After is honoured up to this many seconds.
    max_retry_after: float = 30.0
    #: Seconds one `send` may take in all, attempts and waits included: each attempt's timeout
    #: is cut to what is left, and a wait that would pass it is not started.
    max_elapsed: float = 60.0


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The X-Leakstop-Signature value for `body` sent at `timestamp` (Unix seconds, as sent)."""
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass(frozen=True)
class _Failure:
    """Why one attempt did not deliver, and whether another may."""

    problem: str
    is_retryable: bool
    #: Seconds the server asked us to wait (already capped), if it did.
    retry_after: float | None
    cause: BaseException


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: urllib would resend a POST as a GET, possibly to another host
    or over plain http, with the signature headers."""

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


class HttpSink:
    """POSTs each record to `settings.url`, signed with `key` (None: unsigned).

    `ca_file` replaces the system trust store (a test CA, a private PKI). Raises SinkError
    from the constructor when the URL is not one it will send records to.
    """

    def __init__(
        self,
        settings: HttpSinkSettings,
        key: bytes | None,
        *,
        ca_file: Path | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._key = key
        self._policy = policy or RetryPolicy()
        self._url = settings.url
        self.name = f"http {_display_url(settings.url)}"
        _check_url(settings.url, self.name)
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirects()
        )
        #: Set after a record failed every attempt; cleared by the next delivery.
        self._is_failing = False

    def __repr__(self) -> str:
        return f"HttpSink({self.name!r})"

    def send(self, record: Record) -> None:
        """POST `record`; raises SinkError once its attempts or its time are used up."""
        body = canonical(record.to_json())
        attempts = 1 if self._is_failing else self._settings.retries + 1
        deadline = time.monotonic() + self._policy.max_elapsed
        attempt = 0
        while True:
            attempt += 1
            timeout = min(self._settings.timeout, deadline - time.monotonic())
            failure = self._post(body, record.id, max(timeout, 0.001))
            if failure is None:
                self._is_failing = False
                return
            if not failure.is_retryable or attempt >= attempts:
                break
            wait = failure.retry_after
            if wait is None:
                wait = self._backoff(attempt)
            if time.monotonic() + wait >= deadline:
                failure = _Failure(
                    f"{failure.problem}; out of time ({self._policy.max_elapsed:g} s)",
                    False,
                    None,
                    failure.cause,
                )
                break
            log.info(
                "audit sink %s: %s; retrying in %.1f s (attempt %d of %d)",
                self.name,
                failure.problem,
                wait,
                attempt + 1,
                attempts,
            )
            time.sleep(wait)
        self._is_failing = True
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        raise SinkError(f"audit sink {self.name}: {failure.problem}{tries}") from failure.cause

    def close(self) -> None:
        """Nothing to release: each attempt opens and closes its own connection."""

    def _post(self, body: bytes, idempotency_key: str, timeout: float) -> _Failure | None:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"leakstop/{__version__}",
            IDEMPOTENCY_HEADER: idempotency_key,
            TIMESTAMP_HEADER: timestamp,
        }
        if self._key is not None:
            headers[SIGNATURE_HEADER] = sign(self._key, timestamp, body)
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read(_MAX_RESPONSE_READ)
        except urllib.error.HTTPError as exc:
            with exc:
                return self._status_failure(exc)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                # Retrying will not make a certificate valid.
                problem = f"TLS certificate not trusted ({sanitize(str(reason.verify_message))})"
                return _Failure(problem, False, None, exc)
            return _Failure(f"cannot connect ({sanitize(str(reason))})", True, None, exc)
        except TimeoutError as exc:
            return _Failure(f"no answer within {timeout:.1f} s", True, None, exc)
        except (OSError, http.client.HTTPException) as exc:
            # The connection broke after it was made (reset, a garbled status line).
            return _Failure(f"connection failed ({sanitize(str(exc))})", True, None, exc)
        return None

    def _status_failure(self, error: urllib.error.HTTPError) -> _Failure:
        code = error.code
        problem = f"HTTP {code} {sanitize(str(error.reason))}".rstrip()
        if 300 <= code < 400:
            return _Failure(f"{problem} (redirects are not followed)", False, None, error)
        if code not in _RETRIED_STATUS:
            return _Failure(problem, False, None, error)
        retry_after = None
        if code in _RETRY_AFTER_STATUS:
            retry_after = retry_after_seconds(error.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, self._policy.max_retry_after)
        return _Failure(problem, True, retry_after, error)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._policy.max_delay, self._policy.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def _display_url(url: str) -> str:
    """The URL without credentials or query (either may hold a collector's token)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ":?"
    return sanitize(f"{parts.scheme}://{host}{port}{parts.path}")


def _check_url(url: str, name: str) -> None:
    if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
        # http.client would fail on them at the first send, not here.
        raise SinkError(
            f"audit sink {name}: the url must be ASCII without spaces (percent-encode the rest)"
        )
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise SinkError(f"audit sink {name}: the url's port is not a number") from exc
    if not parts.hostname:
        raise SinkError(f"audit sink {name}: the url has no host")
    if parts.username is not None or parts.password is not None:
        raise SinkError(
            f"audit sink {name}: credentials do not belong in the url; "
            f"records are signed with the key named by key_env"
        )
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return
    raise SinkError(
        f"audit sink {name}: use https:// (plain http:// only to 127.0.0.1, localhost or ::1, "
        f"as records name secrets and actors)"
    )
