"""SARIF 2.1.0 for GitHub code scanning, built with `sarif-om`.

Values that tools match on (paths, rule ids, fingerprints) stay exact; message texts and rule
descriptions, which people read, are sanitized like every other report's, and the JSON text
is made safe to print (`textsafe.sanitize_json`).

GitHub rejects uploads over 25,000 results per run or 10 MB gzipped; rather than produce such a
file we keep the most severe findings, say how many were dropped (a log warning and a tool
notification in the file), and stay under both limits.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import os
import re
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from leakstop import __version__
from leakstop.finding import SUPPRESSED_BY_CHANGE, SUPPRESSED_BY_CHANGE_NOTE, Finding, Severity
from leakstop.report import ReportOptions
from leakstop.results import ScanResult
from leakstop.rules.model import Rule
from leakstop.textsafe import sanitize, sanitize_json, sanitize_lines

log = logging.getLogger(__name__)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/leakstop/leakstop"
#: docs.github.com "SARIF results exceed limit": hard limits per run.
MAX_RESULTS = 25_000
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_TAGS = 20
PRETTY_RESULTS = 1000

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: GitHub maps security-severity >= 9.0 to critical, 7.0-8.9 high, 4.0-6.9 medium, else low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


class SarifReporter:
    def __init__(self, options: ReportOptions) -> None:
        self.options = options

    def write(self, result: ScanResult, out: TextIO) -> None:
        out.write(self.render(result))
        out.write("\n")

    def render(self, result: ScanResult) -> str:
        """The SARIF text, truncated as needed to pass GitHub's upload limits."""
        # New findings first, most severe first; known (baselined) ones last, as suppressed.
        findings = sorted(result.findings, key=lambda f: f.severity.rank)
        known = {id(f) for f in result.known}
        findings += sorted(result.known, key=lambda f: f.severity.rank)
        keep = min(len(findings), MAX_RESULTS)
        while True:
            document = self.log(result.rules, findings[:keep], len(findings) - keep, known)
            # $schema and version first, as every SARIF producer writes them.
            ordered = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": document.runs}
            # Indented for people when small; compact when large (json's C encoder is 5x faster).
            indent = 2 if keep <= PRETTY_RESULTS else None
            # Escaped before the size check: escapes make the text longer.
            text = sanitize_json(
                json.dumps(ordered, indent=indent, ensure_ascii=False, default=sarif_object)
            )
            if keep == 0 or len(gzip.compress(text.encode())) <= MAX_GZIP_BYTES:
                break
            keep = keep * 9 // 10
        if keep < len(findings):
            log.warning(
                "SARIF report truncated to %d of %d findings to stay within GitHub's upload "
                "limits; see the JSON or text report for all of them",
                keep,
                len(findings),
            )
        return str(text)

    def log(
        self,
        rules: Sequence[Rule],
        findings: Sequence[Finding],
        dropped: int,
        known: set[int] | None = None,
    ) -> Any:
        import sarif_om as sarif  # ~45 ms to import: only when SARIF is asked for

        index = {rule.id: position for position, rule in enumerate(rules)}
        occurrences: Counter[tuple[str, str, str]] = Counter()
        results = []
        for finding in findings:
            key = (finding.rule_id, finding.location.path, finding.fingerprint)
            occurrences[key] += 1
            result = _result(finding, index.get(finding.rule_id, -1), occurrences[key])
            if known and id(finding) in known:
                # Plain data: sarif-om's Suppression has the pre-release `state` where SARIF
                # 2.1.0 says `status`.
                result.suppressions = [
                    {
                        "kind": "external",
                        "status": "accepted",
                        "justification": "listed in the leakstop baseline",
                    }
                ]
            results.append(result)
        notifications = []
        if dropped:
            notifications.append(
                sarif.Notification(
                    level="warning",
                    message=sarif.Message(
                        text=f"{dropped} findings were left out to stay within GitHub's SARIF "
                        "upload limits (25,000 results, 10 MB gzipped); the most severe are kept."
                    ),
                )
            )
        run = sarif.Run(
            tool=sarif.Tool(
                driver=sarif.ToolComponent(
                    name="leakstop",
                    version=__version__,
                    semantic_version=__version__,
                    information_uri=INFORMATION_URI,
                    rules=[_descriptor(rule) for rule in rules],
                )
            ),
            automation_details=sarif.RunAutomationDetails(id=f"{self.options.category}/"),
            column_kind="unicodeCodePoints",
            invocations=[
                sarif.Invocation(
                    execution_successful=True,
                    tool_execution_notifications=notifications or None,
                )
            ],
            results=results,
        )
        return sarif.SarifLog(version="2.1.0", schema_uri=SARIF_SCHEMA, runs=[run])


