from __future__ import annotations

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
