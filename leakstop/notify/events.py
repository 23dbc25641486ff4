"""Events built from what the rotator and the audit log produce. Each builder takes names,
outcomes and findings' public parts; none takes or keeps a secret value."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from leakstop.config.notifications import EventKind
from leakstop.finding import Finding, Severity
from leakstop.notify.event import Event, Fact

if TYPE_CHECKING:
    from leakstop.audit.anomaly import Anomaly
    from leakstop.config.secrets import ManagedSecret
    from leakstop.rotator.machine import RotationResult
    from leakstop.rotator.runs import RunOutcome


def rotation_event(
    result: RotationResult, secret: ManagedSecret, reason: str = "", action: str = "rotate"
) -> Event | None:
    """A finished, failed, rolled-back rotation, or an emergency revocation (`respond`,
    `action` revoke) done or failed; None for a response not taken."""
    from leakstop.rotator.machine import Outcome

    facts = [*_secret_facts(secret)]
    if result.old_version or result.new_version:
        facts.append(
            Fact(
                "versions", "Versions", f"{result.old_version or '–'} → {result.new_version or '–'}"
            )
        )
    if reason:
        facts.append(Fact("reason", "Reason", reason))
    if result.outcome in (Outcome.ROTATED, Outcome.RESUMED):
        if result.revoke_after is not None:
            after = f"{result.revoke_after.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
            facts.append(Fact("revoke_after", "Old value revoked after", after))
        return Event(
            EventKind.ROTATION_FINISHED,
            Severity.LOW,
            f"Rotated {secret.name}",
            f"{secret.name} has a new current value"
            + (
                " (a rotation a run left halfway was finished)."
                if result.outcome is Outcome.RESUMED
                else "."
            ),
            secret.name,
            secret.org,
            tuple(facts),
        )
    if result.outcome in (Outcome.FAILED, Outcome.ROLLED_BACK):
        facts.append(Fact("error", "Error", result.error or "unknown"))
        rolled = result.outcome is Outcome.ROLLED_BACK
        if action == "revoke":
            return Event(
                EventKind.ROTATION_FAILED,
                Severity.CRITICAL,
                f"Revocation of {secret.name} failed",
                f"The leaked value of {secret.name} could not be revoked and may still work: "
                "revoke it by hand at its issuer.",
                secret.name,
                secret.org,
                tuple(facts),
            )
        return Event(
            EventKind.ROTATION_FAILED,
            Severity.HIGH,
            f"Rotation of {secret.name} {'rolled back' if rolled else 'failed'}",
            f"{secret.name} was not rotated"
            + ("; the old value was put back and still works" if rolled else "")
            + f". Fix the cause, then run: leakstop rotate {secret.name} --apply",
            secret.name,
            secret.org,
            tuple(facts),
        )
    if result.outcome is Outcome.REVOKED:
        return revocation_event(
            secret, result.old_version, "an emergency response to a leak", Severity.HIGH
        )
    return None


def revocation_event(
    secret: ManagedSecret, version: str | None, why: str, severity: Severity
) -> Event:
    where = secret.issuer.provider if secret.issuer else "its issuer"
    facts = [*_secret_facts(secret), Fact("version", "Version", version or "–")]
    return Event(
        EventKind.REVOCATION,
        severity,
        f"Revoked a value of {secret.name}",
        f"A value of {secret.name} was revoked at {where}: {why}.",
        secret.name,
        secret.org,
        tuple(facts),
    )


def leak_confirmed_event(finding: Finding, secret: ManagedSecret) -> Event:
    """A confirmed leak whose policy says `notify`: a person decides what to do."""
    facts = [
        *_secret_facts(secret),
        Fact("rule_id", "Rule", finding.rule_id),
        Fact("location", "Found at", f"{finding.location.path}:{finding.location.line}"),
        Fact("redacted", "Value (redacted)", finding.redacted),
        Fact("fingerprint", "Fingerprint", finding.fingerprint),
    ]
    if finding.commit is not None:
        facts.append(Fact("commit", "Commit", finding.commit.sha[:12]))
    if secret.owners:
        facts.append(Fact("owners", "Owners", ", ".join(secret.owners)))
    return Event(
        EventKind.LEAK_CONFIRMED,
        finding.severity,
        f"Leak confirmed: {secret.name}",
        f"The current value of {secret.name} was found at {finding.location.path}:"
        f"{finding.location.line}. The policy says notify: rotate it "
        f"(leakstop rotate {secret.name} --apply) or revoke it.",
        secret.name,
        secret.org,
        tuple(facts),
    )


def run_outcome_event(outcome: RunOutcome) -> Event | None:
    """What `rotations run` did to one secret, as an event; None for what needs no word
    (a rotation merely scheduled, a warning already sent)."""
    from leakstop.rotator.runs import Done
    from leakstop.rotator.schedule import Status

    secret = outcome.item.secret
    facts = [*_secret_facts(secret), Fact("detail", "Detail", outcome.detail or "–")]
    if outcome.done is Done.ROTATED:
        return Event(
            EventKind.ROTATION_FINISHED,
            Severity.LOW,
            f"Rotated {secret.name}",
            f"{secret.name} was rotated on schedule ({outcome.item.reason}).",
            secret.name,
            secret.org,
            tuple(facts),
        )
    if outcome.done is Done.FAILED:
        return Event(
            EventKind.ROTATION_FAILED,
            Severity.HIGH,
            f"Scheduled rotation of {secret.name} failed",
            f"{secret.name} was due ({outcome.item.reason}) and was not rotated. Fix the "
            f"cause, then run: leakstop rotate {secret.name} --apply",
            secret.name,
            secret.org,
            tuple(facts),
        )
    if outcome.done is Done.REVOKED:
        return revocation_event(
            secret, outcome.version, "its grace period after a rotation is over", Severity.LOW
        )
    if outcome.done is Done.WARNED:
        expired = outcome.item.status is Status.EXPIRED
        return Event(
            EventKind.EXPIRING,
            Severity.HIGH if expired else Severity.MEDIUM,
            f"{secret.name} {'has expired' if expired else 'expires soon'}",
            f"{secret.name}: {outcome.item.reason}. Rotate it or renew it before it stops working.",
            secret.name,
            secret.org,
            tuple(facts),
        )
    return None


def anomaly_event(anomaly: Anomaly) -> Event:
    facts = [
        Fact("kind", "Kind", anomaly.kind.value),
        Fact("count", "Records", str(anomaly.count)),
        Fact("first", "First", _time(anomaly.first)),
        Fact("last", "Last", _time(anomaly.last)),
    ]
    if anomaly.secrets:
        facts.append(Fact("secrets", "Secrets", ", ".join(anomaly.secrets)))
    if anomaly.actors:
        facts.append(Fact("actors", "Actors", ", ".join(anomaly.actors)))
    return Event(
        EventKind.ANOMALY,
        Severity.HIGH,
        f"Audit anomaly: {anomaly.kind.value.replace('_', ' ')}",
        f"{anomaly.description}. See: leakstop audit anomalies",
        anomaly.secret,
        facts=tuple(facts),
    )


def probe_event(notifier: str) -> Event:
    return Event(
        None,
        Severity.INFO,
        "leakstop test message",
        f"Notifier {notifier} is set up: leakstop will send its events here.",
        facts=(Fact("notifier", "Notifier", notifier),),
    )


def _secret_facts(secret: ManagedSecret) -> list[Fact]:
    facts = [Fact("secret", "Secret", secret.name), Fact("store", "Store", secret.store.provider)]
    if secret.org != "default":
        facts.insert(1, Fact("org", "Org", secret.org))
    if secret.issuer is not None:
        facts.append(Fact("issuer", "Issuer", secret.issuer.provider))
    return facts


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
