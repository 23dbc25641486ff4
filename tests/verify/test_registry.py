from __future__ import annotations

import re
from pathlib import Path

from leakstop.rules import load_builtin_rules
from leakstop.verify.pairing import COMPANIONS
from leakstop.verify.registry import VERIFIERS
from leakstop.verify.runner import verifier_names


def test_every_rule_names_a_registered_verifier() -> None:
    names = verifier_names(load_builtin_rules())
    assert len(set(names.values())) >= 30
    assert {name for name in names.values() if name not in VERIFIERS} == set()


def test_hosts_are_exact_names_or_one_label_wildcards() -> None:
    for verifier in VERIFIERS.values():
        for host in verifier.hosts:
            assert host == host.lower()
            assert "/" not in host
            assert ":" not in host
            assert "*" not in host.removeprefix("*.")
            assert host.count(".") >= 1


def test_companion_rules_exist() -> None:
    ids = {rule.id for rule in load_builtin_rules()}
    for primary, companions in COMPANIONS.items():
        assert primary in ids
        for companion in companions:
            assert set(companion.rule_ids) <= ids


def test_the_readme_lists_every_verifier_with_its_hosts_and_rules() -> None:
    """What may be contacted is a promise to users: the README's table says it, exactly."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        match.group(1): (match.group(2), match.group(3))
        for match in re.finditer(r"^\| `([a-z0-9-]+)` \| (.*) \| (.*) \|$", readme, re.MULTILINE)
    }
    rules_of: dict[str, set[str]] = {}
    for rule_id, name in verifier_names(load_builtin_rules()).items():
        rules_of.setdefault(name, set()).add(rule_id)
    for name, verifier in VERIFIERS.items():
        assert name in rows, f"{name} is missing from the README's verifier table"
        hosts, rules = rows[name]
        assert set(re.findall(r"`([^`]+)`", hosts)) == set(verifier.hosts), name
        listed = {rule.strip() for rule in rules.split(",") if rule.strip()}
        assert listed == rules_of.get(name, set()), name
