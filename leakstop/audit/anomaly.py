"""One anomaly: its kind, the record of it, and how a burst of records becomes one. The
detectors are in `detectors.py`; `anomalies.py` runs them and says what each looks for."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Kind(str, enum.Enum):
    FAILED_ATTEMPTS = "failed_attempts"
    EXCESSIVE_ACCESS = "excessive_access"
    UNUSUAL_HOURS = "unusual_hours"
    CONCURRENT_ACCESS = "concurrent_access"
    ROTATION_FAILURES = "rotation_failures"


#: Seqs kept per anomaly (its `count` stays exact): a burst of a million reads must not
#: hold a million seqs, nor write them into one `anomaly` record.
MAX_SEQS = 1000
#: Distinct actors and secrets kept per anomaly, for the same reason.
MAX_NAMES = 50


@dataclass(frozen=True)
class Anomaly:
    """One burst of suspicious records."""

    kind: Kind
    #: The secret concerned; "" when the burst spans several (see `secrets`).
    secret: str
    #: The one actor involved; None when there were several (see `actors`).
    actor: str | None
    first: datetime
    last: datetime
    #: Records in the burst (exact, even when `seqs` is cut at MAX_SEQS).
    count: int
    #: One line for people, e.g. "6 failed actions on billing/api-key within 1h".
    description: str
    #: The `seq` of each record in the burst, oldest first, at most MAX_SEQS.
    seqs: tuple[int, ...]
    #: Distinct actors and secrets in the burst, sorted, at most MAX_NAMES each.
    actors: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Stable across runs (kind, secret, actor, first seq): a rerun of
        `audit anomalies --record` can tell an anomaly it recorded before."""
        key = "\0".join((self.kind.value, self.secret, self.actor or "", str(self.seqs[0])))
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    def to_details(self) -> dict[str, Any]:
        """The `details` of an `anomaly` audit record: JSON types only."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "secret": self.secret,
            "actor": self.actor,
            "first": iso(self.first),
            "last": iso(self.last),
            "count": self.count,
            "description": self.description,
            "seqs": list(self.seqs),
            "seqs_truncated": self.count > len(self.seqs),
            "actors": list(self.actors),
            "secrets": list(self.secrets),
        }


class Event(NamedTuple):
    """What the detectors keep of a record (not the record: its details can be large)."""

    time: datetime
    seq: int
    secret: str
    actor: str
    source: str


class Burst:
    """A burst being collected."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.count = 0
        self.seqs: list[int] = []
        self.actors: set[str] = set()
        self.secrets: set[str] = set()
        self.several_actors = False
        self.several_secrets = False
        self.first: datetime | None = None
        self.last = EPOCH
        self.peak = 0
        for event in events:
            self.add(event)

    def add(self, event: Event) -> None:
        if self.first is None:
            self.first = event.time
        self.last = event.time
        self.count += 1
        if len(self.seqs) < MAX_SEQS:
            self.seqs.append(event.seq)
        if len(self.actors) < MAX_NAMES:
            self.actors.add(event.actor)
            self.several_actors = len(self.actors) > 1
        if len(self.secrets) < MAX_NAMES:
            self.secrets.add(event.secret)
            self.several_secrets = len(self.secrets) > 1

    def anomaly(self, kind: Kind, description: str) -> Anomaly:
        assert self.first is not None, "a burst holds at least one record"
        return Anomaly(
            kind=kind,
            secret="" if self.several_secrets else next(iter(self.secrets)),
            actor=None if self.several_actors else next(iter(self.actors)),
            first=self.first,
            last=self.last,
            count=self.count,
            description=description,
            seqs=tuple(self.seqs),
            actors=tuple(sorted(self.actors)),
            secrets=tuple(sorted(self.secrets)),
        )


def span(burst: Burst) -> str:
    assert burst.first is not None
    first = burst.first.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if burst.last == burst.first:
        return f"at {first} UTC"
    last_format = "%H:%M:%S" if burst.last.date() == burst.first.date() else "%Y-%m-%d %H:%M:%S"
    return f"from {first} to {burst.last.astimezone(timezone.utc).strftime(last_format)} UTC"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
