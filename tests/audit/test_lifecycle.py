from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from leakstop.audit.lifecycle import (
    Event,
    Report,
    SecretReport,
    build_report,
    is_failure,
    lifecycle_events,
)
from leakstop.audit.query import Query, select
from leakstop.audit.record import Action, Record
from tests.audit.logs import T0, numbered, record, write_log

DAY = timedelta(days=1)
NOW = T0 + 150 * DAY


@pytest.mark.parametrize(
    ("action", "details", "success", "events"),
    [
        (Action.SECRET_CREATED, {}, True, (Event.CREATED, Event.ACTIVATED)),
        (Action.SECRET_UPDATED, {}, True, (Event.ACTIVATED,)),
        (Action.SECRET_READ, {}, True, (Event.ACCESSED,)),
        (
            Action.ROTATION_COMPLETED,
            {},
            True,
            (Event.ROTATED, Event.ACTIVATED, Event.DEPRECATED),
        ),
        (Action.EXPIRATION_WARNING, {"expired": True}, True, (Event.EXPIRED,)),
        (Action.EXPIRATION_WARNING, {"expires_in": "7d"}, True, ()),
        (Action.EXPIRATION_WARNING, {"expired": "yes"}, True, ()),
        (Action.REVOKED, {}, True, (Event.REVOKED,)),
        (Action.SECRET_DELETED, {}, True, (Event.ARCHIVED,)),
        (Action.SECRET_DELETED, {"purge": True}, True, (Event.PURGED,)),
        (Action.SECRET_DELETED, {"purge": False}, True, (Event.ARCHIVED,)),
        # A failed record is a failure, not a step in the secret's life.
        (Action.ROTATION_COMPLETED, {}, False, ()),
        (Action.SECRET_READ, {}, False, ()),
        (Action.SECRET_DELETED, {"purge": True}, False, ()),
        (Action.ROTATION_STARTED, {}, True, ()),
        (Action.ROTATION_STEP, {}, True, ()),
        (Action.APPROVED, {}, True, ()),
        (Action.FINDING_CONFIRMED, {}, True, ()),
        (Action.BACKUP_RESTORED, {}, True, ()),
    ],
)
def test_lifecycle_events(
    action: Action, details: Mapping[str, Any], success: bool, events: tuple[Event, ...]
) -> None:
    assert lifecycle_events(record(action, details=details, success=success)) == events


def test_is_failure() -> None:
    assert is_failure(record(success=False))
    assert is_failure(record(Action.ACCESS_DENIED, success=True))
    assert not is_failure(record())


def _secret(report: Report, name: str, org: str = "default") -> SecretReport:
    (found,) = [s for s in report.secrets if s.name == name and s.org == org]
    return found


