"""Every built-in rule against its own positive and negative examples, on every engine."""

from __future__ import annotations

import pytest

from leakstop.rules import Rule, load_builtin_rules
from leakstop.rules.checker import (
    MIN_EXAMPLES,
    available_engines,
    example_problems,
    structure_problems,
)
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine

RULES = load_builtin_rules()


@pytest.fixture(scope="module", params=available_engines())
def detector(request: pytest.FixtureRequest) -> Detector:
    return Detector(engine=build_engine(RULES, request.param))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples(detector: Detector, rule: Rule) -> None:
    assert example_problems(rule, detector) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_structure(rule: Rule) -> None:
    """At least two examples of each kind; every match holds a keyword (the keyword engine
    only looks near keywords) and fits in max_length (the window the engines confirm)."""
    assert structure_problems(rule, min_examples=MIN_EXAMPLES) == []


def test_rule_ids_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
