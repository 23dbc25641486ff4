"""The rule loader on arbitrary rule mappings and rule files: a Rule or RuleError, never
anything else; a rule that loads compiles and scans."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from leakstop.errors import RuleError
from leakstop.rules.loader import RULE_KEYS, load_rule_document, parse_rule
from leakstop.rules.model import Rule
from tests.fuzz.strategies import (
    DEEP_NESTING,
    SCALARS,
    check_message,
    fuzz_settings,
    json_data,
    keys_from,
)

REGEXES = st.one_of(
    st.sampled_from(
        [
            r"(?i)key\s*=\s*([a-z0-9]{16})",
            r"(a+)+",
            r"(x+x+)+y",
            r"a{1000}{1000}",
            r"(?P<secret>[A-Z]{20})",
            r"[",
            r"(?i",
            r"\z",
            r"a(?i)b",
            r"(?<=a+)b",
            r"",
        ]
    ),
    st.text(max_size=30),
)
RULES = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(["my-rule", "x", "Bad Id"]), st.text(max_size=10)),
        "description": st.one_of(st.just("A rule"), SCALARS),
        "regex": REGEXES,
        "keywords": st.one_of(st.lists(st.text(min_size=1, max_size=6), max_size=3), SCALARS),
    },
    optional={
        key: json_data(keys_from(list(RULE_KEYS)), max_leaves=4)
        for key in RULE_KEYS
        if key not in ("id", "description", "regex", "keywords")
    },
)


@fuzz_settings(60)
@given(RULES)
@example({"id": "x", "description": "d", "regex": "(a+)+", "keywords": ["a"]})
@example(
    {"id": "x", "description": "d", "regex": "k(.{3})", "keywords": ["k"], "max_length": 2**70}
)
def test_a_rule_mapping_gives_a_rule_or_a_rule_error(data: dict[str, Any]) -> None:
    try:
        rule = parse_rule(data, "rules.yaml")
    except RuleError as exc:
        check_message(exc)
        return
    assert isinstance(rule, Rule)
    rule.pattern.search(b"key = 0123456789abcdef " * 4)


@fuzz_settings(50)
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        DEEP_NESTING,
        st.lists(RULES, max_size=3).map(
            lambda rules: yaml.safe_dump({"version": 1, "rules": rules})
        ),
    )
)
def test_a_rule_file_gives_rules_or_a_rule_error(text: str | bytes) -> None:
    try:
        rules = load_rule_document(text, "rules.yaml")
    except RuleError as exc:
        check_message(exc)
    else:
        assert all(isinstance(rule, Rule) for rule in rules)
