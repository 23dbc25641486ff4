from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from leakstop.audit.lifecycle import Report, build_report
from leakstop.audit.record import Action, Record
from leakstop.audit.report import MAX_READERS, REPORT_FORMATS
from tests.audit.logs import T0, numbered, record
from tests.conftest import assert_golden, assert_safe_output

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "audit"
DAY = timedelta(days=1)
NOW = T0 + 120 * DAY


def _records() -> list[Record]:
    return numbered(
        [
            record(Action.SECRET_CREATED, "billing/api-key", "admin", at=timedelta(0)),
            record(Action.SECRET_READ, "billing/api-key", "alice", at=DAY),
            record(Action.SECRET_READ, "billing/api-key", "svc|pipe", at=2 * DAY),
            record(Action.SECRET_READ, "db/password", "app", at=3 * DAY),
            record(Action.ROTATION_FAILED, "db/password", "ci", at=4 * DAY, success=False),
            record(
                Action.FINDING_CONFIRMED,
                "5e1f9a",
                "scanner",
                at=5 * DAY,
                details={"managed_secret": "billing/api-key"},
            ),
            record(Action.FINDING_DETECTED, "77ab0c", "scanner", at=6 * DAY),
            record(Action.ROTATION_COMPLETED, "db/password", "ci", at=7 * DAY),
            record(Action.SECRET_CREATED, "retired", "admin", at=8 * DAY),
            record(Action.SECRET_DELETED, "retired", "admin", at=9 * DAY),
        ]
    )


def _report() -> Report:
    return build_report(
        _records(),
        now=NOW,
        policies={"billing/api-key": 90 * DAY, "db/password": 30 * DAY, "retired": 30 * DAY},
    )


def _render(name: str, report: Report) -> str:
    out = io.StringIO()
    REPORT_FORMATS[name](report, out)
    return out.getvalue()


def test_markdown_matches_golden() -> None:
    assert_golden(EXPECTED / "report.md", _render("markdown", _report()))


def test_json_matches_golden() -> None:
    assert_golden(EXPECTED / "report.json", _render("json", _report()))


def test_markdown_summary_then_a_section_per_secret() -> None:
    text = _render("markdown", _report())
    lines = text.splitlines()
    header = lines.index(
        "| Secret | Status | Age | Last rotation | Policy | Overdue | Readers | Failures "
        "| Open findings |"
    )
    rows = lines[header + 2 : header + 5]
    assert [row.split("|")[1].strip() for row in rows] == [
        "`billing/api-key`",
        "`db/password`",
        "`retired`",
    ]
    # billing: created 120 days ago, never rotated, 90-day policy: 30 days overdue.
    assert rows[0].split("|")[4:7] == [" never ", " 90d ", " **30d** "]
    assert rows[2].split("|")[6] == " – "  # archived: not due
    sections = [line for line in lines if line.startswith("## ")]
    assert sections == [
        "## `billing/api-key`",
        "## `db/password`",
        "## `retired`",
        "## Open findings not linked to a managed secret",
    ]
    assert "| `svc\\|pipe` | 1 |" in text, "a pipe in a cell is escaped"


def test_json_is_stable_and_machine_readable() -> None:
    first = _render("json", _report())
    assert first == _render("json", _report())
    document = json.loads(first)
    assert document["version"] == 1
    assert document["generated"] == "2024-07-02T12:00:00.000000Z"
    billing = document["secrets"][0]
    assert billing["name"] == "billing/api-key"
    assert billing["overdue_seconds"] == 30 * 86400
    assert billing["policy_seconds"] == 90 * 86400
    assert billing["open_findings"][0]["fingerprint"] == "5e1f9a"
    assert billing["open_findings"][0]["confirmed"] is True
    assert billing["readers"] == [{"actor": "alice", "reads": 1}, {"actor": "svc|pipe", "reads": 1}]
    assert [f["fingerprint"] for f in document["unattributed_findings"]] == ["77ab0c"]


@pytest.mark.parametrize("name", REPORT_FORMATS)
def test_every_format_is_safe_to_print(name: str) -> None:
    hostile = "::add-mask::x\x1b[1A\u202e`|##[error]"
    records = numbered(
        [
            record(Action.SECRET_CREATED, hostile, hostile, org=hostile),
            record(Action.SECRET_READ, hostile, hostile, org=hostile, at=DAY),
            record(
                Action.FINDING_DETECTED,
                "fp" + hostile,
                hostile,
                org=hostile,
                at=2 * DAY,
                details={"managed_secret": hostile},
            ),
        ]
    )
    report = build_report(records, now=NOW, policies={})
    text = _render(name, report)
    assert_safe_output(text)
    if name == "json":
        (secret,) = json.loads(text)["secrets"]
        assert secret["name"] == hostile
        assert secret["open_findings"][0]["fingerprint"] == "fp" + hostile


def test_many_readers_are_cut_in_markdown_only() -> None:
    records = numbered(
        record(Action.SECRET_READ, "busy", f"reader{n:02}", at=n * timedelta(minutes=1))
        for n in range(MAX_READERS + 3)
    )
    report = build_report(records, now=NOW, policies={})
    markdown = _render("markdown", report)
    assert "3 more readers" in markdown
    assert f"reader{MAX_READERS + 2:02}" not in markdown
    assert len(json.loads(_render("json", report))["secrets"][0]["readers"]) == MAX_READERS + 3


def test_an_empty_log() -> None:
    report = build_report([], now=NOW, policies={})
    assert "No managed secrets in the log." in _render("markdown", report)
    assert json.loads(_render("json", report))["secrets"] == []
