"""Find rule matches in bytes: a cheap pass finds *where* a rule may match, then the rule's own
`regex` confirms it only inside a window around that place.

Per-rule regex scans over whole files run at 0.1-0.2 MB/s for ~200 rules; one Hyperscan
database reporting match ends, confirmed in windows, runs at ~107 MB/s per core with identical
matches (../shared/FIELD_NOTES.md). Where Hyperscan is not installed, keyword occurrences (every
rule lists literals that occur in each of its matches) give the windows instead.

Both engines share the confirm step, and windows always cover whole lines, so the same
matches come out whichever engine found the windows.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import platform
import re
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import regex

from leakstop import __version__, cache
from leakstop.errors import ConfigError, RuleError
from leakstop.rules.globs import PathGlobs
from leakstop.rules.model import Rule

log = logging.getLogger(__name__)

#: A window never snaps further than this to reach a line start or end: minified files have
#: megabyte-long lines, and re-reading a whole such line for every trigger would dominate.
MAX_SNAP = 4096
#: How far past its last Hyperscan end a window goes: room for a rule's lookahead (`(?!…)`
#: after a token) to see what follows. A match the window cuts short is matched again with
#: MAX_SNAP more (`confirm_windows`).
END_ROOM = 256
#: Seconds one rule's regex may spend on one window before it is given up there (the `regex`
#: module checks its clock now and then, so a stuck match ends within a few budgets). A
#: pathological file or rule costs a warning and a skipped count, not a hung CI job.
CONFIRM_BUDGET = 1.0
#: Seconds the search for windows may spend on one file. A line dense with keywords
#: (`password=token=` repeated for megabytes) makes the prefilter report a match every few
#: bytes, each a Python call: measured 4 s per MB, 400 s for a 100 MB line. Past this the
#: rest of the file is not searched (a warning and a skipped count), what was found before
#: is still confirmed. Ordinary files take milliseconds (~100 MB/s).
PREFILTER_BUDGET = 5.0
#: Seconds all rules together may spend confirming windows in one file: CONFIRM_BUDGET holds
#: one rule on one window, but a hostile file can keep dozens of rules each just under it.
#: Generous: a legitimate file with 20,000 tokens takes ~5 s here, more on a busy runner.
FILE_CONFIRM_BUDGET = 20.0
#: Prefilter matches between two looks at the clock (one look costs ~50 ns, a match ~3 µs).
_CLOCK_EVERY = 4096


@dataclass(frozen=True, slots=True)
class Candidate:
    """A confirmed regex match of one rule: offsets into the scanned bytes."""

    rule: Rule
    start: int
    end: int
    secret_start: int
    secret_end: int
    #: The rule's match, for filters that look at other groups (a generic rule's `key`).
    match: regex.Match[bytes]


class Engine(Protocol):
    name: str
    #: The rules, in order; a candidate's `rule` is one of them.
    rules: list[Rule]

    def find(self, data: bytes, path: str | None = None) -> list[Candidate]:
        """Every rule match in `data`, ordered by secret start, then rule order. Rules with
        `paths` run only when `path` (the file's, relative to the scan root) matches one."""
        ...

    def path_group(self, path: str) -> str:
        """Which path-restricted rules apply to `path` ("" for none), as a key: two files
        with the same bytes and the same group get the same candidates."""
        ...

    def take_timeouts(self) -> list[str]:
        """The ids of rules given up on (too slow) since the last call."""
        ...

    def take_stopped_at(self) -> int | None:
        """The offset at which the search of the last file stopped, over PREFILTER_BUDGET
        (what lies beyond was not searched); None when it searched the whole file."""
        ...


def _stdlib_parser() -> Any:
    """The stdlib's own regex parser: `re._parser` since Python 3.11, `sre_parse` before."""
    try:
        return importlib.import_module("re._parser")
    except ImportError:
        return importlib.import_module("sre_parse")


def match_reach(rule: Rule) -> int:
    """The longest match the rule can produce, in bytes: its regex's maximum width when that
    is bounded and smaller than `max_length` (a GitHub token: ~60, not 1024). Narrow windows
    keep the keyword engine from re-reading whole files around common keywords."""
    try:
        # The stdlib parser reads the rules' syntax (named groups stripped); `regex`-only
        # constructs raise, and the declared max_length stands.
        parser = _stdlib_parser()
        width = int(parser.parse(hyperscan_pattern(rule.regex).decode()).getwidth()[1])
    except (re.error, OverflowError, RecursionError, ValueError, TypeError):
        return rule.max_length
    return min(rule.max_length, width)


def _rules_key(rules: Sequence[Rule], *extra: str) -> str:
    """A cache key for what is derived from these rules' regexes by this leakstop."""
    digest = hashlib.sha256("\0".join([__version__, *extra]).encode())
    for rule in rules:
        digest.update(f"\0{rule.regex}\0{rule.max_length}".encode())
    return digest.hexdigest()[:40]


def _cached_reaches(rules: Sequence[Rule]) -> list[int]:
    """`match_reach` of every rule, from the disk cache when these rules were seen before
    (parsing ~300 regexes for their width costs ~0.15 s of every start)."""
    name = f"reach-{_rules_key(rules)}.json"
    cached = cache.load(name)
    if cached is not None:
        try:
            reaches = json.loads(cached)
        except ValueError:
            reaches = None
        valid = isinstance(reaches, list) and len(reaches) == len(rules)
        if valid and all(isinstance(reach, int) for reach in reaches):
            return [int(reach) for reach in reaches]
    reaches = [match_reach(rule) for rule in rules]
    cache.store(name, json.dumps(reaches).encode())
    return reaches


class _WindowConfirmer:
    """The confirm step both engines share: trigger offsets → line-aligned windows → regex."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.reach = _cached_reaches(self.rules)
        self._timed_out: list[str] = []
        self._stopped_at: int | None = None
        #: Rules for every file: only these enter the prefilter (database, keyword search),
        #: so a rule restricted to some paths costs nothing on the others.
        self.everywhere = [index for index, rule in enumerate(self.rules) if not rule.paths]
        self._scoped = [index for index, rule in enumerate(self.rules) if rule.paths]
        self._any_scoped = PathGlobs([g for i in self._scoped for g in self.rules[i].paths])

    def take_timeouts(self) -> list[str]:
        """The ids of rules given up (over CONFIRM_BUDGET) since the last call."""
        taken, self._timed_out = self._timed_out, []
        return taken

    def take_stopped_at(self) -> int | None:
        """Where the last search stopped over PREFILTER_BUDGET; None when it finished."""
        taken, self._stopped_at = self._stopped_at, None
        return taken

    def path_group(self, path: str) -> str:
        return ",".join(str(index) for index in self._scoped_for(path))

    def _scoped_for(self, path: str | None) -> list[int]:
        """Indexes of the path-restricted rules that apply to `path`."""
        if path is None or not self._scoped or not self._any_scoped.matches(path):
            return []
        return [index for index in self._scoped if self.rules[index].applies_to_path(path)]

    def _scoped_windows(self, data: bytes, path: str | None) -> dict[int, list[tuple[int, int]]]:
        """Windows of the path-restricted rules that apply to `path`: around their keywords,
        or the whole file for a rule without keywords (a file that is one key, `master.key`).
        Found with `bytes.find`, whatever the engine: these files are few and small."""
        windows: dict[int, list[tuple[int, int]]] = {}
        indexes = self._scoped_for(path)
        if not indexes:
            return windows
        lowered = data.lower()
        for index in indexes:
            rule = self.rules[index]
            if not rule.keywords:
                windows[index] = [(0, len(data))]
                continue
            spans: list[tuple[int, int]] = []
            for keyword in rule.keywords:
                needle = keyword.encode()
                position = lowered.find(needle)
                while position >= 0:
                    spans.append(
                        (
                            max(0, position - self.reach[index]),
                            position + len(needle) + self.reach[index],
                        )
                    )
                    position = lowered.find(needle, position + 1)
            if spans:
                windows[index] = _line_windows(data, merge_spans(spans), 0)
        return windows

    def confirm(self, data: bytes, triggers: dict[int, list[tuple[int, int]]]) -> list[Candidate]:
        """`triggers` maps a rule index to (low, high) offsets that every match lies around."""
        return self.confirm_windows(
            data,
            {
                index: _line_windows(data, spans, self.reach[index])
                for index, spans in triggers.items()
            },
        )

    def confirm_windows(
        self, data: bytes, windows: dict[int, list[tuple[int, int]]]
    ) -> list[Candidate]:
        """Run each rule's regex in its windows (line-aligned spans, merged here)."""
        size = len(data)
        seen: set[tuple[int, int, int]] = set()
        found: list[tuple[int, int, Candidate]] = []
        deadline = time.monotonic() + FILE_CONFIRM_BUDGET
        for index in sorted(windows):
            rule = self.rules[index]
            try:
                for start, end in merge_spans(windows[index]):
                    budget = _budget(deadline)
                    for match in rule.pattern.finditer(data, start, end, timeout=budget):
                        if match.end() == end and end < size:
                            # The window may have cut the match short: match again with room.
                            longer = rule.pattern.match(
                                data,
                                match.start(),
                                min(size, end + MAX_SNAP),
                                timeout=_budget(deadline),
                            )
                            if longer is None:
                                continue
                            match = longer
                        key = (index, match.start(), match.end())
                        if key in seen:
                            continue
                        seen.add(key)
                        secret_start, secret_end = rule.secret_span(match)
                        if secret_end > secret_start:
                            candidate = Candidate(
                                rule, match.start(), match.end(), secret_start, secret_end, match
                            )
                            found.append((secret_start, index, candidate))
            except TimeoutError:
                self._timed_out.append(rule.id)
        found.sort(key=lambda item: (item[0], item[1], item[2].secret_end))
        return [candidate for _start, _index, candidate in found]


def _budget(deadline: float) -> float:
    """CONFIRM_BUDGET, or less when the file's deadline is nearer; TimeoutError once past."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return min(CONFIRM_BUDGET, left)


def _line_windows(data: bytes, spans: list[tuple[int, int]], reach: int) -> list[tuple[int, int]]:
    """Widen each (low, high) span by `reach` bytes before it, then out to whole lines."""
    size = len(data)
    windows = []
    for low, high in spans:
        start = max(0, low - reach)
        newline = data.rfind(b"\n", max(0, start - MAX_SNAP), start)
        if newline >= 0:
            start = newline + 1
        elif start <= MAX_SNAP:
            start = 0
        newline = data.find(b"\n", high, high + MAX_SNAP)
        end = newline + 1 if newline >= 0 else min(size, high + MAX_SNAP)
        windows.append((start, end))
    return windows


def _end_windows(data: bytes, spans: list[tuple[int, int]], reach: int) -> list[tuple[int, int]]:
    """Windows around runs of Hyperscan match ends: from `reach` before a run's first end (no
    match is longer) to END_ROOM past its last end, or the line's end if nearer.

    Not out to whole lines as keyword windows are: every match of a rule's regex ends where
    Hyperscan reported an end (in prefilter mode too, which reports a superset), and `^`,
    `\b` and lookbehinds see the bytes before a window's start. Lines are long in minified
    and generated files; whole lines were 30% of the regex work on the throughput corpus."""
    size = len(data)
    windows = []
    for low, high in spans:
        newline = data.find(b"\n", high, high + END_ROOM)
        end = newline + 1 if newline >= 0 else min(size, high + END_ROOM)
        windows.append((max(0, low - reach), end))
    return windows


def merge_spans(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort spans and join those that overlap or touch (the list is sorted in place)."""
    windows.sort()
    merged: list[tuple[int, int]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class HyperscanEngine(_WindowConfirmer):
    """One Hyperscan database of all rules; match *ends* become windows for the regex."""

    name = "hyperscan"

    def __init__(self, rules: Sequence[Rule]) -> None:
        super().__init__(rules)
        import hyperscan

        self._hyperscan = hyperscan
        everywhere = [self.rules[index] for index in self.everywhere]
        self._database = _compile_database(hyperscan, everywhere) if everywhere else None
        #: How far past a trigger literal a rule's match may end (0: Hyperscan matches the
        #: whole regex, and reports match ends).
        self._forward = [
            self.reach[index] if rule.triggers else 0 for index, rule in enumerate(self.rules)
        ]

    def find(self, data: bytes, path: str | None = None) -> list[Candidate]:
        ends: dict[int, list[tuple[int, int]]] = {}
        everywhere = self.everywhere
        forward = self._forward
        deadline = time.monotonic() + PREFILTER_BUDGET
        events = 0

        def on_match(pattern_id: int, _start: int, end: int, _flags: int, _ctx: Any) -> bool:
            nonlocal events
            events += 1
            if events % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
                self._stopped_at = end
                return True  # Hyperscan stops the scan and raises ScanTerminated
            rule_index = everywhere[pattern_id]
            high = end + forward[rule_index]
            spans = ends.get(rule_index)
            if spans is None:
                ends[rule_index] = [(end, high)]
            elif end - spans[-1][1] <= 1 or end <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(high, spans[-1][1]))  # one greedy match's run
            else:
                spans.append((end, high))
            return False

        if self._database is not None:
            # Over PREFILTER_BUDGET the scan ends early; the windows found so far are confirmed.
            with contextlib.suppress(self._hyperscan.ScanTerminated):
                self._database.scan(data, match_event_handler=on_match)
        windows = {
            index: _end_windows(data, spans, self.reach[index]) for index, spans in ends.items()
        }
        windows.update(self._scoped_windows(data, path))
        return self.confirm_windows(data, windows)


