"""`leakstop respond --dry-run`: scan, then print what the response to each leak would be."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from leakstop.commands.base import Outcome, Parser, scan_request, sources, verbosity
from leakstop.config.audit import AuditSettings
from leakstop.errors import LeakstopError
from leakstop.report.markdown import cell, code
from leakstop.rotator.policy import PlanEntry, plan
from leakstop.scanner.session import ScanRequest, execute
from leakstop.textsafe import sanitize


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    parser = commands.add_parser(
        "respond",
        parents=[verbosity(), sources()],
        help="plan the response to each leak (which issuer rotates or revokes it)",
        description="Scan, then say for each distinct secret which provider would rotate or "
        "revoke it. Only --dry-run is available in this release: nothing is changed.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    parser.add_argument("--dry-run", action="store_true", help="only print the plan")
    parser.add_argument("-f", "--format", choices=["text", "markdown"], default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    respond(scan_request(args), args.dry_run, args.format, sys.stdout)
    return Outcome.CLEAN


def respond(request: ScanRequest, dry_run: bool, fmt: str, out: TextIO) -> list[PlanEntry]:
    if not dry_run:
        raise LeakstopError(
            "rotation is not available yet: run `leakstop respond --dry-run` for the plan"
        )
    prepared, result = execute(request)
    entries = plan(result.findings, prepared.config.rules)
    _record_detections(entries, prepared.config.audit)
    (write_markdown if fmt == "markdown" else write_text)(entries, out)
    return entries


def _record_detections(entries: list[PlanEntry], settings: AuditSettings) -> None:
    """One `finding_detected` record per distinct secret the plan covers: its fingerprint,
    rule, place and redaction, never its value."""
    if not entries:
        return
    from leakstop.audit.context import from_environment  # only when there is a plan to record
    from leakstop.audit.record import Action
    from leakstop.audit.setup import open_log

    audit_log = open_log(settings)
    context = from_environment()
    try:
        for entry in entries:
            finding = entry.finding
            audit_log.append(
                Action.FINDING_DETECTED,
                finding.fingerprint,
                context,
                details={
                    "rule_id": finding.rule_id,
                    "path": finding.location.path,
                    "line": finding.location.line,
                    "redacted": finding.redacted,
                    "commit": finding.commit.sha if finding.commit else None,
                    "provider": entry.provider,
                    "response": entry.action,
                },
            )
    finally:
        audit_log.close()


def write_text(entries: list[PlanEntry], out: TextIO) -> None:
    if not entries:
        out.write("Nothing to respond to: no findings.\n")
        return
    out.write(f"Response plan (dry run): {len(entries)} distinct secrets\n")
    for entry in entries:
        finding = entry.finding
        where = sanitize(f"{finding.location.path}:{finding.location.line}")
        out.write(f"  {finding.rule_id}  {where}  {sanitize(finding.redacted)}\n")
        out.write(f"      → {sanitize(entry.effect)}\n")
        out.write("        (needs confirmation: not verified live)\n")


def write_markdown(entries: list[PlanEntry], out: TextIO) -> None:
    out.write("## leakstop response plan (dry run)\n\n")
    if not entries:
        out.write("Nothing to respond to: no findings.\n")
        return
    out.write("| Rule | Location | Secret | Response | Status |\n|---|---|---|---|---|\n")
    for entry in entries:
        finding = entry.finding
        where = code(f"{finding.location.path}:{finding.location.line}")
        out.write(
            f"| `{cell(finding.rule_id)}` | {where} | {code(finding.redacted)} "
            f"| {cell(entry.effect)} | needs confirmation |\n"
        )
    out.write(
        "\nNo credential is touched in a dry run. Only findings confirmed live by their "
        "issuer will be rotated automatically.\n"
    )
