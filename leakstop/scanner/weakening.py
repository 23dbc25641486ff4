"""What a change does to its own scan: the findings its `leakstop:allow` comments, config and
baseline would hide, and how its config loosens the base's.

A pull request can edit `.leakstop.yaml`, a baseline or add a `leakstop:allow` comment on the
line that leaks. The change is scanned strictly (the base's config and baseline, markers
ignored) and as it asks to be (its own config and baseline, markers honored); the difference
is what it suppresses. A suppressed secret that is live or matches a high or critical rule
is reported anyway: a change cannot silence its own leak.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from leakstop.allowlist import Allowlist
from leakstop.baseline import Baseline
from leakstop.config import Config
from leakstop.finding import SUPPRESSED_BY_CHANGE, Finding, Severity
from leakstop.scanner import filters
from leakstop.scanner.text import SNIFF_BYTES, sniff, to_scannable
from leakstop.verify.model import Status

_SERIOUS = frozenset({Severity.CRITICAL, Severity.HIGH})
#: How many rule ids a change description names before it says "and N more".
_MAX_NAMED = 5


class SuppressedBy(str, enum.Enum):
    INLINE = "a leakstop:allow comment it adds"
    CONFIG = "its config"
    BASELINE = "its baseline"


@dataclass(frozen=True)
class Suppressed:
    finding: Finding
    by: SuppressedBy

    @property
    def is_serious(self) -> bool:
        return is_serious(self.finding)


@dataclass(frozen=True)
class Weakening:
    """What one change does to its own scan."""

    suppressed: tuple[Suppressed, ...] = ()
    #: How the change's config and baseline loosen the base's, one sentence each.
    changes: tuple[str, ...] = ()
    #: Why the change's own config could not be compared (it does not load), if so.
    unreadable: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.suppressed or self.changes or self.unreadable)

    @property
    def reported_anyway(self) -> list[Finding]:
        return [s.finding for s in self.suppressed if s.is_serious and s.by is SuppressedBy.INLINE]


def is_serious(finding: Finding) -> bool:
    """Too important to be silenced by the change that adds it: verified live by its
    issuer, or a match of a high or critical rule."""
    verification = finding.verification
    if verification is not None and verification.status is Status.VERIFIED:
        return True
    return finding.severity in _SERIOUS


def _where(finding: Finding) -> tuple[str, str, int, int]:
    # Not the fingerprint: the change's config may set another fingerprint salt.
    location = finding.location
    return (finding.rule_id, location.path, location.line, location.column)


def suppressed(
    strict: Iterable[Finding],
    own_findings: Iterable[Finding] | None,
    own_known: Iterable[Finding],
    has_marker: Callable[[Finding], bool],
) -> list[Suppressed]:
    """The findings of the strict scan that the change hides. `own_findings`: the scan as the
    change asks (None when its config does not load: only markers are judged); `own_known`:
    what its baseline lists; `has_marker(f)`: the line of `f` has a `leakstop:allow` marker."""
    reported = None if own_findings is None else {_where(f) for f in own_findings}
    known = {_where(f) for f in own_known}
    hidden = []
    for finding in strict:
        if has_marker(finding):
            hidden.append(Suppressed(finding, SuppressedBy.INLINE))
        elif reported is not None and _where(finding) not in reported:
            by = SuppressedBy.BASELINE if _where(finding) in known else SuppressedBy.CONFIG
            hidden.append(Suppressed(finding, by))
    return hidden


def marker_in(data: bytes, line: int) -> bool:
    """`line` (1-based) of a file's bytes carries an inline allow marker (or the line before
    it a next-line marker). UTF-16 is read as the detector reads it."""
    text = to_scannable(data, sniff(data[:SNIFF_BYTES])).decode("utf-8", "replace")
    # "\n" only, as the detector counts lines (splitlines also breaks at \x0c, \u2028, ...).
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return False
    return filters.has_inline_allow(lines[line - 1], lines[line - 2] if line > 1 else "")


def tagged(finding: Finding) -> Finding:
    return replace(finding, tags=(*finding.tags, SUPPRESSED_BY_CHANGE))


def config_changes(base: Config, head: Config) -> list[str]:
    """How `head` loosens `base`: allowlists added, rules removed, entropy minimums raised,
    a lower size limit. One sentence each, foreign text not yet sanitized."""
    changes = [
        f"adds an allowlist{_scope(a)}: {_describe(a)}"
        for a in _new(head.allowlists, base.allowlists)
    ]
    base_rules = {rule.id: rule for rule in base.rules}
    head_rules = {rule.id: rule for rule in head.rules}
    removed = sorted(set(base_rules) - set(head_rules))
    if removed:
        changes.append(f"disables {len(removed)} rule(s): {_named(removed)}")
    for rule_id, rule in head_rules.items():
        old = base_rules.get(rule_id)
        if old is None:
            continue
        if rule.entropy is not None and (old.entropy is None or rule.entropy > old.entropy):
            changes.append(
                f"raises rule {rule_id}'s entropy minimum from {old.entropy or 0} to {rule.entropy}"
            )
        for allowlist in _new(rule.allowlists, old.allowlists):
            changes.append(f"adds an allowlist to rule {rule_id}: {_describe(allowlist)}")
    if head.max_file_size is not None and (
        base.max_file_size is None or head.max_file_size < base.max_file_size
    ):
        changes.append(
            f"lowers max_file_size from {base.max_file_size or 'no limit'} to "
            f"{head.max_file_size} bytes: larger files are skipped"
        )
    return changes


def baseline_changes(base: Baseline | None, head: Baseline | None) -> list[str]:
    if head is None:
        return []
    before = set(base.entries) if base is not None else set()
    added = [entry for key, entry in head.entries.items() if key not in before]
    if not added:
        return []
    paths = sorted({entry.path for entry in added})
    return [f"adds {len(added)} baseline entr{'y' if len(added) == 1 else 'ies'}: {_named(paths)}"]


def _signature(allowlist: Allowlist) -> tuple[object, ...]:
    paths = allowlist.paths.lines if allowlist.paths is not None else ()
    return (
        paths,
        allowlist.regex_sources,
        allowlist.line_sources,
        allowlist.stopwords,
        tuple(sorted(allowlist.fingerprints)),
        tuple(sorted(allowlist.rules)) if allowlist.rules is not None else None,
    )


def _new(head: Sequence[Allowlist], base: Sequence[Allowlist]) -> list[Allowlist]:
    known = {_signature(a) for a in base}
    return [a for a in head if _signature(a) not in known]


def _scope(allowlist: Allowlist) -> str:
    return " for every rule" if allowlist.rules is None else ""


def _describe(allowlist: Allowlist) -> str:
    parts = []
    if allowlist.paths is not None:
        parts.append(f"paths {_named(allowlist.paths.lines)}")
    if allowlist.regex_sources:
        parts.append(f"secret regexes {_named(allowlist.regex_sources)}")
    if allowlist.line_sources:
        parts.append(f"line regexes {_named(allowlist.line_sources)}")
    if allowlist.stopwords:
        parts.append(f"stopwords {_named(allowlist.stopwords)}")
    if allowlist.fingerprints:
        parts.append(f"{len(allowlist.fingerprints)} fingerprint(s)")
    if allowlist.rules is not None:
        parts.append(f"rules {_named(sorted(allowlist.rules))}")
    return "; ".join(parts) or "empty"


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMED])
    more = len(items) - _MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def with_reported_anyway(findings: Sequence[Finding], weakening: Weakening) -> list[Finding]:
    """`findings` plus, tagged, the serious ones the change's markers hid."""
    return [*findings, *(tagged(f) for f in weakening.reported_anyway)]
