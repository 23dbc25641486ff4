"""Audit logs made by hand for the audit tests: records with chosen times and seqs, written
into day files as the log lays them out (the chain fields are placeholders: these tests read
logs, they do not verify them)."""

from __future__ import annotations

import dataclasses
import gzip
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from leakstop.audit.files import day_file_name
from leakstop.audit.record import Action, Record, Source, utc_timestamp

#: A Monday, noon UTC.
T0 = datetime(2024, 3, 4, 12, 0, tzinfo=timezone.utc)
SECRET = "billing/api-key"


def record(
    action: Action = Action.SECRET_READ,
    secret: str = SECRET,
    actor: str = "alice",
    *,
    at: datetime | timedelta = T0,
    seq: int = 0,
    success: bool = True,
    source: Source = Source.CLI,
    org: str = "default",
    details: Mapping[str, Any] | None = None,
    error: str | None = None,
    actor_ip: str | None = None,
) -> Record:
    """A record at `at` (a time, or an offset from T0)."""
    moment = T0 + at if isinstance(at, timedelta) else at
    timestamp = utc_timestamp(moment)
    return Record(
        action,
        secret,
        actor,
        source,
        org=org,
        details=dict(details or {}),
        success=success,
        error=error,
        actor_ip=actor_ip,
        # Fixed, so that output compares with golden files.
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{timestamp}/{action.value}/{secret}/{actor}")),
        timestamp=timestamp,
        seq=seq,
        prev="0" * 64,
        mac="f" * 64,
    )


def numbered(records: Iterable[Record], start: int = 1) -> list[Record]:
    """The records with seqs start, start + 1, … in the order given."""
    return [dataclasses.replace(r, seq=n) for n, r in enumerate(records, start)]


def write_log(
    folder: Path, records: Iterable[Record], *, archived: Iterable[str] = ()
) -> list[Record]:
    """Append each record's line to the day file of its UTC day (gzipped for the days in
    `archived`, as `YYYY-MM-DD`); returns the records."""
    written = list(records)
    by_day: dict[str, list[bytes]] = {}
    for item in written:
        by_day.setdefault(item.timestamp[:10], []).append(item.line())
    folder.mkdir(parents=True, exist_ok=True)
    gzipped = set(archived)
    for day, lines in by_day.items():
        path = folder / day_file_name(datetime.fromisoformat(day).date())
        if day in gzipped:
            with gzip.open(path.with_name(path.name + ".gz"), "ab") as stream:
                stream.writelines(lines)
        else:
            with open(path, "ab") as stream:
                stream.writelines(lines)
    return written
