"""`leakstop rotate NAME`: rotate one managed secret now (a plan by default, `--apply` to do it),
through the same machine `respond --apply` and `rotations run` use."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from leakstop.commands.base import Outcome, Parser, response_config, say, verbosity
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ProviderError
from leakstop.github import guard
from leakstop.textsafe import sanitize, sanitize_json

if TYPE_CHECKING:
    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.rotator.providers.registry import Providers


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    parser = commands.add_parser(
        "rotate",
        parents=[verbosity()],
        help="rotate one managed secret now",
        description="Rotate a managed secret from `secrets:` in the config: a new value is "
        "made (or minted by its issuer), stored as pending, applied and tested, then made "
        "current; the old value is revoked after the policy's grace period. Without --apply "
        "only the plan is printed.",
    )
    parser.add_argument("name", metavar="NAME", help="the managed secret, e.g. billing/api-key")
    parser.add_argument("--org", help="its org, when two orgs have a secret of that name")
    parser.add_argument("--reason", default="", metavar="TEXT", help="recorded in the audit log")
    parser.add_argument("--apply", action="store_true", help="rotate it (default: plan only)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="take over a rotation left halfway now, without waiting for its 10-minute lease "
        "(when you know the run that started it died)",
    )
    parser.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    parser.add_argument("-f", "--format", choices=["text", "json"], default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    if args.apply:
        guard.refuse_untrusted_apply("rotate --apply")
    from leakstop.rotator.targets import by_name

    config = response_config(args.config)
    secret = by_name(config.secrets, args.name, args.org)
    from leakstop.audit.context import from_environment
    from leakstop.audit.setup import open_log
    from leakstop.notify.events import rotation_event
    from leakstop.notify.setup import open_notifications
    from leakstop.rotator.machine import Machine
    from leakstop.rotator.machine import Outcome as Rotated
    from leakstop.rotator.providers.registry import Providers

    audit_log = open_log(config.audit)
    try:
        context = from_environment(secret.org)
        providers = Providers(config, audit_log, context)
        store = providers.store(secret.store.provider, secret.org)
        issuer = providers.issuer(secret.issuer.provider) if secret.issuer else None
        if not args.apply:
            current = store.current(secret.name, secret.store.options)
            pending = store.pending(secret.name, secret.store.options)
            _plan(
                secret,
                current.version if current else None,
                pending.version if pending else None,
                args.format,
            )
            return Outcome.CLEAN
        for overdue in _overdue_revocations(secret, providers, audit_log, context):
            say(sanitize(f"{secret.name}: {overdue}"))
        machine = Machine(store, issuer, audit_log, context)
        if args.resume:
            machine.lease = timedelta(0)
        result = machine.rotate(secret, reason=args.reason)
        notifications = open_notifications(config.notifications, audit_log, context)
        notifications.publish_all([rotation_event(result, secret, args.reason)])
    finally:
        audit_log.close()
    if args.format == "json":
        sys.stdout.write(
            sanitize_json(
                json.dumps(
                    {
                        "secret": result.secret,
                        "outcome": result.outcome.value,
                        "old_version": result.old_version,
                        "new_version": result.new_version,
                        "revoke_after": result.revoke_after.isoformat()
                        if result.revoke_after
                        else None,
                        "steps": [s.value for s in result.steps],
                        "error": result.error,
                    },
                    indent=2,
                )
            )
            + "\n"
        )
    if result.outcome in (Rotated.FAILED, Rotated.ROLLED_BACK):
        raise ProviderError(f"rotation of {secret.name} {result.outcome.value}: {result.error}")
    if args.format == "text":
        line = f"Rotated {secret.name}: version {result.old_version} → {result.new_version}"
        if result.outcome is Rotated.RESUMED:
            line = f"Finished a rotation of {secret.name} that a run left halfway: " + line
        if result.revoke_after is not None:
            line += f"; the old value is revoked after {result.revoke_after:%Y-%m-%d %H:%M} UTC"
        elif secret.issuer is not None:
            line += "; the old value is revoked"
        say(sanitize(line))
    return Outcome.CLEAN


def _overdue_revocations(
    secret: ManagedSecret, providers: Providers, audit_log: AuditLog, context: Context
) -> list[str]:
    """Revoke this secret's old values whose grace period is over (a run that finished a
    rotation may have died before revoking), before rotating again; what was done."""
    from datetime import datetime, timezone

    from leakstop.audit.query import Query, select
    from leakstop.rotator.runs import REVOCATION_RECORDS, Done, revoke_after_grace

    query = Query(actions=REVOCATION_RECORDS, secrets=frozenset({secret.name}))
    outcomes = revoke_after_grace(
        [secret],
        select(audit_log.folder, query),
        providers,
        audit_log,
        context,
        datetime.now(timezone.utc),
    )
    failed = [o.detail for o in outcomes if o.done is Done.FAILED]
    if failed:
        raise ProviderError(f"cannot revoke an old value of {secret.name}: {failed[0]}")
    return [f"revoked an old value whose grace period was over ({o.detail})" for o in outcomes]


def _plan(secret: ManagedSecret, current: str | None, pending: str | None, fmt: str) -> None:
    steps = ["create", "set", "finish"]
    if secret.issuer is not None:
        steps = ["create", "set", "apply (unless the issuer mints)", "test", "finish", "revoke"]
    plan = {
        "secret": secret.name,
        "org": secret.org,
        "store": secret.store.provider,
        "issuer": secret.issuer.provider if secret.issuer else None,
        "current_version": current,
        "pending_version": pending,
        "steps": steps,
        "grace": str(secret.policy.grace),
    }
    if fmt == "json":
        sys.stdout.write(sanitize_json(json.dumps(plan, indent=2)) + "\n")
        return
    lines = [
        f"Plan (nothing changed; --apply to rotate): {secret.name} in {secret.store.provider}",
        f"  current version: {current or 'none yet'}"
        + (
            f"; pending version {pending}: a rotation left halfway is resumed or rolled back"
            if pending
            else ""
        ),
        f"  issuer: {secret.issuer.provider if secret.issuer else 'none (a new value is stored)'}",
        f"  steps: {' → '.join(steps)}",
    ]
    for line in lines:
        say(sanitize(line))
