"""Keeping the log's size in bounds without breaking its chain: old day files are gzipped in
place (`archive`), or deleted past a retention (`prune`). Each is itself a record in the log.

An archived file holds the same lines, so the chain runs through it unchanged. A prune records
the `mac` of the last record of each file it deletes *before* deleting them: `verify` then
accepts a log whose oldest remaining record links to one of those, and nothing else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from leakstop.audit.context import Context, from_environment
from leakstop.audit.files import DayFile, day_files, tail
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Record, from_json
from leakstop.audit.writer import Writer, sync_folder
from leakstop.durations import format_duration
from leakstop.errors import AuditIntegrityError, AuditStorageError

_BLOCK = 1 << 16


@dataclass(frozen=True)
class ArchiveResult:
    #: The `.jsonl.gz` files written (their plain files are gone).
    files: tuple[Path, ...] = ()
    #: The `log_archived` record; None when there was nothing to archive.
    record: Record | None = None


@dataclass(frozen=True)
class PruneResult:
    #: The day files deleted, oldest first.
    files: tuple[Path, ...] = ()
    #: The last record deleted: the oldest remaining record's `prev` is `last_mac`.
    last_seq: int | None = None
    last_mac: str | None = None
    #: The `log_pruned` record; None when there was nothing to prune.
    record: Record | None = None


def archive(
    log: AuditLog,
    older_than: timedelta,
    now: datetime | None = None,
    context: Context | None = None,
) -> ArchiveResult:
    """Gzip each plain day file whose whole day ended more than `older_than` before `now`
    (default: the log's clock), never today's, and record a `log_archived` record naming them.
    Raises AuditStorageError when a file cannot be written."""
    context = context or from_environment()
    with log.exclusive(context) as writer:
        old = [day for day in _old_files(log, writer, older_than, now) if not day.archived]
        written = tuple(_compress(log.folder, day) for day in old)
        if not written:
            return ArchiveResult()
        record = writer.append(
            Action.LOG_ARCHIVED,
            "",
            context,
            details={
                "files": [day.path.name for day in old],
                "older_than": format_duration(older_than),
            },
        )
    return ArchiveResult(written, record)


def prune(
    log: AuditLog,
    older_than: timedelta,
    now: datetime | None = None,
    context: Context | None = None,
) -> PruneResult:
    """Delete each day file (plain or archived) whose whole day ended more than `older_than`
    before `now` (default: the log's clock), never today's. First a `log_pruned` record names
    them with the last `seq` and `mac` of each, so that `verify` can tell a prune from a
    deletion. Raises AuditIntegrityError when a file to delete does not end in a record."""
    context = context or from_environment()
    with log.exclusive(context) as writer:
        old = _old_files(log, writer, older_than, now)
        if not old:
            return PruneResult()
        # Deleted oldest first after this record: a prune cut short by a crash leaves a log
        # that starts after one of these boundaries, which verify accepts.
        bounds = [_boundary(day) for day in old]
        last = next((bound for bound in reversed(bounds) if bound["last_seq"] is not None), None)
        last_seq, last_mac = (last["last_seq"], last["last_mac"]) if last else (None, None)
        record = writer.append(
            Action.LOG_PRUNED,
            "",
            context,
            details={
                "files": bounds,
                "last_seq": last_seq,
                "last_mac": last_mac,
                "older_than": format_duration(older_than),
            },
        )
        for day in old:
            day.path.unlink()
            if not day.archived:  # the archive an interrupted `archive` left beside it
                day.path.with_name(f"{day.path.name}.gz").unlink(missing_ok=True)
        sync_folder(log.folder)
    return PruneResult(tuple(day.path for day in old), last_seq, last_mac, record)


def _old_files(
    log: AuditLog, writer: Writer, older_than: timedelta, now: datetime | None
) -> list[DayFile]:
    """Day files whose whole day ended `older_than` before `now`, except the day this
    process's next record goes to (today, or the last record's day when the clock is behind)."""
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    today = max(log.clock(), writer.head.time or log.clock()).astimezone(timezone.utc).date()
    cutoff = (now or log.clock()) - older_than
    return [
        day
        for day in day_files(log.folder)
        if day.day < today
        and datetime.combine(day.day + timedelta(days=1), time(), timezone.utc) <= cutoff
    ]


def _boundary(day: DayFile) -> dict[str, Any]:
    end = tail(day)
    if end.last is None:
        return {"file": day.path.name, "last_seq": None, "last_mac": None}
    try:
        record = from_json(json.loads(end.last.decode("utf-8")))
    except (ValueError, AuditIntegrityError) as exc:
        raise AuditIntegrityError(
            f"{day.path}: the last line is not an audit record ({exc}); run `leakstop audit "
            "verify` before pruning"
        ) from None
    return {"file": day.path.name, "last_seq": record.seq, "last_mac": record.mac}


def _compress(folder: Path, day: DayFile) -> Path:
    """Write `<file>.gz` next to the file (temporary name, fsync, rename), check it reads back
    the same bytes, then remove the plain file."""
    target = folder / f"{day.path.name}.gz"
    temporary = folder / f".{target.name}.tmp"
    plain = hashlib.sha256()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(day.path, "rb") as source, os.fdopen(descriptor, "wb") as raw:
        # mtime 0 and no name: the same day file always gives the same archive.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
            while block := source.read(_BLOCK):
                plain.update(block)
                packed.write(block)
        raw.flush()
        os.fsync(raw.fileno())
    unpacked = hashlib.sha256()
    with gzip.open(temporary, "rb") as check:
        while block := check.read(_BLOCK):
            unpacked.update(block)
    if unpacked.digest() != plain.digest():
        temporary.unlink()
        raise AuditStorageError(f"{target}: the archive does not read back as {day.path}")
    os.replace(temporary, target)
    sync_folder(folder)
    day.path.unlink()
    sync_folder(folder)
    return target