def sarif_object(value: Any) -> dict[str, Any]:
    """One sarif-om object as a JSON object, for `json.dumps(..., default=sarif_object)`:
    jschema-to-python's rules (default values left out, SARIF property names), applied by
    its own helpers.

    Its `to_json` runs them on a deep copy of each object's attributes, and json.dumps then
    calls it again for every object nested in that copy: each object is copied once per
    object around it (4.6 s for 5,000 results; 0.4 s here). A shallow copy is enough, since
    json.dumps comes back here for each nested object anyway.
    Raises TypeError (json's contract) for anything else: only sarif-om objects and JSON
    types belong in the log.
    """
    import attr  # with sarif_om: only when SARIF is written

    if not attr.has(type(value)):
        raise TypeError(f"{type(value).__name__} is not a sarif-om object")
    to_json = _jschema_to_json()
    properties = dict(vars(value))
    to_json._remove_properties_with_default_values(value, properties)
    to_json._change_python_property_names_to_schema_property_names(value, properties)
    # Renaming moves a property last; keep the schema's order, which people read (and the
    # golden file holds).
    ordered = {
        name: properties[name] for name in _schema_order(value.__class__) if name in properties
    }
    if len(ordered) < len(properties):  # attributes that are no field: kept, as to_json does
        ordered.update(properties)
    return ordered


@functools.cache
def _jschema_to_json() -> ModuleType:
    """jschema-to-python's serialiser, imported on first use (~35 ms, for pbr)."""
    from jschema_to_python import to_json

    module: ModuleType = to_json
    return module


@functools.cache
def _schema_order(cls: type) -> tuple[str, ...]:
    """A sarif-om class's SARIF property names, in the order of its fields."""
    import attr

    return tuple(
        field.metadata.get("schema_property_name", field.name) for field in attr.fields(cls)
    )


def _descriptor(rule: Rule) -> Any:
    import sarif_om as sarif

    # SARIF tags are a set (uniqueItems): a rule tagged `security` itself must not repeat it.
    tags = list(dict.fromkeys(["security", "secret", *rule.tags]))[:MAX_TAGS]
    # User rule files supply these texts; GitHub shows them to people. A remediation may
    # have several lines (a YAML block): they are kept.
    description = sanitize(rule.description)
    remediation = sanitize_lines(rule.remediation)
    markdown = f"**{description}**\n\n{remediation}"
    if rule.references:
        markdown += "\n\n" + "\n".join(f"- <{sanitize(url)}>" for url in rule.references)
    return sarif.ReportingDescriptor(
        id=rule.id,
        name=_pascal_case(rule.id),
        short_description=sarif.MultiformatMessageString(text=description),
        full_description=sarif.MultiformatMessageString(
            text=f"{description} found in source or history."
        ),
        help=sarif.MultiformatMessageString(text=remediation, markdown=markdown),
        help_uri=rule.references[0] if rule.references else None,
        default_configuration=sarif.ReportingConfiguration(level=_LEVEL[rule.severity]),
        properties={
            "tags": tags,
            "precision": "medium" if rule.generic else "high",
            "security-severity": _SECURITY_SEVERITY[rule.severity],
        },
    )


def _result(finding: Finding, rule_index: int, occurrence: int) -> Any:
    import sarif_om as sarif

    location = finding.location
    properties: dict[str, Any] = {"validated": finding.validated}
    level = _LEVEL[finding.severity]
    text = f"{finding.description}: {finding.redacted}"
    if finding.verification is not None:
        properties["verification"] = finding.verification.status.value
        properties["verificationReason"] = sanitize(finding.verification.reason)
        properties["verifier"] = finding.verification.verifier
        text += f" ({finding.verification.status.value} live)"
        # A credential its issuer accepts is an incident whatever the rule's severity.
        if finding.verification.status.value == "verified":
            level = "error"
    if SUPPRESSED_BY_CHANGE in finding.tags:
        properties["suppressedByThisChange"] = True
        text += f" ({SUPPRESSED_BY_CHANGE_NOTE})"
    if finding.commit is not None:
        properties["commit"] = finding.commit.sha
        properties["author"] = finding.commit.author_name
        properties["date"] = finding.commit.date
    return sarif.Result(
        rule_id=finding.rule_id,
        rule_index=rule_index,
        level=level,
        message=sarif.Message(text=sanitize(text)),
        locations=[
            sarif.Location(
                physical_location=sarif.PhysicalLocation(
                    artifact_location=_artifact(location.path),
                    region=sarif.Region(
                        start_line=location.line,
                        start_column=location.column,
                        end_line=location.end_line,
                        end_column=location.end_column,
                    ),
                )
            )
        ],
        # GitHub combines this with the path and rule id to track an alert; ours depends on
        # the secret, not the line, so an alert survives edits that move it.
        partial_fingerprints={
            "primaryLocationLineHash": f"{finding.fingerprint[:16]}:{occurrence}",
            "leakstop/v1": finding.fingerprint,
        },
        properties=properties,
    )


def _artifact(path: str) -> Any:
    import sarif_om as sarif

    if os.path.isabs(path):
        return sarif.ArtifactLocation(uri=Path(path).as_uri())
    return sarif.ArtifactLocation(uri=urllib.parse.quote(path, safe="/"), uri_base_id="%SRCROOT%")


def _pascal_case(rule_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", rule_id) if part)
