"""The response plan as text, Markdown or JSON: per distinct credential where it is, how it is
confirmed, what is done and by which provider; then what each action came to. Shows a
finding's redaction and fingerprint, never its value."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from leakstop.report.markdown import cell, code
from leakstop.rotator.policy import PlanEntry
from leakstop.textsafe import sanitize, sanitize_json

if TYPE_CHECKING:
    from leakstop.rotator.machine import RotationResult


def write_plan(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    fmt: str,
    applied: bool,
    out: TextIO,
) -> None:
    if fmt == "json":
        _write_json(entries, results, applied, out)
    elif fmt == "markdown":
        _write_markdown(entries, results, applied, out)
    else:
        _write_text(entries, results, applied, out)


def _status(entry: PlanEntry) -> str:
    live = entry.finding.verification
    checked = f"{live.status.value} ({live.reason})" if live is not None else ""
    if entry.confirmed and entry.managed is not None:
        return f"confirmed: the current value of {entry.managed}"
    if entry.confirmed:
        acting = "revoked with --apply" if entry.provider == "github" else "needs a person"
        return f"confirmed live: {checked}; {acting}"
    if live is not None:
        return f"not confirmed: checked live, {checked}; reported only"
    return "not confirmed: reported only"


def _write_text(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    out: TextIO,
) -> None:
    if not entries:
        out.write("Nothing to respond to: no findings.\n")
        return
    confirmed = sum(e.confirmed for e in entries)
    mode = "applied" if applied else "dry run"
    out.write(f"Response plan ({mode}): {len(entries)} distinct secrets, {confirmed} confirmed\n")
    for entry in entries:
        finding = entry.finding
        where = sanitize(f"{finding.location.path}:{finding.location.line}")
        out.write(f"  {finding.rule_id}  {where}  {sanitize(finding.redacted)}\n")
        for part in entry.parts:
            out.write(f"    with {part.rule_id}  line {part.location.line}  ")
            out.write(f"{sanitize(part.redacted)}\n")
        out.write(f"      → {sanitize(entry.effect)}\n")
        out.write(f"        ({sanitize(_status(entry))})\n")
    for result in results:
        line = f"{result.secret}: {result.outcome.value}"
        if result.new_version:
            line += f" (version {result.old_version} → {result.new_version})"
        if result.error:
            line += f": {result.error}"
        out.write(sanitize(line) + "\n")
    if not applied and confirmed:
        out.write("Nothing was changed. Run again with --apply to rotate the confirmed leaks.\n")


def _write_markdown(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    out: TextIO,
) -> None:
    out.write(f"## leakstop response plan ({'applied' if applied else 'dry run'})\n\n")
    if not entries:
        out.write("Nothing to respond to: no findings.\n")
        return
    out.write(
        "| Rule | Location | Secret | Response | Provider | Status |\n|---|---|---|---|---|---|\n"
    )
    for entry in entries:
        finding = entry.finding
        where = code(f"{finding.location.path}:{finding.location.line}")
        provider = cell(entry.provider) if entry.provider else "–"
        out.write(
            f"| `{cell(finding.rule_id)}` | {where} | {code(finding.redacted)} "
            f"| {cell(entry.effect)} | {provider} | {cell(_status(entry))} |\n"
        )
    if results:
        out.write("\n| Managed secret | Outcome | Versions |\n|---|---|---|\n")
        for result in results:
            versions = f"{result.old_version} → {result.new_version}" if result.new_version else ""
            out.write(f"| {code(result.secret)} | {cell(result.outcome.value)} | {versions} |\n")
    if not applied:
        out.write(
            "\nNo credential is touched in a dry run. Only findings confirmed as a managed "
            "secret's current value are rotated, with --apply.\n"
        )


def _write_json(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    out: TextIO,
) -> None:
    document = plan_document(entries, results, applied)
    out.write(sanitize_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")


def plan_document(
    entries: Sequence[PlanEntry], results: Sequence[RotationResult], applied: bool
) -> dict[str, Any]:
    """The plan and its results as JSON data (what `-f json` and `--plan-out` write)."""
    return {
        "applied": applied,
        "plan": [
            {
                "fingerprint": e.finding.fingerprint,
                "rule_id": e.finding.rule_id,
                "path": e.finding.location.path,
                "line": e.finding.location.line,
                "redacted": e.finding.redacted,
                "confirmed": e.confirmed,
                "managed_secret": e.managed,
                "action": e.action if e.confirmed or e.action else "none",
                "provider": e.provider,
                "effect": e.effect,
                "verification": (
                    {
                        "status": e.finding.verification.status.value,
                        "reason": e.finding.verification.reason,
                        "verifier": e.finding.verification.verifier,
                    }
                    if e.finding.verification
                    else None
                ),
                "parts": [
                    {
                        "rule_id": part.rule_id,
                        "fingerprint": part.fingerprint,
                        "line": part.location.line,
                        "redacted": part.redacted,
                    }
                    for part in e.parts
                ],
            }
            for e in entries
        ],
        "results": [
            {
                "secret": r.secret,
                "outcome": r.outcome.value,
                "old_version": r.old_version,
                "new_version": r.new_version,
                "revoke_after": r.revoke_after.isoformat() if r.revoke_after else None,
                "error": r.error,
                "steps": [s.value for s in r.steps],
            }
            for r in results
        ],
    }
