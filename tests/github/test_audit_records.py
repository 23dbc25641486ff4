from __future__ import annotations

import json
from pathlib import Path

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Source
from leakstop.github.audit_records import report_audit_records
from tests.conftest import assert_safe_output

CONTEXT = Context("octo-runner", Source.CLI)


def _runner(tmp_path: Path) -> dict[str, str]:
    for name in ("summary.md", "output"):
        (tmp_path / name).write_text("")
    return {
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }


def test_the_log_keeps_only_what_this_instance_appended(tmp_path: Path) -> None:
    AuditLog.open(tmp_path / "audit", None).append(Action.SECRET_READ, "earlier/run", CONTEXT)
    audit_log = AuditLog.open(tmp_path / "audit", None)
    first = audit_log.append(Action.ROTATION_STARTED, "billing/db-password", CONTEXT)
    second = audit_log.append(
        Action.ROTATION_FAILED, "billing/db-password", CONTEXT, success=False, error="denied"
    )
    assert [r.seq for r in audit_log.appended] == [first.seq, second.seq] == [2, 3]


def test_records_go_to_a_file_an_output_and_the_summary(tmp_path: Path) -> None:
    environ = _runner(tmp_path)
    audit_log = AuditLog.open(tmp_path / "audit", None)
    audit_log.append(Action.ROTATION_COMPLETED, "billing/db-password", CONTEXT)
    audit_log.append(
        Action.ROTATION_FAILED, "web/a|b", CONTEXT, success=False, error="permission denied"
    )

    path = report_audit_records(audit_log.appended, environ)

    assert path == tmp_path / "temp" / "leakstop" / "audit-records.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    day_file = next((tmp_path / "audit").glob("*.jsonl")).read_bytes()
    assert b"".join(lines) == day_file  # byte for byte the log's own lines
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    output = (tmp_path / "output").read_text()
    assert "audit-path<<" in output
    assert f"\n{path}\n" in output
    summary = (tmp_path / "summary.md").read_text()
    assert "| Time (UTC) | Action | Secret | Result |" in summary
    assert "| rotation_completed | `billing/db-password` | ok |" in summary
    assert "| rotation_failed | `web/a\\|b` | failed: permission denied |" in summary
    assert "2 records, in the artifact's `audit-records.jsonl`." in summary
    assert_safe_output(summary)


def test_a_run_without_records_still_leaves_a_file(tmp_path: Path) -> None:
    environ = _runner(tmp_path)
    path = report_audit_records([], environ)
    assert path.read_bytes() == b""
    assert "This run appended no audit records." in (tmp_path / "summary.md").read_text()
