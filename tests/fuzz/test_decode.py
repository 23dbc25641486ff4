"""The decoders (`scanner/decode.py`) on arbitrary bytes: they return bytes or None, never
raise, and the nesting stays bounded."""

from __future__ import annotations

import base64
import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from leakstop.scanner import decode
from tests.fuzz.strategies import fuzz_settings

#: Bytes made of what the decoders look for, so most examples decode something.
ENCODED = st.lists(
    st.one_of(
        st.sampled_from(
            [b"\\u", b"\\x", b"\\n", b"\\", b"%", b"%3D", b"==", b"\\ud83d", b"\\ude00"]
        ),
        st.text("0123456789abcdefABCDEF+/_-=", max_size=8).map(str.encode),
        st.binary(max_size=6),
    ),
    max_size=20,
).map(b"".join)
VALUES = st.one_of(
    st.binary(max_size=200),
    ENCODED,
    ENCODED.map(base64.b64encode),
    ENCODED.map(lambda raw: urllib.parse.quote_from_bytes(base64.b64encode(raw)).encode()),
)


@fuzz_settings(300)
@given(VALUES)
def test_each_decoder_returns_bytes_or_none(value: bytes) -> None:
    for _name, decoder in decode.DECODERS:
        result = decoder(value)
        assert result is None or isinstance(result, bytes)


@fuzz_settings(300)
@given(VALUES)
def test_decodings_are_distinct_and_bounded(value: bytes) -> None:
    found = list(decode.decodings(value))
    datas = [item.data for item in found]
    assert len(set(datas)) == len(datas)
    assert value not in datas
    # Each level tries each decoder once on each value of the level before.
    assert len(found) <= len(decode.DECODERS) + len(decode.DECODERS) ** 2
    for item in found:
        assert 1 <= len(item.encodings) <= decode.MAX_DEPTH
        assert set(item.encodings) <= {name for name, _ in decode.DECODERS}


@fuzz_settings(200)
@given(st.binary(max_size=300))
def test_base64_round_trips_printable_text(raw: bytes) -> None:
    encoded = base64.b64encode(raw)
    result = decode.decode_base64(encoded)
    if result is not None:
        assert result == raw
    elif len(encoded) >= decode.MIN_BASE64 and decode.is_printable(raw):
        raise AssertionError(f"printable {raw!r} not decoded from {encoded!r}")


#: JSON's `\b` and `\f` are left as written: no credential holds a backspace or a form feed,
#: and `\b` in a candidate is far more often a regex word boundary.
_JSON_TEXT = st.text(st.characters(exclude_characters="\b\f"), max_size=80)


@fuzz_settings(200)
@given(_JSON_TEXT)
def test_escapes_undo_json_escaping(text: str) -> None:
    import json

    escaped = json.dumps(text)[1:-1].encode()
    result = decode.decode_escapes(escaped)
    expected = text.encode("utf-8", "surrogatepass")
    # A lone surrogate has no UTF-8 form: it stays written as its escape, so a text that is
    # only lone surrogates (and plain characters) may decode to nothing new at all.
    surrogates = any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    if result is None:
        assert escaped == expected or surrogates
    elif not surrogates:
        assert result == expected
