"""Where audit records go besides the local day files: systems that outlive a runner or that
a security team already searches (a SIEM over HTTP, a PostgreSQL table).

The local file is always written first; a sink that fails never loses the record, the failure
is itself recorded (`sink_failed`, local only) and shown.
"""

from __future__ import annotations

from typing import Protocol

from leakstop.audit.record import Record
from leakstop.errors import LeakstopError


class SinkError(LeakstopError):
    """A sink refused or could not take a record (after its retries)."""


class Sink(Protocol):
    #: For messages and `sink_failed` records: "http https://siem.example/…", "postgres …".
    name: str

    def send(self, record: Record) -> None:
        """Deliver one record, already appended (seq, prev and mac set). Raises SinkError."""
        ...

    def close(self) -> None: ...
