"""Each managed secret's lifecycle as the audit log tells it, and what a compliance reviewer
asks about it: age, last rotation, whether it is overdue by policy, who read it, what failed,
which leaks of it are still open. One streaming pass; `report.py` writes it out.

Lifecycle events, from successful records only (a failed record is a failure, not a step):

| action               | condition               | events                                |
|----------------------|-------------------------|---------------------------------------|
| `secret_created`     |                         | created, activated (first version)    |
| `secret_updated`     |                         | activated (a new value set by hand)   |
| `secret_read`        |                         | accessed                              |
| `rotation_completed` |                         | rotated, activated (the new version), |
|                      |                         | deprecated (the previous version)     |
| `expiration_warning` | details `expired: true` | expired (otherwise only a warning)    |
| `revoked`            |                         | revoked                               |
| `secret_deleted`     | details `purge: true`   | purged                                |
| `secret_deleted`     | otherwise               | archived                              |

Everything else (rotation steps, approvals, backups, findings) is no lifecycle event. The
current value's age runs from the last `activated`; `revoked` leaves the status alone, since
the machine revokes the previous version after its grace period, not the current one.

Findings. A `finding_detected` or `finding_confirmed` record names the finding's fingerprint
as its `secret`. It is linked to a managed secret by its details key `managed_secret` (the
secret's name, same org). A finding stays open until a later successful `revoked` or
`rotation_completed` record that names it: as its `secret`, in its details key `finding` (a
fingerprint or a list of them), or, for a linked finding, as the managed secret itself (the
leaked value is no longer current). A later detection opens it again.

Managed secrets are the names of records other than findings, anomalies and the log's
upkeep, leaving out names that are finding fingerprints (a `revoked` of an unmanaged leaked
token names its fingerprint).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leakstop.audit.anomalies import IGNORED
from leakstop.audit.record import Action, Record

#: Details keys that link findings and managed secrets (written by the scanner and rotator).
LINK_SECRET = "managed_secret"
LINK_FINDING = "finding"

_FINDINGS = frozenset({Action.FINDING_DETECTED, Action.FINDING_CONFIRMED})
_CLOSING = frozenset({Action.REVOKED, Action.ROTATION_COMPLETED})


class Event(str, enum.Enum):
    """A step in a secret's life, in the order a secret usually goes through them."""

    CREATED = "created"
    ACTIVATED = "activated"
    ACCESSED = "accessed"
    ROTATED = "rotated"
    DEPRECATED = "deprecated"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ARCHIVED = "archived"
    PURGED = "purged"


def lifecycle_events(record: Record) -> tuple[Event, ...]:
    """The lifecycle events `record` stands for (the table above); () for none."""
    if not record.success:
        return ()
    action = record.action
    if action is Action.SECRET_READ:
        return (Event.ACCESSED,)
    if action is Action.SECRET_CREATED:
        return (Event.CREATED, Event.ACTIVATED)
    if action is Action.SECRET_UPDATED:
        return (Event.ACTIVATED,)
    if action is Action.ROTATION_COMPLETED:
        return (Event.ROTATED, Event.ACTIVATED, Event.DEPRECATED)
    if action is Action.EXPIRATION_WARNING:
        return (Event.EXPIRED,) if record.details.get("expired") is True else ()
    if action is Action.REVOKED:
        return (Event.REVOKED,)
    if action is Action.SECRET_DELETED:
        return (Event.PURGED,) if record.details.get("purge") is True else (Event.ARCHIVED,)
    return ()


def is_failure(record: Record) -> bool:
    """A record that failed, or an access that was denied (whatever its `success`)."""
    return not record.success or record.action is Action.ACCESS_DENIED


@dataclass(frozen=True)
class Occurrences:
    count: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class OpenFinding:
    fingerprint: str
    org: str
    first_detected: datetime
    last_detected: datetime
    detections: int
    confirmed: bool
    #: The managed secret it is a leak of, when a finding record said so.
    secret: str | None


@dataclass(frozen=True)
class SecretReport:
    name: str
    org: str
    #: active, expired, archived or purged: the last of those after the last activation.
    status: str
    #: The first `secret_created`; None when the log starts later (then `first_seen`).
    created: datetime | None
    first_seen: datetime
    #: From `created` (else `first_seen`) to `now`.
    age: timedelta
    last_rotation: datetime | None
    #: The last activation: when the current value was set.
    current_since: datetime
    #: Rotation interval from the policy; None: no policy.
    policy: timedelta | None
    #: `current_since + policy`; None without a policy or once archived or purged.
    due: datetime | None
    #: How long past `due` at `now`; None when not overdue.
    overdue_by: timedelta | None
    events: Mapping[Event, Occurrences]
    #: (actor, reads) in the period, most reads first.
    readers: tuple[tuple[str, int], ...]
    #: Failed records in the period, by action.
    failures: Mapping[str, int]
    last_failure: datetime | None
    open_findings: tuple[OpenFinding, ...]


@dataclass(frozen=True)
class Report:
    now: datetime
    #: Readers and failures count from here; lifecycle dates always cover the whole log.
    since: datetime | None
    secrets: tuple[SecretReport, ...]
    #: Open findings linked to no managed secret (empty when the report names secrets).
    unattributed: tuple[OpenFinding, ...]


@dataclass
class _Secret:
    org: str
    name: str
    first_seen: datetime
    events: dict[Event, list[Any]] = field(default_factory=dict)
    status: str = "active"
    readers: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    last_failure: datetime | None = None


