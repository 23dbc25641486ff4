"""Issuers' documented example credentials: values that appear in API references, RFCs and
READMEs, are copied into thousands of repositories, and never worked (or work only against a
sandbox that anyone may use). Reporting them would send people to rotate nothing.

Families are matched by pattern where one serves (`…EXAMPLE`, `…EXAMPLEKEY`, a JWT signed
with `secret`); single published values by a digest, so this module holds no copy of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

#: AWS (`AKIAIOSFODNN7EXAMPLE`, `…/bPxRfiCYEXAMPLEKEY`) and many issuers after it mark doc
#: values with the word. In a random base62 body it occurs with probability ~62**-7.
#: `example.com` is a host (an e-mail address inside a decoded config), not a marker.
_EXAMPLE_WORD = re.compile(r"(?i)example(?!\.(?:com|org|net)\b)")

#: Truncated SHA-256 of single published example values: Stripe's API reference test keys,
#: Mailgun's documentation key, the client credentials of RFC 6749 (sections 2.3.1, 4.1.3)
#: and RFC 7617's Basic example user and password.
_PUBLISHED = frozenset(
    {
        "2cafc0970149a84f3b9e",
        "b1471f544ceeea31333b",
        "f2d6ca16515033e5dce1",
        "5895b89c8fb33402a5bf",
        "7e8de44ea9ecf6d53415",
        "9c846fdf0fa8955c377d",
        "ed8462e1cfbe0f3a5cd0",
        "53f5da0aaa93d64cd577",
        "e9974c507d2a802143f6",
        "255c133be7a5d12f2273",
        "41ef4bb0b23661e66301",
    }
)

#: HMAC keys that JWT documentation signs its examples with (jwt.io's default, library READMEs).
_DOC_JWT_KEYS = tuple(
    key.encode()
    for key in (
        "secret",
        "your-256-bit-secret",
        "your-384-bit-secret",
        "your-512-bit-secret",
        "your-secret-key",
        "your-secret",
        "your_secret_key",
        "secret-key",
        "secret_key",
        "secretkey",
        "mysecret",
        "my-secret",
        "my_secret",
        "supersecret",
        "shhhhh",
        "key",
        "changeme",
        "password",
        "jwt-secret",
        "jwt_secret",
    )
)
_JWT_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
#: jwt.io's default payload: {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}.
_DOC_JWT_CLAIMS = (("sub", "1234567890"), ("name", "John Doe"), ("iat", 1516239022))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _b64decode(text: str, urlsafe: bool = False) -> bytes | None:
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded.encode("ascii"))
        return base64.b64decode(padded.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def _is_doc_jwt(secret: str) -> bool:
    parts = secret.split(".")
    if len(parts) != 3 or not secret.startswith("eyJ"):
        return False
    header_raw, payload_raw = _b64decode(parts[0], True), _b64decode(parts[1], True)
    if header_raw is None or payload_raw is None:
        return False
    try:
        header, payload = json.loads(header_raw), json.loads(payload_raw)
    except (ValueError, UnicodeDecodeError):
        return False
    if isinstance(payload, dict) and any(payload.get(k) == v for k, v in _DOC_JWT_CLAIMS[:2]):
        return True
    digest = _JWT_HASHES.get(header.get("alg", "")) if isinstance(header, dict) else None
    signature = _b64decode(parts[2], True)
    if digest is None or signature is None:
        return False
    signed = f"{parts[0]}.{parts[1]}".encode("ascii")
    return any(
        hmac.compare_digest(hmac.new(key, signed, digest).digest(), signature)
        for key in _DOC_JWT_KEYS
    )


def _is_doc_basic_auth(secret: str) -> bool:
    """`user:password` (or its base64) where either half is a published example."""
    text = secret
    if ":" not in text and len(text) >= 8:
        raw = _b64decode(text)
        if raw is None:
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
    user, colon, password = text.partition(":")
    return bool(colon) and (_digest(user) in _PUBLISHED or _digest(password) in _PUBLISHED)


def is_documented_example(secret: str) -> bool:
    """A value issuers publish as an example: `…EXAMPLE`-style ids and keys, Stripe's and
    Mailgun's documentation keys, RFC example client credentials (also base64 in a Basic
    header), JWTs signed with a documentation key or carrying jwt.io's sample claims."""
    if (len(secret) <= 256 and _EXAMPLE_WORD.search(secret)) or _digest(secret) in _PUBLISHED:
        return True
    if secret.startswith("eyJ") and _is_doc_jwt(secret):
        return True
    return len(secret) <= 200 and _is_doc_basic_auth(secret)
