"""Emergency revocation: a managed secret's credential disabled at its issuer and its version
taken out of service in its store, with no replacement; with a second person's approval when
the severity or the number of secrets calls for one (`revocation:` in the config).

    revocations = Revocations(config, audit_log, providers, context)
    request = revocations.open(order)           # runs now, or waits as a pending request
    request = revocations.approve(id, by="bob") # another person releases it: it runs
    revocations.reject(id, by="bob", reason="false alarm")

Per target, in order: the value of the version that was current when the revocation was asked
for is read from the store; the issuer revokes it (PostgreSQL: the role's password no longer
logs in); the store disables that version (`VersionDisabler`, where the store has one). Each
step is an audit record carrying the request id (see approvals.py for the states).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.query import Query, select
from leakstop.audit.record import Action
from leakstop.config import Config
from leakstop.config.revocation import ApprovalMode, RevocationSettings, parse_severity
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError, UsageError
from leakstop.rotator.approvals import (
    ACTIONS,
    Order,
    Request,
    Status,
    Target,
    check_decision,
    histories,
)
from leakstop.rotator.providers.base import disabler
from leakstop.rotator.providers.registry import Providers

#: Events a protected environment's approval means nothing for: their code is the requester's.
_UNTRUSTED_EVENTS = frozenset({"pull_request", "pull_request_target"})
ENVIRONMENT_VARIABLE = "LEAKSTOP_APPROVAL_ENVIRONMENT"


def new_request_id() -> str:
    return "rv-" + secrets.token_hex(5)


@dataclass
class Revocations:
    config: Config
    audit_log: AuditLog
    providers: Providers
    context: Context
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def settings(self) -> RevocationSettings:
        return self.config.revocation or RevocationSettings()

    def why_approval(self, order: Order) -> str | None:
        """Why `order` waits for approval; None when it may run at once."""
        return self.settings.needs_approval(
            parse_severity(order.severity), len(order.targets), many=order.kind == "revoke-all"
        )

    def open(self, order: Order) -> Request:
        """Record `order` and run it, or leave it pending when it needs an approval that this
        run cannot give (see `environment`)."""
        why = self.why_approval(order)
        request_id = new_request_id()
        details: dict[str, Any] = {"request": request_id, **order.to_json()}
        subject = order.targets[0].secret if len(order.targets) == 1 else ""
        if why is None:
            self.audit_log.append(
                Action.REVOCATION_REQUESTED, subject, self.context, details=details
            )
            return self._run(request_id)
        environment = self.environment()
        self.audit_log.append(
            Action.APPROVAL_REQUESTED, subject, self.context, details={**details, "why": why}
        )
        if environment is None:
            return self.requests()[request_id]
        # The job waited for the Environment's required reviewers before it started: that
        # was the second person. Recorded as such; the self-approval rule is GitHub's to keep
        # ("Prevent self-review" on the Environment).
        self.audit_log.append(
            Action.APPROVAL_GRANTED,
            subject,
            self.context,
            details={
                "request": request_id,
                "by": f"environment:{environment}",
                "via": ApprovalMode.ENVIRONMENT.value,
                "environment": environment,
            },
        )
        return self._run(request_id)

    def approve(self, request_id: str, by: str) -> Request:
        """Release the pending request `request_id` (by `by`, who must not be its requester;
        nor may the person running this be) and run it."""
        with self.audit_log.exclusive(self.context) as writer:
            request = check_decision(
                request_id, self._requests(), by, self.context.actor, approving=True
            )
            writer.append(
                Action.APPROVAL_GRANTED,
                _subject(request),
                self.context,
                details={"request": request_id, "by": by, "via": ApprovalMode.PERSON.value},
            )
        return self._run(request_id)

    def reject(self, request_id: str, by: str, reason: str) -> Request:
        """Drop the pending request `request_id`: nothing is revoked."""
        with self.audit_log.exclusive(self.context) as writer:
            request = check_decision(
                request_id, self._requests(), by, self.context.actor, approving=False
            )
            writer.append(
                Action.REJECTED,
                _subject(request),
                self.context,
                details={"request": request_id, "by": by, "reason": reason},
            )
        return self.requests()[request_id]

    def requests(self) -> dict[str, Request]:
        """Every request in the audit log, by id, oldest first."""
        return self._requests()

    def environment(self) -> str | None:
        """The protected GitHub Environment whose approval this run carries, with `approval:
        environment` inside GitHub Actions; None elsewhere. UsageError when the run claims one
        it cannot have (a pull request, a name other than the configured one)."""
        settings, environ = self.settings, self.environ
        if settings.approval is not ApprovalMode.ENVIRONMENT:
            return None
        if environ.get("GITHUB_ACTIONS") != "true":
            return None
        if environ.get("GITHUB_EVENT_NAME", "") in _UNTRUSTED_EVENTS:
            raise UsageError(
                "revocations needing approval never run for pull requests: run the revocation "
                "from a workflow on the default branch"
            )
        name = environ.get(ENVIRONMENT_VARIABLE, "").strip()
        if not name:
            raise UsageError(
                f"approval: environment needs {ENVIRONMENT_VARIABLE} set to the GitHub "
                "Environment the job runs in (its required reviewers are the approval)"
            )
        if settings.environment is not None and name != settings.environment:
            raise UsageError(
                f"{ENVIRONMENT_VARIABLE} is {name}, but revocation.environment is "
                f"{settings.environment}: only that Environment's reviewers approve revocations"
            )
        return name

    # Running an approved request

    def _run(self, request_id: str) -> Request:
        request = self._requests()[request_id]
        assert request.status is Status.APPROVED
        for target in request.order.targets:
            self._revoke(request, target)
        return self._requests()[request_id]

    def _revoke(self, request: Request, target: Target) -> None:
        """One target: the issuer revokes the recorded version's value, then the store
        disables that version. Every outcome is recorded; nothing is raised."""
        context = self.context.in_org(target.org)
        details: dict[str, Any] = {
            "request": request.id,
            "version": target.version,
            "reason": request.order.reason,
            "severity": request.order.severity,
        }
        secret = self._managed(target)
        try:
            if secret is None:
                raise UsageError(f"{target.secret} is no longer a managed secret in the config")
            store = self.providers.store(secret.store.provider, secret.org)
            issuer = self.providers.issuer(secret.issuer.provider) if secret.issuer else None
            details.update(store=store.name, issuer=issuer.name if issuer else None)
            version_disabler = disabler(store)
            if issuer is None and version_disabler is None:
                raise UsageError(
                    f"{secret.name} has no issuer, and store {store.name} cannot disable "
                    "versions: there is nothing to revoke it at"
                )
            if issuer is not None and secret.issuer is not None:
                value = store.read(secret.name, secret.store.options, target.version)
                issuer.revoke(secret.name, secret.issuer.options, value)
        except LeakstopError as exc:
            self.audit_log.append(
                Action.REVOKED, target.secret, context, details=details, success=False,
                error=str(exc),
            )  # fmt: skip
            return
        self.audit_log.append(Action.REVOKED, target.secret, context, details=details)
        if version_disabler is None:
            return
        disabled = {"request": request.id, "version": target.version, "store": store.name}
        try:
            version_disabler.disable(secret.name, secret.store.options, target.version)
        except LeakstopError as exc:
            self.audit_log.append(
                Action.VERSION_DISABLED, target.secret, context, details=disabled,
                success=False, error=str(exc),
            )  # fmt: skip
            return
        self.audit_log.append(Action.VERSION_DISABLED, target.secret, context, details=disabled)

    def _managed(self, target: Target) -> ManagedSecret | None:
        return next(
            (s for s in self.config.secrets if s.name == target.secret and s.org == target.org),
            None,
        )

    def _requests(self) -> dict[str, Request]:
        return histories(select(self.audit_log.folder, Query(actions=ACTIONS)))


def _subject(request: Request) -> str:
    targets = request.order.targets
    return targets[0].secret if len(targets) == 1 else ""
