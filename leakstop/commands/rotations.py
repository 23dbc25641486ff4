"""`leakstop rotations due|run`: what the managed secrets' policies say is due, and acting on
it (meant for cron or a scheduled workflow)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leakstop.commands.base import Outcome, Parser, response_config, verbosity
from leakstop.config import Config
from leakstop.durations import parse_duration
from leakstop.errors import UsageError
from leakstop.github import guard

if TYPE_CHECKING:  # imported for real only when a rotations command runs
    from leakstop.rotator.schedule import DueItem


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    rotations = commands.add_parser(
        "rotations",
        help="which managed secrets are due, overdue or expiring; rotate them",
        description="Managed secrets come from `secrets:` in the config; when each value was "
        "made comes from the audit log.",
    )
    rotations.set_defaults(run=run)
    actions = rotations.add_subparsers(
        dest="rotations_command", metavar="ACTION", parser_class=Parser
    )
    actions.required = True
    common = verbosity()
    common.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    common.add_argument(
        "--within", default="0s", metavar="AGE", help="also what falls due this soon, e.g. 14d"
    )
    due = actions.add_parser("due", parents=[common], help="list what is due, overdue, expiring")
    due.add_argument("-f", "--format", choices=["table", "json"], default="table")
    run_parser = actions.add_parser(
        "run",
        parents=[common],
        help="rotate what is due and allowed to rotate itself; record the rest",
    )
    run_parser.add_argument("-f", "--format", choices=["table", "json"], default="table")
    run_parser.add_argument(
        "--github-summary",
        action="store_true",
        help="GitHub Actions: also write what was done to the job summary and the step "
        "outputs due, rotated, revoked, failed",
    )
    run_parser.add_argument(
        "--max-concurrent",
        type=_positive,
        default=4,
        metavar="N",
        help="rotate up to N secrets at once (default 4; one secret is never rotated twice at "
        "once: its store holds the lock)",
    )


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.audit.query import Query, select
    from leakstop.audit.setup import audit_folder
    from leakstop.rotator.schedule import SCHEDULE_ACTIONS, due, histories

    try:
        within = parse_duration(args.within)
    except ValueError as exc:
        raise UsageError(f"--within: {exc}") from None
    if args.rotations_command == "run":
        guard.refuse_untrusted_apply("rotations run")
    config = _config(args.config)
    if not config.secrets:
        raise UsageError("no managed secrets: add a `secrets:` section to the config")
    now = datetime.now(timezone.utc)
    folder = audit_folder(config.audit)
    names = {secret.name for secret in config.secrets}
    history = histories(select(folder, Query(actions=frozenset(SCHEDULE_ACTIONS))), names)
    items = due(config.secrets, history, now, within)
    if args.rotations_command == "due":
        _write_due(items, args.format, sys.stdout)
        return Outcome.CLEAN
    return _run(items, config, now, args.format, args.max_concurrent, args.github_summary)


def _config(config_path: Path | None) -> Config:
    """The config; in GitHub Actions the default branch's, and its credentials masked."""
    if not guard.in_actions():
        return response_config(config_path)
    from leakstop.config import load_config
    from leakstop.github.credential_masks import mask_credentials
    from leakstop.github.default_branch import actions_config

    path = actions_config(Path.cwd(), config_path)
    config = load_config(path, with_rules=False)
    mask_credentials(config, sys.stderr)
    return config


def _run(
    items: list[DueItem],
    config: Config,
    now: datetime,
    fmt: str,
    max_concurrent: int,
    github_summary: bool = False,
) -> Outcome:
    from leakstop.audit.context import from_environment
    from leakstop.audit.query import Query, select
    from leakstop.audit.record import Action
    from leakstop.audit.setup import audit_folder, open_log
    from leakstop.notify.events import run_outcome_event
    from leakstop.notify.setup import open_notifications
    from leakstop.rotator.providers.registry import Providers
    from leakstop.rotator.runs import REVOCATION_RECORDS, Done, revoke_after_grace, run_due

    folder = audit_folder(config.audit)
    recent = Query(
        since=now - timedelta(days=92),
        actions=frozenset({Action.ROTATION_SCHEDULED, Action.EXPIRATION_WARNING}),
    )
    recorded = list(select(folder, recent))
    rotations = Query(actions=REVOCATION_RECORDS)
    audit_log = open_log(config.audit)
    try:
        context = from_environment()
        providers = Providers(config, audit_log, context)
        outcomes = run_due(items, providers, audit_log, context, now, recorded, max_concurrent)
        outcomes += revoke_after_grace(
            config.secrets, select(folder, rotations), providers, audit_log, context, now
        )
        notifications = open_notifications(config.notifications, audit_log, context)
        notifications.publish_all(run_outcome_event(o) for o in outcomes)
    finally:
        audit_log.close()
    rows = [
        {
            "secret": o.item.secret.name,
            "status": o.item.status.value,
            "done": o.done.value,
            "detail": o.detail,
        }
        for o in outcomes
    ]
    _write_rows(rows, fmt, sys.stdout, ("secret", "status", "done", "detail"))
    if github_summary:
        from leakstop.github.audit_records import report_audit_records
        from leakstop.github.response_report import report_rotations

        report_rotations(rows)
        report_audit_records(audit_log.appended)
    return Outcome.FAILED if any(o.done is Done.FAILED for o in outcomes) else Outcome.CLEAN


def _write_due(items: list[DueItem], fmt: str, out: TextIO) -> None:
    rows = [
        {
            "secret": item.secret.name,
            "org": item.secret.org,
            "status": item.status.value,
            "due": item.due_at.isoformat() if item.due_at else None,
            "reason": item.reason,
            "auto_rotate": item.secret.policy.auto_rotate,
        }
        for item in items
    ]
    _write_rows(rows, fmt, out, ("secret", "status", "due", "reason"))


def _write_rows(
    rows: Sequence[Mapping[str, object]], fmt: str, out: TextIO, columns: tuple[str, ...]
) -> None:
    from leakstop.textsafe import sanitize, sanitize_json

    if fmt == "json":
        out.write(sanitize_json(json.dumps(rows, indent=2, ensure_ascii=False)) + "\n")
        return
    if not rows:
        out.write("Nothing is due.\n")
        return
    widths = {c: max(len(c), *(len(str(r[c] or "")) for r in rows)) for c in columns}
    widths[columns[-1]] = 0
    out.write("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip() + "\n")
    for row in rows:
        cells = [sanitize(str(row[c] or "–")).ljust(widths[c]) for c in columns]
        out.write("  ".join(cells).rstrip() + "\n")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of 1 or more: {text!r}")
    return number