def hyperscan_pattern(source: str, relax_repeats: bool = False) -> bytes:
    """The rule regex as Hyperscan should see it: named groups made non-capturing.

    Hyperscan ignores captures but rejects a group name used twice, which rules use to name
    the secret in each branch of an alternation (`"(?P<secret>…)"|'(?P<secret>…)'`).

    `relax_repeats` also drops the upper bound of a large repeat (`{10,300}` → `{10,}`):
    Hyperscan compiles each bounded repeat into states for every count, and the ~80 rules
    with one took ~half of a cold start's compile (3.9 s → 2.1 s for all rules). What it
    matches then is a superset, so every end of a real match is still reported, and the
    regex confirms as before; only a run of ends over a very long token grows.
    """
    out: list[str] = []
    position = 0
    in_class = False
    while position < len(source):
        char = source[position]
        if char == "\\":
            out.append(source[position : position + 2])
            position += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A "]" right after "[" or "[^" is a literal member, not the end of the class.
            for literal in ("[^]", "[]"):
                if source.startswith(literal, position):
                    out.append(literal)
                    position += len(literal)
                    break
            else:
                out.append(char)
                position += 1
            continue
        elif source.startswith("(?P<", position):
            close = source.find(">", position)
            out.append("(?:")
            position = close + 1
            continue
        elif relax_repeats and char == "{":
            repeat = _BOUNDED_REPEAT.match(source, position)
            if repeat is not None and int(repeat.group(2)) >= RELAXED_REPEAT:
                out.append(f"{{{repeat.group(1)},}}")
                position = repeat.end()
                continue
        out.append(char)
        position += 1
    return "".join(out).encode()


