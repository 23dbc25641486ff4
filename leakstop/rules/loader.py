"""Load and validate rule files. A bad rule fails with one line naming its file and id."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import regex

from leakstop import __version__, cache
from leakstop.allowlist import parse_allowlist
from leakstop.errors import ConfigError, RuleError
from leakstop.finding import Severity
from leakstop.rules.globs import glob_problem
from leakstop.rules.model import (
    DEFAULT_REMEDIATION,
    Example,
    LazyExamples,
    RespondSpec,
    ResponseAction,
    Rule,
    VerifySpec,
)
from leakstop.rules.regex_guard import regex_hazard
from leakstop.rules.validators import VALIDATORS
from leakstop.yamlfile import ErrorFactory, Fields, load_yaml

if TYPE_CHECKING:
    import yaml

RULE_KEYS = (
    "id",
    "description",
    "regex",
    "context",
    "keywords",
    "paths",
    "entropy",
    "validator",
    "severity",
    "tags",
    "max_length",
    "generic",
    "priority",
    "decode",
    "remediation",
    "references",
    "allowlist",
    "allowlists",
    "verify",
    "respond",
    "examples",
)
_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
#: Private keys and certificates bundles are the longest single secrets we match.
MAX_RULE_LENGTH = 65536


def _fast_loader() -> type[yaml.SafeLoader]:
    """libyaml's plain loader where PyYAML was built with it."""
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def builtin_rule_files() -> list[Path]:
    """The rule files shipped inside the package, in a stable order."""
    folder = resources.files("leakstop.rules")
    return sorted(
        Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith((".yaml", ".yml"))
    )


def load_builtin_rules() -> list[Rule]:
    """The shipped rules. Their regexes compile on first use: the test suite has already
    compiled and exercised every one of them."""
    files = [(path, path.read_bytes()) for path in builtin_rule_files()]
    rules: list[Rule] = []
    for (path, text), data in zip(files, _builtin_documents(files), strict=True):
        try:
            rules.extend(_parse_document(data, str(path), trusted=True))
        except (RuleError, AttributeError, TypeError):
            rules.extend(load_rule_document(text, str(path)))  # says what is wrong, with lines
    check_unique(rules)
    return rules


def _builtin_documents(files: Sequence[tuple[Path, bytes]]) -> list[Any]:
    """The rule files as plain data. Building it from YAML costs ~0.4 s for a thousand
    rules (PyYAML constructs every example in Python); the same data as JSON from the
    cache loads in milliseconds. JSON, not pickle: a cache entry is data, never code."""
    digest = hashlib.sha256(__version__.encode())
    for path, text in files:
        digest.update(b"\0" + path.name.encode() + b"\0" + text)
    name = f"rules-{digest.hexdigest()[:40]}.json"
    cached = cache.load(name)
    if cached is not None:
        try:
            documents = json.loads(cached)
        except ValueError:
            documents = None
        if isinstance(documents, list) and len(documents) == len(files):
            return documents
    import yaml  # only on a cold cache: importing PyYAML costs ~30 ms of every start

    documents = []
    for _path, text in files:
        try:
            documents.append(yaml.load(text, Loader=_fast_loader()))
        except yaml.YAMLError:
            documents.append(None)  # parsed again the careful way, which names the line
    with contextlib.suppress(TypeError, ValueError):  # not plain data: nothing to cache
        cache.store(name, json.dumps(documents).encode())
    return documents


def load_rule_files(paths: Iterable[Path]) -> list[Rule]:
    rules: list[Rule] = []
    for path in paths:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise RuleError(f"cannot read rule file: {exc.strerror}", str(path)) from None
        rules.extend(load_rule_document(text, str(path)))
    check_unique(rules)
    return rules


def load_rule_document(text: str | bytes, path: str, trusted: bool = False) -> list[Rule]:
    """Parse a rule file: a mapping with `rules:` (a list of rule mappings).

    `trusted` (the shipped rules) parses with libyaml's plain loader, several times faster,
    and defers compiling regexes; any error is re-read with line numbers to report it.
    """
    if trusted:
        import yaml

        try:
            data = yaml.load(text, Loader=_fast_loader())
            return _parse_document(data, path, trusted=True)
        except (yaml.YAMLError, RuleError, AttributeError, TypeError):
            pass  # report it the careful way below
    try:
        data = load_yaml(text, path)
    except ConfigError as exc:
        detail = exc.detail if exc.line is None else f"line {exc.line}: {exc.detail}"
        raise RuleError(detail, path) from None
    return _parse_document(data, path, trusted=False)


def _parse_document(data: Any, path: str, trusted: bool) -> list[Rule]:
    top = Fields(data, path, _file_error(path), "the rule file")
    top.check_keys(("version", "rules"))
    top.integer("version", 1, low=1, high=1)
    return parse_rules([item for item, _line in top.items("rules")], path, trusted)


