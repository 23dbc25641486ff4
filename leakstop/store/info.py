"""What the store tells about a secret without its value: versions, labels, dates, state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from leakstop.audit.record import parse_timestamp
from leakstop.store.document import SecretDocument


@dataclass(frozen=True)
class VersionInfo:
    number: int
    created: datetime
    created_by: str
    #: `bytes` or `json`.
    kind: str
    #: `active`, `discarded`, `purged` or `revoked`.
    state: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class SecretInfo:
    name: str
    #: Goes up by one with every change to the secret's file.
    revision: int
    created: datetime
    updated: datetime
    deleted: datetime | None
    labels: Mapping[str, int]
    versions: tuple[VersionInfo, ...]

    @property
    def current(self) -> VersionInfo | None:
        number = self.labels.get("current")
        return next((v for v in self.versions if v.number == number), None)

    @property
    def latest(self) -> int | None:
        return self.versions[-1].number if self.versions else None


def describe_document(document: SecretDocument) -> SecretInfo:
    return SecretInfo(
        name=document.name,
        revision=document.revision,
        created=parse_timestamp(document.created),
        updated=parse_timestamp(document.updated),
        deleted=parse_timestamp(document.deleted) if document.deleted else None,
        labels=dict(document.labels),
        versions=tuple(
            VersionInfo(
                number=v.number,
                created=parse_timestamp(v.created),
                created_by=v.created_by,
                kind=v.kind.value,
                state=v.state.value,
                labels=tuple(document.labels_of(v.number)),
            )
            for v in document.versions
        ),
    )
