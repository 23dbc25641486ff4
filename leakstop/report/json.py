"""JSON report, schema `leakstop/report/schemas/report-v1.json` (versioned: fields are only
ever added within a version)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from leakstop import __version__
from leakstop.finding import Finding
from leakstop.report import ReportOptions
from leakstop.results import ScanResult
from leakstop.textsafe import sanitize_json

JSON_REPORT_VERSION = 1


class JsonReporter:
    def __init__(self, options: ReportOptions) -> None:
        self.options = options

    def write(self, result: ScanResult, out: TextIO) -> None:
        # Values stay exact (tools open the paths); the text is made safe to print.
        out.write(sanitize_json(json.dumps(self.document(result), indent=2, ensure_ascii=False)))
        out.write("\n")

    def document(self, result: ScanResult) -> dict[str, Any]:
        stats = result.stats
        return {
            "version": JSON_REPORT_VERSION,
            "tool": {"name": "leakstop", "version": __version__},
            "findings": [self.finding(f) for f in result.findings],
            "stats": {
                "findings": len(result.findings),
                "scanned": stats.scanned,
                "bytes": stats.bytes,
                "skipped": dict(sorted(stats.skipped.items())),
                "baselined": stats.baselined,
                "seconds": round(stats.seconds, 3),
                "engine": result.engine,
                "rules": len(result.rules),
            },
        }

    def finding(self, finding: Finding) -> dict[str, Any]:
        location = finding.location
        item: dict[str, Any] = {
            "rule_id": finding.rule_id,
            "description": finding.description,
            "severity": finding.severity.value,
            "path": location.path,
            "line": location.line,
            "column": location.column,
            "end_line": location.end_line,
            "end_column": location.end_column,
            "secret_redacted": finding.redacted,
            "fingerprint": finding.fingerprint,
            "entropy": finding.entropy,
            "validated": finding.validated,
            "tags": list(finding.tags),
            "context": finding.context,
            "commit": None,
        }
        if finding.commit is not None:
            commit = finding.commit
            item["commit"] = {
                "sha": commit.sha,
                "author_name": commit.author_name,
                "author_email": commit.author_email,
                "date": commit.date,
                "summary": commit.summary,
            }
        if finding.verification is not None:
            item["verification"] = finding.verification.as_dict()
        if self.options.show_secrets:
            item["secret"] = finding.secret
        return item
