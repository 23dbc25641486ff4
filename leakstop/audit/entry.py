"""One line of the log as `audit verify` reads it: decoded once, encoded once.

For each line, verify needs the record's fields, the bytes its `mac` covers (the canonical
JSON of every field but `mac`, `Record.signed_bytes()`) and whether the line is the record in
canonical form (`Record.line()`). Building a `Record` and encoding it twice for those was most
of the cost of `audit verify` (profiled on 200,000 records: ~41 µs a record, ~9 of them the
`Record`, ~12 the two encodings). Here the line's dict is checked in place and, without its
`mac`, encoded once; the canonical line is that encoding with the `mac` member put back where
sorted keys put it, just before `,"org":` (see `record.with_mac`).

Whatever is off the common path (a field of another type, an unknown action, a timestamp that
does not parse, more than one JSON document) goes through `from_json`, so what is accepted,
what is refused and what each error says are exactly what they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from leakstop.audit.record import (
    Record,
    canonical_decoded,
    decode,
    from_json,
    is_plain_record,
    parse_timestamp,
    with_mac,
)


class Entry(NamedTuple):
    """A record read for verification. (A tuple, not a dataclass: one is made per line, and a
    frozen dataclass costs ~1 µs more to build.)"""

    seq: int
    prev: str
    mac: str
    #: `timestamp`, parsed.
    time: datetime
    action: str
    details: dict[str, Any]
    #: The decoded line; `record()` makes a `Record` of it.
    document: dict[str, Any]
    #: What `mac` covers; None when the content cannot be encoded (NaN, 1e999 in details:
    #: nothing leakstop writes), so that no seal can match it.
    signed: bytes | None
    #: The line is the record's canonical JSON, byte for byte.
    canonical: bool

    def record(self) -> Record:
        return from_json(self.document)


def read_entry(data: bytes) -> Entry:
    """The record on one line (`data`, without its newline).

    Raises AuditIntegrityError when the line is JSON but not a record, ValueError when it is
    not JSON or not UTF-8, RecursionError when it nests too deep: as `from_json(json.loads(…))`.
    """
    document = decode(data.decode("utf-8"))
    if not is_plain_record(document):
        return _from_record(from_json(document), data)
    try:
        moment = parse_timestamp(document["timestamp"])
    except ValueError:
        return _from_record(from_json(document), data)
    mac: str = document["mac"]
    unsigned = document.copy()
    del unsigned["mac"]
    try:
        encoded = canonical_decoded(unsigned)
        # A lone surrogate in `mac` cannot be UTF-8: such a line is not canonical either.
        signed: bytes | None = encoded
        is_canonical = with_mac(encoded, mac) == data
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        signed, is_canonical = None, False
    return Entry(
        document["seq"],
        document["prev"],
        mac,
        moment,
        document["action"],
        document["details"],
        document,
        signed,
        is_canonical,
    )


def _from_record(record: Record, data: bytes) -> Entry:
    try:
        signed: bytes | None = record.signed_bytes()
        is_canonical = record.line() == data + b"\n"
    except (TypeError, ValueError, RecursionError):
        signed, is_canonical = None, False
    return Entry(
        record.seq,
        record.prev,
        record.mac,
        record.time,
        record.action.value,
        dict(record.details),
        record.to_json(),
        signed,
        is_canonical,
    )
