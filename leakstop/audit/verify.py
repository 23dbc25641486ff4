"""Check that the audit log is the one that was written: every record whole, sealed, in
sequence and linked to the one before it, in the day file of its date, and the log's end where
`head.json` says it is. Reads one line at a time: memory stays flat however long the log.

What it catches, and what it cannot:

* With `LEAKSTOP_AUDIT_KEY`: any edit, removal, reordering or insertion, and any record or
  anchor written by someone without the key, including a `sha256:` downgrade.
* Without a key: breaks in the chain. Someone with file access can rewrite the chain and
  `head.json` from any record on; a warning says so. Records sealed with an HMAC are checked
  for order and links only.
* A torn tail (a write a crash cut short) is reported apart from tampering: the log verifies
  up to it, and `AuditLog.repair` moves it aside.
* Days with no file are normal (no activity): the chain shows whether a file was removed. A log
  whose oldest files were pruned must start where a later `log_pruned` record says it cut.
"""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakstop.audit import lock
from leakstop.audit.anchor import ANCHOR_NAME, Anchor, read_anchor
from leakstop.audit.chain import Seal, Sealer
from leakstop.audit.entry import Entry, read_entry
from leakstop.audit.files import Line, day_file_name, day_files, lines
from leakstop.audit.record import Action
from leakstop.audit.writer import anchor_disagreement
from leakstop.errors import AuditIntegrityError, AuditStorageError


class ProblemKind(str, enum.Enum):
    #: A line that is not an audit record, or a file that cannot be read.
    UNREADABLE = "unreadable"
    #: The record's content does not match its seal: edited, or forged without the key.
    EDITED = "edited"
    #: A `sha256:` seal in a log checked with a key.
    DOWNGRADED = "downgraded"
    #: A gap in `seq`: records removed (lines, or a whole day file).
    MISSING = "missing"
    #: `seq` or time going backwards: records moved, duplicated or inserted.
    REORDERED = "reordered"
    #: `prev` is not the previous record's `mac`: a record replaced or inserted before it.
    UNLINKED = "unlinked"
    #: A record in the day file of another date.
    MISFILED = "misfiled"
    #: An incomplete line in a day file that is not the newest: the file was cut.
    TRUNCATED = "truncated"
    #: The log's oldest records are gone and no `log_pruned` record says they were pruned.
    START = "start"
    #: `head.json` missing, unsigned, or not where the log ends.
    HEAD = "head"
    #: An incomplete last line in the newest file: a crash, not tampering.
    TORN = "torn"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    why: str
    file: Path | None = None
    #: 1-based line in `file` (in the decompressed stream of an archive).
    line: int | None = None
    seq: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return (where if self.file is not None else "") + self.why


@dataclass(frozen=True)
class VerifyResult:
    #: Records that passed, in order, up to the first problem.
    records: int
    #: Day files read.
    files: int
    #: The first problem found; None when the chain holds.
    problem: Problem | None = None
    #: An incomplete last line of the newest file (kind TORN), reported apart from `problem`.
    torn: Problem | None = None
    warnings: tuple[str, ...] = ()
    first_seq: int | None = None
    last_seq: int | None = None

    @property
    def ok(self) -> bool:
        """The chain holds (a torn tail does not break it; see `torn`)."""
        return self.problem is None


def verify(folder: Path, key: bytes | None) -> VerifyResult:
    """Walk the log in `folder` and report its first problem. Raises AuditStorageError only
    when the folder cannot be listed; unreadable files are problems.

    Holds the folder's lock shared (when it may), so appends wait and the walk sees whole
    records and an anchor that fits them."""
    with lock.shared(folder):
        return _Walk(folder, key).run()


