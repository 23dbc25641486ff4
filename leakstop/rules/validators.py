"""Issuer-defined checksum and structure checks. Each takes the secret and returns True when it
has the structure a real credential of that kind has; a rule with a validator drops matches that
fail it, and marks the ones that pass as validated (higher confidence)."""

from __future__ import annotations

import base64
import binascii
import json
import re
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


def _base36(number: int, width: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, remainder = divmod(number, 36)
        out = digits[remainder] + out
    return out.rjust(width, "0")


def is_gitlab_routable_token(secret: str) -> bool:
    """GitLab's routable tokens (`glpat-<base64>.01.<len><crc>`): the last 7 characters are
    the CRC32 of everything before them in base36. Older forms have no checksum to check."""
    if ".01." not in secret:
        return True
    return _base36(zlib.crc32(secret[:-7].encode()), 7) == secret[-7:]


def is_atlassian_token(secret: str) -> bool:
    """Atlassian and Bitbucket tokens (`ATBB...`, `ATATT3...`, `ATCTT3...`) end with the CRC32
    of everything before, as 8 upper-case hex digits."""
    return f"{zlib.crc32(secret[:-8].encode()):08X}" == secret[-8:]


def is_packagist_token(secret: str) -> bool:
    """Private Packagist tokens end with the CRC32 of prefix and body, as 8 hex digits."""
    return f"{zlib.crc32(secret[:-8].encode()):08x}" == secret[-8:]


def is_grafana_service_account_token(secret: str) -> bool:
    """`glsa_<32>_<8 hex>`: the hex is CRC32("glsa_" + the 32 characters), little-endian."""
    body, _, checksum = secret.rpartition("_")
    return zlib.crc32(body.encode()).to_bytes(4, "little").hex() == checksum


_PEM_BODY = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s+((?:[A-Za-z0-9+/=]+\s+)+?)-----END")
_PEM_HEADER = re.compile(rb"^[A-Za-z-]+:.*$", re.MULTILINE)


def is_private_key(secret: str) -> bool:
    """A PEM, OpenSSH or PGP private key whose body decodes to the right structure: DER
    (an ASN.1 SEQUENCE) for PEM keys, the `openssh-key-v1` magic for OpenSSH keys, a
    secret-key packet for PGP. Rejects placeholders and truncated bodies."""
    text = secret.replace("\\n", "\n").encode()
    match = _PEM_BODY.search(_PEM_HEADER.sub(b"", text))
    if match is None:
        return False
    kind, body = match.group(1), b"".join(match.group(2).split())
    try:
        der = base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    if b"OPENSSH" in kind:
        return der.startswith(b"openssh-key-v1\0")
    if b"PGP" in kind:
        # Old-format tags 5/7 (0x94-0x97, 0x9c-0x9f) or new-format 0xc5/0xc7: secret keys.
        return len(der) > 32 and (
            der[0] in (0x94, 0x95, 0x96, 0x97, 0x9C, 0x9D, 0x9E, 0x9F) or der[0] in (0xC5, 0xC7)
        )
    return len(der) > 32 and der[0] == 0x30


def is_basic_auth(secret: str) -> bool:
    """Base64 of `user:password` (Docker `auth`, npm `_auth`, `Authorization: Basic`), both
    parts non-empty and printable."""
    try:
        raw = base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, colon, password = raw.partition(":")
    return bool(colon and user and password) and raw.isprintable()


def is_base64_text(secret: str) -> bool:
    """Base64 of printable text with no surrounding whitespace: an encoded password (npm's
    `_password`), not a random string that happens to use the base64 alphabet."""
    if len(secret) % 4:
        return False
    try:
        raw = base64.b64decode(secret, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return bool(raw) and raw.isprintable() and raw == raw.strip()


Validator = Callable[[str], bool]


def is_mapbox_token(secret: str) -> bool:
    """`pk.`/`sk.`/`tk.` + base64url JSON naming the user (`u`) and key (`a`) + a signature."""
    parts = secret.split(".")
    return len(parts) == 3 and has_json_fields(parts[1], ("u", "a"))


def _decoded_json_object(text: str) -> bytes | None:
    """The bytes a base64 or base64url `text` decodes to, if they open a JSON object."""
    standard = text.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if raw.lstrip()[:2] in (b'{"', b"{ ") else None


def has_json_fields(encoded: str, fields: tuple[str, ...]) -> bool:
    """`encoded` is base64(url) of a JSON object naming every one of `fields`.

    Names are looked up in the decoded bytes (`"name":`), not by parsing: an issuer may add
    fields or nest objects, but a token that lacks its issuer's fields is some other
    base64 JSON (a JWT, a config blob) that merely starts the same way.
    """
    raw = _decoded_json_object(encoded)
    if raw is None:
        return False
    return all(re.search(rb'"%s"\s*:' % re.escape(name.encode()), raw) for name in fields)


def _fields_after(prefix: str, fields: tuple[str, ...], separator: str = "") -> Validator:
    """A check that the base64 JSON after `prefix` (up to the last `separator`, when the
    token ends with a signature) names `fields`."""

    def check(secret: str) -> bool:
        body = secret[len(prefix) :] if secret.startswith(prefix) else secret
        if separator:
            body = body.rpartition(separator)[0] or body
        return has_json_fields(body, fields)

    return check


VALIDATORS: dict[str, Validator] = {
    "github-token": is_github_token,
    "npm-token": is_npm_token,
    "jwt": is_jwt,
    # Tokens that are base64 JSON: the issuer's own fields must be in it.
    "sentry-org-token": _fields_after("sntrys_", ("iat", "org"), separator="_"),
    "grafana-cloud-token": _fields_after("glc_", ("o", "n", "k")),
    "grafana-api-key": _fields_after("", ("k", "n", "id")),
    "onepassword-service-account": _fields_after("ops_", ("signInAddress",)),
    "mapbox-token": is_mapbox_token,
    "pypi-token": is_pypi_token,
    "gitlab-routable": is_gitlab_routable_token,
    "atlassian-token": is_atlassian_token,
    "packagist-token": is_packagist_token,
    "grafana-service-account": is_grafana_service_account_token,
    "private-key": is_private_key,
    "basic-auth": is_basic_auth,
    "base64-text": is_base64_text,
}