#: A repeat whose upper bound is at least this is given to Hyperscan without it.
RELAXED_REPEAT = 100
_BOUNDED_REPEAT = re.compile(r"\{(\d+),(\d+)\}")


def prefilter_pattern(rule: Rule) -> bytes:
    """What Hyperscan looks for: the rule's regex, or for a rule with trigger literals (a
    context rule: an issuer name, then a value) just those literals, case-insensitive. A
    literal compiles and scans far faster than the regex, and the names are rare; the
    regex confirms in a window around each one."""
    if rule.triggers:
        # Not inside a longer word (`collateral` holds `atera`): the regex would refuse it
        # anyway, but only after compiling and running in a window.
        names = b"|".join(re.escape(t).encode() for t in rule.triggers)
        return b"(?:^|[^A-Za-z0-9])(?i:" + names + b")"
    return hyperscan_pattern(rule.regex, relax_repeats=True)


def _compile_database(hyperscan: Any, rules: Sequence[Rule]) -> Any:
    """One database of all rules, from the on-disk cache when these exact patterns were
    compiled before (compiling ~200 rules takes seconds; loading the cache milliseconds)."""
    key = _rules_key(
        rules,
        getattr(hyperscan, "__version__", ""),
        platform.machine(),
        platform.system(),
        # What Hyperscan is given, not only the regexes: a rule's triggers may change alone,
        # and so may the code that turns a rule into a pattern (hashed, not run: making
        # ~1,000 patterns costs ~15 ms of every start).
        hashlib.sha256(b"\0".join(",".join(rule.triggers).encode() for rule in rules)).hexdigest(),
        _code_digest(prefilter_pattern, hyperscan_pattern),
    )
    cached = cache.load(f"hyperscan-{key}.db")
    if cached is not None:
        try:
            database = hyperscan.loadb(cached, hyperscan.HS_MODE_BLOCK)
            # A deserialised database comes without scratch space; scans need one.
            database.scratch = hyperscan.Scratch(database)
            return database
        except hyperscan.error:
            log.debug("cached Hyperscan database is unusable here; compiling again")
    patterns = [prefilter_pattern(rule) for rule in rules]
    database = _compile_all(hyperscan, rules, patterns)
    cache.store(f"hyperscan-{key}.db", hyperscan.dumpb(database))
    return database