@dataclass
class _Finding:
    org: str
    fingerprint: str
    first: datetime
    last: datetime
    detections: int = 0
    confirmed: bool = False
    secret: str | None = None


def build_report(
    records: Iterable[Record],
    *,
    now: datetime,
    policies: Mapping[str, timedelta],
    since: datetime | None = None,
    secrets: frozenset[str] = frozenset(),
) -> Report:
    """The report over `records` (the whole log, in order: lifecycle dates need it).

    `policies` maps a secret's name to its rotation interval (missing: no policy); `since`
    limits readers and failures to a period; `secrets`, when given, limits the report to
    those names (the whole log is still read, for the findings linked to them)."""
    managed: dict[tuple[str, str], _Secret] = {}
    fingerprints: set[tuple[str, str]] = set()
    open_findings: dict[tuple[str, str], _Finding] = {}
    for record in records:
        if record.action in IGNORED:
            continue
        moment = record.time
        if record.action in _FINDINGS:
            key = (record.org, record.secret)
            fingerprints.add(key)
            _detected(open_findings, key, record, moment)
            continue
        if record.success and record.action in _CLOSING:
            _close(open_findings, record)
        if not record.secret:
            continue
        key = (record.org, record.secret)
        secret = managed.get(key)
        if secret is None:
            secret = managed[key] = _Secret(record.org, record.secret, moment)
        _update(secret, record, moment, since)
    reports = [
        _secret_report(secret, now, policies.get(secret.name), open_findings)
        for key, secret in sorted(managed.items())
        if key not in fingerprints and (not secrets or secret.name in secrets)
    ]
    linked = {(report.org, report.name) for report in reports}
    unattributed = (
        ()
        if secrets
        else tuple(
            _open(f)
            for f in sorted(open_findings.values(), key=lambda f: (f.first, f.fingerprint))
            if f.secret is None or (f.org, f.secret) not in linked
        )
    )
    return Report(now, since, tuple(reports), unattributed)


def _update(secret: _Secret, record: Record, moment: datetime, since: datetime | None) -> None:
    for event in lifecycle_events(record):
        seen = secret.events.get(event)
        if seen is None:
            secret.events[event] = [1, moment, moment]
        else:
            seen[0] += 1
            seen[2] = moment
        if event is Event.ACTIVATED:
            secret.status = "active"
        elif event in (Event.EXPIRED, Event.ARCHIVED, Event.PURGED):
            secret.status = event.value
    if since is not None and moment < since:
        return
    if record.action is Action.SECRET_READ and record.success:
        secret.readers[record.actor] += 1
    if is_failure(record):
        secret.failures[record.action.value] += 1
        secret.last_failure = moment


def _detected(
    findings: dict[tuple[str, str], _Finding],
    key: tuple[str, str],
    record: Record,
    moment: datetime,
) -> None:
    finding = findings.get(key)
    if finding is None:
        finding = findings[key] = _Finding(record.org, record.secret, moment, moment)
    finding.last = moment
    finding.detections += 1
    finding.confirmed = finding.confirmed or record.action is Action.FINDING_CONFIRMED
    link = record.details.get(LINK_SECRET)
    if isinstance(link, str) and link:
        finding.secret = link


def _close(findings: dict[tuple[str, str], _Finding], record: Record) -> None:
    named = record.details.get(LINK_FINDING)
    closed = {record.secret}
    if isinstance(named, str):
        closed.add(named)
    elif isinstance(named, list):
        closed.update(item for item in named if isinstance(item, str))
    for key in [
        key
        for key, finding in findings.items()
        if key[0] == record.org and (key[1] in closed or finding.secret == record.secret)
    ]:
        del findings[key]


def _secret_report(
    secret: _Secret,
    now: datetime,
    policy: timedelta | None,
    findings: dict[tuple[str, str], _Finding],
) -> SecretReport:
    events = {
        event: Occurrences(*secret.events[event]) for event in Event if event in secret.events
    }
    created = events[Event.CREATED].first if Event.CREATED in events else None
    activated = events.get(Event.ACTIVATED)
    current_since = activated.last if activated else secret.first_seen
    rotated = events.get(Event.ROTATED)
    due = None
    if policy is not None and secret.status not in ("archived", "purged"):
        due = current_since + policy
    overdue_by = now - due if due is not None and now > due else None
    return SecretReport(
        name=secret.name,
        org=secret.org,
        status=secret.status,
        created=created,
        first_seen=secret.first_seen,
        age=now - (created or secret.first_seen),
        last_rotation=rotated.last if rotated else None,
        current_since=current_since,
        policy=policy,
        due=due,
        overdue_by=overdue_by,
        events=events,
        readers=tuple(sorted(secret.readers.items(), key=lambda item: (-item[1], item[0]))),
        failures=dict(sorted(secret.failures.items())),
        last_failure=secret.last_failure,
        open_findings=tuple(
            _open(f)
            for f in sorted(findings.values(), key=lambda f: (f.first, f.fingerprint))
            if f.org == secret.org and f.secret == secret.name
        ),
    )


def _open(finding: _Finding) -> OpenFinding:
    return OpenFinding(
        finding.fingerprint,
        finding.org,
        finding.first,
        finding.last,
        finding.detections,
        finding.confirmed,
        finding.secret,
    )
