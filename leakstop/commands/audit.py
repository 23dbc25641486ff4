"""`leakstop audit …`: verify, repair, query, export, stats, anomalies, report, archive, prune.

A thin layer over `leakstop.audit`: it finds the log (config `audit.dir`, else
`$LEAKSTOP_HOME/audit`), parses the options and picks the writer.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from leakstop.audit.record import Action
from leakstop.commands.base import Outcome, Parser, response_config, verbosity

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    audit = commands.add_parser(
        "audit",
        help="the audit trail: verify it, query it, report on it, keep it tidy",
        description="Every action leakstop takes on a credential is a record in a hash-chained "
        "log (config audit.dir, else $LEAKSTOP_HOME/audit). Set LEAKSTOP_AUDIT_KEY to seal it "
        "with HMAC-SHA256, so that an edit is a forgery, not only a break.",
    )
    audit.set_defaults(run=run)
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=Parser)
    actions.required = True
    common = verbosity()
    common.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    common.add_argument("--dir", type=Path, metavar="FOLDER", help="the audit folder")

    filters = Parser(add_help=False)
    group = filters.add_argument_group("filters")
    group.add_argument("--since", metavar="WHEN", help="a date, a time, or how long ago (7d)")
    group.add_argument("--until", metavar="WHEN", help="a date (inclusive), a time, or 2d")
    group.add_argument("--secret", action="append", default=[], metavar="NAME")
    group.add_argument("--actor", action="append", default=[], metavar="ACTOR")
    group.add_argument(
        "--action",
        action="append",
        default=[],
        choices=[a.value for a in Action],
        metavar="ACTION",
        help="repeatable; e.g. secret_read, rotation_failed",
    )
    group.add_argument("--failed", action="store_true", help="only failed actions")
    group.add_argument("--org", action="append", default=[], metavar="ORG")

    actions.add_parser(
        "verify",
        parents=[common],
        help="check the chain: exit 1 and the first bad record when it was tampered with",
    )
    actions.add_parser(
        "repair", parents=[common], help="move a torn last record (a crash) aside, recorded"
    )
    query = actions.add_parser("query", parents=[common, filters], help="list matching records")
    query.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    exporter = actions.add_parser(
        "export", parents=[common, filters], help="write matching records to a file"
    )
    exporter.add_argument("-f", "--format", choices=["json", "csv"], default="json")
    exporter.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    stats = actions.add_parser(
        "stats", parents=[common, filters], help="counts by action, actor, secret and day"
    )
    stats.add_argument("-f", "--format", choices=["table", "json"], default="table")
    anomalies = actions.add_parser(
        "anomalies", parents=[common, filters], help="failed attempts, bursts, odd hours…"
    )
    anomalies.add_argument("-f", "--format", choices=["table", "json"], default="table")
    anomalies.add_argument(
        "--record", action="store_true", help="append an `anomaly` record for each one"
    )
    report = actions.add_parser(
        "report", parents=[common], help="per secret: age, rotations, readers, open findings"
    )
    report.add_argument("--secret", action="append", default=[], metavar="NAME")
    report.add_argument("--since", metavar="WHEN", help="readers and failures since")
    report.add_argument("-f", "--format", choices=["markdown", "json"], default="markdown")
    for name, helptext in (
        ("archive", "gzip day files older than the given age"),
        ("prune", "delete day files older than the given age (recorded)"),
    ):
        retention = actions.add_parser(name, parents=[common], help=helptext)
        retention.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 90d")


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.audit.setup import audit_folder
    from leakstop.commands.audit_actions import HANDLERS

    config = response_config(args.config)
    folder = args.dir or audit_folder(config.audit)
    return HANDLERS[args.audit_command](args, config, folder)