def _code_digest(*functions: Any) -> str:
    """A digest of these functions' bytecode, names and constants (nested code included):
    it changes when they do, and not from one process to the next."""
    digest = hashlib.sha256()
    pending = [function.__code__ for function in functions]
    while pending:
        code = pending.pop()
        digest.update(code.co_code)
        digest.update(repr(code.co_names).encode())
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                pending.append(constant)
            else:
                digest.update(repr(constant).encode())
    return digest.hexdigest()


def _compile_all(hyperscan: Any, rules: Sequence[Rule], patterns: Sequence[bytes]) -> Any:
    """Each pattern in exact mode where Hyperscan supports it, else in prefilter mode (a
    superset: it accepts lookarounds and back-references; the regex confirms).

    The mode is read from the pattern's syntax and the whole set compiled once; only if
    Hyperscan rejects that is each pattern probed on its own (probing ~300 patterns costs
    ~12 s on a cold cache, so it is the exception, e.g. a user rule the syntax check
    misjudges)."""
    base = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
    prefilter = base | hyperscan.HS_FLAG_PREFILTER
    guessed = [prefilter if _needs_prefilter(pattern) else base for pattern in patterns]
    try:
        return _database(hyperscan, patterns, guessed)
    except hyperscan.error:
        log.debug("Hyperscan rejected the guessed modes; probing each pattern")
    flags = []
    for rule, pattern in zip(rules, patterns, strict=True):
        for mode in (base, prefilter):
            try:
                _database(hyperscan, [pattern], [mode])
            except hyperscan.error:
                continue
            flags.append(mode)
            break
        else:
            raise RuleError("the regex cannot be compiled by Hyperscan", rule.source, rule.id)
    return _database(hyperscan, patterns, flags)


