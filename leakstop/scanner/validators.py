"""Issuer-defined checksum and structure checks. Each takes the secret and returns True when it
has the structure a real credential of that kind has; a rule with a validator drops matches that
fail it, and marks the ones that pass as validated (higher confidence)."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_crc32(data: str) -> str:
    """CRC32 of `data` in base62, zero-padded to 6 characters (GitHub's and npm's checksum)."""
    number = zlib.crc32(data.encode("ascii"))
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits)).rjust(6, "0")


def is_github_token(secret: str) -> bool:
    """`gh[pousr]_` + 30 random characters + a 6-character base62 CRC32 of those 30.

    https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/
    """
    return _has_crc32_tail(secret, prefix_length=4)


def is_npm_token(secret: str) -> bool:
    """`npm_` + 30 random characters + a 6-character base62 CRC32, like GitHub's tokens."""
    return _has_crc32_tail(secret, prefix_length=4)


def _has_crc32_tail(secret: str, prefix_length: int) -> bool:
    body = secret[prefix_length:]
    if len(body) != 36 or not body.isascii() or not body.isalnum():
        return False
    return base62_crc32(body[:30]) == body[30:]


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def is_jwt(secret: str) -> bool:
    """Three base64url parts: a JSON header naming `alg` and a JSON object payload."""
    parts = secret.split(".")
    if len(parts) != 3:
        return False
    try:
        header = _b64url_json(parts[0])
        payload = _b64url_json(parts[1])
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(payload, dict)


def is_pypi_token(secret: str) -> bool:
    """`pypi-` + a base64url binary macaroon (format version 2) whose location is PyPI."""
    body = secret.removeprefix("pypi-")
    try:
        raw = base64.urlsafe_b64decode((body + "=" * (-len(body) % 4)).encode("ascii"))
    except (ValueError, binascii.Error):
        return False
    return raw[:1] == b"\x02" and b"pypi.org" in raw[:64]


Validator = Callable[[str], bool]

VALIDATORS: dict[str, Validator] = {
    "github-token": is_github_token,
    "npm-token": is_npm_token,
    "jwt": is_jwt,
    "pypi-token": is_pypi_token,
}
