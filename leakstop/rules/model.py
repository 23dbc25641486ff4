"""`Rule`: one credential type, loaded from YAML data (format in rules/README.md)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import regex as regex_module
from regex import Match, Pattern

from leakstop.allowlist import Allowlist
from leakstop.finding import Severity
from leakstop.rules.globs import PathGlobs

#: Used in help text when a rule gives no remediation of its own.
DEFAULT_REMEDIATION = (
    "Treat the credential as compromised: revoke or rotate it with its issuer, remove it from "
    "the code (and from git history if it was committed), and load it at run time from a secret "
    "store or an environment variable instead."
)
#: A public prefix is shown only while at least this many characters (and at least half the
#: secret) stay hidden, so a keyword that a random secret happens to start with, or a long
#: one, cannot give away most of it.
MIN_HIDDEN = 16


class ResponseAction(str, enum.Enum):
    """What can be done about a leaked credential of a rule's kind."""

    #: Mint a new credential, prove it works, then disable the leaked one.
    ROTATE = "rotate"
    #: Disable the leaked credential (its issuer offers no rotation, or it is an emergency).
    REVOKE = "revoke"
    #: Tell its owners; a person acts.
    NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class RespondSpec:
    """`respond:` in a rule: which kind of provider acts on this rule's credentials."""

    #: A provider type (`aws`, `github`, `webhook`, ...), as in the config's `providers:`.
    provider: str
    action: ResponseAction


@dataclass(frozen=True, slots=True)
class VerifySpec:
    """`verify:` in a rule: the live check that tells whether a found credential works."""

    #: The verifier's name in leakstop's verifier registry.
    verifier: str


@dataclass(frozen=True, slots=True)
class Example:
    """A rule example: `text` to scan as if it were the file `path`, and for positives
    optionally the exact secret expected."""

    text: str
    secret: str | None = None
    path: str = "example.txt"


class LazyExamples(Sequence[Example]):
    """A built-in rule's examples, parsed when first read: a scan never reads them, and
    parsing the ~4,500 of the built-in rules was a third of loading the rules (~25 ms of
    every start). Compares equal to any sequence of the same examples."""

    def __init__(self, parse: Callable[[], tuple[Example, ...]]) -> None:
        self._parse: Callable[[], tuple[Example, ...]] | None = parse
        self._parsed: tuple[Example, ...] = ()

    def _examples(self) -> tuple[Example, ...]:
        if self._parse is not None:
            self._parsed, self._parse = self._parse(), None
        return self._parsed

    @overload
    def __getitem__(self, index: int) -> Example: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Example, ...]: ...

    def __getitem__(self, index: int | slice) -> Example | tuple[Example, ...]:
        return self._examples()[index]

    def __len__(self) -> int:
        return len(self._examples())

    def __iter__(self) -> Iterator[Example]:
        return iter(self._examples())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._examples() == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._examples())

    def __reduce__(self) -> tuple[type[tuple[Example, ...]], tuple[tuple[Example, ...]]]:
        # Spawned workers (macOS, Windows) get the rules pickled: as the parsed tuple.
        return tuple, (self._examples(),)


@dataclass(frozen=True, eq=False)
class Rule:
    id: str
    description: str
    #: The pattern as written (Python `regex` syntax, applied to bytes); compiled on first use
    #: (`pattern`), since most rules never fire in a given scan and compiling ~250 takes 0.25 s.
    regex: str
    #: Lower-case literals, at least one of which occurs in every match (used to prefilter).
    keywords: tuple[str, ...]
    severity: Severity = Severity.HIGH
    #: Minimum Shannon entropy of the secret, bits per character.
    entropy: float | None = None
    #: Name in `scanner.validators.VALIDATORS`.
    validator: str | None = None
    tags: tuple[str, ...] = ()
    #: Longest match the rule can produce, in bytes; bounds the window the engine confirms.
    max_length: int = 1024
    #: Generic (keyword = value) rules yield to specific rules on the same secret and get the
    #: placeholder/code-reference filters.
    generic: bool = False
    #: Precedence when two rules match the same secret (see detector.precedence): -1 for
    #: containers (credential URLs, auth headers) so the issuer's own rule reports it.
    priority: int = 0
    #: The secret is an encoded container (base64 `user:password`, a Kubernetes Secret
    #: value): decode it and report the credentials a specific rule finds inside, if any.
    decode: bool = False
    remediation: str = DEFAULT_REMEDIATION
    references: tuple[str, ...] = ()
    allowlists: tuple[Allowlist, ...] = ()
    verify: VerifySpec | None = field(default=None, repr=False)
    respond: RespondSpec | None = field(default=None, repr=False)
    positives: Sequence[Example] = field(default=(), repr=False)
    negatives: Sequence[Example] = field(default=(), repr=False)
    #: Globs of the files the rule applies to (`**/.netrc`); empty: every file. Such files
    #: exist to hold credentials, so a weak value there is a real one: the rule runs only on
    #: them, and skips the placeholder heuristics, keeping only the unfilled-template check.
    paths: tuple[str, ...] = ()
    #: Literals (case-insensitive) a prefilter may look for instead of the regex: the issuer
    #: names of a context rule. Every match starts with one, and reaches at most the rule's
    #: width past it.
    triggers: tuple[str, ...] = ()
    #: The file the rule came from, for error messages.
    source: str = ""
    _compiled: list[Pattern[bytes]] = field(default_factory=list, repr=False, compare=False)
    _path_globs: list[PathGlobs] = field(default_factory=list, repr=False, compare=False)

    @property
    def pattern(self) -> Pattern[bytes]:
        """The compiled regex; the secret is group `secret`, or the whole match without groups."""
        if not self._compiled:
            self._compiled.append(regex_module.compile(self.regex.encode("utf-8")))
        return self._compiled[0]

    def applies_to_path(self, path: str) -> bool:
        """Whether the rule runs on the file at `path` (relative to the scan root, `/`)."""
        if not self.paths:
            return True
        if not self._path_globs:
            self._path_globs.append(PathGlobs(self.paths))
        return self._path_globs[0].matches(path)

    def secret_span(self, match: Match[bytes]) -> tuple[int, int]:
        """Start and end offsets of the secret within the matched bytes' buffer."""
        if self.pattern.groups and "secret" in self.pattern.groupindex:
            start, end = match.span("secret")
            if start >= 0:
                return start, end
        return match.start(), match.end()

    @property
    def password_like(self) -> bool:
        """The rule's secrets may be chosen by a person (passwords, passphrases), so few
        guesses find them: reports show none of their characters and fingerprints are slow.
        True for rules tagged `password` and for generic rules, which may catch a password."""
        return self.generic or "password" in self.tags

    def public_prefix(self, secret: str) -> int:
        """How many leading characters of `secret` are its issuer's public prefix (`ghp_`,
        `xoxb-`, `AKIA`): the longest keyword it starts with, ignoring case and any PEM
        armour dashes before it (`-----BEGIN RSA PRIVATE KEY`). 0 for password-like rules.

        Capped so that half the secret, and at least MIN_HIDDEN characters, stay hidden.
        """
        if self.password_like:
            return 0
        # RFC 7468 armour: "-----BEGIN <label>-----"; the keyword is the label.
        armour = len(secret) - len(secret.lstrip("-"))
        matched = [
            start + len(keyword)
            for keyword in self.keywords
            for start in (0, armour)
            if secret[start : start + len(keyword)].lower() == keyword
        ]
        if not matched:
            return 0
        cap = min(len(secret) // 2, len(secret) - MIN_HIDDEN)
        return max(0, min(max(matched), cap))
