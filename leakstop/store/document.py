"""One secret's file: its versions (each value a Fernet token), its labels, its revision, sealed
with the org key's HMAC so that an edit, a swapped file or a swapped token is caught.

```json
{"format": 1, "name": "billing/api-key", "revision": 7, "generation": 1,
 "created": "…Z", "updated": "…Z", "deleted": null, "next_version": 4,
 "labels": {"current": 3, "previous": 2},
 "versions": [{"version": 1, "created": "…Z", "created_by": "alice", "kind": "bytes",
               "state": "active", "token": "gAAAAA…"}, …],
 "seal": "hmac-sha256:<hex>"}
```

`revision` goes up by one with every change to the file; `next_version` never goes down, so a
version number is never reused (not after a discard, a purge or a restore). `kind` is `bytes` or
`json` (a JSON object, stored as canonical JSON). A discarded or purged version keeps its number
and dates and loses its token.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from leakstop.audit.record import canonical, parse_timestamp
from leakstop.errors import StoreDamagedError

FORMAT = 1
#: What a label may point at; `current` is what readers get by default.
LABELS = ("current", "previous", "pending")


class State(str, enum.Enum):
    ACTIVE = "active"
    #: A pending version thrown away before it became current.
    DISCARDED = "discarded"
    #: Its value erased by `delete --purge`.
    PURGED = "purged"
    #: Its credential was revoked at the issuer (`leakstop revoke`): its value is erased.
    REVOKED = "revoked"


class Kind(str, enum.Enum):
    BYTES = "bytes"
    JSON = "json"


@dataclass(frozen=True)
class Version:
    number: int
    created: str
    created_by: str
    kind: Kind
    state: State
    token: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "created": self.created,
            "created_by": self.created_by,
            "kind": self.kind.value,
            "state": self.state.value,
            "token": self.token,
        }


@dataclass(frozen=True)
class SecretDocument:
    name: str
    revision: int
    generation: int
    created: str
    updated: str
    next_version: int
    labels: Mapping[str, int]
    versions: tuple[Version, ...]
    deleted: str | None = None

    @property
    def latest(self) -> int | None:
        """The highest version number, whatever its state; None before the first."""
        return self.versions[-1].number if self.versions else None

    def version(self, number: int) -> Version | None:
        for version in self.versions:
            if version.number == number:
                return version
        return None

    def labels_of(self, number: int) -> list[str]:
        return [label for label in LABELS if self.labels.get(label) == number]

    def changed(self, now: str, **changes: Any) -> SecretDocument:
        """A copy with `changes`, the next revision and `updated` set to `now`."""
        return replace(self, revision=self.revision + 1, updated=now, **changes)

    def unsealed_bytes(self) -> bytes:
        """What the seal covers: the canonical JSON of everything but the seal."""
        return canonical(
            {
                "format": FORMAT,
                "name": self.name,
                "revision": self.revision,
                "generation": self.generation,
                "created": self.created,
                "updated": self.updated,
                "deleted": self.deleted,
                "next_version": self.next_version,
                "labels": dict(self.labels),
                "versions": [version.to_json() for version in self.versions],
            }
        )


def to_bytes(document: SecretDocument, seal: str) -> bytes:
    """The file's bytes: the sealed document, one line."""
    body = json.loads(document.unsealed_bytes())
    return canonical({**body, "seal": seal}) + b"\n"


def parse(raw: bytes, where: str) -> tuple[SecretDocument, str]:
    """The document in a secret file's bytes and its seal (not checked here). Raises
    StoreDamagedError for bytes that are cut short, edited out of shape or of another format."""
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not an object")
        if data["format"] != FORMAT:
            raise StoreDamagedError(f"{where}: format {data['format']!r} is not one this reads")
        versions = tuple(_version(item) for item in data["versions"])
        labels = data["labels"]
        if not isinstance(labels, dict) or not all(
            label in LABELS and isinstance(number, int) for label, number in labels.items()
        ):
            raise ValueError("bad labels")
        document = SecretDocument(
            name=_text(data["name"]),
            revision=_number(data["revision"]),
            generation=_number(data["generation"]),
            created=_time(data["created"]),
            updated=_time(data["updated"]),
            next_version=_number(data["next_version"]),
            labels=dict(labels),
            versions=versions,
            deleted=None if data["deleted"] is None else _time(data["deleted"]),
        )
        return document, _text(data["seal"])
    # JSONDecodeError is a ValueError; RecursionError: JSON nested deeper than the stack.
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise StoreDamagedError(
            f"{where} is damaged ({type(exc).__name__}); restore it from a backup"
        ) from None


def _version(item: Any) -> Version:
    token = item["token"]
    if token is not None and not isinstance(token, str):
        raise TypeError("token")
    return Version(
        number=_number(item["version"]),
        created=_time(item["created"]),
        created_by=_text(item["created_by"]),
        kind=Kind(item["kind"]),
        state=State(item["state"]),
        token=token,
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _time(value: Any) -> str:
    text = _text(value)
    parse_timestamp(text)  # ValueError when it is not a timestamp
    return text


def _number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a number")
    return value
