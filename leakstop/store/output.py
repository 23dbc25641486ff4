"""How `leakstop store` shows what it did: tables and JSON of names, versions, labels, dates,
backups, restore plans and health. Nothing here ever receives a value.

Names, backup names and labels are checked on the way in; actors come from the environment
(`GITHUB_ACTOR`, the login name), so they pass through `sanitize`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from leakstop.store.backup import BackupInfo
from leakstop.store.health import HealthReport
from leakstop.store.info import SecretInfo, VersionInfo
from leakstop.store.restore import RestorePlan, SecretDiff, Summary
from leakstop.textsafe import sanitize


def write_secrets(secrets: Sequence[SecretInfo], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        _json([_secret_json(info) for info in secrets], out)
        return
    if not secrets:
        out.write("No secrets.\n")
        return
    rows = [
        (
            info.name,
            _number(info.labels.get("current")),
            str(sum(v.state == "active" for v in info.versions)),
            _when(info.updated),
            "deleted" if info.deleted else "",
        )
        for info in secrets
    ]
    _table(("NAME", "CURRENT", "VERSIONS", "UPDATED", ""), rows, out)


def write_versions(info: SecretInfo, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        _json(_secret_json(info, versions=True), out)
        return
    if info.deleted:
        out.write(f"{info.name} was deleted at {_when(info.deleted)}.\n")
    rows = [
        (
            str(v.number),
            _when(v.created),
            sanitize(v.created_by),
            v.kind,
            v.state,
            ",".join(v.labels),
        )
        for v in info.versions
    ]
    _table(("VERSION", "CREATED", "BY", "KIND", "STATE", "LABELS"), rows, out)


def write_backups(backups: Sequence[BackupInfo], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        _json(
            [
                {
                    "name": b.name,
                    "created": _iso(b.created),
                    "secrets": b.secrets,
                    "generation": b.generation,
                    "problem": b.problem,
                }
                for b in backups
            ],
            out,
        )
        return
    if not backups:
        out.write("No backups.\n")
        return
    rows = [
        (
            b.name,
            _when(b.created) if b.created else "?",
            str(b.secrets),
            f"unreadable: {sanitize(b.problem)}" if b.problem else "",
        )
        for b in backups
    ]
    _table(("NAME", "CREATED", "SECRETS", ""), rows, out)


def write_plan(plan: RestorePlan, applied: bool, out: TextIO) -> None:
    changes = {kind: len(plan.of_kind(kind)) for kind in ("added", "changed", "removed")}
    if applied:
        out.write(
            f"Restored backup {plan.backup}: {changes['added']} added, {changes['changed']} "
            f"changed, {changes['removed']} removed, {plan.unchanged} unchanged. The state "
            f"before is in backup {plan.pre_restore}.\n"
        )
    else:
        out.write(
            f"Restoring backup {plan.backup} (taken {_when(plan.created)}) would change "
            f"{len(plan.diffs)} secrets ({plan.unchanged} unchanged); nothing was changed.\n"
        )
    marks = {"added": "+", "changed": "~", "removed": "-"}
    width = max((len(d.name) for d in plan.diffs), default=0)
    for diff in plan.diffs:
        out.write(f"  {marks[diff.change]} {diff.change:<8} {diff.name:<{width}}  {_diff(diff)}\n")


def write_health(org: str, report: HealthReport, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        _json(
            {
                "org": org,
                "healthy": report.healthy,
                "secrets": report.secrets,
                "deleted": report.deleted,
                "versions": report.versions,
                "oldest": (
                    {"name": report.oldest[0], "since": _iso(report.oldest[1])}
                    if report.oldest
                    else None
                ),
                "overdue": list(report.overdue),
                "audit_records": report.audit_records,
                "problems": [sanitize(p) for p in report.problems],
                "warnings": [sanitize(w) for w in report.warnings],
            },
            out,
        )
        return
    mark = "✓" if report.healthy else "✗"
    out.write(
        f"{mark} org {org}: {report.secrets} secrets ({report.deleted} deleted), "
        f"{report.versions} versions decrypt, {report.audit_records} audit records verify\n"
    )
    if report.oldest is not None:
        name, since = report.oldest
        days = (datetime.now(timezone.utc) - since).days
        out.write(f"  oldest: {name}, current since {_when(since)} ({days} days)\n")
    out.write(f"  overdue for rotation: {len(report.overdue)}")
    out.write(f" ({', '.join(report.overdue)})\n" if report.overdue else "\n")
    for warning in report.warnings:
        out.write(f"  warning: {sanitize(warning)}\n")
    for problem in report.problems:
        out.write(f"  ✗ {sanitize(problem)}\n")


def _diff(diff: SecretDiff) -> str:
    if diff.before is not None and diff.after is not None:
        return f"{_summary(diff.before)} → {_summary(diff.after)}"
    side = diff.after if diff.after is not None else diff.before
    assert side is not None
    return _summary(side)


def _summary(summary: Summary) -> str:
    versions = ",".join(str(n) for n in summary.versions) or "none"
    labels = " ".join(f"{label} {number}" for label, number in sorted(summary.labels.items()))
    text = f"versions {versions}" + (f", {labels}" if labels else "")
    return text + (" (deleted)" if summary.deleted else "")


def _secret_json(info: SecretInfo, *, versions: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": info.name,
        "revision": info.revision,
        "labels": dict(info.labels),
        "latest": info.latest,
        "created": _iso(info.created),
        "updated": _iso(info.updated),
        "deleted": _iso(info.deleted),
    }
    if versions:
        data["versions"] = [_version_json(v) for v in info.versions]
    return data


def _version_json(version: VersionInfo) -> dict[str, Any]:
    return {
        "version": version.number,
        "created": _iso(version.created),
        "created_by": sanitize(version.created_by),
        "kind": version.kind,
        "state": version.state,
        "labels": list(version.labels),
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        out.write("\n")


def _json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()
