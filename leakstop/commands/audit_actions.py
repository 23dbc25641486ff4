"""What each `leakstop audit` action does: the handlers `commands/audit.py` dispatches to,
imported only when an audit command runs (the audit modules cost start-up time that a scan
should not pay)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

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
from leakstop.audit.setup import open_log
from leakstop.audit.stats import STATS_FORMATS, collect_stats
from leakstop.audit.verify import verify
from leakstop.commands.base import Outcome, say
from leakstop.config import Config
from leakstop.config.secrets import rotation_intervals
from leakstop.durations import parse_duration
from leakstop.errors import UsageError
from leakstop.textsafe import sanitize

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Config, Path], Outcome]


def verify_log(args: argparse.Namespace, _config: Config, folder: Path) -> Outcome:
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
            new = [anomaly for anomaly in found if anomaly.id not in recorded]
            for anomaly in new:
                audit_log.append(
                    Action.ANOMALY,
                    anomaly.secret or "",
                    context,
                    details={"anomaly_id": anomaly.id, **anomaly.to_details()},
                )
            if new and config.notifications:
                # Only anomalies recorded now: a rerun does not send the same one again.
                from leakstop.notify.events import anomaly_event
                from leakstop.notify.setup import open_notifications

                notifications = open_notifications(config.notifications, audit_log, context)
                notifications.publish_all(anomaly_event(anomaly) for anomaly in new)
    return Outcome.CLEAN


def _report(args: argparse.Namespace, config: Config, folder: Path) -> Outcome:
    now = datetime.now(timezone.utc)
    report = build_report(
        select(folder, Query()),
        now=now,
        policies=rotation_intervals(config.secrets),
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


HANDLERS: dict[str, Handler] = {
    "verify": verify_log,
    "repair": _repair,
    "query": _query,
    "export": _export,
    "stats": _stats,
    "anomalies": _anomalies,
    "report": _report,
    "archive": _retention,
    "prune": _retention,
}
