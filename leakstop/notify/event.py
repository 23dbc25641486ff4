"""One thing to tell people about: what every notifier renders.

An event holds names, rule ids, places, redactions and fingerprints, never a secret value:
its builders (`events.py`) take those fields and nothing that holds a value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

from leakstop.config.notifications import EventKind
from leakstop.finding import Severity

#: The `event` of a message sent by `leakstop notify test`; no notifier filters it out.
TEST = "test"


class Fact(NamedTuple):
    """One labelled value shown with the message (`Rule: aws-access-key`)."""

    #: Machine name, for the generic webhook's JSON (`rule_id`).
    key: str
    #: What people read (`Rule`).
    label: str
    value: str


@dataclass(frozen=True)
class Event:
    #: None for a test message.
    kind: EventKind | None
    severity: Severity
    #: One line, e.g. "Rotation of billing/api-key failed".
    title: str
    #: A sentence or two: what happened and what a person should do.
    summary: str
    #: The managed secret's name or a finding's fingerprint ("" when there is none); the
    #: audit record of each send is filed under it.
    subject: str = ""
    org: str = "default"
    facts: tuple[Fact, ...] = ()
    #: Stable across retries and notifiers: receivers can drop duplicates by it.
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def name(self) -> str:
        """The event's name in payloads and audit records (`rotation_failed`, `test`)."""
        return self.kind.value if self.kind is not None else TEST

    @property
    def timestamp(self) -> str:
        return self.time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