def parse_rules(items: Sequence[Any], path: str, trusted: bool = False) -> list[Rule]:
    rules = [parse_rule(item, path, trusted=trusted) for item in items]
    check_unique(rules)
    return rules


def parse_rule(
    data: Any,
    path: str,
    error_for: Callable[[str | None], ErrorFactory] | None = None,
    trusted: bool = False,
) -> Rule:
    """Validate one rule mapping. Errors come from `error_for(rule_id)` (default: RuleError
    naming the file and rule id)."""
    rule_id = data.get("id") if isinstance(data, dict) else None
    rule_id = rule_id if isinstance(rule_id, str) else None
    make_error = (error_for or (lambda rid: _rule_error(path, rid)))(rule_id)
    fields = Fields(data, path, make_error, "a rule")
    fields.check_keys(RULE_KEYS)
    rule_id = fields.string("id", required=True)
    if not _ID.fullmatch(rule_id):
        fields.fail("id must be lower-case letters, digits and dashes", fields.line_of("id"))

    source, keywords = _regex_and_keywords(fields)
    paths = _paths(fields)
    if not keywords and not paths:
        fields.fail(
            "keywords must list at least one literal (only a rule with `paths` may have none)",
            fields.line_of("keywords"),
        )
    if not trusted:
        compile_rule_regex(source, fields)

    severity_name = fields.string("severity", "high")
    try:
        severity = Severity(severity_name)
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        fields.fail(f"severity must be one of {choices}", fields.line_of("severity"))

    validator = fields.optional_string("validator")
    if validator is not None and validator not in VALIDATORS:
        known = ", ".join(sorted(VALIDATORS))
        fields.fail(
            f"unknown validator {validator!r} (known: {known})", fields.line_of("validator")
        )

    allowlists = []
    if (single := fields.sub("allowlist", "the rule's allowlist")) is not None:
        allowlists.append(parse_allowlist(single, trusted))
    for item, _line in fields.items("allowlists"):
        allowlists.append(
            parse_allowlist(Fields(item, path, fields.error, "an allowlist"), trusted)
        )

    positives, negatives = _parse_examples(fields, trusted)
    return Rule(
        id=rule_id,
        description=fields.string("description", required=True),
        regex=source,
        keywords=keywords,
        severity=severity,
        entropy=fields.number("entropy", low=0, high=8),
        validator=validator,
        tags=tuple(fields.string_list("tags")),
        max_length=fields.integer("max_length", 1024, low=16, high=MAX_RULE_LENGTH),
        generic=fields.boolean("generic", False),
        priority=fields.integer("priority", 0, low=-5, high=5),
        decode=fields.boolean("decode", False),
        remediation=fields.string("remediation", DEFAULT_REMEDIATION).strip(),
        references=tuple(fields.string_list("references")),
        allowlists=tuple(allowlists),
        verify=_verify_spec(fields),
        respond=_respond_spec(fields),
        positives=positives,
        negatives=negatives,
        paths=paths,
        triggers=keywords if fields.has("context") else (),
        source=path,
    )


def _paths(fields: Fields) -> tuple[str, ...]:
    globs = fields.string_list("paths")
    if fields.has("paths") and not globs:
        fields.fail("paths must list at least one glob (or be left out)", fields.line_of("paths"))
    for glob in globs:
        problem = glob_problem(glob)
        if problem is not None:
            fields.fail(f"paths: {glob!r} {problem}", fields.line_of("paths"))
    return tuple(globs)


#: What may sit between an issuer's name and its value: the rest of a variable or key name
#: (`ABUSEIPDB_API_KEY`, `abuseipdb.token`, `AbuseIPDB(api_key`), then quotes, `=`, `:`,
#: `=>`, `(`, commas and spaces.
CONTEXT_NAME_TAIL = r"[\w.(-]{0,25}?"
CONTEXT_SEPARATOR = r"[\s\"'`:=>(,]{1,6}"
CONTEXT_RIGHT_EDGE = r"(?![A-Za-z0-9_-])"


def context_regex(names: Sequence[str], value: str) -> str:
    """The regex of a context rule: one of the issuer's names, then (in the same key) an
    assignment, then the value. For issuers whose keys have no prefix or checksum, the name
    is what keeps breadth from costing precision."""
    alternatives = "|".join(re.escape(name) for name in names)
    return (
        f"(?<![A-Za-z0-9])(?i:{alternatives}){CONTEXT_NAME_TAIL}{CONTEXT_SEPARATOR}"
        f"(?P<secret>{value}){CONTEXT_RIGHT_EDGE}"
    )


