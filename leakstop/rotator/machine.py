"""The rotation machine: create → set → apply → test → finish, then revoke after the grace
period — with the store as its journal, so a run killed anywhere is resumed or rolled back by
the next one, on any machine, with no state of its own.

    create   the new value: minted by the issuer (a Vault secret-id), or made by the secret's
             handler (`generate`, or `module:function`) for an issuer to apply
    set      the store holds it as the `pending` version (check-and-set on the current one:
             a concurrent writer fails the rotation, never overwrites)
    apply    an applying issuer makes it a working credential (PostgreSQL: ALTER ROLE)
    test     a real login with the new value
    finish   `pending` becomes `current` (check-and-set again); the old value is `previous`
    revoke   the old value stops working: at once with `grace: 0`, else once the grace period
             is over, by `leakstop rotations run`

Failures before finish roll back: the pending version is discarded, a minted credential is
revoked, an applied single-role password is put back; the old credential stays current. After
finish nothing is rolled back silently. Every step is a `rotation_step` audit record.

A `pending` version younger than the lease is another run at work: this run stops. An older one
is a run that died: this run resumes it (the new value works: finish) or rolls it back (it does
not, and the current one does).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action
from leakstop.config.options import Options
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError, ProviderConflictError, ProviderUnreachableError
from leakstop.rotator.handlers import Handler, handler_for
from leakstop.rotator.providers.base import (
    Issuer,
    KnowsPendingBase,
    RetiresVersions,
    ShapesValues,
    Store,
    StoredVersion,
    SweepsOrphans,
    Value,
)

#: How long a pending version belongs to the run that wrote it; after that it is a dead run's.
LEASE = timedelta(minutes=10)
#: How a run that finds another run's rotation in flight says so.
BEING_ROTATED = "is being rotated by another run"


class Step(str, enum.Enum):
    CREATE = "create"
    SET = "set"
    APPLY = "apply"
    TEST = "test"
    FINISH = "finish"
    REVOKE = "revoke"


class Outcome(str, enum.Enum):
    ROTATED = "rotated"
    RESUMED = "resumed"
    ROLLED_BACK = "rolled back"
    FAILED = "failed"
    #: `respond` outcomes besides rotation: an emergency revocation, a response not taken.
    REVOKED = "revoked"
    SKIPPED = "skipped"
    #: `respond` told the owners through the configured notifiers (policy `notify`).
    NOTIFIED = "notified"
    #: `respond` opened an emergency revocation that waits for a second person.
    PENDING_APPROVAL = "pending approval"


@dataclass(frozen=True)
class RotationResult:
    secret: str
    outcome: Outcome
    old_version: str | None = None
    new_version: str | None = None
    #: When the old value is to be revoked; None: revoked already, or nothing to revoke.
    revoke_after: datetime | None = None
    error: str | None = None
    steps: tuple[Step, ...] = ()


@dataclass
class Machine:
    """Rotates one managed secret at a time through `store` and, if it has one, `issuer`."""

    store: Store
    issuer: Issuer | None
    audit_log: AuditLog
    context: Context
    lease: timedelta = LEASE
    #: Called after each step is done (tests stop the process there).
    after_step: Callable[[Step], None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))

    def rotate(
        self, secret: ManagedSecret, reason: str = "", leaked_version: str | None = None
    ) -> RotationResult:
        """Rotate `secret` now, or resume or roll back a rotation a dead run left behind.
        Raises ProviderConflictError when another run is rotating it.

        `leaked_version` is the current version when the caller decided to rotate (the one a
        leak was confirmed against): when the store has moved past it, another run rotated
        the leak away meanwhile and this one is SKIPPED, so that runs racing on one leak
        rotate it once, not once each."""
        where = secret.store.options
        pending = self.store.pending(secret.name, where)
        current = self.store.current(secret.name, where)
        if pending is not None:
            started = pending.created
            # `--resume` (no lease) takes over whatever the timestamps say: a store whose clock
            # runs a little ahead (or rounds up) dates the pending version in our future.
            held = self.lease > timedelta(0)
            if held and started is not None and self.clock() - started < self.lease:
                raise ProviderConflictError(
                    f"{secret.name} {BEING_ROTATED} (pending version "
                    f"{pending.version} since {started:%Y-%m-%d %H:%M} UTC); try again later"
                )
            return self._resume(secret, pending, current, reason)
        now = current.version if current else None
        if leaked_version is not None and now != leaked_version:
            return RotationResult(
                secret.name,
                Outcome.SKIPPED,
                leaked_version,
                now,
                error=f"already rotated by another run: the leaked version {leaked_version} "
                f"is no longer current (version {now} is)",
            )
        return self._rotate(secret, current, reason)

    # A new rotation

    def _rotate(
        self, secret: ManagedSecret, current: StoredVersion | None, reason: str
    ) -> RotationResult:
        name, where = secret.name, secret.store.options
        old = current.version if current else None
        self._record(Action.ROTATION_STARTED, secret, {"reason": reason, "from_version": old})
        done: list[Step] = []
        try:
            old_value = self.store.read(name, where) if current else None
        except LeakstopError as exc:
            # A started rotation always ends on record, even when it ends before its first step.
            return self._failed(secret, exc, old, None, done)
        self._sweep(secret, old_value)
        minted: Value | None = None
        try:
            if self.issuer is not None and self.issuer.mints:
                minted = value = self.issuer.mint(name, _how(secret))
            else:
                value = self._value_maker(secret)(secret, old_value)
            self._step(secret, Step.CREATE, done)
            try:
                version = self.store.put_pending(name, where, value, old).version
            except ProviderConflictError as exc:
                # Another run wrote its pending version between our look and our write (or
                # someone wrote a version): the same answer as a lease held, not a bare CAS.
                raise ProviderConflictError(
                    f"{name} {BEING_ROTATED} or was written meanwhile ({exc})"
                ) from exc
            self._step(secret, Step.SET, done, version=version)
        except LeakstopError as exc:
            if minted is not None and self.issuer is not None:
                self._revoke_quietly(secret, minted)
            return self._failed(secret, exc, old, None, done)
        try:
            if self.issuer is not None and not self.issuer.mints:
                self.issuer.apply(name, _how(secret), value, old_value)
                self._step(secret, Step.APPLY, done, version=version)
            if self.issuer is not None:
                self.issuer.test(name, _how(secret), value)
                self._step(secret, Step.TEST, done, version=version)
        except LeakstopError as exc:
            # What the issuer may hold: a minted value, anything after a done apply, and an
            # apply that failed after reaching the server (it may have committed).
            may_hold = (
                (self.issuer is not None and self.issuer.mints)
                or Step.APPLY in done
                or not isinstance(exc, ProviderUnreachableError)
            )
            return self._roll_back(secret, version, value, old_value, old, exc, done, may_hold)
        return self._finish(secret, version, old, old_value, done, Outcome.ROTATED)

    def _value_maker(self, secret: ManagedSecret) -> Handler:
        """The secret's handler; else the issuer's own way of shaping a value (PostgreSQL's
        two-role scheme stores `{username, password}`); else `generate`."""
        made = self.issuer.value_maker(secret) if isinstance(self.issuer, ShapesValues) else None
        return made if made is not None else handler_for(secret)

    def _sweep(self, secret: ManagedSecret, current: Value | None) -> None:
        """Destroy what a dead run minted but never stored (best effort: a failure here is
        recorded and the rotation goes on)."""
        if self.issuer is None or not self.issuer.mints:
            return
        if not isinstance(self.issuer, SweepsOrphans):
            return
        try:
            swept = self.issuer.sweep(secret.name, _how(secret), current, self.lease)
        except LeakstopError as exc:
            self._record(Action.REVOKED, secret, {"orphans": True}, success=False, error=str(exc))
            return
        if swept:
            self._record(
                Action.REVOKED,
                secret,
                {"orphans": swept, "why": "minted by a run that died before storing it"},
            )

    # A rotation a dead run left behind

    def _resume(
        self,
        secret: ManagedSecret,
        pending: StoredVersion,
        current: StoredVersion | None,
        reason: str,
    ) -> RotationResult:
        name, where = secret.name, secret.store.options
        old = current.version if current else None
        if old == pending.version:
            # A promotion made the pending version current and stopped before clearing the
            # journal: the old value is the version before it. Read as "the current value" it
            # would be the new one, and revoking it would leave no working credential.
            old = (
                self.store.pending_base(name, where)
                if isinstance(self.store, KnowsPendingBase)
                else None
            )
        self._record(
            Action.ROTATION_STARTED,
            secret,
            {"reason": reason, "resuming": pending.version, "from_version": old},
        )
        done: list[Step] = []
        try:
            value = self.store.read(name, where, pending.version)
            old_value = self.store.read(name, where, old) if old is not None else None
        except LeakstopError as exc:
            return self._failed(secret, exc, old, pending.version, done)
        if self.issuer is None:
            # Nothing outside the store saw the value: the dead run only had to finish.
            return self._finish(secret, pending.version, old, old_value, done, Outcome.RESUMED)
        how = _how(secret)
        try:
            if not self.issuer.mints:
                # Applying again is safe (issuers make apply repeatable); then it must work.
                self.issuer.apply(name, how, value, old_value)
                self._step(secret, Step.APPLY, done, version=pending.version)
            self.issuer.test(name, how, value)
            self._step(secret, Step.TEST, done, version=pending.version)
        except LeakstopError as exc:
            # A dead run may have applied it, whatever this run's apply met.
            return self._roll_back(
                secret, pending.version, value, old_value, old, exc, done, issuer_may_hold=True
            )
        return self._finish(secret, pending.version, old, old_value, done, Outcome.RESUMED)

    # Endings

    def _finish(
        self,
        secret: ManagedSecret,
        version: str,
        old: str | None,
        old_value: Value | None,
        done: list[Step],
        outcome: Outcome,
    ) -> RotationResult:
        try:
            self.store.promote(secret.name, secret.store.options, version, old)
        except LeakstopError as exc:
            if not self._is_current(secret, version):
                # The new credential works and is in the store as pending: the next run
                # finishes.
                return self._failed(secret, exc, old, version, done)
            # The store made it current and its answer was lost (a dropped connection, a
            # timeout): no later run sees a pending version, so finishing is up to this one,
            # or the old value would never be revoked.
        grace = secret.policy.grace
        revoke_after = None
        retiring = isinstance(self.store, RetiresVersions) and old is not None
        revoking = old_value is not None and (self.issuer is not None or retiring)
        # The finish record already says when the old value is due for revocation: a run
        # killed before it revokes (or before rotation_completed) leaves that on record, and
        # the next `rotate` or `rotations run` revokes it.
        due = self.clock() + max(grace, timedelta(0)) if revoking else None
        self._step(
            secret,
            Step.FINISH,
            done,
            version=version,
            details={"from_version": old, "revoke_after": due.isoformat()} if due else None,
        )
        if revoking:
            assert old_value is not None
            if grace <= timedelta(0):
                self.retire(secret, old, old_value)
                done.append(Step.REVOKE)
            else:
                revoke_after = due
        self._record(
            Action.ROTATION_COMPLETED,
            secret,
            {
                "from_version": old,
                "version": version,
                "outcome": outcome.value,
                "revoke_after": revoke_after.isoformat() if revoke_after else None,
            },
        )
        return RotationResult(secret.name, outcome, old, version, revoke_after, steps=tuple(done))

    def _is_current(self, secret: ManagedSecret, version: str) -> bool:
        try:
            current = self.store.current(secret.name, secret.store.options)
        except LeakstopError:
            return False
        return current is not None and current.version == version

    def revoke(self, secret: ManagedSecret, version: str | None, value: Value) -> None:
        """Make an old value stop working; recorded as `revoked` (raises ProviderError)."""
        assert self.issuer is not None
        try:
            self.issuer.revoke(secret.name, _how(secret), value)
        except LeakstopError as exc:
            self._record(
                Action.REVOKED, secret, {"version": version}, success=False, error=str(exc)
            )
            raise
        self._record(Action.REVOKED, secret, {"version": version})
        if self.after_step is not None:
            self.after_step(Step.REVOKE)

    def retire(self, secret: ManagedSecret, version: str | None, value: Value) -> None:
        """An old value's grace period is over: revoke it at the issuer, if there is one, and
        take its version out of service in a store that can (recorded as `revoked`)."""
        if self.issuer is not None:
            self.revoke(secret, version, value)
        if version is None or not isinstance(self.store, RetiresVersions):
            return
        try:
            self.store.retire(secret.name, secret.store.options, version)
        except LeakstopError as exc:
            self._record(
                Action.REVOKED,
                secret,
                {"version": version, "retired": True},
                success=False,
                error=str(exc),
            )
            raise
        if self.issuer is None:
            self._record(Action.REVOKED, secret, {"version": version, "retired": True})

    def _roll_back(
        self,
        secret: ManagedSecret,
        version: str,
        value: Value,
        old_value: Value | None,
        old: str | None,
        cause: LeakstopError,
        done: list[Step],
        issuer_may_hold: bool,
    ) -> RotationResult:
        """Before finish: discard the pending version and undo what the issuer did, so the
        old credential is the working, current one.

        When the issuer cannot undo it (its server went down mid-step) and `issuer_may_hold`
        the new value, the pending version is kept: the new value may be the one that works
        now (a password set before the server died), and the journal is the only place that
        holds it. The next run resumes it (finish, if it works) or rolls back again; the
        result is FAILED, not rolled back."""
        problems = []
        undone = True
        if self.issuer is not None:
            try:
                if self.issuer.mints:
                    self.issuer.revoke(secret.name, _how(secret), value)
                elif old_value is not None:
                    self.issuer.apply(secret.name, _how(secret), old_value, value)
            except LeakstopError as exc:
                problems.append(str(exc))
                undone = not issuer_may_hold
        if undone:
            try:
                self.store.discard_pending(secret.name, secret.store.options, version)
            except LeakstopError as exc:
                problems.append(str(exc))
        self._record(
            Action.ROLLBACK,
            secret,
            {"version": version, "back_to": old, "cause": str(cause), "pending_kept": not undone},
            success=not problems,
            error="; ".join(problems) or None,
        )
        if not undone:
            kept = LeakstopError(
                # The issuer's own error is in the rollback record; it is mostly the cause
                # again (its server is down), so the one line does not repeat it.
                f"{cause}; the issuer could not undo it, so pending version {version} is kept "
                "for the next run to finish or roll back"
            )
            return self._failed(secret, kept, old, version, done)
        result = self._failed(secret, cause, old, version, done)
        return RotationResult(
            result.secret, Outcome.ROLLED_BACK, old, version, error=result.error, steps=result.steps
        )

    def _failed(
        self,
        secret: ManagedSecret,
        exc: LeakstopError,
        old: str | None,
        version: str | None,
        done: list[Step],
    ) -> RotationResult:
        self._record(
            Action.ROTATION_FAILED,
            secret,
            {"from_version": old, "version": version, "steps": [s.value for s in done]},
            success=False,
            error=str(exc),
        )
        return RotationResult(
            secret.name, Outcome.FAILED, old, version, error=str(exc), steps=tuple(done)
        )

    def _revoke_quietly(self, secret: ManagedSecret, value: Value) -> None:
        """A minted credential the store never took: revoke it, recorded, without raising."""
        # Recorded by revoke(); the rotation's own failure is what the user sees.
        with contextlib.suppress(LeakstopError):
            self.revoke(secret, None, value)

    # Records

    def _step(
        self,
        secret: ManagedSecret,
        step: Step,
        done: list[Step],
        version: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        done.append(step)
        self._record(
            Action.ROTATION_STEP,
            secret,
            {"step": step.value, "version": version, **(details or {})},
        )
        if self.after_step is not None:
            self.after_step(step)

    def _record(
        self,
        action: Action,
        secret: ManagedSecret,
        details: Mapping[str, Any],
        *,
        success: bool = True,
        error: str | None = None,
    ) -> None:
        provider = {"store": self.store.name, "issuer": self.issuer.name if self.issuer else None}
        self.audit_log.append(
            action,
            secret.name,
            self.context.in_org(secret.org),
            details={**provider, **details},
            success=success,
            error=error,
        )


def _how(secret: ManagedSecret) -> Options:
    assert secret.issuer is not None
    return secret.issuer.options
