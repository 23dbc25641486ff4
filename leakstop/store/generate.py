"""Random values for `store set --generate`: `secrets.choice` over a named alphabet."""

from __future__ import annotations

import secrets
import string

from leakstop.errors import StoreError

#: Alphabets by name. `symbols` leaves out quotes, backslash and space, which break shell and
#: config quoting more often than they add strength (one more character does the same).
CHARSETS = {
    "alnum": string.ascii_letters + string.digits,
    "symbols": string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~",
    "hex": "0123456789abcdef",
    "digits": string.digits,
    "base64url": string.ascii_letters + string.digits + "-_",
}
DEFAULT_LENGTH = 32
MAX_LENGTH = 4096


def generate(length: int = DEFAULT_LENGTH, charset: str = "alnum") -> bytes:
    """`length` characters drawn uniformly from `CHARSETS[charset]`, as ASCII bytes."""
    if not 8 <= length <= MAX_LENGTH:
        raise StoreError(f"a generated value takes 8 to {MAX_LENGTH} characters")
    alphabet = CHARSETS.get(charset)
    if alphabet is None:
        raise StoreError(f"unknown charset {charset!r}: use one of {', '.join(CHARSETS)}")
    return "".join(secrets.choice(alphabet) for _ in range(length)).encode("ascii")
