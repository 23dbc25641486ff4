"""One audit record: what was done to which credential, by whom, from where, and whether it
worked. Records hold names, fingerprints and redactions, never a secret value.

On disk a record is one line of canonical JSON (sorted keys, no spaces, UTF-8): the bytes its
`mac` covers are exactly `canonical(record without mac)`.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, TypeVar

from leakstop.errors import AuditIntegrityError

_Member = TypeVar("_Member", bound=enum.Enum)


class Action(str, enum.Enum):
    """Everything that happens to a credential, or to the log itself."""

    FINDING_DETECTED = "finding_detected"
    FINDING_CONFIRMED = "finding_confirmed"
    SECRET_CREATED = "secret_created"
    SECRET_READ = "secret_read"
    SECRET_UPDATED = "secret_updated"
    SECRET_DELETED = "secret_deleted"
    ACCESS_DENIED = "access_denied"
    ROTATION_SCHEDULED = "rotation_scheduled"
    ROTATION_STARTED = "rotation_started"
    ROTATION_STEP = "rotation_step"
    ROTATION_COMPLETED = "rotation_completed"
    ROTATION_FAILED = "rotation_failed"
    ROLLBACK = "rollback"
    REVOKED = "revoked"
    MASTER_KEY_ROTATED = "master_key_rotated"
    EXPIRATION_WARNING = "expiration_warning"
    APPROVAL_REQUESTED = "approval_requested"
    #: Reserved (nothing writes it); an emergency revocation's approval is approval_granted.
    APPROVED = "approved"
    REJECTED = "rejected"
    #: A pending emergency revocation released by another person (or a protected GitHub
    #: Environment): the revocation records follow.
    APPROVAL_GRANTED = "approval_granted"
    #: An emergency revocation that needs no approval: what, why and by whom, before it runs.
    REVOCATION_REQUESTED = "revocation_requested"
    #: A store version made unreadable because its credential was revoked.
    VERSION_DISABLED = "version_disabled"
    BACKUP_CREATED = "backup_created"
    BACKUP_RESTORED = "backup_restored"
    #: A local store's backup pruned by age (`leakstop store prune-backups`).
    BACKUP_DELETED = "backup_deleted"
    #: A local store org created (`leakstop store init`): its key's first generation.
    STORE_CREATED = "store_created"
    ANOMALY = "anomaly"
    #: The log's own upkeep: a torn tail moved aside, day files archived or pruned, a sink
    #: that refused a record.
    LOG_REPAIRED = "log_repaired"
    LOG_ARCHIVED = "log_archived"
    LOG_PRUNED = "log_pruned"
    SINK_FAILED = "sink_failed"
    #: A notifier (Slack, Teams, webhook) took a message, or did not after its retries. The
    #: record names the notifier and the event, never the message or the webhook URL.
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"


class Source(str, enum.Enum):
    """Where the action came from."""

    CLI = "cli"
    ACTION = "action"
    SCHEDULE = "schedule"
    API = "api"


#: The fields of a record on disk, in the order people read them (files use sorted keys).
FIELDS = (
    "id",
    "seq",
    "timestamp",
    "action",
    "secret",
    "org",
    "actor",
    "actor_ip",
    "source",
    "details",
    "success",
    "error",
    "prev",
    "mac",
)


@dataclass(frozen=True)
class Record:
    """One line of the audit log. `seq`, `prev` and `mac` are set by `AuditLog.append`."""

    action: Action
    #: The managed secret's name, or a finding's fingerprint; "" for the log's own records.
    secret: str
    actor: str
    source: Source
    org: str = "default"
    details: Mapping[str, Any] = field(default_factory=dict)
    success: bool = True
    error: str | None = None
    actor_ip: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: UTC, ISO 8601 with microseconds and a `Z`.
    timestamp: str = field(default_factory=lambda: utc_timestamp())
    seq: int = 0
    prev: str = ""
    mac: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "timestamp": self.timestamp,
            "action": self.action.value,
            "secret": self.secret,
            "org": self.org,
            "actor": self.actor,
            "actor_ip": self.actor_ip,
            "source": self.source.value,
            "details": dict(self.details),
            "success": self.success,
            "error": self.error,
            "prev": self.prev,
            "mac": self.mac,
        }

    def signed_bytes(self) -> bytes:
        """What `mac` covers: the canonical JSON of every field but `mac`."""
        document = self.to_json()
        del document["mac"]
        return canonical(document)

    def line(self) -> bytes:
        """The record as one line of the log, newline included."""
        return canonical(self.to_json()) + b"\n"

    @property
    def time(self) -> datetime:
        """`timestamp` parsed, once: a query or verify reads it up to four times a record, and
        parsing it each time was ~10% of `audit verify` (profiled on 200,000 records)."""
        moment: datetime | None = self.__dict__.get("_time")
        if moment is None:
            moment = parse_timestamp(self.timestamp)
            # Not a field: equality, repr and replace() ignore it; frozen, so set it directly.
            object.__setattr__(self, "_time", moment)
        return moment


#: One encoder for every call: json.dumps with these options builds a new JSONEncoder each
#: time, which was a third of the cost of encoding a record.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per document, on every platform."""
    return _ENCODER.encode(document).encode("utf-8")


#: `_ENCODER`'s C encoder, made once: `encode()` makes a cycle-check dict, a closure and a C
#: encoder object on every call, 15% of `audit verify` (measured on 200,000 records). The same
#: C function with the same options, so the same bytes; without the cycle check, which a
#: decoded document does not need. None where the C accelerator is missing.
_C_ENCODER = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None, _ENCODER.default, encode_basestring, None, ":", ",", True, False, False
    )
)


