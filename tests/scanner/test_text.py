from __future__ import annotations

import codecs

import pytest

from leakstop.scanner.text import (
    LineIndex,
    TextKind,
    decode_secret,
    shannon_entropy,
    sniff,
    to_scannable,
)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"plain text\n", TextKind.TEXT),
        (codecs.BOM_UTF8 + b"x", TextKind.UTF8_BOM),
        (codecs.BOM_UTF16_LE + "x".encode("utf-16-le"), TextKind.UTF16_LE),
        (codecs.BOM_UTF16_BE + "x".encode("utf-16-be"), TextKind.UTF16_BE),
        (codecs.BOM_UTF32_LE + "x".encode("utf-32-le"), TextKind.BINARY),
        (b"\x89PNG\r\n\x1a\n\x00\x00", TextKind.BINARY),
        ("caf\xe9".encode("latin-1"), TextKind.TEXT),
    ],
)
def test_sniff(head: bytes, kind: TextKind) -> None:
    assert sniff(head) is kind


def test_utf16_is_reencoded_and_keeps_lines() -> None:
    text = "a = 1\r\nb = 'ünïcode'\r\ntoken = ghp_x\r\n"
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    scannable = to_scannable(data, sniff(data))
    assert scannable == text.encode("utf-8")
    index = LineIndex(scannable)
    assert index.position(scannable.index(b"ghp_x")) == (3, 9)


def test_bom_is_stripped_without_moving_columns() -> None:
    data = codecs.BOM_UTF8 + b"key=value\n"
    scannable = to_scannable(data, sniff(data))
    assert LineIndex(scannable).position(scannable.index(b"value")) == (1, 5)


def test_crlf_and_latin1_positions() -> None:
    data = "línea uno\r\ncafé = \xe9secret\r\n".encode("latin-1")
    index = LineIndex(data)
    offset = data.index(b"secret")
    assert index.position(offset) == (2, 9)
    assert index.line_text(offset).endswith("secret")


def test_line_index_table_matches_counting() -> None:
    data = b"".join(b"line %d\n" % i for i in range(500))
    index = LineIndex(data)
    offsets = [data.index(b"line %d\n" % i) for i in range(0, 500, 7)]
    expected = [data.count(b"\n", 0, o) + 1 for o in offsets]
    assert [index.line_number(o) for o in offsets] == expected  # switches to the table midway


def test_decode_secret_falls_back_to_latin1() -> None:
    assert decode_secret("ünï".encode()) == "ünï"
    assert decode_secret(b"\xe9t\xe9") == "été"


def test_entropy() -> None:
    assert shannon_entropy("") == 0
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


def test_a_column_after_an_offset_inside_a_utf8_character_counts_from_the_line_start() -> None:
    # Found by tests/fuzz/test_text.py: a match on bytes may start inside a UTF-8 sequence;
    # counting on from there counted the split character twice (column 4, not 3).
    index = LineIndex(b"\x00\xc2\x80")
    assert index.position(2) == (1, 3)
    assert index.position(3) == (1, 3)
