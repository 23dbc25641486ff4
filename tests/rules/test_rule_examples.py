"""Every built-in rule against its own positive and negative examples, on every engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.rules import Rule, load_builtin_rules
from leakstop.rules.loader import builtin_rule_files, load_rule_document
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.rule_check import (
    MIN_EXAMPLES,
    available_engines,
    example_problems,
    structure_problems,
)

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


@pytest.mark.parametrize("path", builtin_rule_files(), ids=lambda p: p.name)
def test_shipped_rules_pass_the_checks_user_rules_get(path: Path) -> None:
    """Built-in rules load on a fast path that skips compiling regexes; the full validation
    (regexes, allowlist regexes, field types) must accept them and give the same rules."""
    fast = load_rule_document(path.read_bytes(), str(path), trusted=True)
    checked = load_rule_document(path.read_bytes(), str(path), trusted=False)
    assert [rule.id for rule in checked] == [rule.id for rule in fast]
    for rule in checked:
        for allowlist in rule.allowlists:
            assert len(allowlist.regexes) == len(allowlist.regex_sources)
            assert len(allowlist.lines) == len(allowlist.line_sources)