def canonical_decoded(document: dict[str, Any]) -> bytes:
    """`canonical(document)` for a document `json` decoded (so it holds no cycle)."""
    if _C_ENCODER is None:
        return canonical(document)
    return "".join(_C_ENCODER(document, 0)).encode("utf-8")


def with_mac(signed: bytes, mac: str) -> bytes:
    """`Record.line()` without its newline, from the record's `signed_bytes()` and `mac`: one
    encoding where `line()` and `signed_bytes()` make two (`audit verify` and bulk writers).

    The `mac` member goes where sorted keys put it, before `,"org":` (`id` sorts before `mac`,
    so a comma always precedes `org`). Every key after `org` holds a string, an integer or a
    boolean, and a quote inside a JSON string is always escaped, so `,"org":` occurs after the
    top-level member never, and before it only inside `details`: the last one is the member.
    """
    cut = signed.rfind(b',"org":')
    return signed[:cut] + b',"mac":' + encode_basestring(mac).encode("utf-8") + signed[cut:]


def utc_timestamp(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """The UTC time in an ISO 8601 `text`. Raises ValueError when it is none, or out of range
    in UTC (`0001-01-01T00:00:00+05:00` overflowed with an OverflowError that readers of
    audit and store files did not expect; found by tests/fuzz)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except OverflowError as exc:
        raise ValueError(f"timestamp out of range: {exc}") from None


_DECODER: Any = json.JSONDecoder()
_FIELD_SET = frozenset(FIELDS)
_ACTIONS = {action.value: action for action in Action}
_SOURCES = {source.value: source for source in Source}


def from_json(document: Any) -> Record:
    """A record read back from the log; raises AuditIntegrityError when it is not one."""
    if is_plain_record(document):
        try:
            moment = parse_timestamp(document["timestamp"])
        except ValueError:
            pass  # the checks below say why
        else:
            # Every field checked by is_plain_record: no per-field calls (a third of the
            # cost of a query that parses every record, measured on 200,000 records).
            record = Record(
                action=_ACTIONS[document["action"]],
                secret=document["secret"],
                actor=document["actor"],
                source=_SOURCES[document["source"]],
                org=document["org"],
                details=document["details"],
                success=document["success"],
                error=document["error"],
                actor_ip=document["actor_ip"],
                id=document["id"],
                timestamp=document["timestamp"],
                seq=document["seq"],
                prev=document["prev"],
                mac=document["mac"],
            )
            object.__setattr__(record, "_time", moment)
            return record
    if not isinstance(document, dict) or document.keys() != _FIELD_SET:
        missing = sorted(set(FIELDS) - set(document)) if isinstance(document, dict) else []
        raise AuditIntegrityError(
            "not an audit record" + (f" (missing {', '.join(missing)})" if missing else "")
        )
    try:
        details = document["details"]
        if not isinstance(details, dict):
            raise TypeError("details is not an object")
        record = Record(
            action=_member(_ACTIONS, Action, document["action"]),
            secret=_string(document["secret"]),
            actor=_string(document["actor"]),
            source=_member(_SOURCES, Source, document["source"]),
            org=_string(document["org"]),
            details=details,
            success=_boolean(document["success"]),
            error=_optional_string(document["error"]),
            actor_ip=_optional_string(document["actor_ip"]),
            id=_string(document["id"]),
            timestamp=_string(document["timestamp"]),
            seq=_integer(document["seq"]),
            prev=_string(document["prev"]),
            mac=_string(document["mac"]),
        )
        record.time  # noqa: B018 - a timestamp that does not parse is not a record
    except (ValueError, TypeError) as exc:
        raise AuditIntegrityError(f"not an audit record ({exc})") from None
    return record


_STRINGS = ("actor", "id", "mac", "org", "prev", "secret", "timestamp")
_OPTIONAL_STRINGS = ("actor_ip", "error")


def is_plain_record(document: Any) -> bool:
    """Whether `document` is a record as leakstop writes it, every field of its exact JSON
    type and the action and source known, the timestamp aside: a quick test that is
    sufficient for `from_json` to accept it (given a timestamp that parses), not necessary."""
    if type(document) is not dict or document.keys() != _FIELD_SET:
        return False
    action, source = document["action"], document["source"]
    if type(action) is not str or action not in _ACTIONS:
        return False
    if type(source) is not str or source not in _SOURCES:
        return False
    if type(document["details"]) is not dict or type(document["success"]) is not bool:
        return False
    if type(document["seq"]) is not int:
        return False
    for name in _STRINGS:
        if type(document[name]) is not str:
            return False
    for name in _OPTIONAL_STRINGS:
        value = document[name]
        if value is not None and type(value) is not str:
            return False
    return True


def decode(text: str) -> Any:
    """`json.loads(text)`, through the C scanner directly when the text is one JSON value
    with nothing around it (every line leakstop writes: the whitespace regexes and wrappers
    of `json.loads` cost ~1 µs a record); anything else takes json.loads, for its result or
    its error."""
    try:
        document, end = _DECODER.scan_once(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    return document if end == len(text) else json.loads(text)


def _member(members: Mapping[str, _Member], kind: type[_Member], value: Any) -> _Member:
    """`kind(value)` through a dict: the Enum call costs ~0.5 µs a record; a value that is
    not a member still goes through `kind` for its usual ValueError."""
    member = members.get(value) if type(value) is str else None
    return kind(value) if member is None else member


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_string(value: Any) -> str | None:
    return None if value is None else _string(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value
