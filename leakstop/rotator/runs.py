"""`leakstop rotations run`: act on what `schedule.due` found, once, as a cron job would.

* Due now and `auto_rotate: true`: rotated by the rotation machine (create, set, apply, test,
  finish; see machine.py), recorded step by step.
* Due now and `auto_rotate` off: a `rotation_scheduled` record, once per due date, for a
  person to approve (`leakstop rotate NAME --apply`).
* A rotation finished with a grace period that is now over: the old value is revoked.
* Expired or expiring: an `expiration_warning` record, once per day.

Nothing here holds a value longer than the write that stores it, and no record carries one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Record
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError
from leakstop.rotator.machine import Machine
from leakstop.rotator.machine import Outcome as Rotated
from leakstop.rotator.providers.registry import Providers
from leakstop.rotator.schedule import DueItem, Status, is_due_now

#: The records `revoke_after_grace` reads.
REVOCATION_RECORDS = frozenset({Action.ROTATION_COMPLETED, Action.ROTATION_STEP, Action.REVOKED})


class Done(str, enum.Enum):
    ROTATED = "rotated"
    FAILED = "failed"
    SCHEDULED = "scheduled"
    WARNED = "warned"
    REVOKED = "revoked"
    ALREADY_RECORDED = "already recorded"


@dataclass(frozen=True)
class RunOutcome:
    item: DueItem
    done: Done
    detail: str = ""
    #: The new current version, for a rotation.
    version: str | None = None


def run_due(
    items: Iterable[DueItem],
    providers: Providers,
    audit_log: AuditLog,
    context: Context,
    now: datetime,
    recorded: Iterable[Record] = (),
    max_concurrent: int = 1,
) -> list[RunOutcome]:
    """Act on each item; `recorded` are the log's recent `rotation_scheduled` and
    `expiration_warning` records, so a repeated run does not repeat them. Up to
    `max_concurrent` rotations run at once (each secret's own lock is in its store); the
    outcomes keep the items' order."""
    seen = {_mark(r.action, r.secret, r.details.get("due")) for r in recorded}
    outcomes: list[RunOutcome | DueItem] = []
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
        if secret.policy.auto_rotate:
            outcomes.append(item)  # rotated below, maybe in parallel
            continue
        due_key = item.due_at.isoformat() if item.due_at else now.date().isoformat()
        outcomes.append(
            _once(
                seen,
                audit_log,
                context,
                item,
                Action.ROTATION_SCHEDULED,
                due_key,
                {"why": "auto_rotate is off: rotate it with `leakstop rotate NAME --apply`"},
                Done.SCHEDULED,
            )
        )
    return _rotate_all(outcomes, providers, audit_log, context, max_concurrent)


def _rotate_all(
    slots: list[RunOutcome | DueItem],
    providers: Providers,
    audit_log: AuditLog,
    context: Context,
    max_concurrent: int,
) -> list[RunOutcome]:
    """Each DueItem in `slots` replaced by the outcome of its rotation."""
    due = [slot for slot in slots if isinstance(slot, DueItem)]

    def rotate(item: DueItem) -> RunOutcome:
        return _rotate(providers, audit_log, context, item)

    if max_concurrent > 1 and len(due) > 1:
        with ThreadPoolExecutor(min(max_concurrent, len(due))) as pool:
            rotated = iter(list(pool.map(rotate, due)))
    else:
        rotated = iter([rotate(item) for item in due])
    return [next(rotated) if isinstance(slot, DueItem) else slot for slot in slots]


def _rotate(
    providers: Providers, audit_log: AuditLog, context: Context, item: DueItem
) -> RunOutcome:
    secret = item.secret
    try:
        store = providers.store(secret.store.provider, secret.org)
        issuer = providers.issuer(secret.issuer.provider) if secret.issuer else None
        result = Machine(store, issuer, audit_log, context).rotate(secret, reason=item.reason)
    except LeakstopError as exc:
        return RunOutcome(item, Done.FAILED, str(exc))
    if result.outcome in (Rotated.FAILED, Rotated.ROLLED_BACK):
        return RunOutcome(item, Done.FAILED, f"{result.outcome.value}: {result.error}")
    detail = f"version {result.old_version} → {result.new_version}"
    if result.revoke_after is not None:
        detail += f"; the old value is revoked after {result.revoke_after:%Y-%m-%d %H:%M} UTC"
    return RunOutcome(item, Done.ROTATED, detail, result.new_version)


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
        context.in_org(item.secret.org),
        details={"due": due, "status": item.status.value, "reason": item.reason, **extra},
    )
    return RunOutcome(item, done, item.reason)


def _mark(action: Action, secret: str, due: object) -> tuple[str, str, object]:
    return (action.value, secret, due)


def revoke_after_grace(
    secrets: Iterable[ManagedSecret],
    records: Iterable[Record],
    providers: Providers,
    audit_log: AuditLog,
    context: Context,
    now: datetime,
) -> list[RunOutcome]:
    """Revoke the old values whose grace period is over: a `rotation_completed` record, or
    the `finish` step of a run that died before completing, with a `revoke_after` in the past
    and no later `revoked` record for its old version. `records` are the log's
    REVOCATION_RECORDS, oldest first."""
    by_name = {(s.org, s.name): s for s in secrets}
    waiting: dict[tuple[str, str, str], datetime] = {}
    for record in records:
        version = record.details.get("from_version") or record.details.get("version")
        key = (record.org, record.secret, str(version))
        schedules = record.action is Action.ROTATION_COMPLETED or (
            record.action is Action.ROTATION_STEP and record.details.get("step") == "finish"
        )
        if schedules and record.details.get("revoke_after"):
            waiting[key] = datetime.fromisoformat(str(record.details["revoke_after"]))
        elif record.action is Action.REVOKED and record.success:
            waiting.pop(key, None)
    outcomes = []
    for (org, name, version), after in sorted(waiting.items(), key=lambda kv: kv[1]):
        secret = by_name.get((org, name))
        if secret is None or after > now:
            continue
        item = DueItem(
            secret, Status.DUE, f"grace period over at {after:%Y-%m-%d %H:%M}", after, None
        )
        try:
            store = providers.store(secret.store.provider, org)
            issuer = providers.issuer(secret.issuer.provider) if secret.issuer else None
            value = store.read(name, secret.store.options, version)
            Machine(store, issuer, audit_log, context).retire(secret, version, value)
        except LeakstopError as exc:
            outcomes.append(RunOutcome(item, Done.FAILED, f"revoking version {version}: {exc}"))
            continue
        outcomes.append(RunOutcome(item, Done.REVOKED, f"version {version}", version))
    return outcomes
