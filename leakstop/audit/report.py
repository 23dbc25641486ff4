"""The lifecycle report (`leakstop audit report`) as Markdown for people (a summary table,
then one section per secret; readable on GitHub) and as JSON for tools (versioned, keys
sorted, lists in a fixed order, so two runs over the same log and `now` are byte-equal)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from leakstop.audit.lifecycle import OpenFinding, Report, SecretReport
from leakstop.textsafe import sanitize, sanitize_json

REPORT_VERSION = 1
#: Readers listed per secret in Markdown (JSON lists all).
MAX_READERS = 20


def write_report_markdown(report: Report, out: TextIO) -> None:
    out.write("# Audit report\n\n")
    period = f"activity since {_day(report.since)}" if report.since else "the whole log"
    overdue = sum(1 for s in report.secrets if s.overdue_by is not None)
    findings = sum(len(s.open_findings) for s in report.secrets) + len(report.unattributed)
    out.write(
        f"Generated {_minute(report.now)} UTC · readers and failures over {period} · "
        f"{len(report.secrets)} managed secrets · {overdue} overdue · "
        f"{findings} open findings\n\n"
    )
    if report.secrets:
        out.write(
            "| Secret | Status | Age | Last rotation | Policy | Overdue | Readers | Failures "
            "| Open findings |\n|---|---|---|---|---|---|---|---|---|\n"
        )
        for secret in report.secrets:
            out.write(
                f"| {_code(secret.name)} | {secret.status} | {_age(secret)} "
                f"| {_day(secret.last_rotation) if secret.last_rotation else 'never'} "
                f"| {_span(secret.policy) if secret.policy else 'no policy'} "
                f"| {_overdue(secret)} | {len(secret.readers)} "
                f"| {sum(secret.failures.values())} | {len(secret.open_findings)} |\n"
            )
    else:
        out.write("No managed secrets in the log.\n")
    for secret in report.secrets:
        _section(secret, out)
    if report.unattributed:
        out.write("\n## Open findings not linked to a managed secret\n\n")
        _findings_table(report.unattributed, out)


def write_report_json(report: Report, out: TextIO) -> None:
    document = {
        "version": REPORT_VERSION,
        "generated": _iso(report.now),
        "since": _iso(report.since),
        "secrets": [_secret_json(secret) for secret in report.secrets],
        "unattributed_findings": [_finding_json(f) for f in report.unattributed],
    }
    out.write(sanitize_json(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)))
    out.write("\n")


REPORT_FORMATS: dict[str, Callable[[Report, TextIO], None]] = {
    "markdown": write_report_markdown,
    "json": write_report_json,
}


def _section(secret: SecretReport, out: TextIO) -> None:
    out.write(f"\n## {_code(secret.name, in_table=False)}\n\n")
    created = (
        f"{_minute(secret.created)} UTC"
        if secret.created
        else f"before the log (first seen {_minute(secret.first_seen)} UTC)"
    )
    lines = [
        f"- **Status:** {secret.status} (org {_code(secret.org, in_table=False)})",
        f"- **Created:** {created}; age {_age(secret)}",
        f"- **Current value since:** {_minute(secret.current_since)} UTC",
        "- **Last rotation:** "
        + (f"{_minute(secret.last_rotation)} UTC" if secret.last_rotation else "never"),
        f"- **Policy:** {_policy(secret)}",
    ]
    out.write("\n".join(lines) + "\n")
    out.write("\n### Lifecycle\n\n| Event | Count | First | Last |\n|---|---|---|---|\n")
    for event, seen in secret.events.items():
        out.write(
            f"| {event.value} | {seen.count} | {_minute(seen.first)} | {_minute(seen.last)} |\n"
        )
    out.write("\n### Readers\n\n")
    if secret.readers:
        out.write("| Actor | Reads |\n|---|---|\n")
        for actor, reads in secret.readers[:MAX_READERS]:
            out.write(f"| {_code(actor)} | {reads} |\n")
        if len(secret.readers) > MAX_READERS:
            out.write(
                f"\n{len(secret.readers) - MAX_READERS} more readers (see the JSON report).\n"
            )
    else:
        out.write("None.\n")
    out.write("\n### Failures\n\n")
    if secret.failures:
        out.write("| Action | Failures |\n|---|---|\n")
        for action, count in secret.failures.items():
            out.write(f"| {action} | {count} |\n")
        assert secret.last_failure is not None
        out.write(f"\nLast failure: {_minute(secret.last_failure)} UTC.\n")
    else:
        out.write("None.\n")
    out.write("\n### Open findings\n\n")
    if secret.open_findings:
        _findings_table(secret.open_findings, out)
    else:
        out.write("None.\n")


def _findings_table(findings: tuple[OpenFinding, ...], out: TextIO) -> None:
    out.write(
        "| Fingerprint | Secret | Confirmed | Detections | First detected | Last detected |\n"
        "|---|---|---|---|---|---|\n"
    )
    for finding in findings:
        out.write(
            f"| {_code(finding.fingerprint)} "
            f"| {_code(finding.secret) if finding.secret else '–'} "
            f"| {'yes' if finding.confirmed else 'no'} | {finding.detections} "
            f"| {_minute(finding.first_detected)} | {_minute(finding.last_detected)} |\n"
        )


def _secret_json(secret: SecretReport) -> dict[str, Any]:
    return {
        "name": secret.name,
        "org": secret.org,
        "status": secret.status,
        "created": _iso(secret.created),
        "first_seen": _iso(secret.first_seen),
        "age_seconds": _seconds(secret.age),
        "current_since": _iso(secret.current_since),
        "last_rotation": _iso(secret.last_rotation),
        "policy_seconds": _seconds(secret.policy),
        "due": _iso(secret.due),
        "overdue_seconds": _seconds(secret.overdue_by),
        "lifecycle": {
            event.value: {"count": seen.count, "first": _iso(seen.first), "last": _iso(seen.last)}
            for event, seen in secret.events.items()
        },
        "readers": [{"actor": actor, "reads": reads} for actor, reads in secret.readers],
        "failures": {
            "total": sum(secret.failures.values()),
            "by_action": dict(secret.failures),
            "last": _iso(secret.last_failure),
        },
        "open_findings": [_finding_json(f) for f in secret.open_findings],
    }


def _finding_json(finding: OpenFinding) -> dict[str, Any]:
    return {
        "fingerprint": finding.fingerprint,
        "org": finding.org,
        "secret": finding.secret,
        "confirmed": finding.confirmed,
        "detections": finding.detections,
        "first_detected": _iso(finding.first_detected),
        "last_detected": _iso(finding.last_detected),
    }


def _policy(secret: SecretReport) -> str:
    if secret.policy is None:
        return "no policy"
    text = f"rotate every {_span(secret.policy)}"
    if secret.due is None:
        return text + f" (not due: {secret.status})"
    if secret.overdue_by is not None:
        return text + f"; **overdue by {_span(secret.overdue_by)}** (due {_minute(secret.due)} UTC)"
    return text + f"; due {_minute(secret.due)} UTC"


def _overdue(secret: SecretReport) -> str:
    if secret.policy is None or secret.due is None:
        return "–"
    return f"**{_span(secret.overdue_by)}**" if secret.overdue_by is not None else "no"


def _age(secret: SecretReport) -> str:
    return ("" if secret.created else "≥ ") + _span(secret.age)


def _span(value: timedelta) -> str:
    """Rounded down for people: whole days from two days up, else hours, else minutes."""
    seconds = int(value.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def _code(text: str, *, in_table: bool = True) -> str:
    """Foreign text as a code span, safe in Markdown and a terminal: sanitized, no backtick
    to end the span early, and in a table `|` escaped (GFM reads `\\|` inside a table's code
    span as `|`; elsewhere it would show the backslash)."""
    text = sanitize(text).replace("`", "'")
    return "`" + (text.replace("|", "\\|") if in_table else text) + "`"


def _minute(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def _day(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d") if moment else "never"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())
