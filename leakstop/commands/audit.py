"""`leakstop audit …`: verify, repair, query, export, stats, anomalies, report, archive, prune.

A thin layer over `leakstop.audit`: it finds the log (config `audit.dir`, else
`$LEAKSTOP_HOME/audit`), parses the options and picks the writer.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from leakstop import gitcli
from leakstop.audit.anomalies import ANOMALY_FORMATS, detect
from leakstop.audit.chain import key_from_environment
from leakstop.audit.context import from_environment
from leakstop.audit.lifecycle import build_report
from leakstop.audit.log import AuditLog
from leakstop.audit.output import RECORD_FORMATS, export
from leakstop.audit.query import Query, parse_when, select
from leakstop.audit.record import Action
from leakstop.audit.report import REPORT_FORMATS
from leakstop.audit.retention import archive, prune
from leakstop.audit.setup import audit_folder, open_log
from leakstop.audit.stats import STATS_FORMATS, collect_stats
from leakstop.audit.verify import verify
from leakstop.commands.base import Outcome, Parser, say, verbosity
from leakstop.config import Config, find_config, load_config
from leakstop.durations import parse_duration
from leakstop.errors import UsageError
from leakstop.textsafe import sanitize

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
    query.add_argument("-f", "--format", choices=list(RECORD_FORMATS), default="table")
    exporter = actions.add_parser(
        "export", parents=[common, filters], help="write matching records to a file"
    )
    exporter.add_argument("-f", "--format", choices=["json", "csv"], default="json")
    exporter.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    stats = actions.add_parser(
        "stats", parents=[common, filters], help="counts by action, actor, secret and day"
    )
    stats.add_argument("-f", "--format", choices=list(STATS_FORMATS), default="table")
    anomalies = actions.add_parser(
        "anomalies", parents=[common, filters], help="failed attempts, bursts, odd hours…"
    )
    anomalies.add_argument("-f", "--format", choices=list(ANOMALY_FORMATS), default="table")
    anomalies.add_argument(
        "--record", action="store_true", help="append an `anomaly` record for each one"
    )
    report = actions.add_parser(
        "report", parents=[common], help="per secret: age, rotations, readers, open findings"
    )
    report.add_argument("--secret", action="append", default=[], metavar="NAME")
    report.add_argument("--since", metavar="WHEN", help="readers and failures since")
    report.add_argument("-f", "--format", choices=list(REPORT_FORMATS), default="markdown")
    for name, helptext in (
        ("archive", "gzip day files older than the given age"),
        ("prune", "delete day files older than the given age (recorded)"),
    ):
        retention = actions.add_parser(name, parents=[common], help=helptext)
        retention.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 90d")


def run(args: argparse.Namespace) -> Outcome:
    config = load_config(find_config(args.config, _config_root()))
    folder = args.dir or audit_folder(config.audit)
    handler = {
        "verify": _verify,
        "repair": _repair,
        "query": _query,
        "export": _export,
        "stats": _stats,
        "anomalies": _anomalies,
        "report": _report,
        "archive": _retention,
        "prune": _retention,
    }[args.audit_command]
    return handler(args, config, folder)


def _config_root() -> Path:
    return gitcli.toplevel(Path.cwd()) or Path.cwd()


def _verify(args: argparse.Namespace, _config: Config, folder: Path) -> Outcome:
    if not folder.is_dir():
        raise UsageError(f"no audit log at {folder} (set audit.dir or LEAKSTOP_HOME)")
    result = verify(folder, key_from_environment())
    for warning in result.warnings:
        log.warning("%s", warning)
    if result.torn is not None:
        log.warning("%s", result.torn)
    if result.problem is not None:
        sys.stderr.write(f"leakstop: audit log tampered with: {sanitize(str(result.problem))}\n")
        say(f"✗ {result.records} records verified before the first bad one")
        return Outcome.FAILED
    span = ""
    if result.first_seq is not None:
        span = f" (seq {result.first_seq}–{result.last_seq})"
    say(f"✓ {result.records} records in {result.files} day files verified{span}")
    return Outcome.CLEAN


def _repair(args: argparse.Namespace, config: Config, folder: Path) -> Outcome:
    with _log(config, folder) as audit_log:
        result = audit_log.repair(from_environment())
    if not result.repaired:
        say("Nothing to repair: the log ends with a whole record.")
    else:
        say(f"Moved a torn record ({result.size} bytes) from {result.file} to {result.moved_to}.")
    return Outcome.CLEAN


def _query(args: argparse.Namespace, _config: Config, folder: Path) -> Outcome:
    selection = select(folder, _filters(args))
    count = RECORD_FORMATS[args.format](selection, sys.stdout)
    _skipped(selection.unreadable)
    log.info("%d records", count)
    return Outcome.CLEAN


def _export(args: argparse.Namespace, _config: Config, folder: Path) -> Outcome:
    selection = select(folder, _filters(args))
    count = export(selection, args.output, args.format)
    _skipped(selection.unreadable)
    say(f"Exported {count} records to {args.output}.")
    return Outcome.CLEAN


def _stats(args: argparse.Namespace, _config: Config, folder: Path) -> Outcome:
    selection = select(folder, _filters(args))
    STATS_FORMATS[args.format](collect_stats(selection), sys.stdout)
    _skipped(selection.unreadable)
    return Outcome.CLEAN


def _anomalies(args: argparse.Namespace, config: Config, folder: Path) -> Outcome:
    found = sorted(
        detect(select(folder, _filters(args)), config.audit.anomalies),
        key=lambda anomaly: anomaly.first,
    )
    ANOMALY_FORMATS[args.format](found, sys.stdout)
    if args.record and found:
        recorded = {r.details.get("anomaly_id") for r in select(folder, _anomaly_records())}
        context = from_environment()
        with _log(config, folder) as audit_log:
            for anomaly in found:
                if anomaly.id not in recorded:
                    audit_log.append(
                        Action.ANOMALY,
                        anomaly.secret or "",
                        context,
                        details={"anomaly_id": anomaly.id, **anomaly.to_details()},
                    )
    return Outcome.CLEAN


def _report(args: argparse.Namespace, _config: Config, folder: Path) -> Outcome:
    now = datetime.now(timezone.utc)
    report = build_report(
        select(folder, Query()),
        now=now,
        # Rotation policies come with managed secrets in the config (`secrets:`).
        policies={},
        since=_when(args.since, now) if args.since else None,
        secrets=frozenset(args.secret),
    )
    REPORT_FORMATS[args.format](report, sys.stdout)
    return Outcome.CLEAN


def _retention(args: argparse.Namespace, config: Config, folder: Path) -> Outcome:
    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    context = from_environment()
    with _log(config, folder) as audit_log:
        if args.audit_command == "archive":
            archived = archive(audit_log, age, context=context)
            say(f"Archived {len(archived.files)} day files.")
        else:
            pruned = prune(audit_log, age, context=context)
            say(f"Deleted {len(pruned.files)} day files (recorded in the log).")
    return Outcome.CLEAN


@contextmanager
def _log(config: Config, folder: Path) -> Iterator[AuditLog]:
    """The log to append to, with the configured sinks, closed at the end."""
    audit_log = open_log(dataclasses.replace(config.audit, dir=folder))
    try:
        yield audit_log
    finally:
        audit_log.close()


def _filters(args: argparse.Namespace) -> Query:
    now = datetime.now(timezone.utc)
    try:
        return Query(
            since=_when(args.since, now) if args.since else None,
            until=parse_when(args.until, now, end_of_day=True) if args.until else None,
            secrets=frozenset(args.secret),
            actors=frozenset(args.actor),
            actions=frozenset(Action(a) for a in args.action),
            failed_only=args.failed,
            orgs=frozenset(args.org),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _when(text: str, now: datetime) -> datetime:
    try:
        return parse_when(text, now)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def _anomaly_records() -> Query:
    return Query(actions=frozenset({Action.ANOMALY}))


def _skipped(unreadable: int) -> None:
    if unreadable:
        log.warning(
            "%d unreadable lines were skipped (`leakstop audit verify` says where)", unreadable
        )
