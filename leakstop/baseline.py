"""Baselines: reviewed, known findings that a scan with `--baseline` does not report again.

A baseline is JSON keyed by fingerprint (rule + secret, keyed hash): it survives moves,
renames and rebases. It records the fingerprint key it was made with, so shallow CI clones
and full clones agree. Entries are written in a stable order with no timestamps, and
`update` leaves entries that still exist untouched, so reviews do not churn.

Older versions are read through `_UPGRADES`, one step per version, as detect-secrets does.
Version 2 gave password-like secrets slow fingerprints (finding.fingerprint): version-1
entries are kept as `legacy` entries, matched by the old fingerprint, until `update` turns
them into current ones with their review.

detect-secrets baselines import through the detect-secrets library; their entries hold only a
SHA-1 of the secret and match findings in the same file by that hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shlex
import tempfile
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from leakstop import __version__
from leakstop.errors import ConfigError
from leakstop.finding import PASSWORD_MARKER, Finding

log = logging.getLogger(__name__)

BASELINE_VERSION = 2
STATUSES = ("unreviewed", "accepted", "false-positive", "confirmed")
#: detect-secrets hashes only the header line of a private key, so all keys share a hash.
_DETECT_SECRETS_KEY_TYPE = "Private Key"


_EntryT = TypeVar("_EntryT", "Entry", "ImportedEntry")


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
    #: Entries from a version-1 baseline, keyed by their version-1 fingerprint, which is
    #: `Finding.legacy_fingerprint` for password-like findings and unchanged for tokens.
    legacy: dict[str, Entry] = field(default_factory=dict)

    def contains(self, finding: Finding) -> bool:
        if finding.fingerprint in self.entries or self._legacy_key(finding) is not None:
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
        that still exist keep their review status and notes. A finding that matches a
        legacy (version-1) entry or an imported detect-secrets entry becomes a current entry
        with that entry's review. Returns (kept, added, removed)."""
        current = {f.fingerprint: f for f in findings}
        added = 0
        for fingerprint, finding in current.items():
            if fingerprint in self.entries:
                continue
            entry = self._carried_over(finding)
            if entry is None:
                entry = entry_for(finding)
                added += 1
            self.entries[fingerprint] = entry
        removed = 0
        if not keep_missing:
            for fingerprint in [fp for fp in self.entries if fp not in current]:
                del self.entries[fingerprint]
                removed += 1
            removed += len(self.imported) + len(self.legacy)
            self.imported.clear()
            self.legacy.clear()
        return len(self.entries) - added, added, removed

    def _legacy_key(self, finding: Finding) -> str | None:
        for key in (finding.fingerprint, finding.legacy_fingerprint):
            if key is not None and key in self.legacy:
                return key
        return None

    def _carried_over(self, finding: Finding) -> Entry | None:
        """The review recorded for `finding` under an older fingerprint, as a current entry
        (taken out of `legacy` or `imported`); None for a new finding."""
        key = self._legacy_key(finding)
        if key is not None:
            # Same place and review; the version-1 redaction showed up to two fifths.
            return dataclasses.replace(
                self.legacy.pop(key),
                fingerprint=finding.fingerprint,
                secret_redacted=finding.redacted,
            )
        imported = self._take_imported(finding)
        if imported is None:
            return None
        entry = entry_for(finding)
        entry.status = imported.status
        return entry

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


def load(
    path: Path, password_rules: Container[str] | None = None, *, warn: bool = True
) -> Baseline:
    """Read a leakstop baseline of any version; a detect-secrets file is refused with a hint
    to import it. `password_rules` holds the ids of password-like rules (default: the
    built-in ones): legacy entries of those lose their version-1 redaction and, unless not
    `warn` (`baseline update` is what the warning asks for), get a warning, as the file lets
    anyone test guessed passwords offline at hash speed."""
    shown = str(path)
    text = _read(path)
    document = _upgraded(_parse(text, shown), shown)
    try:
        baseline = Baseline(
            str(document["fingerprint_key"]),
            _entries(document.get("findings", [])),
            [_typed(ImportedEntry(**item)) for item in document.get("imported", [])],
            _entries(document.get("legacy", [])),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"malformed baseline entry: {exc}", shown) from None
    _check_statuses(baseline, text, shown)
    _scrub_legacy_passwords(baseline, shown, password_rules, warn)
    return baseline


