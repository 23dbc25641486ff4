"""Google Cloud exceptions as ProviderError: one line, never a secret.

google-cloud-secret-manager is the `gcp` extra; it is imported here, when a provider first
talks to Secret Manager, so the default install and leakstop's start-up never load it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leakstop.errors import ProviderConflictError, ProviderError
from leakstop.textsafe import sanitize

_MAX_REASON = 200
_REQUEST = re.compile(r"^(?:GET|POST|PATCH|PUT|DELETE) \S+: ")
#: The REST transport logs whole requests at DEBUG level, AddSecretVersion's payload (the
#: value, base64) included, when the SDK's own logging is switched on
#: (GOOGLE_SDK_PYTHON_LOGGING_SCOPE); leakstop never lets it.
_CHATTY_LOGGERS = (
    "google.cloud.secretmanager_v1",
    "google.cloud.secretmanager_v1.services.secret_manager_service.transports.rest",
)


def import_gcp() -> tuple[Any, Any]:
    """(google.cloud.secretmanager_v1, google.api_core.exceptions); ProviderError naming the
    extra when they are not installed."""
    try:
        import google.api_core.exceptions as exceptions
        from google.cloud import secretmanager_v1
    except ImportError as exc:
        raise ProviderError(
            "the gcp-secretmanager provider needs google-cloud-secret-manager: "
            "pip install 'leakstop[gcp]'"
        ) from exc
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    return secretmanager_v1, exceptions


def is_etag_mismatch(exc: Any, exceptions: Any) -> bool:
    """Secret Manager refuses a write whose etag is stale with FAILED_PRECONDITION, HTTP 400
    (https://cloud.google.com/secret-manager/docs/etags); the REST transport raises it as
    BadRequest, since google-api-core picks the class by HTTP status."""
    refused = isinstance(exc, (exceptions.FailedPrecondition, exceptions.BadRequest))
    return refused and "etag" in str(exc.message).lower()


@contextmanager
def gcp_errors(doing: str) -> Iterator[None]:
    """Turn Google API, auth and network exceptions raised inside into ProviderError
    prefixed with `doing`; a stale etag becomes ProviderConflictError."""
    _, exceptions = import_gcp()
    import google.auth.exceptions as auth_exceptions
    import requests

    try:
        yield
    except exceptions.GoogleAPICallError as exc:
        kind = ProviderConflictError if is_etag_mismatch(exc, exceptions) else ProviderError
        raise kind(f"{doing}: {_api_reason(exc, exceptions)}") from exc
    except exceptions.RetryError as exc:
        raise ProviderError(f"{doing}: no answer after retries") from exc
    except auth_exceptions.DefaultCredentialsError as exc:
        raise ProviderError(
            f"{doing}: no Google credentials found (run google-github-actions/auth in CI, set "
            "GOOGLE_APPLICATION_CREDENTIALS, or gcloud auth application-default login)"
        ) from exc
    except auth_exceptions.OAuthError as exc:
        # Google STS refusing a federated token (workload identity): its error_description
        # says why (the attribute condition, the audience); never the token itself.
        raise ProviderError(
            f"{doing}: Google STS refused the workload identity token{_sts_reason(exc)}"
        ) from exc
    except auth_exceptions.RefreshError as exc:
        # The session refreshes on a 401; a bare access token cannot be refreshed.
        raise ProviderError(
            f"{doing}: not authenticated (the access token was refused or has expired, and "
            "cannot be refreshed)"
        ) from exc
    except auth_exceptions.GoogleAuthError as exc:
        raise ProviderError(f"{doing}: cannot get a Google access token{_sts_reason(exc)}") from exc
    except requests.exceptions.RequestException as exc:
        raise ProviderError(f"{doing}: {_network_reason(exc, requests)}") from exc


def _api_reason(exc: Any, exceptions: Any) -> str:
    phrases = [
        (exceptions.Unauthenticated, "not authenticated"),
        (exceptions.Unauthorized, "not authenticated"),
        (exceptions.PermissionDenied, "permission denied"),
        (exceptions.Forbidden, "permission denied"),
        (exceptions.NotFound, "not found"),
        (exceptions.AlreadyExists, "already exists"),
        (exceptions.FailedPrecondition, "refused"),
        (exceptions.BadRequest, "refused"),
        (exceptions.TooManyRequests, "rate limited"),
        (exceptions.ServerError, "Secret Manager error"),
    ]
    phrase = next((text for kind, text in phrases if isinstance(exc, kind)), "request refused")
    code = getattr(exc, "code", None)
    # The REST transport starts each message with the request ("PATCH https://...: ").
    said = _one_line(_REQUEST.sub("", str(getattr(exc, "message", "") or "")))
    head = f"{phrase} ({int(code)})" if code else phrase
    return f"{head}: {said}" if said else head


def _network_reason(exc: Any, requests: Any) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "TLS: the endpoint's certificate is not trusted (set tls.ca_file to its CA)"
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer in time (timeout)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect" + (" (connection refused)" if "refused" in text.lower() else "")
    return f"request failed ({type(exc).__name__})"


def _one_line(text: str) -> str:
    text = sanitize(" ".join(text.split()))
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _sts_reason(exc: Any) -> str:
    """`: <Google STS's error_description>` from an OAuthError's arguments, or ''."""
    for argument in getattr(exc, "args", ()):
        try:
            body = json.loads(argument) if isinstance(argument, str) else None
        except ValueError:
            continue
        if isinstance(body, dict) and isinstance(body.get("error_description"), str):
            return f": {sanitize(' '.join(body['error_description'].split()))[:200]}"
    return ""
