from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from leakstop.textsafe import SanitizingFormatter, sanitize, sanitize_json, sanitize_lines
from tests.conftest import is_unsafe_char

#: Any text, lone surrogates included (undecodable file names keep their bytes as those).
ANY_TEXT = st.text(st.characters(exclude_categories=()))


def assert_safe_line(text: str) -> None:
    assert not any(is_unsafe_char(char) for char in text), ascii(text)
    assert "##[" not in text, ascii(text)
    assert not text.lstrip().startswith("::"), ascii(text)


HOSTILE = [
    "a\n::stop-commands::x.env",
    "##[error]b.env",
    "\x1b[2K\x1b[1A ##[stop-commands]tok",
    "::add-mask::x",
    " \t::warning::x",
    "\u3000\u2028::x",
    "#\x00#[",
    "###[x",
    "##[##[",
    "\u202egnp.exe",
    "\x85::x",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x1b[2K\x1b[1A", "\\x1b[2K\\x1b[1A"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
        ("line\u2028break\u2029", "line\\u2028break\\u2029"),
        ("abc\u202edef\u2066\u200f\u061c", "abc\\u202edef\\u2066\\u200f\\u061c"),
        ("caf\udce9.env", "caf\\udce9.env"),
        ("x ##[stop-commands]tok", "x ##\\[stop-commands]tok"),
        ("::error::x", "\\::error::x"),
        ("  ::error::x", "  \\::error::x"),
        ("\n::stop-commands::x", "\\n::stop-commands::x"),
        ("a::b", "a::b"),
        (":x", ":x"),
        ("#[x] ## [x]", "#[x] ## [x]"),
        ("C:\\Users\\ada\\app.env", "C:\\Users\\ada\\app.env"),
    ],
)
def test_escapes_are_readable(text: str, expected: str) -> None:
    assert sanitize(text) == expected


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_examples_are_safe(text: str) -> None:
    assert_safe_line(sanitize(text))


@given(ANY_TEXT)
@example("##[")
@example(" ::x")
@example("\x1b::")
def test_any_text_becomes_one_safe_line(text: str) -> None:
    out = sanitize(text)
    assert_safe_line(out)
    assert sanitize(out) == out


@given(st.text(alphabet=st.characters(categories=("L", "M", "N", "P", "S", "Zs"))))
@example("café ünïcödé 日本語 مرحبا")
@example("deploy/my file.env")
@example("🔑 👩\u200d💻 🏳\ufe0f\u200d🌈")  # emoji joined by ZWJ and variation selectors
def test_printable_text_is_unchanged(text: str) -> None:
    assume("##[" not in text and not text.lstrip().startswith("::"))
    assert sanitize(text) == text


@given(ANY_TEXT)
@example("Rotate the key:\n::stop-commands::x\n  ##[error] \x1b[2K\r")
def test_lines_keep_their_breaks_and_each_is_safe(text: str) -> None:
    out = sanitize_lines(text)
    assert out.count("\n") == text.count("\n")
    for line in out.split("\n"):
        assert_safe_line(line)


def test_lines_example() -> None:
    assert sanitize_lines("Rotate it:\n::add-mask::x\n\x1b[1A") == (
        "Rotate it:\n\\::add-mask::x\n\\x1b[1A"
    )


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | ANY_TEXT
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
        max_leaves=12,
    )


@given(_json_values(), st.sampled_from([None, 2]))
@example({"path": "a\n::stop-commands::x ##[error]\u202e\x9b\x7f\ud800"}, 2)
def test_json_stays_the_same_data_and_is_safe(value: Any, indent: int | None) -> None:
    out = sanitize_json(json.dumps(value, indent=indent, ensure_ascii=False))
    assert json.loads(out) == value
    for line in out.split("\n"):
        assert_safe_line(line)


def test_json_escapes_are_json_escapes() -> None:
    out = sanitize_json(json.dumps(["##[x", "\u2028", "\x9b", "é"], ensure_ascii=False))
    assert out == '["##\\u005bx", "\\u2028", "\\u009b", "é"]'


def _format(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.emit(record)
    return stream.getvalue()


def _record(message: str, *args: object, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("leakstop.test", logging.WARNING, __file__, 1, message, args, exc_info)


def test_formatter_keeps_a_message_with_a_hostile_path_on_one_line() -> None:
    record = _record("cannot read %s: %s", "a\n::stop-commands::x\x1b[2K", "##[error]denied")
    text = _format(SanitizingFormatter("leakstop: %(levelname)s: %(message)s"), record)
    assert text == (
        "leakstop: WARNING: cannot read a\\n::stop-commands::x\\x1b[2K: ##\\[error]denied\n"
    )


def test_formatter_sanitizes_each_traceback_line() -> None:
    try:
        raise OSError("\n::stop-commands::tok\x1b[1A")
    except OSError:
        exc_info = sys.exc_info()
    text = _format(SanitizingFormatter("%(message)s"), _record("failed", exc_info=exc_info))
    lines = text.splitlines()
    assert lines[0] == "failed"
    assert lines[1].startswith("Traceback")
    for line in lines:
        assert_safe_line(line)
    assert "\\::stop-commands::tok\\x1b[1A" in lines
