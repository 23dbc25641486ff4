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
_ESCAPES = re.compile(
    rb"""\\(?:
        u(?P<high>[Dd][89ABab][0-9A-Fa-f]{2})\\u(?P<low>[Dd][C-Fc-f][0-9A-Fa-f]{2})  # UTF-16 pair
      | u(?P<unit>[0-9A-Fa-f]{4})
      | x(?P<byte>[0-9A-Fa-f]{2})
      | (?P<char>[nrt"'\\/])
    )""",
    re.VERBOSE,
)
_SIMPLE_ESCAPES = {
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b'"': b'"',
    b"'": b"'",
    b"\\": b"\\",
    b"/": b"/",
}


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
    r"""JSON and C string escapes (`\n`, `\"`, `\u00fc`, `\ud83d\ude00`), e.g. a PEM key inside
    JSON; None when there are none.

    Only the escapes change; every other byte stays as it was, so UTF-8 text around them
    survives (`bytes.decode("unicode_escape")` read it as Latin-1). Escaped characters are
    written as UTF-8. `\xNN` is the code point U+00NN, as in JSON5, YAML and JavaScript. A
    lone UTF-16 surrogate (`\ud83d` without its pair) has no UTF-8 form: it stays as written.
    """
    decoded = _ESCAPES.sub(_unescape, value)
    return decoded if decoded != value else None


def _unescape(match: re.Match[bytes]) -> bytes:
    high, low = match["high"], match["low"]
    if high is not None and low is not None:
        code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
        return chr(code).encode("utf-8")
    unit = match["unit"] or match["byte"]
    if unit is None:
        return _SIMPLE_ESCAPES[match["char"]]
    code = int(unit, 16)
    if 0xD800 <= code <= 0xDFFF:
        return match.group()
    return chr(code).encode("utf-8")


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