def _log() -> list[Record]:
    return numbered(
        [
            record(Action.SECRET_CREATED, "billing", "admin", at=timedelta(0)),
            record(Action.SECRET_READ, "billing", "alice", at=DAY),
            record(Action.SECRET_READ, "billing", "bob", at=2 * DAY),
            record(Action.SECRET_READ, "billing", "alice", at=3 * DAY),
            record(Action.SECRET_READ, "db", "app", at=4 * DAY),
            record(
                Action.FINDING_CONFIRMED,
                "fp-old-leak",
                "scanner",
                at=10 * DAY,
                details={"managed_secret": "billing", "rule_id": "generic"},
            ),
            record(Action.ACCESS_DENIED, "billing", "mallory", at=11 * DAY),
            record(Action.ROTATION_FAILED, "billing", "ci", at=12 * DAY, success=False),
            record(Action.ROTATION_COMPLETED, "billing", "ci", at=30 * DAY, success=False),
            record(Action.ROTATION_COMPLETED, "billing", "ci", at=31 * DAY),
            record(Action.REVOKED, "billing", "ci", at=32 * DAY),
            record(
                Action.FINDING_DETECTED,
                "fp-new-leak",
                "scanner",
                at=40 * DAY,
                details={"managed_secret": "billing"},
            ),
            record(Action.SECRET_READ, "billing", "carol", at=100 * DAY),
            record(Action.SECRET_READ, "billing", "alice", at=101 * DAY),
            record(Action.SECRET_READ, "billing", "alice", at=102 * DAY, success=False),
            record(Action.SECRET_CREATED, "old", "admin", at=5 * DAY),
            record(Action.SECRET_DELETED, "old", "admin", at=50 * DAY),
            record(Action.SECRET_CREATED, "gone", "admin", at=6 * DAY),
            record(Action.SECRET_DELETED, "gone", "admin", at=60 * DAY, details={"purge": True}),
            record(Action.SECRET_CREATED, "expiring", "admin", at=7 * DAY),
            record(Action.EXPIRATION_WARNING, "expiring", "leakstop", at=80 * DAY),
            record(
                Action.EXPIRATION_WARNING,
                "expiring",
                "leakstop",
                at=90 * DAY,
                details={"expired": True},
            ),
            # An unmanaged leaked token, revoked at its issuer: a finding, not a secret.
            record(Action.FINDING_DETECTED, "fp-token", "scanner", at=20 * DAY),
            record(Action.REVOKED, "fp-token", "ci", at=21 * DAY),
            # Closed through the details of another secret's revocation.
            record(Action.FINDING_DETECTED, "fp-linked-by-details", "scanner", at=22 * DAY),
            record(
                Action.REVOKED,
                "db",
                "ci",
                at=23 * DAY,
                details={"finding": ["fp-linked-by-details", 7]},
            ),
            # Revoked, then seen again: open again.
            record(Action.FINDING_DETECTED, "fp-again", "scanner", at=24 * DAY),
            record(Action.REVOKED, "fp-again", "ci", at=25 * DAY),
            record(Action.FINDING_DETECTED, "fp-again", "scanner", at=26 * DAY),
            # Open and linked to nothing.
            record(Action.FINDING_DETECTED, "fp-stray", "scanner", at=27 * DAY),
            record(Action.FINDING_DETECTED, "fp-stray", "scanner", at=28 * DAY),
            # A failed revocation closes nothing.
            record(Action.FINDING_DETECTED, "fp-still", "scanner", at=29 * DAY),
            record(Action.REVOKED, "fp-still", "ci", at=29 * DAY + 1 * DAY, success=False),
            # The same name in another org is another secret.
            record(Action.SECRET_CREATED, "billing", "admin", at=8 * DAY, org="acme"),
            # The log's own upkeep names no secret.
            record(Action.LOG_ARCHIVED, "", "leakstop", at=9 * DAY),
        ]
    )


def _report(**kwargs: Any) -> Report:
    records = sorted(_log(), key=lambda r: r.time)
    options: dict[str, Any] = {"now": NOW, "policies": {"billing": 90 * DAY, "old": 30 * DAY}}
    options.update(kwargs)
    return build_report(records, **options)


def test_managed_secrets_leave_out_findings_and_the_log() -> None:
    report = _report()
    names = [(s.org, s.name) for s in report.secrets]
    assert names == [
        ("acme", "billing"),
        ("default", "billing"),
        ("default", "db"),
        ("default", "expiring"),
        ("default", "gone"),
        ("default", "old"),
    ]


def test_age_rotation_and_overdue_by_policy() -> None:
    billing = _secret(_report(), "billing")
    assert billing.status == "active"
    assert billing.created == T0
    assert billing.age == 150 * DAY
    assert billing.last_rotation == T0 + 31 * DAY  # the failed completion is no rotation
    assert billing.current_since == T0 + 31 * DAY
    assert billing.policy == 90 * DAY
    assert billing.due == T0 + 121 * DAY
    assert billing.overdue_by == 29 * DAY
    assert billing.events[Event.ACCESSED].count == 5
    assert billing.events[Event.REVOKED].count == 1
    assert billing.events[Event.DEPRECATED].first == T0 + 31 * DAY


def test_not_overdue_without_a_policy_or_before_it_is_due() -> None:
    report = _report(now=T0 + 100 * DAY)
    billing = _secret(report, "billing")
    assert billing.overdue_by is None
    assert billing.due == T0 + 121 * DAY
    db = _secret(report, "db")
    assert (db.policy, db.due, db.overdue_by) == (None, None, None)


