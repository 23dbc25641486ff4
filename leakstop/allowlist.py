"""Allowlists: paths, secret regexes, line regexes, stopwords and fingerprints that a user (or a
built-in rule) declares safe. Parsed from YAML by `parse_allowlist`; applied by the scanner."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import pathspec
import regex

from leakstop.finding import printable_path
from leakstop.yamlfile import Fields

ALLOWLIST_KEYS = ("description", "paths", "regexes", "lines", "stopwords", "fingerprints", "rules")


class PathPatterns:
    """gitignore-style patterns, compiled on first use. Pickles as its lines: pathspec may
    compile into a Hyperscan database, which cannot cross to a worker process."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = tuple(lines)
        self._spec: pathspec.GitIgnoreSpec | None = None

    def match_file(self, path: str) -> bool:
        if self._spec is None:
            self._spec = pathspec.GitIgnoreSpec.from_lines(self.lines)
        return bool(self._spec.match_file(path))

    def __getstate__(self) -> tuple[str, ...]:
        return self.lines

    def __setstate__(self, lines: tuple[str, ...]) -> None:
        self.lines = lines
        self._spec = None


@dataclass(frozen=True)
class Allowlist:
    """Each entry kind is checked on its own: any one match allows the finding."""

    description: str = ""
    #: gitignore-style patterns, matched against paths relative to the scan root.
    paths: PathPatterns | None = None
    #: searched in the secret itself (compiled on first use: the built-in rules carry ~200).
    regex_sources: tuple[str, ...] = ()
    #: searched in the whole line that holds the secret.
    line_sources: tuple[str, ...] = ()
    #: lower-case words; a secret containing one is allowed (e.g. "example").
    stopwords: tuple[str, ...] = ()
    fingerprints: frozenset[str] = frozenset()
    #: rule ids this allowlist applies to; None for every rule.
    rules: frozenset[str] | None = None

    @cached_property
    def regexes(self) -> tuple[regex.Pattern[str], ...]:
        return tuple(regex.compile(pattern) for pattern in self.regex_sources)

    @cached_property
    def lines(self) -> tuple[regex.Pattern[str], ...]:
        return tuple(regex.compile(pattern) for pattern in self.line_sources)

    def applies_to(self, rule_id: str) -> bool:
        return self.rules is None or rule_id in self.rules

    def allows_path(self, path: str) -> bool:
        return self.paths is not None and self.paths.match_file(printable_path(path))

    def allows_secret(self, secret: str, line: str) -> bool:
        if self.stopwords:
            lowered = secret.lower()
            if any(word in lowered for word in self.stopwords):
                return True
        if any(pattern.search(secret) for pattern in self.regexes):
            return True
        return any(pattern.search(line) for pattern in self.lines)

    def allows_fingerprint(self, fingerprint: str) -> bool:
        return fingerprint in self.fingerprints


def parse_allowlist(fields: Fields, trusted: bool = False) -> Allowlist:
    """Validate one allowlist mapping; errors name the file and line of the bad entry.
    `trusted` (the shipped rules, checked by the test suite) skips compiling regexes now."""
    fields.check_keys(ALLOWLIST_KEYS)
    path_patterns = fields.string_list("paths")
    paths = None
    if path_patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines(path_patterns)  # reject bad patterns now
        except (ValueError, TypeError) as exc:
            fields.fail(f"invalid path pattern: {exc}", fields.line_of("paths"))
        paths = PathPatterns(path_patterns)
    rules = fields.string_list("rules")
    return Allowlist(
        description=fields.string("description"),
        paths=paths,
        regex_sources=_checked_regexes(fields, "regexes", trusted),
        line_sources=_checked_regexes(fields, "lines", trusted),
        stopwords=tuple(word.lower() for word in fields.string_list("stopwords")),
        fingerprints=frozenset(fields.string_list("fingerprints")),
        rules=frozenset(rules) if rules else None,
    )


def _checked_regexes(fields: Fields, key: str, trusted: bool) -> tuple[str, ...]:
    patterns = tuple(fields.string_list(key))
    if not trusted:
        for pattern in patterns:
            try:
                regex.compile(pattern)
            except regex.error as exc:
                fields.fail(f"invalid regex in {key!r}: {exc}", fields.line_of(key))
    return patterns
