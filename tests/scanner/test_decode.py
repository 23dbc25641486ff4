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
