"""Emergency revocation requests and their approvals, as the audit log tells them.

The audit log is the only state. A request is opened by one record, `approval_requested` (it
waits for a second person) or `revocation_requested` (it needs none), which holds what is to
be revoked, why, how severe and who asked; `approval_granted` or `rejected` decides it; one
`revoked` record per target (and `version_disabled` where the store took the version out of
service) tells how it went. Every record carries `details.request`, the request id.

Why the log and not files of its own: the log is hash-chained (HMAC with LEAKSTOP_AUDIT_KEY),
so an edited, deleted or forged request or approval shows up in `leakstop audit verify`; it is
already shipped to the configured sinks, so a request made on a CI runner is not lost with the
runner; and there is no second record of the truth that could disagree with the first.
Deciding is done under the log's own lock (see `revocation.py`), so two approvals of one request
cannot both pass.

    pending ──approve──▶ approved ──revocations──▶ done | failed
       └─────reject────▶ rejected
    (no approval needed: opened as approved)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakstop.audit.record import Action, Record
from leakstop.errors import UsageError


class Status(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DONE = "done"
    FAILED = "failed"


#: The records that make up requests' histories.
ACTIONS = frozenset(
    {
        Action.APPROVAL_REQUESTED,
        Action.REVOCATION_REQUESTED,
        Action.APPROVAL_GRANTED,
        Action.REJECTED,
        Action.REVOKED,
        Action.VERSION_DISABLED,
    }
)
_OPENING = (Action.APPROVAL_REQUESTED, Action.REVOCATION_REQUESTED)


@dataclass(frozen=True)
class Target:
    """One managed secret a request revokes: the version that was current when it was asked
    for (a rotation since then does not make a request revoke the new value)."""

    secret: str
    org: str
    version: str

    @property
    def key(self) -> str:
        return f"{self.org}/{self.secret}"

    def to_json(self) -> dict[str, str]:
        return {"secret": self.secret, "org": self.org, "version": self.version}


@dataclass(frozen=True)
class Order:
    """What someone asked to revoke, and why: the body of a request's opening record."""

    kind: str
    #: What was named on the command line: a secret, `fingerprint:F` or `type:T`.
    scope: str
    targets: tuple[Target, ...]
    reason: str
    severity: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "targets": [t.to_json() for t in self.targets],
            "reason": self.reason,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class Outcome:
    """How one target went: revoked at its issuer (or not), its store version disabled."""

    revoked: bool
    errors: tuple[str, ...] = ()


@dataclass
class Request:
    id: str
    order: Order
    requester: str
    requested_at: str
    status: Status
    #: Why it waits for approval; None when it needed none.
    approval_needed: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    #: `person`, or `environment` (a protected GitHub Environment).
    via: str | None = None
    decision_reason: str | None = None
    #: Target key → how it went.
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            **self.order.to_json(),
            "requester": self.requester,
            "requested_at": self.requested_at,
            "approval_needed": self.approval_needed,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "via": self.via,
            "decision_reason": self.decision_reason,
            "outcomes": {
                key: {"revoked": o.revoked, "errors": list(o.errors)}
                for key, o in self.outcomes.items()
            },
        }


def histories(records: Iterable[Record]) -> dict[str, Request]:
    """Every request in `records` (oldest first, as the log holds them), by id, in the order
    they were opened. Records of unknown requests are ignored: a log kept shorter than a
    request's life (archived, pruned) loses the request, not the run."""
    requests: dict[str, Request] = {}
    for record in records:
        request_id = record.details.get("request")
        if not isinstance(request_id, str) or record.action not in ACTIONS:
            continue
        if record.action in _OPENING:
            if request_id not in requests:
                requests[request_id] = _opened(request_id, record)
            continue
        request = requests.get(request_id)
        if request is not None:
            _apply(request, record)
    for request in requests.values():
        _settle(request)
    return requests


def _opened(request_id: str, record: Record) -> Request:
    details = record.details
    order = Order(
        kind=str(details.get("kind", "revoke")),
        scope=str(details.get("scope", record.secret)),
        targets=tuple(_target(item) for item in details.get("targets") or () if _is_map(item)),
        reason=str(details.get("reason", "")),
        severity=str(details.get("severity", "")),
    )
    waits = record.action is Action.APPROVAL_REQUESTED
    return Request(
        id=request_id,
        order=order,
        requester=record.actor,
        requested_at=record.timestamp,
        status=Status.PENDING if waits else Status.APPROVED,
        approval_needed=str(details.get("why")) if waits else None,
    )


def _apply(request: Request, record: Record) -> None:
    details = record.details
    if record.action in (Action.APPROVAL_GRANTED, Action.REJECTED):
        if request.status is not Status.PENDING:
            return  # only the first decision counts (the lock makes a second one impossible)
        granted = record.action is Action.APPROVAL_GRANTED
        request.status = Status.APPROVED if granted else Status.REJECTED
        request.decided_by = str(details.get("by") or record.actor)
        request.decided_at = record.timestamp
        request.via = str(details.get("via", "person")) if granted else None
        request.decision_reason = details.get("reason") if not granted else None
        return
    if request.status is not Status.APPROVED:
        return  # nothing runs for a pending or rejected request
    key = f"{record.org}/{record.secret}"
    before = request.outcomes.get(key, Outcome(False))
    errors = before.errors + ((record.error or "failed",) if not record.success else ())
    if record.action is Action.REVOKED:
        request.outcomes[key] = Outcome(record.success, errors)
    else:
        request.outcomes[key] = Outcome(before.revoked, errors)


def _settle(request: Request) -> None:
    if request.status is not Status.APPROVED:
        return
    keys = {t.key for t in request.order.targets}
    if keys and keys <= set(request.outcomes):
        clean = all(o.revoked and not o.errors for o in request.outcomes.values())
        request.status = Status.DONE if clean else Status.FAILED


def _target(item: Mapping[str, Any]) -> Target:
    return Target(str(item.get("secret", "")), str(item.get("org", "")), str(item.get("version")))


def _is_map(item: Any) -> bool:
    return isinstance(item, Mapping)


def check_decision(
    request_id: str, requests: Mapping[str, Request], by: str, actor: str, *, approving: bool
) -> Request:
    """The pending request `request_id`, if `by` (and the `actor` running the command) may
    decide it. Raises UsageError (one line) for an unknown id, a request decided already, and
    a requester approving their own (withdrawing it with a rejection is theirs to do)."""
    request = requests.get(request_id)
    if request is None:
        raise UsageError(
            f"no revocation request {request_id} in the audit log (see leakstop revocations)"
        )
    if request.status is not Status.PENDING:
        how = f" by {request.decided_by}" if request.decided_by else ""
        raise UsageError(
            f"request {request_id} is {request.status.value}{how}, not pending: "
            "it cannot be decided again"
        )
    requester = _person(request.requester)
    if approving and requester in (_person(by), _person(actor)):
        raise UsageError(
            f"request {request_id} was made by {request.requester}: a requester cannot approve "
            "their own request; another person must"
        )
    return request


def _person(name: str) -> str:
    return name.strip().casefold()
