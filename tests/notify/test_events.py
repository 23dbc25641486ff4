"""Events from the rotator's outcomes: which kind, how severe, and never a value."""

from __future__ import annotations

from dataclasses import astuple
from datetime import datetime, timezone

import pytest

from leakstop.config.notifications import EventKind
from leakstop.finding import Severity
from leakstop.notify.events import leak_confirmed_event, rotation_event
from leakstop.rotator.machine import Outcome, RotationResult
from tests.notify.conftest import LEAKED, finding, secret


@pytest.mark.parametrize(
    ("outcome", "action", "kind", "severity", "title"),
    [
        (Outcome.ROTATED, "rotate", EventKind.ROTATION_FINISHED, Severity.LOW, "Rotated db/pw"),
        (Outcome.RESUMED, "rotate", EventKind.ROTATION_FINISHED, Severity.LOW, "Rotated db/pw"),
        (
            Outcome.FAILED,
            "rotate",
            EventKind.ROTATION_FAILED,
            Severity.HIGH,
            "Rotation of db/pw failed",
        ),
        (
            Outcome.ROLLED_BACK,
            "rotate",
            EventKind.ROTATION_FAILED,
            Severity.HIGH,
            "Rotation of db/pw rolled back",
        ),
        (
            Outcome.FAILED,
            "revoke",
            EventKind.ROTATION_FAILED,
            Severity.CRITICAL,
            "Revocation of db/pw failed",
        ),
        (
            Outcome.REVOKED,
            "revoke",
            EventKind.REVOCATION,
            Severity.HIGH,
            "Revoked a value of db/pw",
        ),
    ],
)
def test_each_outcome_is_its_event(
    outcome: Outcome, action: str, kind: EventKind, severity: Severity, title: str
) -> None:
    result = RotationResult(
        "db/pw",
        outcome,
        "3",
        "4",
        datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc),
        error="login refused",
    )
    event = rotation_event(result, secret("db/pw", issuer="billing-db"), "leak confirmed", action)
    assert event is not None
    assert (event.kind, event.severity, event.title) == (kind, severity, title)
    assert event.subject == "db/pw"
    facts = {fact.key: fact.value for fact in event.facts}
    assert facts["issuer"] == "billing-db"
    if kind is EventKind.ROTATION_FAILED:
        assert facts["error"] == "login refused"


def test_a_response_not_taken_is_no_event() -> None:
    assert rotation_event(RotationResult("db/pw", Outcome.SKIPPED), secret("db/pw")) is None


def test_a_leak_event_holds_the_redaction_and_fingerprint_not_the_value() -> None:
    leak = finding()
    event = leak_confirmed_event(leak, secret())
    flat = repr(astuple(event))
    assert LEAKED not in flat
    assert LEAKED[6:-4] not in flat  # not even its middle
    assert leak.fingerprint in flat
    assert leak.redacted in flat
    assert event.severity is Severity.HIGH
