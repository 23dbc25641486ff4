"""`leakstop respond`: scan, confirm each finding against the managed secrets, plan the
response, and with `--apply` carry it out through the rotation machine."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leakstop.commands.base import Outcome, Parser, scan_request, sources, verbosity
from leakstop.config import Config
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError
from leakstop.report.markdown import cell, code
from leakstop.rotator.policy import PlanEntry, plan
from leakstop.scanner.session import ScanRequest, execute
from leakstop.textsafe import sanitize, sanitize_json

if TYPE_CHECKING:  # imported for real only when there is something to rotate
    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.finding import Finding
    from leakstop.notify.dispatch import Notifications
    from leakstop.notify.event import Event
    from leakstop.rotator.machine import RotationResult
    from leakstop.rotator.providers.base import Store
    from leakstop.rotator.providers.registry import Providers


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    parser = commands.add_parser(
        "respond",
        parents=[verbosity(), sources()],
        help="confirm each leak against the managed secrets, plan the response, apply it",
        description="Scan like `leakstop scan`, confirm each finding (its value is the current "
        "value of a managed secret in `secrets:`), and print the plan: per distinct credential, "
        "the managed secret it leaks and the action. A dry run unless --apply: then each "
        "confirmed leak is rotated (create, set, test, finish, then the leaked value revoked). "
        "Unconfirmed findings are listed, never touched.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    parser.add_argument("--dry-run", action="store_true", help="only print the plan (the default)")
    parser.add_argument("--apply", action="store_true", help="rotate the confirmed leaks")
    parser.add_argument("-f", "--format", choices=["text", "markdown", "json"], default="text")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check found credentials with their issuers (by default each one with a "
        "verifier is checked live, and only ever sent to its own issuer)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    if args.apply and args.dry_run:
        raise LeakstopError("give --apply or --dry-run, not both")
    response = respond(
        scan_request(args), args.apply, args.format, sys.stdout, verify=not args.no_verify
    )
    failed = any(r.outcome.value in ("failed", "rolled back") for r in response.results)
    return Outcome.FAILED if failed else Outcome.CLEAN


@dataclass(frozen=True)
class Response:
    entries: list[PlanEntry]
    results: list[RotationResult]


def respond(
    request: ScanRequest, apply: bool, fmt: str, out: TextIO, *, verify: bool = True
) -> Response:
    prepared, result = execute(request)
    config = prepared.config
    if not result.findings:
        write_plan([], [], fmt, apply, out)
        return Response([], [])
    if verify:
        from leakstop.verify.runner import verify_result

        verify_result(result, prepared.root)
    from leakstop.audit.context import from_environment
    from leakstop.audit.setup import open_log

    audit_log = open_log(config.audit)
    context = from_environment()
    try:
        confirmed: Mapping[str, ManagedSecret] = {}
        providers = None
        if config.secrets:
            from leakstop.rotator.confirm import Confirmer
            from leakstop.rotator.providers.registry import Providers

            providers = Providers(config, audit_log, context)
            confirmer = Confirmer()
            confirmer.load(config.secrets, providers)
            confirmed = confirmer.confirmed(result.findings)
        entries = plan(result.findings, config.rules, confirmed, config.respond)
        _record_detections(entries, audit_log, context)
        results = []
        if apply and any(e.confirmed for e in entries):
            from leakstop.notify.setup import open_notifications
            from leakstop.rotator.providers.registry import Providers

            providers = providers or Providers(config, audit_log, context)
            notifications = open_notifications(config.notifications, audit_log, context)
            results = _apply(entries, config, providers, notifications, audit_log, context)
            results += _revoke_live_tokens(entries, config, providers, audit_log, context)
    finally:
        audit_log.close()
    write_plan(entries, results, fmt, apply, out)
    return Response(entries, results)


def _apply(
    entries: Sequence[PlanEntry],
    config: Config,
    providers: Providers,
    notifications: Notifications,
    audit_log: AuditLog,
    context: Context,
) -> list[RotationResult]:
    """Rotate each confirmed managed secret once; a secret that cannot be rotated (another
    run at it, a provider down) is a failed result, and the others still go. Each outcome is
    sent to the notifiers that want it; `notify` leaks are only sent."""
    from leakstop.audit.record import Action
    from leakstop.notify.events import leak_confirmed_event, rotation_event
    from leakstop.rotator.machine import Machine, RotationResult
    from leakstop.rotator.machine import Outcome as Rotated

    results = []
    for entry in entries:
        secret = _managed(config, entry)
        if secret is None:
            continue
        finding = entry.finding
        audit_log.append(
            Action.FINDING_CONFIRMED,
            finding.fingerprint,
            context.in_org(secret.org),
            details={
                "managed_secret": secret.name,
                "rule_id": finding.rule_id,
                "path": finding.location.path,
                "line": finding.location.line,
            },
        )
        if entry.action == "notify":
            results.append(_notify(notifications, leak_confirmed_event(finding, secret)))
            continue
        reason = f"leak confirmed: {finding.fingerprint}"
        try:
            store = providers.store(secret.store.provider, secret.org)
            if entry.action == "rotate":
                issuer = providers.issuer(secret.issuer.provider) if secret.issuer else None
                machine = Machine(store, issuer, audit_log, context)
                result = machine.rotate(secret, reason=reason)
            else:
                result = _revoke(secret, store, finding, config, providers, audit_log, context)
        except LeakstopError as exc:
            result = RotationResult(secret.name, Rotated.FAILED, error=str(exc))
        results.append(result)
        notifications.publish_all([rotation_event(result, secret, reason, entry.action or "")])
    return results


def _revoke_live_tokens(
    entries: Sequence[PlanEntry],
    config: Config,
    providers: Providers,
    audit_log: AuditLog,
    context: Context,
) -> list[RotationResult]:
    """Live GitHub tokens no managed secret holds: revoked through GitHub's credential
    revocation API (it needs no ownership), through the configured `github` provider if there
    is one, else github.com. One `revoked` record per token, by fingerprint."""
    from leakstop.audit.record import Action
    from leakstop.rotator.machine import Outcome as Rotated
    from leakstop.rotator.machine import RotationResult
    from leakstop.rotator.providers.github_revoke import revoke_tokens

    live = [e for e in entries if e.live and e.provider == "github" and e.action == "revoke"]
    if not live:
        return []
    configured = next((p.name for p in config.providers if p.type == "github"), None)
    api = providers.build(configured).api if configured else None
    answers = revoke_tokens([e.finding.secret for e in live], api=api)
    by_redaction = {answer.redacted: answer for answer in answers}
    results = []
    for entry in live:
        finding = entry.finding
        answer = by_redaction.get(finding.redacted)
        done = answer is not None and answer.submitted
        detail = answer.detail if answer is not None else "not sent"
        audit_log.append(
            Action.REVOKED,
            finding.fingerprint,
            context,
            details={
                "provider": configured or "github",
                "rule_id": finding.rule_id,
                "redacted": finding.redacted,
                "status": answer.status.value if answer is not None else "failed",
                "verified_by": finding.verification.verifier if finding.verification else None,
            },
            success=done,
            error=None if done else detail,
        )
        label = f"{finding.rule_id} {finding.redacted}"
        if done:
            results.append(RotationResult(label, Rotated.REVOKED))
        else:
            results.append(RotationResult(label, Rotated.FAILED, error=detail))
    return results


def _notify(notifications: Notifications, event: Event) -> RotationResult:
    """Policy `notify`: the response is the message; it failed unless some notifier took it."""
    from leakstop.rotator.machine import Outcome as Rotated
    from leakstop.rotator.machine import RotationResult

    sent = notifications.publish(event)
    if not sent:
        return RotationResult(
            event.subject,
            Rotated.FAILED,
            error="no notifier takes leak_confirmed events at this severity: add one to "
            "`notifications:` in the config",
        )
    if any(s.is_delivered for s in sent):
        return RotationResult(event.subject, Rotated.NOTIFIED)
    return RotationResult(
        event.subject, Rotated.FAILED, error="; ".join(s.error or "" for s in sent)
    )


def _revoke(
    secret: ManagedSecret,
    store: Store,
    finding: Finding,
    config: Config,
    providers: Providers,
    audit_log: AuditLog,
    context: Context,
) -> RotationResult:
    """Policy `revoke`: an emergency revocation of the leaked (current) value, with no
    replacement, through the same service and approval rule as `leakstop revoke`: at or above
    `revocation: {approval_from}` (by the finding's severity) it waits for a second person."""
    import os

    from leakstop.rotator.approvals import Order, Status, Target
    from leakstop.rotator.machine import Outcome as Rotated
    from leakstop.rotator.machine import RotationResult
    from leakstop.rotator.revocation import Revocations

    current = store.current(secret.name, secret.store.options)
    if current is None:
        return RotationResult(secret.name, Rotated.FAILED, error="the store holds no value")
    order = Order(
        kind="revoke",
        scope=secret.name,
        targets=(Target(secret.name, secret.org, current.version),),
        reason="leaked",
        severity=finding.severity.value,
    )
    revocations = Revocations(config, audit_log, providers, context, dict(os.environ))
    request = revocations.open(order)
    if request.status is Status.PENDING:
        return RotationResult(
            secret.name,
            Rotated.PENDING_APPROVAL,
            current.version,
            error=f"{request.approval_needed}: another person runs "
            f"`leakstop approve {request.id} --by NAME`",
        )
    if request.status is Status.DONE:
        return RotationResult(secret.name, Rotated.REVOKED, current.version)
    problems = [e for o in request.outcomes.values() for e in o.errors]
    return RotationResult(
        secret.name,
        Rotated.FAILED,
        current.version,
        error="; ".join(problems) or f"revocation {request.id} {request.status.value}",
    )


def _managed(config: Config, entry: PlanEntry) -> ManagedSecret | None:
    if not entry.confirmed or entry.managed is None or entry.action in (None, "none"):
        return None
    return next((s for s in config.secrets if s.name == entry.managed), None)


def _record_detections(entries: list[PlanEntry], audit_log: AuditLog, context: Context) -> None:
    """One `finding_detected` record per distinct secret the plan covers: its fingerprint,
    rule, place, redaction and the managed secret it leaks, never its value."""
    from leakstop.audit.record import Action

    for entry in entries:
        finding = entry.finding
        audit_log.append(
            Action.FINDING_DETECTED,
            finding.fingerprint,
            context,
            details={
                "rule_id": finding.rule_id,
                "path": finding.location.path,
                "line": finding.location.line,
                "redacted": finding.redacted,
                "commit": finding.commit.sha if finding.commit else None,
                "provider": entry.provider,
                "response": entry.action,
                "managed_secret": entry.managed,
            },
        )


def write_plan(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    fmt: str,
    applied: bool,
    out: TextIO,
) -> None:
    if fmt == "json":
        _write_json(entries, results, applied, out)
    elif fmt == "markdown":
        _write_markdown(entries, results, applied, out)
    else:
        _write_text(entries, results, applied, out)


def _status(entry: PlanEntry) -> str:
    live = entry.finding.verification
    checked = f"{live.status.value} ({live.reason})" if live is not None else ""
    if entry.confirmed and entry.managed is not None:
        return f"confirmed: the current value of {entry.managed}"
    if entry.confirmed:
        acting = "revoked with --apply" if entry.provider == "github" else "needs a person"
        return f"confirmed live: {checked}; {acting}"
    if live is not None:
        return f"not confirmed: checked live, {checked}; reported only"
    return "not confirmed: reported only"


def _write_text(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    out: TextIO,
) -> None:
    if not entries:
        out.write("Nothing to respond to: no findings.\n")
        return
    confirmed = sum(e.confirmed for e in entries)
    mode = "applied" if applied else "dry run"
    out.write(f"Response plan ({mode}): {len(entries)} distinct secrets, {confirmed} confirmed\n")
    for entry in entries:
        finding = entry.finding
        where = sanitize(f"{finding.location.path}:{finding.location.line}")
        out.write(f"  {finding.rule_id}  {where}  {sanitize(finding.redacted)}\n")
        for part in entry.parts:
            out.write(f"    with {part.rule_id}  line {part.location.line}  ")
            out.write(f"{sanitize(part.redacted)}\n")
        out.write(f"      → {sanitize(entry.effect)}\n")
        out.write(f"        ({sanitize(_status(entry))})\n")
    for result in results:
        line = f"{result.secret}: {result.outcome.value}"
        if result.new_version:
            line += f" (version {result.old_version} → {result.new_version})"
        if result.error:
            line += f": {result.error}"
        out.write(sanitize(line) + "\n")
    if not applied and confirmed:
        out.write("Nothing was changed. Run again with --apply to rotate the confirmed leaks.\n")


def _write_markdown(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    out: TextIO,
) -> None:
    out.write(f"## leakstop response plan ({'applied' if applied else 'dry run'})\n\n")
    if not entries:
        out.write("Nothing to respond to: no findings.\n")
        return
    out.write("| Rule | Location | Secret | Response | Status |\n|---|---|---|---|---|\n")
    for entry in entries:
        finding = entry.finding
        where = code(f"{finding.location.path}:{finding.location.line}")
        out.write(
            f"| `{cell(finding.rule_id)}` | {where} | {code(finding.redacted)} "
            f"| {cell(entry.effect)} | {cell(_status(entry))} |\n"
        )
    if results:
        out.write("\n| Managed secret | Outcome | Versions |\n|---|---|---|\n")
        for result in results:
            versions = f"{result.old_version} → {result.new_version}" if result.new_version else ""
            out.write(f"| {code(result.secret)} | {cell(result.outcome.value)} | {versions} |\n")
    if not applied:
        out.write(
            "\nNo credential is touched in a dry run. Only findings confirmed as a managed "
            "secret's current value are rotated, with --apply.\n"
        )


def _write_json(
    entries: Sequence[PlanEntry],
    results: Sequence[RotationResult],
    applied: bool,
    out: TextIO,
) -> None:
    document = {
        "applied": applied,
        "plan": [
            {
                "fingerprint": e.finding.fingerprint,
                "rule_id": e.finding.rule_id,
                "path": e.finding.location.path,
                "line": e.finding.location.line,
                "redacted": e.finding.redacted,
                "confirmed": e.confirmed,
                "managed_secret": e.managed,
                "action": e.action if e.confirmed or e.action else "none",
                "provider": e.provider,
                "effect": e.effect,
                "verification": (
                    {
                        "status": e.finding.verification.status.value,
                        "reason": e.finding.verification.reason,
                        "verifier": e.finding.verification.verifier,
                    }
                    if e.finding.verification
                    else None
                ),
                "parts": [
                    {
                        "rule_id": part.rule_id,
                        "fingerprint": part.fingerprint,
                        "line": part.location.line,
                        "redacted": part.redacted,
                    }
                    for part in e.parts
                ],
            }
            for e in entries
        ],
        "results": [
            {
                "secret": r.secret,
                "outcome": r.outcome.value,
                "old_version": r.old_version,
                "new_version": r.new_version,
                "revoke_after": r.revoke_after.isoformat() if r.revoke_after else None,
                "error": r.error,
                "steps": [s.value for s in r.steps],
            }
            for r in results
        ],
    }
    out.write(sanitize_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
