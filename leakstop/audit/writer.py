"""The log's write side, used only while the folder's lock is held: find where the log ends,
refuse to write onto a log that shows tampering, move a torn tail aside, append one record.

An append is one `os.write` of a whole line to a file opened with `O_APPEND`, then `fsync`; a
new day file also `fsync`s the folder so its name survives a crash. Then `head.json` is
replaced. A crash at any point leaves whole records followed by at most one torn line, which
the next writer moves to `torn/` (and records) before it appends.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from leakstop.audit.anchor import Anchor, read_anchor, write_anchor
from leakstop.audit.chain import Seal, check, seal
from leakstop.audit.context import Context
from leakstop.audit.files import DayFile, day_file_name, day_files, tail
from leakstop.audit.record import Action, Record, canonical, from_json, utc_timestamp
from leakstop.errors import AuditIntegrityError, AuditStorageError

TORN_FOLDER = "torn"
_APPEND = (
    os.O_WRONLY
    | os.O_APPEND
    | os.O_CREAT
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_VERIFY_HINT = "run `leakstop audit verify`; to keep logging, move the folder aside and start anew"


@dataclass(frozen=True, slots=True)
class Head:
    """The last record of the log: `seq` 0 and `mac` "" before the first one."""

    seq: int = 0
    mac: str = ""
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class TornTail:
    file: DayFile
    #: Where the last whole line ends: the file is cut back to this length.
    end: int
    size: int


@dataclass(frozen=True)
class RepairResult:
    """What `repair` did: nothing, or moved `size` bytes from `file` to `moved_to`."""

    file: Path | None = None
    moved_to: Path | None = None
    size: int = 0
    #: The `log_repaired` record that says so.
    record: Record | None = None

    @property
    def repaired(self) -> bool:
        return self.moved_to is not None


class Writer:
    """Appends records to the log in `folder`. Create it only while holding the folder's lock:
    it reads the log's end once and keeps it. Raises AuditIntegrityError when the end of the
    log shows tampering (or a key other than the one the log was written with): writing on
    would hide it."""

    def __init__(self, folder: Path, key: bytes | None, clock: Callable[[], datetime]) -> None:
        self.folder = folder
        self.key = key
        self.clock = clock
        #: Every record this writer appended, in order.
        self.written: list[Record] = []
        #: What `repair_torn` did.
        self.repaired = RepairResult()
        self.head, self.torn = self._find_end()

    def append(
        self,
        action: Action,
        secret: str,
        context: Context,
        *,
        details: Mapping[str, Any] | None = None,
        success: bool = True,
        error: str | None = None,
    ) -> Record:
        """Write one record after the head. Raises TypeError for details that are not JSON."""
        if self.torn is not None:
            raise AssertionError("repair_torn() must run before append()")
        now = self.clock()
        # Records stay in time order even when the clock steps back (NTP): a record dated
        # before its predecessor would land in an older day file, out of sequence.
        if self.head.time is not None and now < self.head.time:
            now = self.head.time
        unsealed = Record(
            action=action,
            secret=secret,
            actor=context.actor,
            source=context.source,
            org=context.org,
            details=json_details({**context.details, **(details or {})}),
            success=success,
            error=error,
            actor_ip=context.actor_ip,
            timestamp=utc_timestamp(now),
            seq=self.head.seq + 1,
            prev=self.head.mac,
        )
        try:
            record = replace(unsealed, mac=seal(unsealed, self.key))
            line = record.line()
        except (TypeError, ValueError) as exc:  # a lone surrogate in a name, say
            raise TypeError(f"an audit record's fields must be JSON text: {exc}") from None
        path = self._day_file(record)
        created = not path.exists()
        descriptor = os.open(path, _APPEND, 0o600)
        try:
            written = os.write(descriptor, line)
            if written != len(line):
                raise AuditStorageError(
                    f"{path}: wrote {written} of {len(line)} bytes (disk full?); the next "
                    "append moves the partial record aside"
                )
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if created:
            sync_folder(self.folder)
        write_anchor(self.folder, record.seq, record.mac, path.name, self.key)
        self.head = Head(record.seq, record.mac, record.time)
        self.written.append(record)
        return record

    def repair_torn(self, context: Context) -> RepairResult:
        """Move a torn tail of the newest day file to `torn/<file>.<n>.torn`, cut the file back
        to its last whole line and append a `log_repaired` record naming both."""
        torn = self.torn
        if torn is None:
            return RepairResult()
        if torn.file.archived:
            raise AuditIntegrityError(
                f"{torn.file.path}: an archived day file ends with an incomplete record "
                f"(archives are written whole); {_VERIFY_HINT}"
            )
        with open(torn.file.path, "rb") as stream:
            stream.seek(torn.end)
            fragment = stream.read(torn.size)
        moved_to = self._keep_aside(torn.file.path.name, fragment)
        descriptor = os.open(torn.file.path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        try:
            os.ftruncate(descriptor, torn.end)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self.torn = None
        record = self.append(
            Action.LOG_REPAIRED,
            "",
            context,
            details={
                "file": torn.file.path.name,
                "moved_to": moved_to.relative_to(self.folder).as_posix(),
                "bytes": len(fragment),
                "offset": torn.end,
            },
        )
        self.repaired = RepairResult(torn.file.path, moved_to, len(fragment), record)
        return self.repaired

    def _find_end(self) -> tuple[Head, TornTail | None]:
        files = day_files(self.folder)
        torn: TornTail | None = None
        last: Record | None = None
        for day_file in reversed(files):
            end = tail(day_file)
            if day_file is files[-1] and end.torn:
                torn = TornTail(day_file, end.end, end.torn)
            if end.last is not None:
                last = self._parse_last(day_file, end.last)
                break
        self._check_end(last)
        if last is None:
            return Head(), torn
        return Head(last.seq, last.mac, last.time), torn

    def _parse_last(self, day_file: DayFile, data: bytes) -> Record:
        try:
            record = from_json(json.loads(data.decode("utf-8")))
        except (ValueError, RecursionError, AuditIntegrityError) as exc:
            raise AuditIntegrityError(
                f"{day_file.path}: the last line is not an audit record ({exc}); {_VERIFY_HINT}"
            ) from None
        state = check(record, self.key)
        where = f"the audit log in {self.folder}"
        if state is Seal.UNCHECKED:
            raise AuditIntegrityError(
                f"{where} is sealed with a key: set LEAKSTOP_AUDIT_KEY to append to it"
            )
        if state is Seal.DOWNGRADED:
            raise AuditIntegrityError(
                f"{where} was started without LEAKSTOP_AUDIT_KEY: unset it for this log, or "
                "point the audit dir at a new folder to start a keyed log"
            )
        if state is not Seal.VALID:
            cause = "another key, or " if self.key is not None else ""
            raise AuditIntegrityError(
                f"{day_file.path}: the last record (seq {record.seq}) does not match its mac "
                f"({cause}the record was edited); {_VERIFY_HINT}"
            )
        return record

    def _check_end(self, last: Record | None) -> None:
        """The log's end must agree with head.json: a removal of the newest records leaves a
        chain that links but an anchor that points further."""
        anchor = read_anchor(self.folder)
        if anchor is None:
            if last is not None:
                raise AuditIntegrityError(
                    f"{self.folder}: head.json is missing, so removed records would go unseen; "
                    f"{_VERIFY_HINT}"
                )
            # Written before the first record, so that a crash during it leaves an anchor
            # that lags (harmless) instead of none (which reads as a removal).
            write_anchor(self.folder, 0, "", "", self.key)
            sync_folder(self.folder)
            return
        problem = anchor_disagreement(anchor, last, self.key)
        if problem is not None:
            raise AuditIntegrityError(f"{self.folder}: {problem}; {_VERIFY_HINT}")

    def _day_file(self, record: Record) -> Path:
        name = day_file_name(record.time.date())
        if (self.folder / f"{name}.gz").exists():
            raise AuditIntegrityError(
                f"{self.folder / name}.gz: the day of this record is already archived (is the "
                "clock behind?)"
            )
        return self.folder / name

    def _keep_aside(self, name: str, fragment: bytes) -> Path:
        folder = self.folder / TORN_FOLDER
        created = not folder.is_dir()
        folder.mkdir(mode=0o700, exist_ok=True)
        number = 1
        while True:
            target = folder / f"{name}.{number}.torn"
            try:
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                number += 1
                continue
            break
        try:
            while fragment:
                fragment = fragment[os.write(descriptor, fragment) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        sync_folder(folder)
        if created:
            sync_folder(self.folder)
        return target


def anchor_disagreement(anchor: Anchor, last: Record | None, key: bytes | None) -> str | None:
    """Why head.json does not fit a log whose last record is `last`, or None when it fits.
    An anchor one record behind is a crash between writing a record and the anchor."""
    if key is not None and not anchor.is_signed_by(key):
        return (
            "head.json is not signed with LEAKSTOP_AUDIT_KEY: it was rewritten by someone "
            "without the key (to hide removed records?)"
        )
    seq, mac, prev = (last.seq, last.mac, last.prev) if last else (0, "", "")
    if anchor.seq > seq:
        return (
            f"head.json says the log ends at seq {anchor.seq}, but its last record is seq "
            f"{seq}: the newest records were removed"
        )
    if anchor.seq == seq and anchor.mac != mac:
        return f"head.json does not match the last record (seq {seq}): one of them was replaced"
    if anchor.seq == seq - 1 and anchor.mac != prev:
        return f"head.json does not match record seq {anchor.seq}: one of them was replaced"
    if anchor.seq < seq - 1:
        # Writers hold the lock from record to anchor, so only a crash in between leaves the
        # anchor behind, by that one record. Further behind is an older head.json put back.
        return (
            f"head.json says the log ends at seq {anchor.seq}, {seq - anchor.seq} records "
            f"before its last record (seq {seq}): an older head.json was put back"
        )
    return None


def json_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """`details` as they read back from the log. Raises TypeError when they are not JSON
    (a datetime, NaN, bytes) or would not read back the same (keys that collide as strings)."""
    try:
        encoded = canonical(details)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"audit details must be JSON values: {exc}") from None
    normalized: dict[str, Any] = json.loads(encoded)
    if canonical(normalized) != encoded:
        raise TypeError("audit details must have string keys (each once) to read back the same")
    return normalized


def sync_folder(folder: Path) -> None:
    """Make a new name in `folder` durable. Windows cannot open a folder; NTFS journals names."""
    if sys.platform == "win32":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