def _database(hyperscan: Any, patterns: Sequence[bytes], flags: Sequence[int]) -> Any:
    database = hyperscan.Database()
    database.compile(
        expressions=list(patterns),
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=list(flags),
    )
    return database


#: Constructs Hyperscan accepts only in prefilter mode (re._parser opcode names).
_PREFILTER_ONLY = {
    "ASSERT",
    "ASSERT_NOT",
    "GROUPREF",
    "GROUPREF_EXISTS",
    "ATOMIC_GROUP",
    "POSSESSIVE_REPEAT",
}


def _needs_prefilter(pattern: bytes) -> bool:
    """Whether the pattern uses lookarounds, back-references, atomic groups or possessive
    repeats; True also when the stdlib cannot parse it (`regex`-only syntax)."""
    try:
        parsed = _stdlib_parser().parse(pattern.decode())
    except (re.error, RecursionError, ValueError, UnicodeDecodeError):
        return True
    pending: list[Any] = [parsed]
    while pending:
        node = pending.pop()
        if isinstance(node, (list, tuple)) or type(node).__name__ == "SubPattern":
            pending.extend(node)
        elif str(node) in _PREFILTER_ONLY:
            return True
    return False


class KeywordEngine(_WindowConfirmer):
    """Fallback: occurrences of each rule's keywords (case-insensitive) become windows.

    All keywords are found in one Aho-Corasick pass (pyahocorasick) where it is installed,
    otherwise with one `bytes.find` loop per keyword. Windows are computed once per keyword
    and reach, not per rule and occurrence: common keywords (`key`, `token`) occur
    thousands of times per megabyte and many rules share them.
    """

    name = "keywords"

    def __init__(self, rules: Sequence[Rule]) -> None:
        super().__init__(rules)
        by_keyword: dict[bytes, dict[int, list[int]]] = {}
        for index in self.everywhere:
            for keyword in self.rules[index].keywords:
                by_reach = by_keyword.setdefault(keyword.lower().encode(), {})
                by_reach.setdefault(self.reach[index], []).append(index)
        self._by_keyword = by_keyword
        self._automaton = _keyword_automaton(list(by_keyword))

    def find(self, data: bytes, path: str | None = None) -> list[Candidate]:
        windows: dict[int, list[tuple[int, int]]] = self._scoped_windows(data, path)
        for keyword, positions in self._occurrences(data.lower()).items():
            for reach, indexes in self._by_keyword[keyword].items():
                # The keyword may sit anywhere in the match: reach both ways. Occurrences are
                # merged before windows are aligned to lines, so a keyword that occurs
                # thousands of times costs one alignment per run of nearby occurrences.
                shared = _line_windows(data, _around(positions, len(keyword), reach, len(data)), 0)
                for index in indexes:
                    windows.setdefault(index, []).extend(shared)
        return self.confirm_windows(data, windows)

    def _occurrences(self, lowered: bytes) -> dict[bytes, list[int]]:
        """Start offsets of every keyword in `lowered`, ascending per keyword."""
        found: dict[bytes, list[int]] = {}
        deadline = time.monotonic() + PREFILTER_BUDGET
        events = 0
        if self._automaton is not None:
            # Latin-1 maps each byte to one code point, so string offsets are byte offsets.
            for end, keyword in self._automaton.iter(lowered.decode("latin-1")):
                found.setdefault(keyword, []).append(end - len(keyword) + 1)
                events += 1
                if events % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
                    self._stopped_at = end + 1
                    break
            return found
        for keyword in self._by_keyword:
            position = lowered.find(keyword)
            if position < 0:
                continue
            positions = found[keyword] = []
            while position >= 0:
                positions.append(position)
                events += 1
                if events % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
                    # Keywords are searched one after another: the others are not searched.
                    self._stopped_at = 0
                    return found
                position = lowered.find(keyword, position + 1)
        return found


