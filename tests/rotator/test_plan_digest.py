"""The plan digest: the same plan gives the same digest in any order, and anything that
changes what would be done changes it."""

from __future__ import annotations

import dataclasses

from leakstop.finding import Finding, Location, Severity
from leakstop.rotator.plan_digest import canonical_entries, is_digest, plan_digest
from leakstop.rotator.policy import PlanEntry

VALUE = "Qz7-plan-digest-value-Lw3"


def _entry(fingerprint: str, *, action: str = "rotate", line: int = 3) -> PlanEntry:
    finding = Finding(
        rule_id="generic-api-key",
        description="d",
        severity=Severity.HIGH,
        location=Location("app.env", line, 1, line, 20),
        secret=VALUE,
        fingerprint=fingerprint,
        entropy=4.0,
    )
    return PlanEntry(
        finding, "local", action, "rotate billing/api-key", confirmed=True, managed="billing/key"
    )


def test_the_digest_is_a_sha256_and_does_not_depend_on_order() -> None:
    a, b = _entry("fp-a"), _entry("fp-b")
    digest = plan_digest([a, b])
    assert is_digest(digest)
    assert plan_digest([b, a]) == digest
    assert plan_digest([a]) != digest


def test_what_would_be_done_changes_the_digest() -> None:
    base = _entry("fp-a")
    digest = plan_digest([base])
    changed = [
        _entry("fp-a", action="revoke"),
        _entry("fp-a", line=4),
        dataclasses.replace(base, confirmed=False),
        dataclasses.replace(base, managed="billing/other"),
        dataclasses.replace(base, provider="vault"),
    ]
    assert len({plan_digest([entry]) for entry in changed} | {digest}) == len(changed) + 1


def test_the_wording_of_the_effect_does_not_change_the_digest() -> None:
    base = _entry("fp-a")
    reworded = dataclasses.replace(base, effect="rotate it, then revoke the old value")
    assert plan_digest([reworded]) == plan_digest([base])


def test_the_canonical_form_holds_no_value() -> None:
    assert VALUE not in repr(canonical_entries([_entry("fp-a")]))


def test_is_digest() -> None:
    assert is_digest("ab" * 32)
    assert not is_digest("AB" * 32)
    assert not is_digest("ab" * 31)
    assert not is_digest("zz" * 32)
