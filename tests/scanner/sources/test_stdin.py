from __future__ import annotations

import io

from leakstop.scanner.sources import SkipReason, read_all
from leakstop.scanner.sources.stdin import StdinSource


def test_stdin_is_one_chunk_under_its_name() -> None:
    (chunk,) = read_all(StdinSource(io.BytesIO(b"hello\n"), "piped.txt"))
    assert (chunk.path, chunk.data, chunk.skipped) == ("piped.txt", b"hello\n", None)


def test_stdin_binary_and_size_limit() -> None:
    (binary,) = read_all(StdinSource(io.BytesIO(b"\x00\x01")))
    assert binary.skipped is SkipReason.BINARY
    (large,) = read_all(StdinSource(io.BytesIO(b"x" * 20), max_size=10))
    assert large.skipped is SkipReason.TOO_LARGE
