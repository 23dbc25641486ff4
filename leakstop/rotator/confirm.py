"""Confirmation: a finding is a leak of a managed secret when its value equals that secret's
current value in its store. Values are compared as keyed hashes under a key made for this run
and kept in memory: nothing about a managed value is written, printed or kept afterwards.

An issuer may also report the ids of the credentials it holds for a secret (`key_ids`): an
AWS access key id found in a file confirms the managed secret of the IAM user it belongs to,
whether or not it is the stored value. (The next release adds live checks with each issuer; a
finding confirmed neither way is reported, never acted on.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError
from leakstop.finding import Finding
from leakstop.rotator.providers.base import KnowsCredentialIds
from leakstop.rotator.providers.registry import Providers

#: A managed value or one field of a structured one shorter than this is never matched: a
#: finding of 3 characters equal to some field is chance, not a leak.
MIN_LENGTH = 8


class Confirmer:
    """Digests of the managed secrets' current values, read once per run."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._owners: dict[bytes, ManagedSecret] = {}
        self.unreadable: dict[str, str] = {}
        #: Managed secret name → the version read as current (what a leak of it leaked).
        self.versions: dict[str, str] = {}

    def load(self, managed: Sequence[ManagedSecret], providers: Providers) -> None:
        """Read each managed secret's current value (each read is an audit record), and the
        ids its issuer reports for it (`key_ids`: an IAM user's access key ids). What cannot
        be read is noted in `unreadable` (name → why) and confirms nothing; the rest still
        does."""
        for secret in managed:
            try:
                for key_id in _issued_ids(secret, providers):
                    self._owners[self._digest(key_id.encode())] = secret
            except LeakstopError as exc:
                self.unreadable[secret.name] = str(exc)
            try:
                store = providers.store(secret.store.provider, secret.org)
                current = store.current(secret.name, secret.store.options)
                if current is None:
                    continue
                value = store.read(secret.name, secret.store.options)
                self.versions[secret.name] = current.version
            except LeakstopError as exc:
                self.unreadable[secret.name] = str(exc)
                continue
            for piece in value_pieces(value):
                self._owners[self._digest(piece)] = secret

    def match(self, finding: Finding) -> ManagedSecret | None:
        if len(finding.secret) < MIN_LENGTH:
            return None
        return self._owners.get(self._digest(finding.secret.encode("utf-8", "surrogatepass")))

    def confirmed(self, findings: Iterable[Finding]) -> Mapping[str, ManagedSecret]:
        """Finding fingerprint → the managed secret it leaks."""
        found = {}
        for finding in findings:
            owner = self.match(finding)
            if owner is not None:
                found[finding.fingerprint] = owner
        return found

    def _digest(self, value: bytes) -> bytes:
        return hmac.new(self._key, value, hashlib.sha256).digest()


def _issued_ids(secret: ManagedSecret, providers: Providers) -> list[str]:
    """The ids of the credentials the secret's issuer holds for it, for issuers that tell
    (the aws provider: the IAM user's access key ids, any status)."""
    if secret.issuer is None:
        return []
    issuer = providers.issuer(secret.issuer.provider)
    if not isinstance(issuer, KnowsCredentialIds):
        return []
    return [i for i in issuer.key_ids(secret.name, secret.issuer.options) if len(i) >= MIN_LENGTH]


def value_pieces(value: bytes | dict[str, Any]) -> list[bytes]:
    """The value, or each string field of a structured value, long enough to match."""
    if isinstance(value, bytes):
        candidates = [value]
    else:
        candidates = [str(v).encode() for v in value.values() if isinstance(v, (str, int))]
    return [c for c in candidates if len(c) >= MIN_LENGTH]