def _keyword_automaton(keywords: list[bytes]) -> Any:
    """An Aho-Corasick automaton over `keywords`, or None without pyahocorasick or keywords
    (every rule restricted to some paths)."""
    if not keywords:
        return None
    try:
        import ahocorasick
    except ImportError:
        return None
    automaton = ahocorasick.Automaton()
    for keyword in keywords:
        automaton.add_word(keyword.decode("latin-1"), keyword)
    automaton.make_automaton()
    return automaton


def _around(positions: list[int], length: int, reach: int, size: int) -> list[tuple[int, int]]:
    """Merged (start, end) ranges covering `reach` bytes around each occurrence."""
    ranges: list[tuple[int, int]] = []
    for position in positions:
        start, end = max(0, position - reach), min(size, position + length + reach)
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


ENGINES: dict[str, type[HyperscanEngine] | type[KeywordEngine]] = {
    "hyperscan": HyperscanEngine,
    "keywords": KeywordEngine,
}


def build_engine(rules: Sequence[Rule], kind: str = "auto") -> Engine:
    """The fastest engine available (`auto`), or the one named."""
    if kind == "auto":
        kind = "hyperscan" if hyperscan_available() else "keywords"
        if kind == "keywords":
            log.info("hyperscan is not installed; using the keyword engine (slower)")
    if kind == "hyperscan" and not hyperscan_available():
        raise ConfigError(
            "--engine hyperscan: the hyperscan package is not installed on this platform;"
            " use --engine keywords"
        )
    engine_type = ENGINES[kind]
    return engine_type(rules)
