"""Audit records written out as a table, a JSON array or CSV, one record at a time (nothing
is collected, so a query over a year prints as it reads); `export` writes a file atomically.

Every string in a record may have come from outside (a secret name from config, an actor from
`GITHUB_ACTOR`, an error from a provider), so the table and CSV pass each one through
`textsafe.sanitize` and JSON through `textsafe.sanitize_json`: nothing printed can move a
terminal's cursor or start a workflow command.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from leakstop.audit.record import FIELDS, Record
from leakstop.errors import ReportError
from leakstop.textsafe import sanitize, sanitize_json

#: Writes records to a text stream and returns how many it wrote.
RecordWriter = Callable[[Iterable[Record], TextIO], int]

#: (heading, width) of the table's columns; the last one takes what it needs.
_COLUMNS = (
    ("TIME (UTC)", 19),
    ("SEQ", 7),
    ("ACTION", 18),
    ("SECRET", 32),
    ("ACTOR", 20),
    ("SOURCE", 8),
    ("RESULT", 0),
)
#: A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@")


def write_table(records: Iterable[Record], out: TextIO) -> int:
    """Fixed-width columns, one row per record as it arrives; a field longer than its column
    is cut with `…` (the JSON and CSV formats keep every field whole)."""
    out.write(_row([heading for heading, _width in _COLUMNS]))
    count = 0
    for record in records:
        result = "ok" if record.success else "FAILED"
        if record.error:
            result += f": {record.error}"
        out.write(
            _row(
                [
                    record.time.strftime("%Y-%m-%d %H:%M:%S"),
                    str(record.seq),
                    record.action.value,
                    record.secret or "-",
                    record.actor,
                    record.source.value,
                    result,
                ]
            )
        )
        count += 1
    return count


def write_json(records: Iterable[Record], out: TextIO) -> int:
    """A JSON array of records (every field, as in the log), one record per line, written as
    they arrive; `[]` when there are none."""
    count = 0
    for record in records:
        out.write(",\n" if count else "[\n")
        out.write(sanitize_json(json.dumps(record.to_json(), ensure_ascii=False)))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


def write_csv(records: Iterable[Record], out: TextIO) -> int:
    """A header row of the record's fields, then one row per record; `details` is a JSON
    string. Text cells are sanitized, and one that a spreadsheet would run as a formula
    (starting with `=`, `+`, `-`, `@`) gets a leading `'`, as OWASP advises."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    count = 0
    for record in records:
        document = record.to_json()
        writer.writerow([_csv_cell(key, document[key]) for key in FIELDS])
        count += 1
    return count


RECORD_FORMATS: dict[str, RecordWriter] = {
    "table": write_table,
    "json": write_json,
    "csv": write_csv,
}


def export(records: Iterable[Record], path: Path, format: str) -> int:
    """Write `records` to `path` in `format` (a key of RECORD_FORMATS) atomically: the file
    appears whole or not at all. Returns how many records were written.

    Raises ReportError for an unknown format or a file that cannot be written."""
    writer = RECORD_FORMATS.get(format)
    if writer is None:
        raise ReportError(
            f"unknown export format {format!r} (choose from {', '.join(RECORD_FORMATS)})"
        )
    with atomic_file(path) as out:
        return writer(records, out)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text stream that becomes `path` when the block ends without an exception,
    replacing any file there; on an exception the partial file is removed. The file is
    created readable by its owner only (it holds who did what to which credential).

    Raises ReportError when the file cannot be written. An OSError from the block is taken
    for a write error: the readers in this package raise LeakstopErrors for theirs."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(handle, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        _remove(temporary)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(temporary)
        raise


def fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` sanitized, cut to `width` characters with `…`, and padded to `width` (on the
    left when `right`); a width of 0 leaves it whole."""
    text = sanitize(text)
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text.rjust(width) if right else text.ljust(width)


def _row(cells: list[str]) -> str:
    parts = [
        fit(text, width, right=heading == "SEQ")
        for (heading, width), text in zip(_COLUMNS, cells, strict=True)
    ]
    return "  ".join(parts).rstrip() + "\n"


def _csv_cell(key: str, value: Any) -> str:
    if key == "details":
        return sanitize_json(json.dumps(value, sort_keys=True, ensure_ascii=False))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = sanitize(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