def test_a_secret_older_than_the_log() -> None:
    db = _secret(_report(), "db")
    assert db.created is None
    assert db.first_seen == T0 + 4 * DAY
    assert db.age == 146 * DAY
    assert db.current_since == db.first_seen
    assert db.last_rotation is None


def test_end_of_life_states() -> None:
    report = _report()
    old = _secret(report, "old")
    assert old.status == "archived"
    assert (old.due, old.overdue_by) == (None, None), "an archived secret is not overdue"
    assert Event.ARCHIVED in old.events
    assert _secret(report, "gone").status == "purged"
    expiring = _secret(report, "expiring")
    assert expiring.status == "expired"
    assert expiring.events[Event.EXPIRED].count == 1


def test_readers_and_failures() -> None:
    billing = _secret(_report(), "billing")
    assert billing.readers == (("alice", 3), ("bob", 1), ("carol", 1))
    assert billing.failures == {
        "access_denied": 1,
        "rotation_completed": 1,
        "rotation_failed": 1,
        "secret_read": 1,
    }
    assert billing.last_failure == T0 + 102 * DAY


def test_since_limits_readers_and_failures_not_lifecycle() -> None:
    billing = _secret(_report(since=T0 + 50 * DAY), "billing")
    assert billing.readers == (("alice", 1), ("carol", 1))
    assert billing.failures == {"secret_read": 1}
    assert billing.created == T0
    assert billing.last_rotation == T0 + 31 * DAY


def test_open_findings() -> None:
    report = _report()
    billing = _secret(report, "billing")
    # fp-old-leak was detected before the rotation of its secret; fp-new-leak after.
    assert [f.fingerprint for f in billing.open_findings] == ["fp-new-leak"]
    (new,) = billing.open_findings
    assert (new.secret, new.confirmed, new.detections) == ("billing", False, 1)
    assert _secret(report, "db").open_findings == ()
    stray = {f.fingerprint: f for f in report.unattributed}
    assert sorted(stray) == ["fp-again", "fp-still", "fp-stray"]
    assert stray["fp-again"].first_detected == T0 + 26 * DAY
    assert stray["fp-stray"].detections == 2
    assert stray["fp-stray"].last_detected == T0 + 28 * DAY


def test_confirmation_is_remembered() -> None:
    records = numbered(
        [
            record(Action.SECRET_CREATED, "billing", at=timedelta(0)),
            record(Action.FINDING_CONFIRMED, "fp", at=DAY, details={"managed_secret": "billing"}),
            record(Action.FINDING_DETECTED, "fp", at=2 * DAY),
        ]
    )
    report = build_report(records, now=NOW, policies={})
    (finding,) = report.secrets[0].open_findings
    assert finding.confirmed
    assert finding.secret == "billing"
    assert finding.detections == 2


def test_a_chosen_secret_only() -> None:
    report = _report(secrets=frozenset({"billing"}))
    assert [(s.org, s.name) for s in report.secrets] == [
        ("acme", "billing"),
        ("default", "billing"),
    ]
    assert report.unattributed == ()
    assert [f.fingerprint for f in _secret(report, "billing").open_findings] == ["fp-new-leak"]


def test_from_disk_in_one_pass(tmp_path: Path) -> None:
    write_log(tmp_path, sorted(_log(), key=lambda r: r.time))
    report = build_report(select(tmp_path, Query()), now=NOW, policies={"billing": 90 * DAY})
    assert _secret(report, "billing").overdue_by == 29 * DAY


def test_a_new_value_after_expiry_is_active_again() -> None:
    records = numbered(
        [
            record(Action.SECRET_CREATED, "api", at=timedelta(0)),
            record(Action.EXPIRATION_WARNING, "api", at=DAY, details={"expired": True}),
            record(Action.ROTATION_COMPLETED, "api", at=2 * DAY),
            record(Action.REVOKED, "api", at=3 * DAY),
        ]
    )
    (api,) = build_report(records, now=NOW, policies={}).secrets
    assert api.status == "active"
    assert Event.EXPIRED in api.events
