"""Which key fingerprints are computed with, and how to name that key in a baseline.

Order: `fingerprint.salt` from the config, else the repository's root commit, else a fixed
default. A shallow clone lacks its root commit; a baseline records the key it was made with
(`root:<commit id>`), so a scan against that baseline uses the same key and its fingerprints
match whether the clone is shallow or full.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from leakstop.errors import ConfigError
from leakstop.finding import DEFAULT_FINGERPRINT_KEY


@dataclass(frozen=True)
class FingerprintKey:
    key: bytes
    #: "salt:<hash of the salt>", "root:<commit id>" or "default": safe to write down.
    id: str


DEFAULT = FingerprintKey(DEFAULT_FINGERPRINT_KEY, "default")


def _derive(material: bytes) -> bytes:
    return hashlib.sha256(DEFAULT_FINGERPRINT_KEY + b"\0" + material).digest()


def from_salt(salt: str) -> FingerprintKey:
    return FingerprintKey(
        _derive(b"salt:" + salt.encode()), "salt:" + hashlib.sha256(salt.encode()).hexdigest()[:16]
    )


def from_root_commit(commit: str) -> FingerprintKey:
    return FingerprintKey(_derive(b"root:" + commit.encode()), f"root:{commit}")


def resolve(
    salt: str | None, recorded: str | None = None, root_commit: str | None = None
) -> FingerprintKey:
    """The key for a scan: from `salt`, else the key id a baseline `recorded`, else the
    repository's `root_commit` (None outside a repository or in a shallow clone)."""
    if salt:
        key = from_salt(salt)
        if recorded is not None and recorded != key.id:
            raise ConfigError(
                f"the baseline was made with fingerprint key {recorded!r}, but "
                "fingerprint.salt gives another; recreate the baseline or restore the salt"
            )
        return key
    if recorded is not None:
        if recorded.startswith("root:"):
            return from_root_commit(recorded.removeprefix("root:"))
        if recorded == "default":
            return DEFAULT
        raise ConfigError(
            f"the baseline was made with fingerprint key {recorded!r}: set the same "
            "fingerprint.salt in the config"
        )
    return from_root_commit(root_commit) if root_commit else DEFAULT
