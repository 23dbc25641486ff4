"""`leakstop rotations run`: act on what `schedule.due` found, once, as a cron job would.

* Due now and `auto_rotate: true`, kept in the local store with no issuer: a new value from
  the secret's handler, written as a new current version with check-and-set on the version
  read first (a concurrent writer makes the rotation fail, never overwrite); recorded as
  `rotation_started` then `rotation_completed` (or `rotation_failed`).
* Due now otherwise (`auto_rotate` off, or a store or issuer that the rotation machine
  handles): a `rotation_scheduled` record, once per due date, for a person or the machine.
* Expired or expiring: an `expiration_warning` record, once per day.

Nothing here holds a value longer than the write that stores it, and no record carries one.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Record
from leakstop.config import Config
from leakstop.config.providers import LOCAL
from leakstop.errors import LeakstopError
from leakstop.rotator.handlers import handler_for
from leakstop.rotator.schedule import DueItem, Status, is_due_now
from leakstop.store import LocalStore

#: Opens the local store of one org (the CLI supplies the master key and the audit log).
StoreOpener = Callable[[str], LocalStore]


class Done(str, enum.Enum):
    ROTATED = "rotated"
    FAILED = "failed"
    SCHEDULED = "scheduled"
    WARNED = "warned"
    ALREADY_RECORDED = "already recorded"


@dataclass(frozen=True)
class RunOutcome:
    item: DueItem
    done: Done
    detail: str = ""
    #: The new current version, for a rotation.
    version: int | None = None


def run_due(
    items: Iterable[DueItem],
    config: Config,
    open_store: StoreOpener,
    audit_log: AuditLog,
    context: Context,
    now: datetime,
    recorded: Iterable[Record] = (),
) -> list[RunOutcome]:
    """Act on each item; `recorded` are the log's recent `rotation_scheduled` and
    `expiration_warning` records, so a repeated run does not repeat them."""
    seen = {_mark(r.action, r.secret, r.details.get("due")) for r in recorded}
    stores: dict[str, LocalStore] = {}
    outcomes = []
    for item in items:
        secret = item.secret
        if item.status in (Status.EXPIRED, Status.EXPIRING):
            outcomes.append(
                _once(
                    seen,
                    audit_log,
                    context,
                    item,
                    Action.EXPIRATION_WARNING,
                    now.date().isoformat(),
                    {"expired": item.status is Status.EXPIRED},
                    Done.WARNED,
                )
            )
            continue
        if not is_due_now(item, now):
            continue
        local = config.provider(secret.store.provider).type == LOCAL and secret.issuer is None
        if secret.policy.auto_rotate and local:
            if secret.org not in stores:
                stores[secret.org] = open_store(secret.org)
            outcomes.append(_rotate(stores[secret.org], audit_log, context, item))
            continue
        why = (
            "auto_rotate is off: rotate it with `leakstop rotate`"
            if not secret.policy.auto_rotate
            else "its store or issuer is rotated by the rotation machine"
        )
        due_key = item.due_at.isoformat() if item.due_at else now.date().isoformat()
        outcomes.append(
            _once(
                seen,
                audit_log,
                context,
                item,
                Action.ROTATION_SCHEDULED,
                due_key,
                {"why": why},
                Done.SCHEDULED,
            )
        )
    return outcomes


def _rotate(store: LocalStore, audit_log: AuditLog, context: Context, item: DueItem) -> RunOutcome:
    secret = item.secret
    details = {"reason": item.reason, "store": "local", "schedule": True}
    audit_log.append(
        Action.ROTATION_STARTED, secret.name, _in_org(context, secret.org), details=details
    )
    try:
        expected = store.latest_version(secret.name)
        current = store.read(secret.name) if expected is not None else None
        value = handler_for(secret)(secret, current)
        written = store.write(secret.name, value, expected_version=expected)
    except LeakstopError as exc:
        audit_log.append(
            Action.ROTATION_FAILED,
            secret.name,
            _in_org(context, secret.org),
            details=details,
            success=False,
            error=str(exc),
        )
        return RunOutcome(item, Done.FAILED, str(exc))
    audit_log.append(
        Action.ROTATION_COMPLETED,
        secret.name,
        _in_org(context, secret.org),
        details={**details, "version": written.number},
    )
    return RunOutcome(item, Done.ROTATED, f"version {written.number}", written.number)


def _once(
    seen: set[tuple[str, str, object]],
    audit_log: AuditLog,
    context: Context,
    item: DueItem,
    action: Action,
    due: str,
    extra: dict[str, object],
    done: Done,
) -> RunOutcome:
    mark = _mark(action, item.secret.name, due)
    if mark in seen:
        return RunOutcome(item, Done.ALREADY_RECORDED)
    seen.add(mark)
    audit_log.append(
        action,
        item.secret.name,
        _in_org(context, item.secret.org),
        details={"due": due, "status": item.status.value, "reason": item.reason, **extra},
    )
    return RunOutcome(item, done, item.reason)


def _mark(action: Action, secret: str, due: object) -> tuple[str, str, object]:
    return (action.value, secret, due)


def _in_org(context: Context, org: str) -> Context:
    return dataclasses.replace(context, org=org)
