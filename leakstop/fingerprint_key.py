"""Which key fingerprints are computed with, and how to name that key in a baseline.

Order: `fingerprint.salt` from the config, else the repository's root commit, else a fixed
default. A shallow clone lacks its root commit; a baseline records the key it was made with
(`root:<commit id>`), so a scan against that baseline uses the same key and its fingerprints
match whether the clone is shallow or full.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from leakstop.errors import ConfigError
from leakstop.finding import DEFAULT_FINGERPRINT_KEY
from leakstop.scanner.sources import gitrepo

log = logging.getLogger(__name__)


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


def resolve(salt: str | None, root: Path, recorded: str | None = None) -> FingerprintKey:
    """The key for a scan of `root`; `recorded` is the key id a baseline was made with."""
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
    if gitrepo.toplevel(root) is None:
        return DEFAULT
    if gitrepo.is_shallow(root):
        log.info(
            "shallow clone: fingerprints use the default key (set fingerprint.salt, or scan "
            "with a baseline, to match fingerprints from full clones)"
        )
        return DEFAULT
    roots = gitrepo.root_commits(root)
    return from_root_commit(roots[0]) if roots else DEFAULT
