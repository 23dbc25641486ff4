"""The audit records one respond or rotations run appended, handed to the runner: a JSON Lines
file for an artifact (output `audit-path`) and a short table in the job summary.

The runner is ephemeral and the local log goes with it; the git sink keeps the chain, this
keeps what the run did next to the run. Records never hold secret values (names,
fingerprints and redactions only), so the file and the table hold none either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from leakstop.audit.record import Record
from leakstop.github import workflow
from leakstop.report.markdown import cell, code

FILE_NAME = "audit-records.jsonl"


def report_audit_records(
    records: Sequence[Record], environ: Mapping[str, str] = os.environ
) -> Path:
    """Write `records` (as the log holds them, one per line) to
    `$RUNNER_TEMP/leakstop/audit-records.jsonl`, set the `audit-path` output and append the
    table to the job summary. Returns the file's path."""
    path = workflow.runner_temp(environ) / "leakstop" / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(record.line() for record in records))
    workflow.set_outputs({"audit-path": str(path)}, environ)
    workflow.append_summary(summary_table(records), environ)
    return path


def summary_table(records: Sequence[Record]) -> str:
    lines = ["\n### Audit records of this run\n\n"]
    if not records:
        lines.append("This run appended no audit records.\n")
        return "".join(lines)
    lines.append("| Time (UTC) | Action | Secret | Result |\n|---|---|---|---|\n")
    for record in records:
        result = "ok" if record.success else "failed"
        if record.error:
            result += f": {record.error}"
        secret = code(record.secret) if record.secret else "–"
        time = record.time.strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"| {time} | {cell(record.action.value)} | {secret} | {cell(result)} |\n")
    count = f"{len(records)} record" + ("" if len(records) == 1 else "s")
    lines.append(f"\n{count}, in the artifact's `{FILE_NAME}`.\n")
    return "".join(lines)
