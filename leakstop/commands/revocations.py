"""`leakstop revocations`: emergency revocation requests with their status and history, from
the audit log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from leakstop.commands.base import Outcome, Parser, verbosity
from leakstop.commands.revocation_session import config_of, describe
from leakstop.textsafe import sanitize, sanitize_json

STATUSES = ("pending", "approved", "rejected", "done", "failed")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    parser = commands.add_parser(
        "revocations",
        parents=[verbosity()],
        help="emergency revocations: pending, approved, rejected, done, failed",
        description="Every revocation request in the audit log, oldest first: what, why, who "
        "asked, who decided, how each secret went.",
    )
    parser.add_argument("--status", choices=STATUSES, help="only requests in this state")
    parser.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    parser.add_argument("-f", "--format", choices=["text", "json"], default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.audit.query import Query, select
    from leakstop.audit.setup import audit_folder
    from leakstop.rotator.approvals import ACTIONS, histories

    config = config_of(args)
    found = histories(select(audit_folder(config.audit), Query(actions=ACTIONS))).values()
    shown = [r for r in found if args.status is None or r.status.value == args.status]
    if args.format == "json":
        document = [r.to_json() for r in shown]
        sys.stdout.write(sanitize_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
        return Outcome.CLEAN
    if not shown:
        sys.stdout.write(
            "No revocation requests" + (f" {args.status}" if args.status else "") + ".\n"
        )
        return Outcome.CLEAN
    for request in shown:
        for line in describe(request):
            sys.stdout.write(sanitize(line) + "\n")
    return Outcome.CLEAN
