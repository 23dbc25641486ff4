"""What the webhook and command issuers tell the system they drive: one JSON document per
machine step, naming values only by keyed fingerprints.

```json
{"leakstop": "step-v1", "id": "…", "timestamp": 1767312000, "step": "apply",
 "secret": "billing/api-key", "fingerprint": "hmac-sha256:…", "previous_fingerprint": "…",
 "options": {…the secret's issuer: options…}}
```

Steps: `apply` (make the new value work), `test` (prove it works), `revoke` (the old value
stops working), `rollback` (a failed rotation: make the value named by `fingerprint` the
working one again, dropping the one named by `abandoned_fingerprint`), `check` (`providers
check`). Only `apply` and `test` carry the new value, each issuer its own safe way; the old
value is never sent, only its fingerprint: HMAC-SHA256 of the value under a key the receiver
shares (`fingerprint_key_env`, the webhook's signing key by default), so a receiver that kept
its values can tell which one is meant and nobody else can guess a password from it.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from leakstop.config.options import FrozenMap, Options, OptionValue
from leakstop.rotator.providers.base import Value

FORMAT = "step-v1"


class StepKind(str, enum.Enum):
    APPLY = "apply"
    TEST = "test"
    REVOKE = "revoke"
    ROLLBACK = "rollback"
    CHECK = "check"

    @property
    def carries_value(self) -> bool:
        return self in (StepKind.APPLY, StepKind.TEST)


def value_bytes(value: Value) -> bytes:
    """A value as the bytes it is fingerprinted and sent as (a dict: sorted, compact JSON)."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint(value: Value, key: bytes) -> str:
    """`hmac-sha256:` + the first 32 hex digits of HMAC-SHA256(key, value)."""
    digest = hmac.new(key, value_bytes(value), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:32]}"


def step_document(
    step: StepKind,
    secret: str,
    options: Options,
    key: bytes,
    value: Value | None = None,
    other: Value | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The step as a JSON-ready dict, without any value: `value`'s and `other`'s (the
    previous value for apply, the abandoned one for rollback) fingerprints only."""
    document: dict[str, Any] = {
        "leakstop": FORMAT,
        "id": str(uuid.uuid4()),
        "timestamp": int(clock()),
        "step": step.value,
        "secret": secret,
        "options": _plain(options),
    }
    if value is not None:
        document["fingerprint"] = fingerprint(value, key)
    if other is not None:
        name = "abandoned_fingerprint" if step is StepKind.ROLLBACK else "previous_fingerprint"
        document[name] = fingerprint(other, key)
    return document


class AppliedValues:
    """Fingerprints of the values this run applied, per secret: the machine rolls back by
    applying the old value again, which must go out as `rollback`, never with the old value."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._applied: dict[str, set[str]] = {}

    def remember(self, secret: str, value: Value) -> None:
        self._applied.setdefault(secret, set()).add(fingerprint(value, self._key))

    def is_rollback(self, secret: str, previous: Value | None) -> bool:
        """True when `previous` (the value being replaced) is one this run applied."""
        return previous is not None and fingerprint(previous, self._key) in self._applied.get(
            secret, set()
        )


def _plain(value: OptionValue) -> Any:
    if isinstance(value, FrozenMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def decode_value(value: Value) -> Mapping[str, Any]:
    """The value's JSON fields for a document: text when it is UTF-8, else base64."""
    if isinstance(value, dict):
        return {"value": value}
    try:
        return {"value": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"value": base64.b64encode(value).decode("ascii"), "value_encoding": "base64"}
