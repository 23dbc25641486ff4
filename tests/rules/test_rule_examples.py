"""Every built-in rule against its own positive and negative examples, on every engine."""

from __future__ import annotations

import pytest

from leakstop.rules import Example, Rule, load_builtin_rules
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine, hyperscan_available
from leakstop.scanner.sources import Chunk

RULES = load_builtin_rules()
ENGINES = ["keywords", *(["hyperscan"] if hyperscan_available() else [])]


@pytest.fixture(scope="module", params=ENGINES)
def detector(request: pytest.FixtureRequest) -> Detector:
    return Detector(engine=build_engine(RULES, request.param))


def _findings(detector: Detector, example: Example) -> list[tuple[str, str]]:
    chunk = Chunk(example.path, example.text.encode())
    return [(f.rule_id, f.secret) for f in detector.detect(chunk)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_enough_examples(rule: Rule) -> None:
    assert len(rule.positives) >= 2, f"{rule.id}: needs at least 2 positive examples"
    assert len(rule.negatives) >= 2, f"{rule.id}: needs at least 2 negative examples"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_positive_examples_are_found(detector: Detector, rule: Rule) -> None:
    for example in rule.positives:
        found = _findings(detector, example)
        hits = [secret for rule_id, secret in found if rule_id == rule.id]
        assert hits, f"{rule.id} did not find {example.text!r} (found: {[r for r, _ in found]})"
        if example.secret is not None:
            assert example.secret in hits, f"{rule.id}: wrong secret for {example.text!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_negative_examples_are_not_found(detector: Detector, rule: Rule) -> None:
    for example in rule.negatives:
        found = [rule_id for rule_id, _ in _findings(detector, example)]
        assert rule.id not in found, f"{rule.id} wrongly reported {example.text!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_match_contains_a_keyword(rule: Rule) -> None:
    """The keyword engine only looks near keywords: a match without one would be missed."""
    for example in rule.positives:
        for match in rule.pattern.finditer(example.text.encode()):
            text = match.group().lower()
            assert any(k.encode() in text for k in rule.keywords), (
                f"{rule.id}: match {match.group()!r} holds none of its keywords {rule.keywords}"
            )


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_matches_fit_max_length(rule: Rule) -> None:
    for example in rule.positives:
        for match in rule.pattern.finditer(example.text.encode()):
            assert match.end() - match.start() <= rule.max_length, (
                f"{rule.id}: a {match.end() - match.start()}-byte match exceeds max_length"
            )


def test_rule_ids_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
