"""`leakstop revoke NAME|--fingerprint F` and `leakstop revoke-all --type T`: emergency
revocation of managed secrets, with no replacement (a plan by default, `--apply` to act)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from leakstop import gitcli
from leakstop.commands.base import Outcome, Parser, say, verbosity
from leakstop.commands.revocation_session import config_of, revocations, write_request
from leakstop.config import Config
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import UsageError
from leakstop.github import guard
from leakstop.textsafe import sanitize, sanitize_json

if TYPE_CHECKING:  # imported for real only when a revocation runs
    from leakstop.rotator.approvals import Order
    from leakstop.rotator.revocation import Revocations

REASONS = ("leaked", "compromised", "departure", "policy")
SEVERITIES = ("low", "medium", "high", "critical")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    common = verbosity()
    common.add_argument(
        "--reason", required=True, choices=REASONS, help="why (recorded in the audit log)"
    )
    common.add_argument(
        "--severity",
        required=True,
        choices=SEVERITIES,
        help="at or above revocation.approval_from (default high) another person must approve",
    )
    common.add_argument("--apply", action="store_true", help="revoke (default: plan only)")
    common.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    common.add_argument("-f", "--format", choices=["text", "json"], default="text")

    revoke = commands.add_parser(
        "revoke",
        parents=[common],
        help="disable a managed secret's credential now, with no replacement",
        description="Emergency revocation: the current credential of a managed secret is "
        "revoked at its issuer and its version disabled in its store; nothing replaces it "
        "(rotate for that). Severe revocations wait for another person's approval "
        "(`leakstop approve`). Without --apply only the plan is printed.",
    )
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", metavar="NAME", help="the managed secret")
    which.add_argument(
        "--fingerprint", metavar="F", help="the managed secret whose current value a finding holds"
    )
    revoke.add_argument("--org", help="its org, when two orgs have a secret of that name")
    revoke.set_defaults(run=run)

    revoke_all = commands.add_parser(
        "revoke-all",
        parents=[common],
        help="revoke every managed secret of a type (incident response)",
        description="Revoke every managed secret of TYPE: its issuer's provider type "
        "(postgres, vault, ...) or `tags: {type: TYPE}` on the secret. More than "
        "revocation.max_without_approval secrets (default 3) wait for approval.",
    )
    revoke_all.add_argument("--type", required=True, metavar="TYPE", dest="kind")
    revoke_all.set_defaults(run=run_all)


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.rotator.targets import by_fingerprint, by_name

    if args.apply:
        guard.refuse_untrusted_apply("revoke --apply")
    config = config_of(args, with_rules=args.fingerprint is not None)
    with revocations(config) as session:
        if args.fingerprint is not None:
            keys = _fingerprint_keys(config)
            secret = by_fingerprint(
                config.secrets, session.providers, args.fingerprint, config.rules, keys
            )
            scope = f"fingerprint:{args.fingerprint.strip().lower()}"
        else:
            secret = by_name(config.secrets, args.name, args.org)
            scope = secret.name
        return _act(session, "revoke", scope, [secret], args)


def run_all(args: argparse.Namespace) -> Outcome:
    from leakstop.rotator.targets import by_type

    if args.apply:
        guard.refuse_untrusted_apply("revoke-all --apply")
    config = config_of(args)
    secrets = by_type(config, args.kind)
    with revocations(config) as session:
        return _act(session, "revoke-all", f"type:{args.kind}", secrets, args)


def _act(
    session: Revocations,
    kind: str,
    scope: str,
    secrets: list[ManagedSecret],
    args: argparse.Namespace,
) -> Outcome:
    from leakstop.rotator.approvals import Order, Target

    targets, skipped = [], []
    for secret in secrets:
        store = session.providers.store(secret.store.provider, secret.org)
        current = store.current(secret.name, secret.store.options)
        if current is None:
            skipped.append(secret.name)
        else:
            targets.append(Target(secret.name, secret.org, current.version))
    if not targets:
        raise UsageError(
            f"nothing to revoke: {', '.join(skipped)} has no current version in its store"
        )
    order = Order(kind, scope, tuple(targets), args.reason, args.severity)
    if not args.apply:
        _plan(session.config, order, session.why_approval(order), skipped, args.format)
        return Outcome.CLEAN
    write_request(session.open(order), args.format, sys.stdout)
    return Outcome.CLEAN


def _plan(config: Config, order: Order, why: str | None, skipped: list[str], fmt: str) -> None:
    plan = {
        **order.to_json(),
        "approval_needed": why,
        "skipped": skipped,
        "applied": False,
    }
    if fmt == "json":
        sys.stdout.write(sanitize_json(json.dumps(plan, indent=2, ensure_ascii=False)) + "\n")
        return
    by_name = {(s.name, s.org): s for s in config.secrets}
    say(sanitize(f"Plan (nothing changed; --apply to act): {order.kind} {order.scope}"))
    for target in order.targets:
        secret = by_name[(target.secret, target.org)]
        at = f"revoked at {secret.issuer.provider}" if secret.issuer else "no issuer"
        say(
            sanitize(
                f"  {target.secret} version {target.version}: {at}; the version disabled in "
                f"{secret.store.provider} where the store can"
            )
        )
    for name in skipped:
        say(sanitize(f"  {name}: skipped (no current version)"))
    if why is None:
        say("Approval: not needed; --apply revokes at once.")
    else:
        say(sanitize(f"Approval: needed ({why}); --apply creates a pending request."))


def _fingerprint_keys(config: Config) -> list[bytes]:
    """The keys a finding's fingerprint may have been made with here: the scan's own (salt,
    else this repository's root commit, else the default), then the default."""
    from leakstop.fingerprint_key import DEFAULT, resolve
    from leakstop.scanner.session import root_commit

    root = gitcli.toplevel(Path.cwd()) or Path.cwd()
    key = resolve(config.fingerprint_salt, None, root_commit(root)).key
    return [key] if key == DEFAULT.key else [key, DEFAULT.key]