def _regex_and_keywords(fields: Fields) -> tuple[str, tuple[str, ...]]:
    context = fields.sub("context", "the rule's context")
    if context is None:
        source = fields.string("regex", required=True)
        return source, tuple(k.lower() for k in fields.string_list("keywords", required=True))
    if fields.has("regex") or fields.has("keywords"):
        fields.fail(
            "a rule has either `context` (names and value) or `regex` and `keywords`, not both",
            fields.line_of("context"),
        )
    context.check_keys(("names", "value"))
    names = [name.lower() for name in context.string_list("names", required=True)]
    if not names or any(len(name) < 3 for name in names):
        context.fail(
            "context names must be literals of 3 characters or more", context.line_of("names")
        )
    value = context.string("value", required=True)
    if "(?P<" in value or "(?<" in value.replace("(?<=", "").replace("(?<!", ""):
        context.fail(
            "a context value must not name groups: it is the secret", context.line_of("value")
        )
    return context_regex(names, value), tuple(names)


def compile_rule_regex(source: str, fields: Fields) -> regex.Pattern[bytes]:
    """The rule's regex, compiled; one clear error for a bad one or one that could hang a
    scan (the shipped rules are checked by the test suite instead)."""
    hazard = regex_hazard(source)
    if hazard is not None:
        fields.fail(
            f"regex refused: {hazard}", fields.line_of("regex") or fields.line_of("context")
        )
    try:
        pattern = regex.compile(source.encode("utf-8"))
    except regex.error as exc:
        fields.fail(f"invalid regex: {exc}", fields.line_of("regex"))
    if pattern.groups and "secret" not in pattern.groupindex:
        fields.fail(
            "regex has capture groups but none named 'secret': name the secret's group "
            "(?P<secret>...) and make the others non-capturing (?:...)",
            fields.line_of("regex"),
        )
    if pattern.search(b""):
        fields.fail("regex matches the empty string", fields.line_of("regex"))
    return pattern


def _parse_examples(fields: Fields, trusted: bool) -> tuple[Sequence[Example], Sequence[Example]]:
    """The rule's examples; for the shipped rules (`trusted`), parsed when first read (their
    tests read them all, so a mistake in one still fails the build)."""
    examples = fields.sub("examples", "the rule's examples")
    if examples is None:
        return (), ()
    examples.check_keys(("positive", "negative"))
    if trusted:
        return (
            LazyExamples(lambda: _example_list(examples, "positive")),
            LazyExamples(lambda: _example_list(examples, "negative")),
        )
    return _example_list(examples, "positive"), _example_list(examples, "negative")


def _example_list(examples: Fields, key: str) -> tuple[Example, ...]:
    parsed = []
    for item, line in examples.items(key):
        if isinstance(item, str):
            parsed.append(Example(item))
        elif isinstance(item, dict):
            example = Fields(item, examples.path, examples.error, f"a {key} example")
            example.check_keys(
                ("text", "secret", "path") if key == "positive" else ("text", "path")
            )
            parsed.append(
                Example(
                    example.string("text", required=True),
                    example.optional_string("secret"),
                    example.string("path", "example.txt"),
                )
            )
        else:
            examples.fail(f"{key} examples must be strings or mappings with 'text'", line)
    return tuple(parsed)


_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]*$")


def _respond_spec(fields: Fields) -> RespondSpec | None:
    spec = fields.sub("respond", "the rule's respond")
    if spec is None:
        return None
    spec.check_keys(("provider", "action"))
    provider = spec.string("provider", required=True)
    if not _PROVIDER.match(provider):
        spec.fail(f"provider {provider!r} is not a provider type name", spec.line_of("provider"))
    action_name = spec.string("action", required=True)
    try:
        action = ResponseAction(action_name)
    except ValueError:
        choices = ", ".join(a.value for a in ResponseAction)
        spec.fail(f"action must be one of {choices}", spec.line_of("action"))
    return RespondSpec(provider, action)


def _verify_spec(fields: Fields) -> VerifySpec | None:
    spec = fields.sub("verify", "the rule's verify")
    if spec is None:
        return None
    spec.check_keys(("verifier",))
    return VerifySpec(spec.string("verifier", required=True))


def check_unique(rules: Iterable[Rule]) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id].source
            raise RuleError(f"duplicate rule id (also defined in {first})", rule.source, rule.id)
        seen[rule.id] = rule


def _file_error(path: str) -> ErrorFactory:
    def make(message: str, line: int | None) -> RuleError:
        return RuleError(f"line {line}: {message}" if line else message, path)

    return make


def _rule_error(path: str, rule_id: str | None) -> ErrorFactory:
    def make(message: str, line: int | None) -> RuleError:
        return RuleError(f"line {line}: {message}" if line else message, path, rule_id)

    return make
