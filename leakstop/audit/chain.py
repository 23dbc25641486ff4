"""How each record is sealed to the one before it.

A record's `mac` covers `Record.signed_bytes()`, the canonical JSON of every field but `mac`,
which includes `prev` (the previous record's `mac`): changing, removing or moving any record
breaks the seal of the record after it. The scheme is written into the value so a reader knows
which one was used:

* `hmac-sha256:<hex>`: HMAC-SHA256 keyed by `LEAKSTOP_AUDIT_KEY`. Only a key holder can write a
  record that verifies, so an edit is detectable even when the editor rewrites the chain after it.
* `sha256:<hex>`: a plain hash chain, written when there is no key. Anyone with file access can
  rewrite the chain from an edited record to the end; only breaks are detectable, not forgeries.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
from collections.abc import Mapping

from leakstop.audit.record import Record

KEY_VARIABLE = "LEAKSTOP_AUDIT_KEY"
HMAC_SCHEME = "hmac-sha256:"
PLAIN_SCHEME = "sha256:"


class Seal(enum.Enum):
    """What checking one record's `mac` found."""

    VALID = "valid"
    #: An HMAC record checked without the key: only its place in the chain can be checked.
    UNCHECKED = "unchecked"
    #: The `mac` does not match the record's content.
    BROKEN = "broken"
    #: A plain `sha256:` record while a key is set: someone without the key wrote it.
    DOWNGRADED = "downgraded"
    #: Neither scheme.
    UNKNOWN = "unknown"


def key_from_environment(environ: Mapping[str, str] = os.environ) -> bytes | None:
    """`LEAKSTOP_AUDIT_KEY` as UTF-8 bytes; None when unset or empty."""
    value = environ.get(KEY_VARIABLE)
    return value.encode("utf-8") if value else None


def is_keyed(mac: str) -> bool:
    return mac.startswith(HMAC_SCHEME)


def seal(record: Record, key: bytes | None) -> str:
    """The `mac` for a record whose other fields (`prev` included) are final."""
    return _seal(record.signed_bytes(), key)


def check(record: Record, key: bytes | None) -> Seal:
    """Whether the record's `mac` matches its content, under `key` (None: no key known)."""
    state = _scheme(record.mac, key)
    if state is not None:
        return state
    try:
        signed = record.signed_bytes()
    except (TypeError, ValueError):
        # Content leakstop never writes (NaN, 1e999 in details): it cannot match any seal
        # (found by tests/fuzz/test_audit_verify.py; it used to end `audit verify` in a crash).
        return Seal.BROKEN
    return Seal.VALID if hmac.compare_digest(record.mac, _seal(signed, key)) else Seal.BROKEN


class Sealer:
    """`seal` and `check` for many records under one key, given what the mac covers already
    encoded (`audit verify` encodes each record once for this and its canonical-form check).
    The HMAC key schedule is computed once and copied for each record."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self._keyed = None if key is None else hmac.new(key, digestmod=hashlib.sha256)

    def seal(self, signed: bytes) -> str:
        """The `mac` of a record whose `signed_bytes()` are `signed`; as `seal()`."""
        if self._keyed is None:
            return PLAIN_SCHEME + hashlib.sha256(signed).hexdigest()
        keyed = self._keyed.copy()
        keyed.update(signed)
        return HMAC_SCHEME + keyed.hexdigest()

    def check(self, mac: str, signed: bytes | None) -> Seal:
        """The seal of a record whose `mac` is `mac` and whose `signed_bytes()` are `signed`
        (None: its content cannot be encoded, so it matches no seal)."""
        state = _scheme(mac, self.key)
        if state is not None:
            return state
        if signed is None:
            return Seal.BROKEN
        return Seal.VALID if hmac.compare_digest(mac, self.seal(signed)) else Seal.BROKEN


def _scheme(mac: str, key: bytes | None) -> Seal | None:
    """The verdict the scheme alone gives (no key for an HMAC, a downgrade, neither scheme),
    or None when the content must be checked."""
    if mac.startswith(HMAC_SCHEME):
        return Seal.UNCHECKED if key is None else None
    if mac.startswith(PLAIN_SCHEME):
        return Seal.DOWNGRADED if key is not None else None
    return Seal.UNKNOWN


def sign_bytes(data: bytes, key: bytes) -> str:
    """A keyed seal for other files of the log (`head.json`); the caller adds its own domain
    prefix so that such a seal can never pass for a record's."""
    return HMAC_SCHEME + hmac.new(key, data, hashlib.sha256).hexdigest()


def _seal(data: bytes, key: bytes | None) -> str:
    if key is None:
        return PLAIN_SCHEME + hashlib.sha256(data).hexdigest()
    return sign_bytes(data, key)