def _read(path: Path) -> str:
    shown = str(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("baseline file not found", shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read baseline: {exc}", shown) from None


def _parse(text: str, shown: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", shown, exc.lineno) from None
    except RecursionError:
        # json's decoder recurses per level: `[[[[…` a hundred thousand deep ends here.
        raise ConfigError("invalid baseline: nested too deeply", shown) from None
    if isinstance(data, dict) and "plugins_used" in data:
        raise ConfigError(
            "this is a detect-secrets baseline: convert it with "
            f"`leakstop baseline import {shown}`",
            shown,
        )
    if not isinstance(data, dict) or type(data.get("version")) is not int or data["version"] < 1:
        raise ConfigError(f"not a leakstop baseline (version {BASELINE_VERSION})", shown)
    return data


def _upgrade_1_to_2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 fingerprints password-like secrets with scrypt: version-1 entries keep their
    HMAC fingerprints as legacy entries (those of tokens are unchanged and match as they
    are)."""
    return {**document, "version": 2, "findings": [], "legacy": document.get("findings", [])}


#: `_UPGRADES[n]` turns a version-n document into a version n+1 one.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_1_to_2}


def _upgraded(document: dict[str, Any], shown: str) -> dict[str, Any]:
    version: int = document["version"]
    if version > BASELINE_VERSION:
        raise ConfigError(
            f"baseline version {version} is newer than this leakstop reads "
            f"({BASELINE_VERSION}): upgrade leakstop",
            shown,
        )
    while version < BASELINE_VERSION:
        document = _UPGRADES[version](document)
        version += 1
    return document


def _entries(items: Any) -> dict[str, Entry]:
    if not isinstance(items, list):
        raise TypeError(f"expected a list of entries, not {type(items).__name__}")
    return {item["fingerprint"]: _typed(Entry(**item)) for item in items}


#: The JSON types each declared field type accepts (`status` is checked on its own, with a
#: message listing the statuses).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "str | None": (str, type(None)),
}


def _typed(entry: _EntryT) -> _EntryT:
    """`entry`, once each field holds its declared type: a `"line": "one"` loaded, then
    broke sorting on save with a TypeError (found by tests/fuzz/test_baseline.py)."""
    for item in dataclasses.fields(entry):
        value = getattr(entry, item.name)
        expected = _FIELD_TYPES[str(item.type)]
        if item.name != "status" and (not isinstance(value, expected) or isinstance(value, bool)):
            raise TypeError(f"{item.name} is {type(value).__name__}, not {item.type}")
    return entry


def _check_statuses(baseline: Baseline, text: str, shown: str) -> None:
    """Refuse a status that is not one of STATUSES, naming it and, if found, its line."""
    entries: list[Entry | ImportedEntry] = [
        *baseline.entries.values(),
        *baseline.legacy.values(),
        *baseline.imported,
    ]
    for entry in entries:
        if isinstance(entry.status, str) and entry.status in STATUSES:
            continue
        # ASCII-escaped and cut: the value is foreign text bound for one line of stderr.
        value = json.dumps(entry.status)
        raise ConfigError(
            f"unknown status {value if len(value) <= 40 else value[:39] + '…'} "
            f"(use one of: {', '.join(STATUSES)})",
            shown,
            _line_of_status(text, entry.status),
        )


def _line_of_status(text: str, status: object) -> int | None:
    """The line of the first `"status": <status>` in the file, written as `save` writes it
    or ASCII-escaped; a cheap search instead of a JSON parser that keeps positions."""
    for value in (json.dumps(status, ensure_ascii=False), json.dumps(status)):
        match = re.search(r'"status"\s*:\s*' + re.escape(value) + r"\s*[,}]", text)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return None


def _scrub_legacy_passwords(
    baseline: Baseline, shown: str, password_rules: Container[str] | None, warn: bool
) -> None:
    if not baseline.legacy:
        return
    rules = password_rules if password_rules is not None else _builtin_password_rules()
    passwords = [entry for entry in baseline.legacy.values() if entry.rule_id in rules]
    if not passwords:
        return
    for entry in passwords:
        entry.secret_redacted = PASSWORD_MARKER
    if not warn:
        return
    log.warning(
        "%s: %d password fingerprint(s) from baseline version 1 let anyone who reads the file "
        "test guessed passwords offline at hash speed; run `leakstop baseline update %s`",
        shown,
        len(passwords),
        shlex.quote(shown),
    )


def _builtin_password_rules() -> frozenset[str]:
    from leakstop.rules import load_builtin_rules

    return frozenset(rule.id for rule in load_builtin_rules() if rule.password_like)


def save(baseline: Baseline, path: Path) -> None:
    """Write atomically (a crash never leaves half a baseline), in a stable order."""
    document: dict[str, Any] = {
        "version": BASELINE_VERSION,
        "generated_by": f"leakstop {__version__}",
        "fingerprint_key": baseline.fingerprint_key,
        "findings": _sorted_entries(baseline.entries),
    }
    if baseline.legacy:
        document["legacy"] = _sorted_entries(baseline.legacy)
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


def _sorted_entries(entries: dict[str, Entry]) -> list[dict[str, Any]]:
    ordered = sorted(entries.values(), key=lambda e: (e.path, e.line, e.rule_id, e.fingerprint))
    return [asdict(entry) for entry in ordered]


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
