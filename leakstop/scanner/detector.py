"""From one chunk's bytes to findings: engine candidates → validators, entropy, filters,
allowlists, inline markers → `Finding`s with locations and fingerprints.

All of this work runs on candidates only, never on whole files.
"""

from __future__ import annotations

import bisect
import enum
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from leakstop.allowlist import Allowlist
from leakstop.finding import (
    DEFAULT_FINGERPRINT_KEY,
    Commit,
    Finding,
    Location,
    Severity,
    fingerprint,
    legacy_fingerprint,
    printable_path,
    redact,
)
from leakstop.rules.model import Rule
from leakstop.rules.validators import VALIDATORS
from leakstop.scanner import companions, decode, examples, filters, placeholders, ui_text
from leakstop.scanner.engine import Candidate, Engine, merge_spans
from leakstop.scanner.sources import Chunk
from leakstop.scanner.text import (
    SNIFF_BYTES,
    LineIndex,
    decode_secret,
    shannon_entropy,
    sniff,
    to_scannable,
)

#: Context lines are cut to about this many characters around the secret.
CONTEXT_WIDTH = 160
#: Tokens in a context line that look random (letters and digits, this entropy or more) are
#: masked even when no rule matched them: an unknown key format must not print either.
MASK_ENTROPY = 3.5
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~]{16,}")
_TOKEN_BYTE = re.compile(rb"[A-Za-z0-9+/=_\-.~]")
_QUOTES = b"\"'`"


