"""`leakstop respond`: scan, confirm each finding against the managed secrets, plan the
response, and with `--apply` carry it out through the rotation machine.

Inside GitHub Actions (GITHUB_ACTIONS=true) it guards itself, whatever runs it: `--apply` is
refused for pull requests and forks, the config (so the `secrets:` inventory and providers)
comes from the default branch, and provider credentials are masked in the log.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leakstop.commands.base import Outcome, Parser, scan_request, sources, verbosity
from leakstop.config import Config
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError, UsageError
from leakstop.github import guard, workflow
from leakstop.report.response_plan import plan_document, write_plan
from leakstop.rotator.plan_digest import is_digest, plan_digest
from leakstop.rotator.policy import PlanEntry, plan
from leakstop.scanner.session import ScanRequest, execute

if TYPE_CHECKING:  # imported for real only when there is something to rotate
    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Record
    from leakstop.finding import Finding
    from leakstop.notify.dispatch import Notifications
    from leakstop.notify.event import Event
    from leakstop.rotator.machine import RotationResult
    from leakstop.rotator.providers.base import Store
    from leakstop.rotator.providers.registry import Providers


log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    parser = commands.add_parser(
        "respond",
        parents=[verbosity(), sources()],
        help="confirm each leak against the managed secrets, plan the response, apply it",
        description="Scan like `leakstop scan`, confirm each finding (its value is the current "
        "value of a managed secret in `secrets:`), and print the plan: per distinct credential, "
        "the managed secret it leaks and the action. A dry run unless --apply: then each "
        "confirmed leak is rotated (create, set, test, finish, then the leaked value revoked). "
        "Unconfirmed findings are listed, never touched. In GitHub Actions the config comes "
        "from the default branch and --apply is refused for pull requests and forks.",
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
    parser.add_argument(
        "--plan-out",
        type=Path,
        metavar="FILE",
        help="also write the plan as JSON, with its digest (fingerprints and redactions, "
        "never values)",
    )
    parser.add_argument(
        "--expect-digest",
        metavar="SHA256",
        help="with --apply: apply only if the plan derived now has this digest (the one a "
        "person approved, from --plan-out or the Action's plan-digest output)",
    )
    parser.add_argument(
        "--github-event",
        action="store_true",
        help="GitHub Actions: scan what the event selects, as `leakstop action` does (pull "
        "request: the lines it adds; push: the pushed commits; schedule: the history), and "
        "write the plan to the job summary and the step outputs",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    if args.apply and args.dry_run:
        raise LeakstopError("give --apply or --dry-run, not both")
    if args.expect_digest is not None:
        if not args.apply:
            raise UsageError("--expect-digest needs --apply")
        if not is_digest(args.expect_digest):
            raise UsageError("--expect-digest: not a SHA-256 in hex (64 characters 0-9, a-f)")
    if args.apply:
        guard.refuse_untrusted_apply("respond --apply")
    request = scan_request(args)
    if args.github_event:
        from leakstop.commands.action import event_request

        selected = event_request(request, os.environ)
    else:
        selected = request
    plan_out = args.plan_out
    if plan_out is None and args.github_event:
        plan_out = workflow.runner_temp() / "leakstop" / "plan.json"
    if selected is None:  # the event has nothing to scan (a deleted branch)
        _check_digest([], args.expect_digest)
        write_plan([], [], args.format, args.apply, sys.stdout)
        response = Response([], [], plan_digest([]), args.apply)
    else:
        if guard.in_actions():
            selected = _with_default_branch_config(selected, args.config)
        appended: list[Record] = []
        try:
            response = respond(
                selected,
                args.apply,
                args.format,
                sys.stdout,
                verify=not args.no_verify,
                expect_digest=args.expect_digest,
                appended=appended,
            )
        except LeakstopError as exc:
            if args.github_event:
                # The job still shows what stopped it and what was already done.
                from leakstop.github.audit_records import report_audit_records
                from leakstop.github.response_report import report_stopped

                report_stopped(str(exc))
                report_audit_records(appended)
            raise
    if plan_out is not None:
        _write_plan_file(plan_out, response)
    if args.github_event:
        from leakstop.github.audit_records import report_audit_records
        from leakstop.github.response_report import report_response

        report_response(response.entries, response.results, args.apply, response.digest, plan_out)
        report_audit_records(response.records)
    failed = any(r.outcome.value in ("failed", "rolled back") for r in response.results)
    return Outcome.FAILED if failed else Outcome.CLEAN


def _with_default_branch_config(request: ScanRequest, config: Path | None) -> ScanRequest:
    """The request with the config of the default branch (GitHub Actions)."""
    from leakstop.github.default_branch import actions_config

    start = request.paths[0] if request.paths else Path.cwd()
    return dataclasses.replace(request, config_path=actions_config(start, config))


def _write_plan_file(path: Path, response: Response) -> None:
    document = {"version": 1, "digest": response.digest}
    document.update(plan_document(response.entries, response.results, response.applied))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Response:
    entries: list[PlanEntry]
    results: list[RotationResult]
    #: plan_digest(entries): what an approval of this plan is given for.
    digest: str = ""
    applied: bool = False
    #: The audit records this response appended, oldest first.
    records: tuple[Record, ...] = ()


def respond(
    request: ScanRequest,
    apply: bool,
    fmt: str,
    out: TextIO,
    *,
    verify: bool = True,
    expect_digest: str | None = None,
    appended: list[Record] | None = None,
) -> Response:
    """Scan, confirm, plan and (with `apply`) act. With `expect_digest`, nothing is applied
    unless the plan's digest is that one: UsageError, before any action, when it differs.
    `appended` receives the audit records written, also when an error ends the run."""
    prepared, result = execute(request)
    config = prepared.config
    if guard.in_actions():
        from leakstop.github.credential_masks import mask_credentials

        # Before anything could print them: the runner hides masked values in later lines.
        mask_credentials(config, sys.stderr)
        workflow.add_masks((f.secret for f in result.findings), sys.stderr)
    if not result.findings:
        _check_digest([], expect_digest)
        write_plan([], [], fmt, apply, out)
        return Response([], [], plan_digest([]), apply)
    if verify:
        from leakstop.verify.runner import verify_result

        verify_result(result, prepared.root)
    from leakstop.audit.context import from_environment
    from leakstop.audit.setup import open_log

    audit_log = open_log(config.audit)
    context = from_environment()
    try:
        confirmed: Mapping[str, ManagedSecret] = {}
        #: The version of each managed secret that was current when its leak was confirmed.
        leaked_versions: Mapping[str, str] = {}
        providers = None
        if config.secrets:
            from leakstop.rotator.confirm import Confirmer
            from leakstop.rotator.providers.registry import Providers

            providers = Providers(config, audit_log, context)
            confirmer = Confirmer()
            confirmer.load(config.secrets, providers)
            for name, why in confirmer.unreadable.items():
                # Otherwise a leak of it is silently "not confirmed".
                log.warning("cannot read managed secret %s to confirm leaks of it: %s", name, why)
            confirmed = confirmer.confirmed(result.findings)
            leaked_versions = confirmer.versions
        entries = plan(result.findings, config.rules, confirmed, config.respond)
        try:
            _check_digest(entries, expect_digest)
        except UsageError as exc:
            from leakstop.audit.record import Action

            # A refused apply is part of the story: someone ran it with an approval that was
            # given for another plan.
            audit_log.append(
                Action.ACCESS_DENIED,
                f"plan:{plan_digest(entries)}",
                context,
                details={"operation": "respond --apply", "approved_digest": expect_digest},
                success=False,
                error="the plan is not the approved one",
            )
            raise exc from None
        _record_detections(entries, audit_log, context)
        results = []
        if apply and any(e.confirmed for e in entries):
            from leakstop.notify.setup import open_notifications
            from leakstop.rotator.providers.registry import Providers

            providers = providers or Providers(config, audit_log, context)
            notifications = open_notifications(config.notifications, audit_log, context)
            results = _apply(
                entries, config, providers, notifications, audit_log, context, leaked_versions
            )
            results += _revoke_live_tokens(entries, config, providers, audit_log, context)
    finally:
        audit_log.close()
        if appended is not None:
            appended.extend(audit_log.appended)
    write_plan(entries, results, fmt, apply, out)
    return Response(entries, results, plan_digest(entries), apply, tuple(audit_log.appended))


def _check_digest(entries: Sequence[PlanEntry], expected: str | None) -> None:
    if expected is None:
        return
    digest = plan_digest(entries)
    if digest != expected:
        raise UsageError(
            f"the plan is not the approved one (digest {digest[:12]}…, approved "
            f"{expected[:12]}…): nothing was applied; plan again and have it approved"
        )


def _apply(
    entries: Sequence[PlanEntry],
    config: Config,
    providers: Providers,
    notifications: Notifications,
    audit_log: AuditLog,
    context: Context,
    leaked_versions: Mapping[str, str],
) -> list[RotationResult]:
    """Rotate each confirmed managed secret once; a secret that cannot be rotated (another
    run at it, a provider down) is a failed result, and the others still go. One another run
    rotated since it was confirmed (its version in `leaked_versions` no longer current) is
    skipped. Each outcome is sent to the notifiers that want it; `notify` leaks are only
    sent."""
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
                result = machine.rotate(
                    secret, reason=reason, leaked_version=leaked_versions.get(secret.name)
                )
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
