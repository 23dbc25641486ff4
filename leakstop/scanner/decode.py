"""Decoding of candidate values: percent-encoding, string escapes and base64.

Decoding runs on candidates only (a generic rule's value, or a rule that names an encoding),
never on whole files: a base64 search over every byte of every file runs at ~31 MB/s in
Python `re`, too slow to keep the scanner's throughput. The encodings form an ordered table
(as gitleaks' codec table does), applied up to MAX_DEPTH times; whatever a decoded value turns
out to hold is reported at the encoded text's location.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: base64 inside base64 (a Kubernetes `.dockerconfigjson` holding an `auth` entry) is the
#: deepest nesting worth the work.
MAX_DEPTH = 2
#: Shorter base64 decodes to too little to hold a credential (8 characters: 6 bytes).
MIN_BASE64 = 8

_BASE64 = re.compile(rb"^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$")
_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
_ESCAPES = re.compile(rb"\\(?:[nrt\"'\\/]|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class Decoded:
    data: bytes
    #: The chain of encodings undone, outermost first ("base64", "percent", ...).
    encodings: tuple[str, ...]


def is_printable(data: bytes) -> bool:
    """Text a person or a config file would hold: UTF-8, almost all printable."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if not text:
        return False
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return printable >= 0.95 * len(text)


def decode_base64(value: bytes) -> bytes | None:
    """Standard or URL-safe base64 that decodes to printable text, else None.

    The length must be a whole number of 4-character groups, as encoders write it: a random
    10-character password is otherwise base64 of 7 bytes, printable about 0.1% of the time.
    """
    if len(value) < MIN_BASE64 or len(value) % 4 or not _BASE64.match(value):
        return None
    try:
        decoded = base64.b64decode(value.replace(b"-", b"+").replace(b"_", b"/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if is_printable(decoded) else None


def decode_percent(value: bytes) -> bytes | None:
    if not _PERCENT.search(value):
        return None
    return urllib.parse.unquote_to_bytes(value)


def decode_escapes(value: bytes) -> bytes | None:
    r"""JSON and C string escapes (`\n`, `\"`, `\u0041`), e.g. a PEM key inside JSON."""
    if not _ESCAPES.search(value):
        return None
    try:
        return value.decode("unicode_escape").encode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return None


#: Order matters: percent and escapes first, since they may wrap base64 (`%3D` padding).
DECODERS: tuple[tuple[str, Callable[[bytes], bytes | None]], ...] = (
    ("percent", decode_percent),
    ("escaped", decode_escapes),
    ("base64", decode_base64),
)


def decodings(value: bytes, depth: int = MAX_DEPTH) -> Iterator[Decoded]:
    """Every distinct decoding of `value`, up to `depth` nested encodings."""
    seen = {value}
    frontier = [Decoded(value, ())]
    for _level in range(depth):
        following = []
        for current in frontier:
            for name, decoder in DECODERS:
                result = decoder(current.data)
                if result is not None and result not in seen:
                    seen.add(result)
                    found = Decoded(result, (*current.encodings, name))
                    following.append(found)
                    yield found
        frontier = following
