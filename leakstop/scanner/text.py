"""Bytes in, scannable text bytes out: binary detection from the first bytes, UTF-16 and BOM
handling, and line/column lookup computed only for offsets that hold a finding.

Matching runs on bytes. UTF-8, Latin-1 and other ASCII-compatible files are scanned as they
are (so line numbers are counts of `\\n` and CRLF files number lines like any editor); UTF-16
files are re-encoded to UTF-8 first, which keeps their line and character positions.
"""

from __future__ import annotations

import bisect
import codecs
import enum
import math
from collections import Counter

#: How much of a file decides whether it is binary (git uses the same 8000 bytes).
SNIFF_BYTES = 8000


class TextKind(enum.Enum):
    TEXT = "text"
    UTF8_BOM = "utf-8-sig"
    UTF16_LE = "utf-16-le"
    UTF16_BE = "utf-16-be"
    BINARY = "binary"


def sniff(head: bytes) -> TextKind:
    """Classify a file from its first bytes (pass at least `SNIFF_BYTES` when available)."""
    if head.startswith(codecs.BOM_UTF8):
        return TextKind.UTF8_BOM
    if head.startswith(codecs.BOM_UTF32_LE) or head.startswith(codecs.BOM_UTF32_BE):
        return TextKind.BINARY
    if head.startswith(codecs.BOM_UTF16_LE):
        return TextKind.UTF16_LE
    if head.startswith(codecs.BOM_UTF16_BE):
        return TextKind.UTF16_BE
    if b"\0" in head[:SNIFF_BYTES]:
        return TextKind.BINARY
    return TextKind.TEXT


def to_scannable(data: bytes, kind: TextKind) -> bytes:
    """Bytes the engine can match on: BOM removed, UTF-16 re-encoded as UTF-8."""
    if kind is TextKind.UTF8_BOM:
        return data[len(codecs.BOM_UTF8) :]
    if kind in (TextKind.UTF16_LE, TextKind.UTF16_BE):
        text = data[2:].decode(kind.value, errors="replace")
        return text.encode("utf-8", errors="replace")
    return data


def decode_secret(raw: bytes) -> str:
    """UTF-8 when valid, else Latin-1, so every byte string has one stable text form."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _characters(raw: bytes) -> int:
    return len(raw.decode("utf-8", errors="replace"))


def shannon_entropy(value: str) -> float:
    """Shannon entropy in bits per character (0 for the empty string)."""
    length = len(value)
    if length == 0:
        return 0.0
    counts = Counter(value).values()
    return -sum(c / length * math.log2(c / length) for c in counts)


#: Line text is looked at this far around a candidate at most: minified files have megabyte
#: lines, and reading all of one per candidate makes a scan quadratic.
LINE_CAP = 4096


class LineIndex:
    """Maps byte offsets to (line, column). Cheap for a few lookups; builds a table for many."""

    _TABLE_AFTER = 16

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._lookups = 0
        self._starts: list[int] | None = None
        #: (line start, offset, column) of the last column computed: later offsets on the
        #: same line count characters from there, not from the line's start.
        self._column_anchor = (-1, 0, 0)

    def line_start(self, offset: int) -> int:
        """Start of the line holding `offset`, or `offset - LINE_CAP` on a longer line."""
        floor = max(0, offset - LINE_CAP)
        newline = self._data.rfind(b"\n", floor, offset)
        return newline + 1 if newline >= 0 or floor == 0 else floor

    def line_end(self, offset: int) -> int:
        """Offset of the `\\n` ending the line holding `offset` (or the end of the data), or
        `offset + LINE_CAP` on a longer line."""
        ceiling = min(len(self._data), offset + LINE_CAP)
        end = self._data.find(b"\n", offset, ceiling)
        return ceiling if end < 0 else end

    def line_number(self, offset: int) -> int:
        self._lookups += 1
        if self._starts is None and self._lookups > self._TABLE_AFTER:
            data = self._data
            starts = [0]
            position = data.find(b"\n")
            while position >= 0:
                starts.append(position + 1)
                position = data.find(b"\n", position + 1)
            self._starts = starts
        if self._starts is not None:
            return bisect.bisect_right(self._starts, offset)
        return self._data.count(b"\n", 0, offset) + 1

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based column in characters (exact, however long the line)."""
        start = self._data.rfind(b"\n", 0, offset) + 1
        anchor_start, anchor_offset, anchor_column = self._column_anchor
        if anchor_start == start and anchor_offset <= offset and self._is_boundary(anchor_offset):
            column = anchor_column + _characters(self._data[anchor_offset:offset])
        else:
            column = 1 + _characters(self._data[start:offset])
        self._column_anchor = (start, offset, column)
        return self.line_number(offset), column

    def _is_boundary(self, offset: int) -> bool:
        """Whether counting characters from `offset` on adds up: not inside a UTF-8 sequence
        (a match on bytes may start in one), where the two halves decode to more characters
        than the whole."""
        return offset >= len(self._data) or not 0x80 <= self._data[offset] <= 0xBF

    def line_text(self, offset: int) -> str:
        """The line holding `offset`, without its line ending."""
        raw = self._data[self.line_start(offset) : self.line_end(offset)]
        return raw.rstrip(b"\r").decode("utf-8", errors="replace")
