from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from leakstop.audit.output import RECORD_FORMATS, export, fit, write_csv, write_json, write_table
from leakstop.audit.record import FIELDS, Action, Record, Source
from leakstop.errors import ReportError
from tests.audit.logs import numbered, record
from tests.conftest import assert_golden, assert_safe_output

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "audit"
HOSTILE = "::stop-commands::x\x1b[2J\u202etxt.exe\r\n##[warning]"


def _records() -> list[Record]:
    return numbered(
        [
            record(Action.SECRET_READ, "billing/api-key", "alice", details={"version": 3}),
            record(
                Action.ROTATION_FAILED,
                "db/password",
                "ci-bot",
                at=timedelta(minutes=5),
                success=False,
                error="provider refused: role is locked",
                source=Source.ACTION,
                actor_ip="203.0.113.9",
            ),
            record(
                Action.FINDING_DETECTED,
                "3f1c9b0e5d7a2c4b6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                "a-rather-long-actor-name-from-ci",
                at=timedelta(hours=2),
                details={"path": "src/app.py", "line": 12},
            ),
            record(Action.LOG_ARCHIVED, "", "leakstop", at=timedelta(days=1), seq=99),
        ],
        start=41,
    )


def _hostile() -> Record:
    return record(
        Action.SECRET_READ,
        HOSTILE,
        HOSTILE,
        success=False,
        error=HOSTILE,
        org=HOSTILE,
        actor_ip=HOSTILE,
        details={HOSTILE: HOSTILE},
    )


def _render(writer: object, records: list[Record]) -> str:
    out = io.StringIO()
    writer(records, out)  # type: ignore[operator]
    return out.getvalue()


def test_table_matches_golden() -> None:
    assert_golden(EXPECTED / "records.txt", _render(write_table, _records()))


def test_table_columns_line_up_and_long_fields_are_cut() -> None:
    lines = _render(write_table, _records()).splitlines()
    starts = {line.index("  ", 19) for line in lines}
    assert len(starts) == 1, "the SEQ column starts at the same place on every line"
    action_at = lines[0].index("ACTION")
    assert all(line[action_at - 1] == " " for line in lines[1:])
    assert "  3f1c9b0e5d7a2c4b6e8f0a1b2c3d4e5…  a-rather-long-actor…  " in lines[3]
    assert "FAILED: provider refused: role is locked" in lines[2]
    assert lines[4].split()[3] == "log_archived"
    assert "  -  " in lines[4], "a record with no secret shows a dash"


@pytest.mark.parametrize("name", RECORD_FORMATS)
def test_every_format_is_safe_to_print(name: str) -> None:
    text = _render(RECORD_FORMATS[name], [_hostile()])
    assert_safe_output(text)


@pytest.mark.parametrize("name", RECORD_FORMATS)
def test_every_format_streams_record_by_record(name: str) -> None:
    out = io.StringIO()
    written: list[int] = []

    def records() -> Iterator[Record]:
        for item in _records():
            written.append(len(out.getvalue()))
            yield item

    count = RECORD_FORMATS[name](records(), out)
    assert count == 4
    # Each record is written before the next is read: the output grew between reads.
    assert written == sorted(set(written)), written


def test_json_is_a_valid_array_with_every_field() -> None:
    records = _records()
    document = json.loads(_render(write_json, records))
    assert document == [r.to_json() for r in records]


def test_json_is_valid_when_empty() -> None:
    text = _render(write_json, [])
    assert json.loads(text) == []


def test_json_keeps_hostile_text_exact() -> None:
    item = _hostile()
    (document,) = json.loads(_render(write_json, [item]))
    assert document == item.to_json()


def test_csv_has_a_header_and_one_row_per_record() -> None:
    records = _records()
    rows = list(csv.reader(io.StringIO(_render(write_csv, records))))
    assert rows[0] == list(FIELDS)
    assert len(rows) == 1 + len(records)
    read, failed = (dict(zip(FIELDS, row, strict=True)) for row in rows[1:3])
    assert json.loads(read["details"]) == {"version": 3}
    assert read["success"] == "true"
    assert read["error"] == ""
    assert read["seq"] == "41"
    assert failed["success"] == "false"
    assert failed["error"] == "provider refused: role is locked"
    assert failed["actor_ip"] == "203.0.113.9"


def test_csv_empty_is_a_header() -> None:
    assert _render(write_csv, []) == ",".join(FIELDS) + "\n"


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_never_start_a_spreadsheet_formula(start: str) -> None:
    formula = f'{start}HYPERLINK("https://evil.example","x")'
    item = record(secret=formula, actor=formula, error=formula, success=False)
    row = next(iter(list(csv.reader(io.StringIO(_render(write_csv, [item]))))[1:]))
    cells = dict(zip(FIELDS, row, strict=True))
    for key in ("secret", "actor", "error"):
        assert cells[key] == "'" + formula


def test_fit_cuts_pads_and_sanitizes() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abc", 5, right=True) == "  abc"
    assert fit("abcdefgh", 5) == "abcd…"
    assert fit("a\nb", 0) == "a\\nb"


def test_export_writes_the_same_as_the_writer(tmp_path: Path) -> None:
    for name, writer in RECORD_FORMATS.items():
        target = tmp_path / f"out.{name}"
        assert export(_records(), target, name) == 4
        assert target.read_text(encoding="utf-8") == _render(writer, _records())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.json", "out.table"]


def test_export_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "audit.json"
    target.write_text("the previous export\n")

    def failing() -> Iterator[Record]:
        yield from _records()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(failing(), target, "json")
    assert target.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.json"], "no temporary file left"


def test_export_errors_are_ours(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="unknown export format 'xml'"):
        export([], tmp_path / "out.xml", "xml")
    with pytest.raises(ReportError, match="cannot write"):
        export([], tmp_path / "missing" / "out.json", "json")
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(ReportError, match="cannot write"):
        export(_records(), tmp_path / "a-folder", "json")
    assert [p.name for p in tmp_path.iterdir()] == ["a-folder"]
