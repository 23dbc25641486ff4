"""Copies of a run's records appended to another log (the audit branch's checkout), sealed
again after that log's last record.

The branch is a second log, merged from every run that pushes to it: each run's local log
starts its own chain, so a record cannot keep its local `seq`, `prev` and `mac` there. Each
copy gets the next `seq`, `prev` = the branch's last `mac`, and a new `mac` under the same key,
so `leakstop audit verify` checks the branch as one chain. What a copy keeps: the record's id,
action, secret, actor, details and outcome. What it adds, in `details.copied_from`: the local
`seq`, `mac` and `timestamp`, so a copy can be matched to the runner's own log while it exists.
Its `timestamp` is the original unless that is before the branch's last record (runs that
overlap in time are appended one after the other): then it is that record's, as a log's time
never goes backwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

from leakstop.audit.anchor import write_anchor
from leakstop.audit.chain import seal
from leakstop.audit.files import day_file_name, day_files, lines
from leakstop.audit.record import Record, utc_timestamp
from leakstop.audit.writer import Writer
from leakstop.errors import AuditIntegrityError

COPIED_FROM = "copied_from"


def append_copies(folder: Path, records: Sequence[Record], key: bytes | None) -> list[Record]:
    """Append re-sealed copies of `records` to the log in `folder` (no lock: the folder is the
    caller's own checkout) and return them; records whose id the log already holds (a push that
    landed although it seemed to fail) are skipped. Returns the copies written.

    Raises AuditIntegrityError when the log's end does not verify with `key` (another key, no
    key for a keyed log, an edit) or ends with an incomplete record."""
    writer = Writer(folder, key, lambda: datetime.now(timezone.utc))
    if writer.torn is not None:
        raise AuditIntegrityError(
            f"{writer.torn.file.path.name} ends with an incomplete record; the branch was "
            "edited by hand"
        )
    head = writer.head
    present = _ids_since(folder, min((r.time.date() for r in records), default=None))
    written: list[Record] = []
    for record in records:
        if record.id in present:
            continue
        moment = record.time if head.time is None else max(record.time, head.time)
        copy = replace(
            record,
            timestamp=record.timestamp if moment == record.time else utc_timestamp(moment),
            details={
                **record.details,
                COPIED_FROM: {"seq": record.seq, "mac": record.mac, "timestamp": record.timestamp},
            },
            seq=head.seq + 1,
            prev=head.mac,
            mac="",
        )
        copy = replace(copy, mac=seal(copy, key))
        _append_line(folder / day_file_name(moment.date()), copy.line())
        head = replace(head, seq=copy.seq, mac=copy.mac, time=moment)
        written.append(copy)
    if written:
        last = written[-1]
        write_anchor(folder, last.seq, last.mac, day_file_name(last.time.date()), key)
    return written


def _append_line(path: Path, line: bytes) -> None:
    with open(path, "ab") as stream:
        stream.write(line)
        stream.flush()
        os.fsync(stream.fileno())


def _ids_since(folder: Path, since: date | None) -> set[str]:
    """The ids of the records from `since` on; only these days can hold an earlier copy."""
    if since is None:
        return set()
    ids: set[str] = set()
    for day_file in day_files(folder, since):
        for line in lines(day_file):
            if line.complete:
                try:
                    document = json.loads(line.data)
                except ValueError as exc:
                    raise AuditIntegrityError(
                        f"{day_file.path.name}:{line.number}: not an audit record"
                    ) from exc
                if isinstance(document, dict) and isinstance(document.get("id"), str):
                    ids.add(document["id"])
    return ids
