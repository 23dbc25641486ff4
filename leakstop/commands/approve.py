"""`leakstop approve ID --by NAME` and `leakstop reject ID --by NAME`: another person decides a
pending emergency revocation (see `leakstop revoke`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leakstop.commands.base import Outcome, Parser, verbosity
from leakstop.commands.revocation_session import config_of, revocations, write_request
from leakstop.errors import UsageError
from leakstop.github import guard


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    common = verbosity()
    common.add_argument("request", metavar="ID", help="the request id (leakstop revocations)")
    common.add_argument(
        "--by", required=True, metavar="NAME", help="who decides (not the requester)"
    )
    common.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    common.add_argument("-f", "--format", choices=["text", "json"], default="text")
    approve = commands.add_parser(
        "approve",
        parents=[common],
        help="approve a pending revocation: it runs now",
        description="Approve a pending emergency revocation and carry it out. The requester "
        "cannot approve their own request, neither as --by nor by running this command.",
    )
    approve.set_defaults(run=run, approving=True)
    reject = commands.add_parser(
        "reject",
        parents=[common],
        help="reject a pending revocation: nothing is revoked",
        description="Drop a pending emergency revocation (its requester may withdraw it too).",
    )
    reject.add_argument("--reason", default="", metavar="TEXT", help="recorded in the audit log")
    reject.set_defaults(run=run, approving=False)


def run(args: argparse.Namespace) -> Outcome:
    if args.approving:
        guard.refuse_untrusted_apply("approve")
    by = _person(args.by)
    with revocations(config_of(args)) as session:
        if args.approving:
            request = session.approve(args.request, by)
        else:
            request = session.reject(args.request, by, args.reason)
    write_request(request, args.format, sys.stdout)
    return Outcome.CLEAN


def _person(name: str) -> str:
    if not name.strip() or not name.isprintable():
        raise UsageError("--by must name a person (printable, not empty)")
    return name.strip()
