"""The audit log: records appended to day files in one folder, each sealed to the one before it,
then handed to the configured sinks.

    log = AuditLog.open(folder, key_from_environment(), sinks)
    log.append(Action.REVOKED, "billing/api-key", context, details={"version": 3})

Appends are safe from any number of processes at once (one lock per folder). Callers pass names,
fingerprints and redactions, never a secret value: records are stored exactly as given.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from leakstop.audit import lock
from leakstop.audit.context import Context, from_environment
from leakstop.audit.files import DayFile, day_files, lines
from leakstop.audit.record import Action, Record, from_json
from leakstop.audit.sinks import Sink, SinkError
from leakstop.audit.verify import VerifyResult, verify
from leakstop.audit.writer import RepairResult, Writer, json_details
from leakstop.errors import AuditIntegrityError, AuditStorageError
from leakstop.textsafe import sanitize

logger = logging.getLogger(__name__)

__all__ = ["AuditLog", "RepairResult"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class AuditLog:
    """One audit folder. Build it with `AuditLog.open`."""

    folder: Path
    #: `LEAKSTOP_AUDIT_KEY`; None: a plain SHA-256 chain.
    key: bytes | None
    sinks: tuple[Sink, ...] = ()
    #: Where record timestamps come from (tests set days); must return an aware datetime.
    clock: Callable[[], datetime] = _utc_now
    _warned: bool = field(default=False, init=False, repr=False)
    #: Every record this instance wrote, in order (its own `sink_failed` ones too): what one
    #: command run added, for the Action's artifact and job summary.
    appended: list[Record] = field(default_factory=list, init=False, repr=False, compare=False)
    # The folder lock orders processes; this orders threads of one process (parallel
    # rotations), so sinks, which need not be thread-safe, see one record at a time.
    _serial: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @classmethod
    def open(
        cls,
        folder: Path,
        key: bytes | None,
        sinks: Sequence[Sink] = (),
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> AuditLog:
        """The log in `folder`, created (mode 0700) when missing. Raises AuditStorageError."""
        if key is not None and not key:
            raise ValueError("an empty audit key; pass None for no key")
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditStorageError(f"cannot create the audit folder {folder}: {exc}") from exc
        return cls(folder, key, tuple(sinks), clock or _utc_now)

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
        """Write one record (its details merged over `context.details`) and return it as
        written, with seq, prev, mac, id and timestamp. A torn tail left by a crash is moved
        aside first (and recorded). Then each sink gets the record; a sink that fails does not
        fail the append: a local `sink_failed` record says so.

        Raises AuditIntegrityError when the log's end shows tampering or another key,
        AuditStorageError when the folder cannot be written, TypeError for details that are
        not JSON."""
        json_details({**context.details, **(details or {})})  # before anything is written
        with self._serial, self.exclusive(context) as writer:
            record = writer.append(
                action, secret, context, details=details, success=success, error=error
            )
        return record

    def repair(self, context: Context | None = None) -> RepairResult:
        """Move a torn tail (a write a crash cut short) aside to `torn/` and record that in a
        `log_repaired` record; does nothing on a log without one."""
        with self.exclusive(context) as writer:
            return writer.repaired

    def records(self, since: date | None = None, until: date | None = None) -> Iterator[Record]:
        """The records of the days `since` to `until` (inclusive, UTC), oldest first, streamed.
        Seals are not checked here (`verify` does that); a torn tail is skipped. Raises
        AuditIntegrityError for a line that is not a record."""
        for day_file in self._day_files(since, until):
            try:
                for line in lines(day_file):
                    if not line.complete:
                        continue
                    try:
                        record = from_json(json.loads(line.data.decode("utf-8")))
                    except (ValueError, RecursionError, AuditIntegrityError) as exc:
                        raise AuditIntegrityError(
                            f"{day_file.path}:{line.number}: not an audit record ({exc})"
                        ) from None
                    yield record
            except (OSError, EOFError, zlib.error) as exc:  # EOFError: a cut-off archive
                raise AuditIntegrityError(f"{day_file.path}: cannot be read ({exc})") from exc

    def close(self, context: Context | None = None) -> None:
        """Close each sink (the log owns the sinks it was opened with). A sink that fails to
        close (one that sends at close, as the git sink pushes its batch) is shown and
        recorded locally as `sink_failed`, not raised: its records are already on disk."""
        for sink in self.sinks:
            try:
                sink.close()
            except (SinkError, OSError) as exc:
                logger.warning(
                    "audit sink %s did not close: %s", sanitize(sink.name), sanitize(str(exc))
                )
                self._record_close_failure(sink, str(exc), context or from_environment())

    def verify(self) -> VerifyResult:
        """`verify(folder, key)` for this log."""
        return verify(self.folder, self.key)

    @contextmanager
    def exclusive(self, context: Context | None = None) -> Iterator[Writer]:
        """Hold the folder's lock and yield a writer (torn tail already repaired, as `context`
        or the environment's); when the block ends, unlocked, send what it wrote to the
        sinks. For the log's own upkeep (archive, prune)."""
        context = context or from_environment()
        if self.key is None and not self._warned:
            self._warned = True
            logger.warning(
                "LEAKSTOP_AUDIT_KEY is not set: the audit log in %s is a plain SHA-256 chain, "
                "so edits by someone with file access are detectable only as breaks, not as "
                "forgeries",
                sanitize(str(self.folder)),
            )
        written: list[Record] = []
        try:
            with self._locked() as writer:
                writer.repair_torn(context)
                try:
                    yield writer
                finally:
                    written = writer.written
        finally:
            self._deliver(written, context)

    @contextmanager
    def _locked(self) -> Iterator[Writer]:
        try:
            with lock.exclusive(self.folder):
                writer = Writer(self.folder, self.key, self.clock)
                try:
                    yield writer
                finally:
                    self.appended.extend(writer.written)
        except OSError as exc:
            raise AuditStorageError(f"cannot write the audit log in {self.folder}: {exc}") from exc

    def _deliver(self, records: Sequence[Record], context: Context) -> None:
        """Send each record to each sink, after the local write and outside the lock; record
        each refusal locally (never sent on, so a sink that is down cannot loop)."""
        for record in records:
            for sink in self.sinks:
                try:
                    sink.send(record)
                except (SinkError, OSError) as exc:
                    self._record_sink_failure(sink, record, str(exc), context)

    def _record_sink_failure(
        self, sink: Sink, record: Record, error: str, context: Context
    ) -> None:
        try:
            with self._locked() as writer:
                writer.repair_torn(context)
                failure = writer.append(
                    Action.SINK_FAILED,
                    "",
                    context,
                    details={
                        "sink": sink.name,
                        "error": error,
                        "record_id": record.id,
                        "record_seq": record.seq,
                    },
                    success=False,
                    error=error,
                )
        except (AuditIntegrityError, AuditStorageError) as exc:
            # The record itself is safely on disk: failing its caller now would invite a retry
            # and a duplicate. Both failures are shown instead.
            logger.error(
                "audit sink %s did not take record %d (%s), and recording that failed too: %s",
                sanitize(sink.name),
                record.seq,
                sanitize(error),
                sanitize(str(exc)),
            )
            return
        logger.warning(
            "audit sink %s did not take record %d (%s); kept locally as sink_failed record %d",
            sanitize(sink.name),
            record.seq,
            sanitize(error),
            failure.seq,
        )

    def _record_close_failure(self, sink: Sink, error: str, context: Context) -> None:
        try:
            with self._locked() as writer:
                writer.repair_torn(context)
                writer.append(
                    Action.SINK_FAILED,
                    "",
                    context,
                    details={"sink": sink.name, "error": error, "stage": "close"},
                    success=False,
                    error=error,
                )
        except (AuditIntegrityError, AuditStorageError) as exc:
            logger.error(
                "recording that audit sink %s did not close failed too: %s",
                sanitize(sink.name),
                sanitize(str(exc)),
            )

    def _day_files(self, since: date | None, until: date | None) -> list[DayFile]:
        try:
            return day_files(self.folder, since, until)
        except OSError as exc:
            raise AuditStorageError(f"cannot read the audit folder {self.folder}: {exc}") from exc