class _Walk:
    def __init__(self, folder: Path, key: bytes | None) -> None:
        self.folder = folder
        self.key = key
        self.sealer = Sealer(key)
        self.records = 0
        self.files = 0
        self.last: Entry | None = None
        self.first: tuple[Entry, Line] | None = None
        #: The first record's start is explained by a later log_pruned record.
        self.start_covered = False
        self.unchecked = 0
        self.anchor: Anchor | None = None
        self.torn: Problem | None = None

    def run(self) -> VerifyResult:
        anchor_error: str | None = None
        try:
            try:
                self.anchor = read_anchor(self.folder)
            except AuditIntegrityError as exc:
                anchor_error = str(exc)
            files = day_files(self.folder)
        except OSError as exc:
            raise AuditStorageError(f"cannot read the audit folder {self.folder}: {exc}") from exc
        for index, day_file in enumerate(files):
            self.files += 1
            try:
                for line in lines(day_file):
                    problem = self._line(line, newest=index == len(files) - 1)
                    if problem is not None:
                        return self._result(problem)
            except (OSError, EOFError, zlib.error) as exc:  # EOFError: a cut-off archive
                return self._result(
                    Problem(ProblemKind.UNREADABLE, f"cannot be read ({exc})", day_file.path)
                )
        return self._result(self._start() or self._end(anchor_error))

    def _line(self, line: Line, newest: bool) -> Problem | None:
        if not line.complete:
            if newest:
                self.torn = _problem(
                    line,
                    ProblemKind.TORN,
                    f"an incomplete record ({len(line.data)} bytes) ends the log: a write that "
                    "did not finish; `leakstop audit repair` moves it aside",
                )
                return None
            return _problem(
                line,
                ProblemKind.TRUNCATED,
                "the file ends inside a record, and a newer day file follows: it was cut",
            )
        try:
            record = read_entry(line.data)
        except AuditIntegrityError as exc:
            return _problem(line, ProblemKind.UNREADABLE, str(exc))
        except (ValueError, RecursionError) as exc:  # RecursionError: `[[[[...]]]]`
            return _problem(line, ProblemKind.UNREADABLE, f"not an audit record ({exc})")
        seq = record.seq
        seal = self.sealer.check(record.mac, record.signed)
        if seal is Seal.BROKEN:
            how = (
                "edited, or forged without LEAKSTOP_AUDIT_KEY"
                if self.key is not None
                else "edited (its sha256 does not match)"
            )
            return _problem(
                line, ProblemKind.EDITED, f"the record does not match its mac: {how}", seq
            )
        if seal is Seal.DOWNGRADED:
            return _problem(
                line,
                ProblemKind.DOWNGRADED,
                "the record is sealed with a plain sha256 although LEAKSTOP_AUDIT_KEY is set: "
                "forged by someone without the key (a downgrade), or written without a key",
                seq,
            )
        if seal is Seal.UNKNOWN:
            return _problem(line, ProblemKind.EDITED, "the record's mac has no known scheme", seq)
        if seal is Seal.UNCHECKED:
            self.unchecked += 1
        if not record.canonical:
            return _problem(
                line,
                ProblemKind.EDITED,
                "the line is not in canonical form (spacing, key order or a repeated key): "
                "it was edited",
                seq,
            )
        previous = self.last
        if previous is None:
            if seq < 1 or (seq == 1) != (record.prev == ""):
                return _problem(
                    line,
                    ProblemKind.START,
                    f"the log's first record (seq {seq}) does not start a chain: records "
                    "before it were replaced",
                    seq,
                )
            self.first = (record, line)
            self.start_covered = seq == 1
        else:
            if seq != previous.seq + 1:
                return _problem(line, *_out_of_sequence(previous.seq, seq, line.number), seq)
            if record.prev != previous.mac:
                return _problem(
                    line,
                    ProblemKind.UNLINKED,
                    f"prev is not the mac of record seq {previous.seq}: a record before it "
                    "was replaced or inserted",
                    seq,
                )
        if record.time.date() != line.file.day:
            return _problem(
                line,
                ProblemKind.MISFILED,
                f"the record is dated {record.time.date()}, not the day of its file",
                seq,
            )
        if previous is not None and record.time < previous.time:
            return _problem(
                line,
                ProblemKind.REORDERED,
                f"the record is dated before record seq {previous.seq}: records were moved",
                seq,
            )
        if record.action == Action.LOG_PRUNED.value and not self.start_covered and self.first:
            self.start_covered = _covers(record.details, self.first[0])
        self.last = record
        self.records += 1
        return None

    def _start(self) -> Problem | None:
        if self.first is None or self.start_covered:
            return None
        record, line = self.first
        return Problem(
            ProblemKind.START,
            f"the log starts at seq {record.seq}, and no log_pruned record covers seq 1–"
            f"{record.seq - 1}: older day files or records were deleted",
            line.file.path,
            line.number,
            record.seq,
        )

    def _end(self, anchor_error: str | None) -> Problem | None:
        path = self.folder / ANCHOR_NAME
        if anchor_error is not None:
            return Problem(ProblemKind.HEAD, anchor_error)
        anchor, last = self.anchor, self.last
        if anchor is None:
            if last is None:
                return None
            return Problem(
                ProblemKind.HEAD,
                "head.json is missing: the removal of the newest records cannot be ruled out",
                path,
            )
        why = anchor_disagreement(anchor, last.record() if last else None, self.key)
        if (
            why is None
            and last is not None
            and anchor.seq == last.seq
            and anchor.file != day_file_name(last.time.date())
        ):
            why = f"head.json names {anchor.file!r}, not the day file of record seq {last.seq}"
        return Problem(ProblemKind.HEAD, why, path) if why is not None else None

    def _result(self, problem: Problem | None) -> VerifyResult:
        warnings = []
        if self.key is None:
            warnings.append(
                "no LEAKSTOP_AUDIT_KEY: the chain was checked, but someone with file access "
                "can rewrite it from any record on, so forgeries are not detectable"
            )
        if self.unchecked:
            warnings.append(
                f"{self.unchecked} records are sealed with an HMAC: without LEAKSTOP_AUDIT_KEY "
                "only their order and links were checked, not their content"
            )
        last = self.last
        if problem is None and self.anchor and last and self.anchor.seq == last.seq - 1:
            warnings.append(
                "head.json is one record behind the log: a write was interrupted between "
                "its record and head.json (the next append catches up)"
            )
        return VerifyResult(
            records=self.records,
            files=self.files,
            problem=problem,
            torn=self.torn if problem is None else None,
            warnings=tuple(warnings),
            first_seq=self.first[0].seq if self.first else None,
            last_seq=last.seq if last else None,
        )


def _problem(line: Line, kind: ProblemKind, why: str, seq: int | None = None) -> Problem:
    return Problem(kind, why, line.file.path, line.number, seq)


def _out_of_sequence(previous: int, seq: int, line: int) -> tuple[ProblemKind, str]:
    if seq > previous + 1:
        missing = f"seq {previous + 1}" if seq == previous + 2 else f"seq {previous + 1}–{seq - 1}"
        where = " (a deleted day file, or the end of the previous one cut)" if line == 1 else ""
        return (
            ProblemKind.MISSING,
            f"seq {seq} follows seq {previous}: {missing} missing{where}, or records reordered",
        )
    return (
        ProblemKind.REORDERED,
        f"seq {seq} follows seq {previous}: records were reordered, duplicated or inserted",
    )


def _covers(details: Any, first: Entry) -> bool:
    """Whether a `log_pruned` record's details say the log was cut just before `first`."""
    if not isinstance(details, dict):
        return False
    files = details.get("files")
    bounds = [details, *(files if isinstance(files, list) else [])]
    return any(
        isinstance(bound, dict)
        and bound.get("last_seq") == first.seq - 1
        and bound.get("last_mac") == first.prev
        for bound in bounds
    )
