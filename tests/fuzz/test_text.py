"""Text sniffing, UTF-16 and line lookup (`scanner/text.py`) on arbitrary bytes."""

from __future__ import annotations

import codecs

from hypothesis import given
from hypothesis import strategies as st

from leakstop.scanner.text import LineIndex, TextKind, decode_secret, sniff, to_scannable
from tests.fuzz.strategies import fuzz_settings

BOMS = st.sampled_from(
    [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]
)
FILES = st.builds(bytes.__add__, BOMS, st.binary(max_size=600))


@fuzz_settings(300)
@given(FILES)
def test_sniff_and_to_scannable_never_raise(data: bytes) -> None:
    kind = sniff(data)
    scannable = to_scannable(data, kind)
    assert isinstance(scannable, bytes)
    if kind is TextKind.TEXT:
        assert scannable == data


@fuzz_settings(200)
@given(st.text(max_size=200), st.sampled_from([TextKind.UTF16_LE, TextKind.UTF16_BE]))
def test_utf16_files_keep_their_lines(text: str, kind: TextKind) -> None:
    bom = codecs.BOM_UTF16_LE if kind is TextKind.UTF16_LE else codecs.BOM_UTF16_BE
    data = bom + text.encode(kind.value, "surrogatepass")
    if data.startswith(codecs.BOM_UTF32_LE):
        return  # U+0000 after a UTF-16 LE BOM reads as UTF-32's BOM: a binary file
    assert sniff(data) is kind
    scannable = to_scannable(data, kind)
    assert scannable.count(b"\n") == text.count("\n")


@fuzz_settings(200)
@given(st.binary(max_size=400), st.data())
def test_line_index_agrees_with_a_plain_count(data: bytes, draw: st.DataObject) -> None:
    index = LineIndex(data)
    offsets = draw.draw(st.lists(st.integers(0, len(data)), max_size=40))
    for offset in offsets:
        line, column = index.position(offset)
        assert line == data.count(b"\n", 0, offset) + 1
        start = data.rfind(b"\n", 0, offset) + 1
        assert column == len(data[start:offset].decode("utf-8", "replace")) + 1
        assert index.line_start(offset) <= offset <= index.line_end(offset) <= len(data)
        assert "\n" not in index.line_text(offset)


@fuzz_settings(200)
@given(st.binary(max_size=100))
def test_decode_secret_gives_every_byte_string_a_text_form(raw: bytes) -> None:
    text = decode_secret(raw)
    assert text.encode("utf-8") == raw or text.encode("latin-1") == raw
