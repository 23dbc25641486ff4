"""Azure SDK exceptions as ProviderError: one line, never a secret.

azure-keyvault-secrets and azure-identity are the `azure` extra; they are imported here, when a
provider first talks to Key Vault, so the default install and leakstop's start-up never load
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leakstop.errors import ProviderError
from leakstop.retry_after import retry_after_seconds
from leakstop.textsafe import sanitize

#: A server's message is cut here; Key Vault's are one sentence, a proxy's HTML page is not.
_MAX_REASON = 200


def import_azure() -> tuple[Any, Any]:
    """(azure.keyvault.secrets, azure.core.exceptions); ProviderError naming the extra."""
    try:
        import azure.core.exceptions as exceptions
        import azure.keyvault.secrets as secrets
    except ImportError as exc:
        raise ProviderError(
            "the azure-keyvault provider needs azure-keyvault-secrets and azure-identity: "
            "pip install 'leakstop[azure]'"
        ) from exc
    return secrets, exceptions


@contextmanager
def azure_errors(doing: str) -> Iterator[None]:
    """Turn azure-core exceptions raised inside into ProviderError prefixed with `doing`
    ("azure-keyvault 'kv': read billing-db-password")."""
    _, exceptions = import_azure()
    try:
        yield
    except exceptions.ClientAuthenticationError as exc:
        raise ProviderError(f"{doing}: {_authentication_reason(exc, exceptions)}") from exc
    except exceptions.HttpResponseError as exc:
        raise ProviderError(f"{doing}: {http_reason(exc)}") from exc
    except exceptions.ServiceRequestError as exc:
        raise ProviderError(f"{doing}: {_network_reason(exc)}") from exc
    except exceptions.ServiceResponseError as exc:
        raise ProviderError(f"{doing}: {_no_answer_reason(exc, exceptions)}") from exc
    except exceptions.AzureError as exc:
        raise ProviderError(f"{doing}: request failed ({type(exc).__name__})") from exc


def http_reason(exc: Any) -> str:
    """`403 Forbidden: <Key Vault's first sentence>` from an HttpResponseError."""
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or getattr(exc, "reason", None) or "error"
    message = getattr(error, "message", None) or ""
    phrase = {
        401: "not authenticated",
        403: "permission denied",
        404: "not found",
        409: "conflict",
        429: "rate limited",
    }.get(status or 0, "request refused" if status and status < 500 else "Key Vault error")
    if error_code(exc) == "SecretDisabled":
        phrase = "the version is disabled"
    said = _one_line(str(message)) if message else ""
    head = f"{phrase} ({status} {code})" if status else phrase
    wait = _retry_after(exc)
    if wait is not None:
        head += f"; Key Vault takes requests again in {wait:.0f}s"
    return f"{head}: {said}" if said else head


def _retry_after(exc: Any) -> float | None:
    """Seconds from the answer's `Retry-After`: a wait leakstop did not make (too long)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    except AttributeError:
        return None
    return retry_after_seconds(value)


def error_code(exc: Any) -> str:
    """Key Vault's error code (`SecretNotFound`, `Forbidden`), or ''."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    inner = getattr(error, "innererror", None) or {}
    inner_code = inner.get("code") if isinstance(inner, dict) else None
    return str(inner_code or code or "")


def _authentication_reason(exc: Any, exceptions: Any) -> str:
    status = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", "") or "")
    if message.startswith("Microsoft Entra ID error"):
        # azure-identity's first line carries Entra's AADSTS code and sentence (a federated
        # credential that does not match, an unknown app); the lines after it are the raw body.
        said = _one_line(
            message.splitlines()[0].removeprefix("Microsoft Entra ID error").strip(" '")
        )
        return f"Entra ID refused the login ({status}): {said}" if status else said
    if status is not None:
        return http_reason(exc)
    # DefaultAzureCredential lists every credential it tried, over many lines.
    return (
        "cannot get an Azure access token (DefaultAzureCredential found no working "
        "credential: run azure/login with OIDC in CI, set AZURE_CLIENT_ID/AZURE_TENANT_ID, or "
        "az login)"
    )


def _network_reason(exc: Any) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS: Key Vault's certificate is not trusted (set tls.ca_file to its CA)"
    if "timed out" in text.lower():
        return "no answer in time (timeout)"
    if "refused" in text.lower():
        return "cannot connect (connection refused)"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "cannot connect (unknown host)"
    return "cannot connect"


def _no_answer_reason(exc: Any, exceptions: Any) -> str:
    """The request went out and no answer came: Key Vault may have done it."""
    if isinstance(exc, exceptions.ServiceResponseTimeoutError) or "timed out" in str(exc):
        return "no answer in time (timeout); Key Vault may have done the request"
    return "the connection closed before Key Vault answered; it may have done the request"


def _one_line(text: str) -> str:
    text = sanitize(" ".join(text.split()))
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