@dataclass(frozen=True, slots=True)
class _Site:
    """Where a candidate's secret sits in the scanned file: its encoded form's span (the
    decoded value's own span when it was not encoded) and that line's text."""

    start: int
    end: int
    line: str
    previous_line: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A secret found in some bytes, judged on everything but the path it is reported under.

    Small and picklable: workers return hits, and history reports one blob's hits under each
    path that held it (`Detector.place`).
    """

    rule_id: str
    secret: str = field(repr=False)
    fingerprint: str
    #: The fingerprint as leakstop < 0.2 computed it, for password-like secrets (whose
    #: fingerprint is now slow): old baselines and allowlists still match.
    legacy_fingerprint: str | None
    validated: bool
    entropy: float
    encodings: tuple[str, ...]
    line: int
    column: int
    end_line: int
    end_column: int
    context: str = field(repr=False)
    #: A generic rule's unquoted value that reads as a name: an expression in source code.
    bare_identifier: bool = False
    #: Inside a triple-quoted string (documentation, if the file is Python).
    in_docstring: bool = False


_Verdict = tuple[str, Rule, bool, float, tuple[str, ...], bool]


@dataclass
class Detector:
    engine: Engine
    allowlists: Sequence[Allowlist] = ()
    fingerprint_key: bytes = DEFAULT_FINGERPRINT_KEY
    #: False: report secrets on lines with a `leakstop:allow` marker too (a pull request's own
    #: markers must not silence its scan; see scanner/weakening.py).
    honor_inline_allow: bool = True
    _rules: dict[str, Rule] = field(default_factory=dict, init=False, repr=False)

    def detect(self, chunk: Chunk) -> list[Finding]:
        """The findings in one chunk, reported under its path."""
        return self.place(self.hits(chunk.data, chunk.path), chunk.path, chunk.commit)

    def hits(self, raw_data: bytes, path: str | None = None) -> list[Hit]:
        """Every secret in `raw_data` that passes the checks no path decides; with `path`,
        also those of the rules restricted to files like it (`Rule.paths`)."""
        data = to_scannable(raw_data, sniff(raw_data[:SNIFF_BYTES]))
        raw = self.engine.find(data, path)
        candidates = _drop_shadowed(raw)
        if not candidates:
            return []
        lines = LineIndex(data)
        docstrings = filters.DocstringIndex(data)  # searches the file only when first asked
        spans = _redaction_spans(raw, data)
        hits = []
        for candidate in candidates:
            line_start = lines.line_start(candidate.secret_start)
            site = _Site(
                candidate.secret_start,
                candidate.secret_end,
                lines.line_text(candidate.secret_start),
                lines.line_text(line_start - 1) if line_start > 0 else "",
            )
            for verdict in self._evaluate(candidate, data, site):
                hits.append(self._hit(verdict, site, lines, data, spans, docstrings))
        return companions.drop_superseded(hits)

    def place(self, hits: Iterable[Hit], path: str, commit: Commit | None = None) -> list[Finding]:
        """`hits` as findings at `path`: what path allowlists and file types decide."""
        findings = []
        for hit in hits:
            rule = self._rule(hit.rule_id)
            if not rule.applies_to_path(path):
                # History reports one blob's hits under each path that held it.
                continue
            if rule.generic and (
                filters.is_lock_file(path)
                or filters.is_generated_file(path)
                or (hit.bare_identifier and filters.is_code_file(path))
                or (ui_text.is_locale_path(path) and not ui_text.looks_random(hit.secret))
            ):
                continue
            if any(a.applies_to(rule.id) and a.allows_path(path) for a in self._all(rule)):
                continue
            findings.append(self._finding(rule, hit, path, commit))
        return findings

    def _rule(self, rule_id: str) -> Rule:
        if not self._rules:
            self._rules.update((rule.id, rule) for rule in self.engine.rules)
        return self._rules[rule_id]

    def _evaluate(
        self, candidate: Candidate, data: bytes, site: _Site, depth: int = 0
    ) -> list[_Verdict]:
        """The secrets this candidate stands for, each with (rule, validated, entropy, the
        encodings undone, bare identifier): none if a check rejects it; the credentials
        inside its decoded value if it was an encoded container."""
        rule = candidate.rule
        raw = data[candidate.secret_start : candidate.secret_end]
        if (rule.generic or rule.decode) and depth < decode.MAX_DEPTH:
            inside = self._decoded(raw, site, depth, with_generic=not rule.generic)
            if inside:
                return inside
        secret = decode_secret(raw)
        encodings: tuple[str, ...] = ()
        if rule.generic or rule.decode:
            # An encoded value is judged, fingerprinted and reported as what it encodes.
            for decoded in decode.decodings(raw, 1):
                secret, encodings = decode_secret(decoded.data), decoded.encodings
                break
        validated = False
        if rule.validator is not None:
            if not VALIDATORS[rule.validator](secret):
                return []
            validated = True
        entropy = shannon_entropy(secret)
        if rule.entropy is not None and entropy < rule.entropy:
            return []
        if _is_stand_in(rule, secret):
            return []
        bare = False
        if rule.paths and filters.is_unfilled_template(secret):
            return []
        if rule.generic:
            verdict = _generic_verdict(candidate, secret, site.line, data)
            if verdict is _Generic.FALSE_POSITIVE:
                return []
            bare = verdict is _Generic.UNLESS_CODE
        if self.honor_inline_allow and filters.has_inline_allow(site.line, site.previous_line):
            return []
        if self._allowed(rule, secret, site.line):
            return []
        return [(secret, rule, validated, entropy, encodings, bare)]

    def _decoded(
        self, raw: bytes, site: _Site, depth: int, with_generic: bool = False
    ) -> list[_Verdict]:
        """Credentials of specific rules inside a decoded value (a base64 GitHub token in a
        Kubernetes Secret, a token in an `Authorization: Basic` header). Generic matches
        inside a generic candidate are not reported twice: the outer candidate stands for
        them. A container rule's value (`with_generic`) has no such stand-in, so when no
        specific rule finds anything inside, a generic one may (`password=...` in a base64
        config file)."""
        for decoded in decode.decodings(raw, decode.MAX_DEPTH - depth):
            inner = _drop_shadowed(self.engine.find(decoded.data))
            specific = [c for c in inner if not c.rule.generic]
            found = self._inside(specific, decoded, site, depth)
            if not found and with_generic:
                generic = [c for c in inner if c.rule.generic]
                found = self._inside(generic, decoded, site, depth)
            if found:
                return found
        return []

    def _inside(
        self, candidates: list[Candidate], decoded: decode.Decoded, site: _Site, depth: int
    ) -> list[_Verdict]:
        found = []
        for inner in candidates:
            for secret, rule, validated, entropy, encodings, bare in self._evaluate(
                inner, decoded.data, site, depth + len(decoded.encodings)
            ):
                found.append(
                    (secret, rule, validated, entropy, (*decoded.encodings, *encodings), bare)
                )
        return found

    def _hit(
        self,
        verdict: _Verdict,
        site: _Site,
        lines: LineIndex,
        data: bytes,
        spans: list[_Span],
        docstrings: filters.DocstringIndex,
    ) -> Hit:
        secret, rule, validated, entropy, encodings, bare = verdict
        start_line, start_column = lines.position(site.start)
        end_line, end_column = lines.position(site.end)
        password_like = rule.password_like
        return Hit(
            rule_id=rule.id,
            secret=secret,
            fingerprint=fingerprint(rule.id, secret, self.fingerprint_key, password_like),
            legacy_fingerprint=(
                legacy_fingerprint(rule.id, secret, self.fingerprint_key) if password_like else None
            ),
            validated=validated,
            entropy=round(entropy, 3),
            encodings=encodings,
            line=start_line,
            column=start_column,
            end_line=end_line,
            end_column=end_column,
            context=_context(data, lines, site.start, spans),
            bare_identifier=bare,
            in_docstring=docstrings.contains(site.start),
        )

    def _finding(self, rule: Rule, hit: Hit, path: str, commit: Commit | None) -> Finding:
        tags = rule.tags + tuple(f"decoded:{name}" for name in hit.encodings)
        severity = rule.severity
        in_docs = filters.is_demo_path(path) or (path.endswith(".py") and hit.in_docstring)
        if in_docs and not hit.validated:
            severity = Severity.LOW if rule.generic else _one_lower(severity)
            tags += ("test-or-doc",)
        return Finding(
            rule_id=rule.id,
            description=rule.description,
            severity=severity,
            location=Location(
                printable_path(path), hit.line, hit.column, hit.end_line, hit.end_column
            ),
            secret=hit.secret,
            fingerprint=hit.fingerprint,
            entropy=hit.entropy,
            context=hit.context,
            commit=commit,
            tags=tags,
            validated=hit.validated,
            public_prefix=rule.public_prefix(hit.secret),
            password_like=rule.password_like,
            legacy_fingerprint=hit.legacy_fingerprint,
        )

    def _all(self, rule: Rule) -> tuple[Allowlist, ...]:
        return (*rule.allowlists, *self.allowlists)

    def _allowed(self, rule: Rule, secret: str, line: str) -> bool:
        """An allowlist that needs no path (secret, line, fingerprint) allows this secret."""
        for allowlist in self._all(rule):
            if not allowlist.applies_to(rule.id):
                continue
            if allowlist.allows_secret(secret, line):
                return True
            if allowlist.fingerprints and self._allows_fingerprint(allowlist, rule, secret):
                return True
        return False

    def _allows_fingerprint(self, allowlist: Allowlist, rule: Rule, secret: str) -> bool:
        """By today's fingerprint or, for a password, the one older reports printed (cheap,
        so tried first)."""
        key = self.fingerprint_key
        if rule.password_like and allowlist.allows_fingerprint(
            legacy_fingerprint(rule.id, secret, key)
        ):
            return True
        return allowlist.allows_fingerprint(fingerprint(rule.id, secret, key, rule.password_like))


def _one_lower(severity: Severity) -> Severity:
    order = list(Severity)
    return order[min(order.index(severity) + 1, len(order) - 1)]


def precedence(rule: Rule) -> int:
    """Which rule reports a span two rules match: an issuer check beats none, a container
    (a credential URL, an auth header: `priority: -1`) yields to the issuer's own rule, and a
    generic guess yields to everything."""
    return rule.priority + (1 if rule.validator else 0) - (10 if rule.generic else 0)


def _drop_shadowed(candidates: list[Candidate]) -> list[Candidate]:
    """Keep one candidate per secret span (the highest precedence; ties: rule order), and drop
    generic candidates that overlap a specific rule's match: the specific rule knows the
    format (even when it then rejects the value, say for a bad checksum, the generic rule must
    not report it instead). Of generic candidates that start at the same byte, only the
    longest stays: `password=Xk9%p^2;Lm#7` in an INI file is one value, not its first part."""
    best: dict[tuple[int, int], Candidate] = {}
    generic_end: dict[int, int] = {}
    for candidate in candidates:
        span = (candidate.secret_start, candidate.secret_end)
        kept = best.get(span)
        if kept is None or precedence(candidate.rule) > precedence(kept.rule):
            best[span] = candidate
        if candidate.rule.generic:
            start, end = span
            generic_end[start] = max(end, generic_end.get(start, end))
    specific = merge_spans([span for span, c in best.items() if not c.rule.generic])
    starts = [start for start, _end in specific]
    kept_candidates = []
    for candidate in candidates:
        span = (candidate.secret_start, candidate.secret_end)
        if best[span] is not candidate:
            continue
        if candidate.rule.generic:
            if generic_end[span[0]] > span[1]:
                continue
            # The last specific span starting before this one's end is the only one that
            # can overlap it (spans are merged).
            index = bisect.bisect_left(starts, span[1]) - 1
            if index >= 0 and specific[index][1] > span[0]:
                continue
        kept_candidates.append(candidate)
    return kept_candidates


class _Generic(enum.Enum):
    SECRET = "secret"
    FALSE_POSITIVE = "false positive"
    #: An unquoted value that reads as a name: a literal in config, an expression in code.
    UNLESS_CODE = "unless code"


def _is_stand_in(rule: Rule, secret: str) -> bool:
    """A value that stands in for a credential in any rule: an issuer's documented example,
    or (for an issuer token) a body that is a sequence or keyboard run (`sk_live_1234…`).
    Private keys and other long containers are left to their validators."""
    if examples.is_documented_example(secret):
        return True
    if rule.generic or len(secret) > 512:
        return False
    # The body after the issuer's literal prefix (`sk_live_`), whole: `public_prefix` is
    # capped for display and would leave part of the prefix in.
    lowered = secret.lower()
    prefix = max((len(k) for k in rule.keywords if lowered.startswith(k)), default=0)
    return placeholders.is_sequence_placeholder(secret[prefix:], strict=True)


def _generic_verdict(candidate: Candidate, secret: str, line: str, data: bytes) -> _Generic:
    passwords = "password" in candidate.rule.tags
    raw_key = candidate.match.groupdict().get("key")
    key = raw_key.decode("latin-1") if raw_key is not None else None
    word_like = filters.is_word_like(secret)
    plain = urllib.parse.unquote(secret)
    raw = data[candidate.secret_start : candidate.secret_end].decode("utf-8", "replace")
    quoted = candidate.secret_start > 0 and data[candidate.secret_start - 1] in _QUOTES
    if (
        not filters.has_letter(secret)
        or filters.has_outer_whitespace(secret)
        or filters.is_placeholder(secret)
        or filters.is_placeholder(plain)
        or filters.is_hash(secret)
        or filters.is_encrypted(secret)
        or filters.is_sealed_secret_file(data)
        or filters.is_identifier_uri(secret)
        or filters.is_regex(secret)
        or (key is not None and _repeats_key(key, secret))
        or filters.is_date(secret)
        or filters.has_ascending_run(secret)
        or (passwords and filters.is_email(plain))
        or filters.is_prose(secret)
        or filters.is_path_like(secret)
        or filters.is_route(secret)
        or filters.is_number_literal(secret)
        or filters.is_code_fragment(secret)
        or (not quoted and filters.is_type_union(secret))
        or filters.is_sequential(secret)
        or filters.is_likely_id(secret, line)
        # Tokens and keys never hold spaces or read as names; a password may be one long
        # lower-case word (weak, but real), not a name such as challengePassword.
        or (not passwords and (" " in secret or word_like))
        or (passwords and word_like and not (secret.isalpha() and secret.islower()))
        or (passwords and filters.is_weak_word_password(secret))
        or placeholders.is_variable_reference(raw)
        or (not quoted and filters.is_code_expression(secret))
        or filters.is_indexed_expression(secret)
        or (passwords and placeholders.is_stock_password(secret))
        or ui_text.is_ui_text(secret)
        or placeholders.is_sequence_placeholder(secret)
    ):
        return _Generic.FALSE_POSITIVE
    if key is not None and filters.is_non_secret_key(key):
        return _Generic.FALSE_POSITIVE
    if quoted:
        return _Generic.SECRET
    # Unquoted: in code an expression, in config a literal unless it reads like one.
    if data[candidate.secret_end : candidate.secret_end + 1] in (b"(", b"["):
        return _Generic.FALSE_POSITIVE
    if filters.is_code_reference(secret):
        return _Generic.FALSE_POSITIVE
    if data[candidate.secret_end : candidate.secret_end + 1] == b">" and secret.endswith("-"):
        return _Generic.FALSE_POSITIVE  # `$obj->field`: cut at the arrow
    if filters.is_sigil_variable(secret):
        return _Generic.UNLESS_CODE
    return _Generic.UNLESS_CODE if filters.is_bare_identifier(secret) else _Generic.SECRET


def _repeats_key(key: str, secret: str) -> bool:
    """`('inputsecret', 'inputsecret')`: the value is the name itself."""
    return key.strip("\"'`").lower() == secret.lower()


@dataclass(frozen=True, slots=True)
class _Span:
    """A stretch of the file that holds a candidate secret, and how to show it redacted."""

    start: int
    end: int
    password_like: bool
    prefix: int

    def redacted(self, data: bytes) -> str:
        return redact(decode_secret(data[self.start : self.end]), self.prefix, self.password_like)


def _redaction_spans(candidates: list[Candidate], data: bytes) -> list[_Span]:
    """Candidate secrets merged where they overlap, sorted, each redacted as the rule that
    would report it (`precedence`) redacts: a token its issuer's rule matched shows its
    prefix even though a generic rule matched it too; a password shows nothing."""
    merged: list[tuple[int, int, list[Rule]]] = []
    for candidate in sorted(candidates, key=lambda c: (c.secret_start, -c.secret_end)):
        start, end = candidate.secret_start, candidate.secret_end
        if merged and start < merged[-1][1]:
            last_start, last_end, rules = merged[-1]
            merged[-1] = (last_start, max(last_end, end), [*rules, candidate.rule])
        else:
            merged.append((start, end, [candidate.rule]))
    spans = []
    for start, end, rules in merged:
        text = decode_secret(data[start:end])
        top = max(precedence(rule) for rule in rules)
        deciding = [rule for rule in rules if precedence(rule) == top]
        password_like = any(rule.password_like for rule in deciding)
        prefix = 0 if password_like else min(rule.public_prefix(text) for rule in deciding)
        spans.append(_Span(start, end, password_like, prefix))
    return spans


def _context(data: bytes, lines: LineIndex, offset: int, spans: list[_Span]) -> str:
    """The text around `offset` on its line, every candidate secret in it redacted and any
    other long random-looking token masked, about CONTEXT_WIDTH characters.

    A line can hold more than one secret (or one secret twice): none may show in clear. Only
    the spans near `offset` are looked at (`spans` is sorted and merged), so many findings on
    one long line cost no more than findings on separate lines.
    """
    line_start = lines.line_start(offset)
    line_end = lines.line_end(offset)
    low = _token_edge(data, max(line_start, offset - CONTEXT_WIDTH), line_start, -1)
    high = _token_edge(data, min(line_end, offset + 2 * CONTEXT_WIDTH), line_end, 1)
    # (text, redacted span or not), and the clear text of each span shown.
    pieces: list[tuple[str, bool]] = []
    secrets: set[str] = set()
    position = low
    focus_piece = 0
    index = bisect.bisect_right(spans, low, key=lambda span: span.start) - 1
    for span in spans[max(index, 0) :]:
        if span.start >= high:
            break
        if span.end <= low:
            continue
        start = max(span.start, low)
        pieces.append((_mask_tokens(data[position:start].decode("utf-8", "replace")), False))
        if start <= offset < span.end:
            focus_piece = len(pieces)
        pieces.append((span.redacted(data), True))
        secrets.add(data[span.start : span.end].decode("utf-8", "replace"))
        position = min(span.end, high)
    pieces.append((_mask_tokens(data[position:high].decode("utf-8", "replace")), False))
    # The same value again on the line, where no rule matched it (`"v"v`): redacted too.
    texts = [text if redacted else _redact_repeats(text, secrets) for text, redacted in pieces]
    focus = sum(len(text) for text in texts[:focus_piece])
    shown = "".join(texts).rstrip("\r")
    left = max(0, focus - CONTEXT_WIDTH // 2)
    right = min(len(shown), left + CONTEXT_WIDTH)
    text = shown[left:right].strip()
    before = left > 0 or low > line_start
    after = right < len(shown) or high < line_end
    return ("…" if before else "") + text + ("…" if after else "")


def _redact_repeats(text: str, secrets: set[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


def _token_edge(data: bytes, position: int, limit: int, step: int) -> int:
    """Move a cut off any token it would split (up to 128 bytes): half a random token could
    be half a secret that no rule knows, too short to be masked."""
    for _ in range(128):
        if position == limit:
            return position
        before, after = data[position - 1 : position], data[position : position + 1]
        if not (_TOKEN_BYTE.match(before) and _TOKEN_BYTE.match(after)):
            return position
        position += step
    return position


def _mask_tokens(text: str) -> str:
    return _TOKEN.sub(_mask_token, text)


def _mask_token(match: re.Match[str]) -> str:
    token = match.group()
    if any(c.isdigit() for c in token) and shannon_entropy(token) >= MASK_ENTROPY:
        # No rule knows it, so nothing says which part is public: show none of it.
        return redact(token, password_like=True)
    return token
