"""boto3's and the network's exceptions as ProviderError: one line, and never a secret.

boto3 is the `aws` extra; it is imported here, when a provider first talks to AWS, so the
default install and leakstop's start-up never load it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from leakstop.errors import ProviderError
from leakstop.textsafe import sanitize

#: A message from AWS is cut here; theirs are short, a proxy's HTML page is not.
_MAX_REASON = 200


def import_boto3() -> Any:
    """The boto3 module; ProviderError naming the extra when it is not installed."""
    try:
        import boto3
    except ImportError as exc:
        raise ProviderError("the aws provider needs boto3: pip install 'leakstop[aws]'") from exc
    return boto3


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (`AccessDenied`); "" for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    error = response.get("Error")
    return str(error.get("Code", "")) if isinstance(error, dict) else ""


@contextmanager
def aws_errors(doing: str, hide: Iterable[str] = ()) -> Iterator[None]:
    """Turn botocore exceptions raised inside into ProviderError, prefixed with `doing`
    ("aws 'prod': read secret prod/billing"). Any string in `hide` (a secret key sent in that
    call) is blanked from the message, should a server echo it."""
    import_boto3()
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from botocore.parsers import ResponseParserError

    try:
        yield
    except ResponseParserError as exc:
        # Not a BotoCoreError: an answer that is not AWS's (a proxy's HTML page, an empty
        # throttling answer) was a traceback. The request may have been done.
        raise ProviderError(
            _redact(f"{doing}: the answer could not be read as AWS's ({_short(str(exc))})", hide)
        ) from exc
    except NoCredentialsError as exc:
        raise ProviderError(
            f"{doing}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity for OIDC)"
        ) from exc
    except ClientError as exc:
        raise ProviderError(_redact(f"{doing}: {client_reason(exc)}", hide)) from exc
    except BotoCoreError as exc:
        raise ProviderError(_redact(f"{doing}: {_short(str(exc))}", hide)) from exc


def client_reason(exc: Any) -> str:
    """`AccessDenied: User ... is not authorized ...` from a ClientError."""
    error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
    code = str(error.get("Code") or "error")
    message = str(error.get("Message") or "").strip()
    return _short(f"{code}: {message}" if message else code)


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 1] + "…"


def _redact(message: str, hide: Iterable[str]) -> str:
    for value in hide:
        if value:
            message = message.replace(value, "[hidden]")
    return sanitize(message)
