"""Baselines: reviewed, known findings that a scan with `--baseline` does not report again.

A baseline is JSON keyed by fingerprint (rule + secret, keyed hash): it survives moves,
renames and rebases. It records the fingerprint key it was made with, so shallow CI clones
and full clones agree. Entries are written in a stable order with no timestamps, and
`update` leaves entries that still exist untouched, so reviews do not churn.

detect-secrets baselines import through the detect-secrets library; their entries hold only a
SHA-1 of the secret and match findings in the same file by that hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leakstop import __version__
from leakstop.errors import ConfigError
from leakstop.finding import Finding

BASELINE_VERSION = 1
STATUSES = ("unreviewed", "accepted", "false-positive", "confirmed")
#: detect-secrets hashes only the header line of a private key, so all keys share a hash.
_DETECT_SECRETS_KEY_TYPE = "Private Key"


@dataclass
class Entry:
    fingerprint: str
    rule_id: str
    path: str
    line: int
    secret_redacted: str
    commit: str | None = None
    status: str = "unreviewed"
    note: str = ""


@dataclass
class ImportedEntry:
    """An entry from a detect-secrets baseline: the secret's SHA-1 and where it was."""

    path: str
    sha1: str
    type: str
    line: int
    status: str = "unreviewed"


@dataclass
class Baseline:
    #: The fingerprint key the entries use (see fingerprint_key.py).
    fingerprint_key: str
    entries: dict[str, Entry] = field(default_factory=dict)
    imported: list[ImportedEntry] = field(default_factory=list)

    def contains(self, finding: Finding) -> bool:
        if finding.fingerprint in self.entries:
            return True
        if not self.imported:
            return False
        digest = hashlib.sha1(finding.secret.encode("utf-8", "surrogatepass")).hexdigest()
        path = finding.location.path
        for entry in self.imported:
            if entry.path != path:
                continue
            if entry.sha1 == digest:
                return True
            if entry.type == _DETECT_SECRETS_KEY_TYPE and "private-key" in finding.rule_id:
                return True
        return False

    def update(
        self, findings: Sequence[Finding], keep_missing: bool = False
    ) -> tuple[int, int, int]:
        """Add new findings and drop entries no longer found (unless `keep_missing`); entries
        that still exist keep their review status and notes. A finding that matches an
        imported detect-secrets entry becomes a fingerprint entry with that entry's status.
        Returns (kept, added, removed)."""
        current = {f.fingerprint: f for f in findings}
        added = 0
        for fingerprint, finding in current.items():
            if fingerprint in self.entries:
                continue
            entry = entry_for(finding)
            imported = self._take_imported(finding)
            if imported is not None:
                entry.status = imported.status
            else:
                added += 1
            self.entries[fingerprint] = entry
        removed = 0
        if not keep_missing:
            for fingerprint in [fp for fp in self.entries if fp not in current]:
                del self.entries[fingerprint]
                removed += 1
            removed += len(self.imported)
            self.imported.clear()
        return len(self.entries) - added, added, removed

    def _take_imported(self, finding: Finding) -> ImportedEntry | None:
        for index, entry in enumerate(self.imported):
            if Baseline(self.fingerprint_key, {}, [entry]).contains(finding):
                return self.imported.pop(index)
        return None


def entry_for(finding: Finding) -> Entry:
    return Entry(
        fingerprint=finding.fingerprint,
        rule_id=finding.rule_id,
        path=finding.location.path,
        line=finding.location.line,
        secret_redacted=finding.redacted,
        commit=finding.commit.sha if finding.commit else None,
    )


def from_findings(findings: Iterable[Finding], fingerprint_key: str) -> Baseline:
    baseline = Baseline(fingerprint_key)
    for finding in findings:
        baseline.entries.setdefault(finding.fingerprint, entry_for(finding))
    return baseline


def load(path: Path) -> Baseline:
    """Read a leakstop baseline; a detect-secrets file is refused with a hint to import it."""
    shown = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("baseline file not found", shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read baseline: {exc}", shown) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", shown, exc.lineno) from None
    if isinstance(data, dict) and "plugins_used" in data:
        raise ConfigError(
            "this is a detect-secrets baseline: convert it with "
            f"`leakstop baseline import {shown}`",
            shown,
        )
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION:
        raise ConfigError(f"not a leakstop baseline (version {BASELINE_VERSION})", shown)
    try:
        entries = {item["fingerprint"]: Entry(**item) for item in data.get("findings", [])}
        imported = [ImportedEntry(**item) for item in data.get("imported", [])]
        return Baseline(str(data["fingerprint_key"]), entries, imported)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"malformed baseline entry: {exc}", shown) from None


def save(baseline: Baseline, path: Path) -> None:
    """Write atomically (a crash never leaves half a baseline), in a stable order."""
    document: dict[str, Any] = {
        "version": BASELINE_VERSION,
        "generated_by": f"leakstop {__version__}",
        "fingerprint_key": baseline.fingerprint_key,
        "findings": [
            asdict(entry)
            for entry in sorted(
                baseline.entries.values(), key=lambda e: (e.path, e.line, e.rule_id, e.fingerprint)
            )
        ],
    }
    if baseline.imported:
        document["imported"] = [
            asdict(entry)
            for entry in sorted(baseline.imported, key=lambda e: (e.path, e.line, e.sha1))
        ]
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    folder = path.parent if str(path.parent) else Path(".")
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, prefix=".leakstop-baseline-", delete=False
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)


def import_detect_secrets(path: Path, fingerprint_key: str) -> Baseline:
    """Convert a detect-secrets `.secrets.baseline`, read with the detect-secrets library."""
    from detect_secrets.core import baseline as ds_baseline
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.exceptions import UnableToReadBaselineError

    shown = str(path)
    try:
        data = ds_baseline.upgrade(ds_baseline.load_from_file(shown))
        collection = SecretsCollection.load_from_baseline(data)
    except UnableToReadBaselineError as exc:
        raise ConfigError(f"not a readable detect-secrets baseline: {exc}", shown) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"malformed detect-secrets baseline: {exc}", shown) from None
    baseline = Baseline(fingerprint_key)
    for filename, secret in collection:
        status = "unreviewed"
        if secret.is_secret is False:
            status = "false-positive"
        elif secret.is_secret is True:
            status = "confirmed"
        baseline.imported.append(
            ImportedEntry(
                path=filename.replace(os.sep, "/"),
                sha1=secret.secret_hash,
                type=secret.type,
                line=secret.line_number or 0,
                status=status,
            )
        )
    return baseline
