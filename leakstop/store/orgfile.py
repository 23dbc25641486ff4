"""`org.json`: how an org's key is derived and checked, and the master-key rotation in flight.

```json
{"format": 1, "org": "default", "created": "2026-01-05T10:00:00.000000Z",
 "key": {"generation": 1, "kdf": "pbkdf2-hmac-sha256", "iterations": 600000,
         "salt": "<base64, 32 bytes>", "check": "<Fernet token of a fixed marker>"},
 "rotation": null, "retired": []}
```

While a rotation runs, `rotation` holds the next generation's parameters and check, the new key
wrapped under the old (`wrapped_new`) and the old under the new (`wrapped_old`): whoever holds
either master key can then read every file, old or re-encrypted, and finish the rotation after
a crash. When it ends, `key` becomes the new one and `rotation` is null again, and the old
master key opens nothing. Earlier generations stay in `retired`, each wrapped under the current
key (never the other way round), so that the current master key can still restore a backup
taken before the rotation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakstop.audit.record import canonical
from leakstop.errors import StoreDamagedError
from leakstop.store.files import write_atomic
from leakstop.store.keys import KdfParams

FORMAT = 1
ORG_FILE = "org.json"


@dataclass(frozen=True)
class KeyRecord:
    """One generation of the org's key: how to derive it and how to check it."""

    params: KdfParams
    check: str

    def to_json(self) -> dict[str, Any]:
        return {**self.params.to_json(), "check": self.check}

    @classmethod
    def from_json(cls, data: Any, where: str) -> KeyRecord:
        params = KdfParams.from_json(data, where)
        check = data.get("check")
        if not isinstance(check, str):
            raise StoreDamagedError(f"{where}: the key check is missing")
        return cls(params, check)


@dataclass(frozen=True)
class Rotation:
    """A master-key rotation that started and has not ended."""

    key: KeyRecord
    #: The new key's material under the old key, and the old key's under the new.
    wrapped_new: str = field(repr=False)
    wrapped_old: str = field(repr=False)
    started: str
    actor: str


@dataclass(frozen=True)
class Retired:
    """A generation rotated away from; its key material wrapped under the current key."""

    key: KeyRecord
    wrapped: str = field(repr=False)


@dataclass(frozen=True)
class OrgState:
    org: str
    created: str
    key: KeyRecord
    rotation: Rotation | None = None
    retired: tuple[Retired, ...] = ()

    def to_bytes(self) -> bytes:
        rotation = None
        if self.rotation is not None:
            rotation = {
                "key": self.rotation.key.to_json(),
                "wrapped_new": self.rotation.wrapped_new,
                "wrapped_old": self.rotation.wrapped_old,
                "started": self.rotation.started,
                "actor": self.rotation.actor,
            }
        document = {
            "format": FORMAT,
            "org": self.org,
            "created": self.created,
            "key": self.key.to_json(),
            "rotation": rotation,
            "retired": [{"key": r.key.to_json(), "wrapped": r.wrapped} for r in self.retired],
        }
        return canonical(document) + b"\n"


def read_org(path: Path) -> OrgState:
    """Parse org.json. Raises StoreDamagedError for a file that is cut short or edited, and
    OSError when it cannot be read."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not an object")
        if data.get("format") != FORMAT:
            raise StoreDamagedError(
                f"{path}: format {data.get('format')!r} is not one this leakstop reads"
            )
        key = KeyRecord.from_json(data["key"], str(path))
        rotation = None
        if data["rotation"] is not None:
            item = data["rotation"]
            rotation = Rotation(
                KeyRecord.from_json(item["key"], str(path)),
                _text(item["wrapped_new"]),
                _text(item["wrapped_old"]),
                _text(item["started"]),
                _text(item["actor"]),
            )
        retired = tuple(
            Retired(KeyRecord.from_json(item["key"], str(path)), _text(item["wrapped"]))
            for item in data.get("retired", [])
        )
        return OrgState(_text(data["org"]), _text(data["created"]), key, rotation, retired)
    # JSONDecodeError is a ValueError; RecursionError: JSON nested deeper than the stack.
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise StoreDamagedError(
            f"{path} is damaged ({type(exc).__name__}); restore it from a backup"
        ) from None


def write_org(path: Path, state: OrgState) -> None:
    write_atomic(path, state.to_bytes())


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value
