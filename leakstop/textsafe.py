"""Foreign text made safe to print: nothing from a repository or a user rule may move a
terminal's cursor, hide or reorder what is shown, or reach the GitHub Actions runner as a
workflow command.

Two ways in. `sanitize` is for text reports (terminal, log, annotations, Markdown): it escapes
what is dangerous in a readable backslash form. `sanitize_json` is for JSON and SARIF, whose
values must stay exact (a path must still open its file): it rewrites the serialised text with
JSON escapes, so the data is the same and the text is still safe in a terminal or log.

What the runner reads as a command (actions/runner, src/Runner.Common/ActionCommand.cs):
`TryParseV2` trims leading white space and wants the line to start with `::`; failing that,
the legacy `TryParse` looks for `##[` anywhere in the line. Registered legacy commands include
`stop-commands` and `add-mask`, so either form in one line silences or alters the rest of a log.
"""

from __future__ import annotations

import logging
import re
from types import TracebackType
from typing import TypeAlias

#: What `sys.exc_info()` returns, as `logging.Formatter.formatException` takes it.
_ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
)

#: C0 controls (tab, newline and carriage return among them), DEL and C1 controls: ESC and CSI
#: start terminal escape sequences, CR and the line breaks start a new log line.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
#: Unicode line and paragraph separators: line breaks for some viewers and editors.
_SEPARATORS = r"\u2028\u2029"
#: Bidirectional controls ("Trojan Source", CVE-2021-42574): text shown in another order than
#: it is stored, so a path or line can read as something else.
_BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: Lone surrogates (undecodable bytes kept by `surrogateescape`): a UTF-8 stream cannot
#: encode them, so printing one would fail instead of showing it.
_SURROGATES = r"\ud800-\udfff"

_UNSAFE = re.compile(f"[{_CONTROLS}{_SEPARATORS}{_BIDI}{_SURROGATES}]")
#: json.dumps already escapes C0 controls (and its own line breaks are structure, not text).
_JSON_UNSAFE = re.compile(rf"[\x7f-\x9f{_SEPARATORS}{_BIDI}{_SURROGATES}]|(?<=##)\[")

_LEGACY_COMMAND = "##["
_COMMAND = "::"
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def sanitize(text: str) -> str:
    """`text` with controls, line separators and bidi controls escaped (`\\n`, `\\x1b`,
    `\\u202e`), `##[` written `##\\[`, and a leading `::` (after white space) written `\\::`.

    Printable text, non-ASCII letters and emoji are unchanged. The result holds none of the
    escaped characters and no `##[`, and does not start with `::` after white space, so a line
    that starts with it cannot be a workflow command. Idempotent: sanitizing twice changes
    nothing more. Backslashes are not doubled, so Windows paths stay readable; the escaped
    form is for people, not for reversing.
    """
    escaped = _UNSAFE.sub(_escape, text)
    # The escapes add only backslashes, letters and hex digits: no new `#`, `[` or `:`.
    escaped = escaped.replace(_LEGACY_COMMAND, "##\\[")
    # str.lstrip strips every character .NET's TrimStart does (Char.IsWhiteSpace), and more.
    body = escaped.lstrip()
    if body.startswith(_COMMAND):
        escaped = escaped[: len(escaped) - len(body)] + "\\" + body
    return escaped


def sanitize_json(serialized: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) made safe to print, same data.

    DEL, C1 controls, line separators, bidi controls and lone surrogates become `\\uXXXX`
    escapes, and the `[` of `##[` becomes `\\u005b`. Only characters inside strings change
    (JSON's structure is ASCII), and each escape decodes to the character it replaces, so
    `json.loads` returns exactly what was dumped.
    """
    return _JSON_UNSAFE.sub(_json_escape, serialized)


def sanitize_lines(text: str) -> str:
    """Each line of `text` sanitized, the `\\n` between them kept: for text whose line breaks
    are meant (a rule's remediation in SARIF, a traceback). Each line of the result is as safe
    as `sanitize`'s."""
    return "\n".join(sanitize(line) for line in text.split("\n"))


class SanitizingFormatter(logging.Formatter):
    """A `logging.Formatter` whose output is safe for a terminal and the Actions log.

    The message (with its prefix) is sanitized as one line: a path in it cannot break the
    line. Tracebacks and stacks keep their lines, each sanitized.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return sanitize(super().formatMessage(record))

    def formatException(self, ei: _ExcInfo) -> str:
        return sanitize_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return sanitize_lines(super().formatStack(stack_info))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
