"""Vault's and the network's exceptions as ProviderError: one line, and never a secret.

hvac is the `vault` extra; it is imported here, when a provider first talks to Vault, so the
default install and leakstop's start-up never load it (nor `requests`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from leakstop.errors import ProviderConflictError, ProviderError
from leakstop.textsafe import sanitize

#: What Vault says when a check-and-set write loses (vault/builtin/logical/kv, `cas` option).
CAS_MISMATCH = "check-and-set parameter did not match"
#: A server's message is cut here; Vault's are short, a proxy's HTML page is not.
_MAX_REASON = 200
_MULTI_ERROR_HEAD = re.compile(r"^\s*\d+ errors? occurred:\s*", re.IGNORECASE)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def import_hvac() -> Any:
    """The hvac module; ProviderError naming the extra when it is not installed."""
    try:
        import hvac
    except ImportError as exc:
        raise ProviderError("the vault provider needs hvac: pip install 'leakstop[vault]'") from exc
    return hvac


@contextmanager
def vault_errors(doing: str, hide: Iterable[str] = ()) -> Iterator[None]:
    """Turn hvac and requests exceptions raised inside into ProviderError, prefixed with
    `doing` ("vault 'prod': write secret/billing/db").

    A lost check-and-set becomes ProviderConflictError. Any string in `hide` (a token, a
    secret-id sent in that call) is blanked from the message, should a server echo it.
    """
    hvac = import_hvac()
    import requests  # hvac's own dependency, already loaded with it

    try:
        yield
    except hvac.exceptions.VaultError as exc:
        reason = _vault_reason(exc, hvac.exceptions)
        kind = ProviderConflictError if CAS_MISMATCH in reason else ProviderError
        raise kind(_redact(f"{doing}: {reason}", hide)) from exc
    except requests.exceptions.RequestException as exc:
        raise ProviderError(_redact(f"{doing}: {_network_reason(exc, requests)}", hide)) from exc


def _vault_reason(exc: Any, exceptions: Any) -> str:
    status = [
        (exceptions.Forbidden, "permission denied"),
        (exceptions.Unauthorized, "not authenticated"),
        (exceptions.InvalidPath, "not found"),
        (exceptions.InvalidRequest, "request refused"),
        (exceptions.RateLimitExceeded, "rate limited"),
        (exceptions.VaultDown, "Vault is sealed or unavailable"),
        (exceptions.InternalServerError, "Vault server error"),
        (exceptions.BadGateway, "bad gateway"),
    ]
    phrase = next((text for kind, text in status if isinstance(exc, kind)), "failed")
    errors = exc.errors if isinstance(exc.errors, list) else []
    said = "; ".join(_one_line(str(e)) for e in errors if str(e).strip())
    if not said or said.lower() == phrase.lower():
        return phrase
    return f"{phrase}: {said}"


def _network_reason(exc: Any, requests: Any) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "TLS: Vault's certificate is not trusted (set tls.ca_file to its CA)"
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer in time (timeout)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        errno = _ERRNO.search(text)
        return "cannot connect" + (f" ({errno.group(1).strip().lower()})" if errno else "")
    return f"request failed ({type(exc).__name__})"


def _one_line(text: str) -> str:
    text = _MULTI_ERROR_HEAD.sub("", text)
    # Vault lists several errors as "2 errors occurred:\n\t* first\n\t* second".
    text = " ".join(word for word in text.split() if word != "*")
    text = sanitize(text.strip())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _redact(message: str, hide: Iterable[str]) -> str:
    for secret in hide:
        if secret:
            message = message.replace(secret, "[redacted]")
    return message
