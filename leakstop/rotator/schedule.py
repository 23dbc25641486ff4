"""When each managed secret is due: its policy (config `secrets:`) against the audit log's
record of when its current value was made.

A value is made by `secret_created`, `secret_updated` or `rotation_completed` (successful);
the next rotation is that time plus the policy's interval. `on_access` secrets are due once
read after their last rotation; `never` secrets only when they expire.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from leakstop.audit.record import Action, Record
from leakstop.config.rotation import Unscheduled
from leakstop.config.secrets import ManagedSecret
from leakstop.durations import format_duration

#: Records that put a new value in place.
MADE = frozenset({Action.SECRET_CREATED, Action.SECRET_UPDATED, Action.ROTATION_COMPLETED})
#: What `due` needs from the log; a query selects only these.
SCHEDULE_ACTIONS = MADE | {Action.SECRET_READ}


class Status(str, enum.Enum):
    """Most urgent first."""

    EXPIRED = "expired"
    OVERDUE = "overdue"
    DUE = "due"
    EXPIRING = "expiring"
    UPCOMING = "upcoming"


@dataclass(frozen=True)
class History:
    """What the log says about one secret."""

    #: When its current value was made; None: no record of it.
    made: datetime | None = None
    #: Its last successful read.
    read: datetime | None = None


@dataclass(frozen=True)
class DueItem:
    secret: ManagedSecret
    status: Status
    #: Why, in words (`interval 90d, last rotated 2026-09-01`).
    reason: str
    #: When the next rotation is due; None for secrets with no schedule.
    due_at: datetime | None
    made: datetime | None


def histories(records: Iterable[Record], names: Iterable[str]) -> dict[tuple[str, str], History]:
    """(org, name) → History, from records in log order (only SCHEDULE_ACTIONS matter)."""
    wanted = set(names)
    found: dict[tuple[str, str], History] = {}
    for record in records:
        if record.secret not in wanted or not record.success:
            continue
        key = (record.org, record.secret)
        current = found.get(key, History())
        if record.action in MADE:
            found[key] = History(record.time, current.read)
        elif record.action is Action.SECRET_READ:
            found[key] = History(current.made, record.time)
    return found


def due(
    secrets: Sequence[ManagedSecret],
    history: Mapping[tuple[str, str], History],
    now: datetime,
    within: timedelta = timedelta(0),
) -> list[DueItem]:
    """The secrets that are overdue, due within `within`, expired or expiring (within their
    `notify_before`, or `within`), most urgent first."""
    items = []
    for secret in secrets:
        record = history.get((secret.org, secret.name), History())
        item = _rotation(secret, record, now, within) or _expiry(secret, record, now, within)
        if item is not None:
            items.append(item)
    order = list(Status)
    return sorted(items, key=lambda i: (order.index(i.status), i.due_at or now, i.secret.name))


def is_due_now(item: DueItem, now: datetime) -> bool:
    """Rotate it now: overdue, or due (on access, never made) — not merely soon."""
    if item.status is Status.OVERDUE:
        return True
    return item.status is Status.DUE and (item.due_at is None or item.due_at <= now)


def _rotation(
    secret: ManagedSecret, record: History, now: datetime, within: timedelta
) -> DueItem | None:
    interval = secret.policy.interval
    if interval is Unscheduled.NEVER:
        return None
    if interval is Unscheduled.ON_ACCESS:
        if record.read is not None and (record.made is None or record.read > record.made):
            reason = f"on_access: read {_day(record.read)} after its last rotation"
            return DueItem(secret, Status.DUE, reason, None, record.made)
        return None
    assert isinstance(interval, timedelta)
    if record.made is None:
        return DueItem(secret, Status.DUE, "no rotation on record in the audit log", None, None)
    due_at = record.made + interval
    reason = f"every {format_duration(interval)}, last {_day(record.made)}"
    if due_at <= now:
        return DueItem(secret, Status.OVERDUE, f"{reason}; due {_day(due_at)}", due_at, record.made)
    notice = max(within, secret.policy.notify_before or timedelta(0))
    if due_at - notice <= now:
        status = Status.DUE if due_at - within <= now else Status.UPCOMING
        return DueItem(secret, status, f"{reason}; due {_day(due_at)}", due_at, record.made)
    return None


def _expiry(
    secret: ManagedSecret, record: History, now: datetime, within: timedelta
) -> DueItem | None:
    expires = secret.policy.expires
    if expires is None:
        return None
    end = datetime.combine(expires, time.max, tzinfo=timezone.utc)
    if end < now:
        return DueItem(secret, Status.EXPIRED, f"expired {expires}", end, record.made)
    notice = max(within, secret.policy.notify_before or timedelta(0))
    if end - notice <= now:
        return DueItem(secret, Status.EXPIRING, f"expires {expires}", end, record.made)
    return None


def _day(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d")
