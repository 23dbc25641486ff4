"""Check rules against their own examples: the test suite runs this on the built-in rules and
`leakstop rules check FILE` runs it on a user's custom rule files."""

from __future__ import annotations

from collections.abc import Sequence

from leakstop.rules.model import Example, Rule
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine, hyperscan_available
from leakstop.scanner.sources import Chunk

#: Built-in rules must carry at least this many examples of each kind.
MIN_EXAMPLES = 2


def available_engines() -> list[str]:
    return ["keywords", *(["hyperscan"] if hyperscan_available() else [])]


def found(detector: Detector, example: Example) -> list[tuple[str, str, bool]]:
    """(rule id, secret, decoded) of every finding when `example` is scanned as its own file;
    `decoded`: the secret was found inside an encoded value."""
    chunk = Chunk(example.path, example.text.encode())
    return [
        (f.rule_id, f.secret, any(tag.startswith("decoded:") for tag in f.tags))
        for f in detector.detect(chunk)
    ]


def _by_rule(rule: Rule, results: list[tuple[str, str, bool]]) -> list[str]:
    """Secrets the rule reported: its own findings and, for a container rule (`decode`), the
    credentials found inside the value it decoded."""
    return [
        secret
        for rule_id, secret, decoded in results
        if rule_id == rule.id or (rule.decode and decoded)
    ]


def example_problems(rule: Rule, detector: Detector) -> list[str]:
    """What is wrong with the rule's behaviour on its examples, one sentence each."""
    problems = []
    for example in rule.positives:
        results = found(detector, example)
        hits = _by_rule(rule, results)
        if not hits:
            others = sorted({rule_id for rule_id, _, _ in results})
            also = f" (found by: {', '.join(others)})" if others else ""
            problems.append(f"positive example not found: {example.text!r}{also}")
        elif example.secret is not None and example.secret not in hits:
            problems.append(f"positive example found with the wrong secret: {example.text!r}")
    for example in rule.negatives:
        if _by_rule(rule, found(detector, example)):
            problems.append(f"negative example reported: {example.text!r}")
    return problems


def structure_problems(rule: Rule, *, min_examples: int = 0) -> list[str]:
    """Properties the engines rely on, checked on the positive examples' matches."""
    problems = []
    if len(rule.positives) < min_examples or len(rule.negatives) < min_examples:
        problems.append(
            f"needs at least {min_examples} positive and {min_examples} negative examples"
        )
    for example in rule.positives:
        for match in rule.pattern.finditer(example.text.encode()):
            text = match.group().lower()
            # A rule without keywords runs only on its `paths`, over the whole file.
            if rule.keywords and not any(keyword.encode() in text for keyword in rule.keywords):
                problems.append(
                    f"match {match.group()!r} holds none of the keywords {list(rule.keywords)}"
                )
            length = match.end() - match.start()
            if length > rule.max_length:
                problems.append(f"a {length}-byte match exceeds max_length {rule.max_length}")
    return problems


def check_rules(
    rules: Sequence[Rule], context: Sequence[Rule] = (), *, min_examples: int = 0
) -> dict[str, list[str]]:
    """Problems by rule id, on every available engine. `context` rules run alongside (so a
    custom rule is checked as it will run: next to the built-in ones) but are not judged."""
    problems: dict[str, list[str]] = {
        rule.id: structure_problems(rule, min_examples=min_examples) for rule in rules
    }
    judged = {rule.id for rule in rules}
    everything = [*rules, *(rule for rule in context if rule.id not in judged)]
    for engine in available_engines():
        detector = Detector(engine=build_engine(everything, engine))
        for rule in rules:
            for problem in example_problems(rule, detector):
                tagged = f"[{engine}] {problem}"
                if problem not in problems[rule.id] and tagged not in problems[rule.id]:
                    problems[rule.id].append(tagged)
    return {
        rule_id: found_problems for rule_id, found_problems in problems.items() if found_problems
    }
