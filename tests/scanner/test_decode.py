from __future__ import annotations

import base64

import pytest

from leakstop.scanner.decode import (
    decode_base64,
    decode_escapes,
    decode_percent,
    decodings,
    is_printable,
)


def test_base64_standard_and_urlsafe_to_printable_text_only() -> None:
    assert decode_base64(base64.b64encode(b"user:Summer2024!Deploy")) == b"user:Summer2024!Deploy"
    urlsafe = base64.urlsafe_b64encode(b"\xfb\xff token??>>")
    assert decode_base64(urlsafe) is None  # decodes, but not to text
    assert decode_base64(base64.urlsafe_b64encode(b"a token with ?? and >>")) is not None
    assert decode_base64(b"c2g=") is None  # too short to hold a credential
    assert decode_base64(b"Y2hhbmdlbWU=") == b"changeme"
    assert decode_base64(b"not base64 at all!!") is None
    assert decode_base64(base64.b64encode(bytes(range(256)))) is None


def test_percent_and_escapes() -> None:
    assert decode_percent(b"p%40ss%2Fword") == b"p@ss/word"
    assert decode_percent(b"plain") is None
    assert decode_escapes(b"-----BEGIN KEY-----\\nMIIB\\n") == b"-----BEGIN KEY-----\nMIIB\n"
    assert decode_escapes(b"no escapes") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'{\\"pw\\": \\"a\\\\b\\/c\\tz\\r\\n\\u0041\\x42\\\'\\"}', b'{"pw": "a\\b/c\tz\r\nAB\'"}'),
        # escaped backslash, then a plain `n`: not a newline
        (b"C:\\\\new", b"C:\\new"),
        # UTF-8 text around an escape is kept as it is (it was read as Latin-1: mojibake)
        ("Grüße\\nÜberweisung".encode(), "Grüße\nÜberweisung".encode()),
        (b"gr\\u00fc\\u00DF", "grüß".encode()),
        (b"\\xfc", "ü".encode()),
        (b"\\u20ac", "€".encode()),
        # a UTF-16 surrogate pair is one character (JSON writes emoji this way)
        (b"key\\ud83d\\ude00end", "key😀end".encode()),
        (b"\\uD83D\\uDE00", "😀".encode()),
        # a lone surrogate has no UTF-8 form: it stays as written, the rest is decoded
        (b"\\ud83d\\n", b"\\ud83d\n"),
        (b"\\ude00\\ud83d\\t", b"\\ude00\\ud83d\t"),
        # bytes that are not UTF-8 at all are left alone too
        (b"\xff\xfe\\n", b"\xff\xfe\n"),
        # unknown escapes and a trailing backslash are not escapes
        (b"\\q\\n\\", b"\\q\n\\"),
    ],
)
def test_escapes_change_only_the_escapes(value: bytes, expected: bytes) -> None:
    assert decode_escapes(value) == expected


@pytest.mark.parametrize("value", [b"\\ud83d", b"\\ude00 alone", b"\\u12", "naïve".encode()])
def test_nothing_to_decode(value: bytes) -> None:
    assert decode_escapes(value) is None


def test_nested_decodings_are_depth_limited() -> None:
    inner = base64.b64encode(b"user:Xk4pRz8wQm-secret")
    outer = base64.b64encode(b'{"auth": "' + inner + b'"}')
    found = list(decodings(outer))
    assert any(d.data.startswith(b'{"auth"') and d.encodings == ("base64",) for d in found)
    assert not any(d.data == b"user:Xk4pRz8wQm-secret" for d in decodings(outer, 1))


@pytest.mark.parametrize(
    ("data", "expected"), [(b"hello\n", True), (b"\x00\x01\x02", False), (b"", False)]
)
def test_is_printable(data: bytes, expected: bool) -> None:
    assert is_printable(data) is expected
