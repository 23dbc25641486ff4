"""The respond and rotations steps of the Action report to the runner: the job summary (the
plan or what was rotated, redacted) and the step outputs."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leakstop.github import workflow
from leakstop.report.markdown import cell
from leakstop.report.response_plan import write_plan

if TYPE_CHECKING:
    from leakstop.rotator.machine import RotationResult
    from leakstop.rotator.policy import PlanEntry


def report_response(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    digest: str,
    plan_path: Path | None,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """Summary: the plan as a Markdown table and its digest. Outputs: confirmed, rotated,
    revoked (counts), plan-path, plan-digest."""
    markdown = io.StringIO()
    write_plan(entries, results, "markdown", applied, markdown)
    markdown.write(f"\nPlan digest: `{digest}`\n")
    workflow.append_summary(markdown.getvalue(), environ)
    outcomes = [result.outcome.value for result in results]
    workflow.set_outputs(
        {
            "confirmed": str(sum(entry.confirmed for entry in entries)),
            "rotated": str(outcomes.count("rotated") + outcomes.count("resumed")),
            "revoked": str(outcomes.count("revoked")),
            "plan-path": str(plan_path or ""),
            "plan-digest": digest,
        },
        environ,
    )


def report_stopped(message: str, environ: Mapping[str, str] = os.environ) -> None:
    """Summary: the one line that ended the run (a refused digest, a provider down before the
    plan was made). Error messages never hold secret values."""
    workflow.append_summary(f"\n### leakstop stopped\n\n{cell(message)}\n", environ)


def report_rotations(
    rows: Sequence[Mapping[str, object]], environ: Mapping[str, str] = os.environ
) -> None:
    """Summary: one table row per due secret and what was done. Outputs: due, rotated,
    revoked, failed (counts)."""
    from leakstop.report.markdown import cell

    lines = ["## leakstop scheduled rotations\n\n"]
    if not rows:
        lines.append("Nothing is due.\n")
    else:
        lines.append("| Managed secret | Status | Done | Detail |\n|---|---|---|---|\n")
        for row in rows:
            cells = [cell(str(row[name] or "–")) for name in ("secret", "status", "done", "detail")]
            lines.append(f"| `{cells[0]}` | {cells[1]} | {cells[2]} | {cells[3]} |\n")
    workflow.append_summary("".join(lines), environ)
    done = [str(row["done"]) for row in rows]
    workflow.set_outputs(
        {
            "due": str(len(rows)),
            "rotated": str(done.count("rotated")),
            "revoked": str(done.count("revoked")),
            "failed": str(done.count("failed")),
        },
        environ,
    )
