"""Where an org's files live under `$LEAKSTOP_HOME/store/<org>/`.

org.json          the key's derivation parameters and check; a rotation in flight
.lock             the org lock
secrets/*.json    one sealed file per secret (names encoded by `names.file_stem`)
locks/*.lock      one lock file per secret (kept: removing a lock file races its users)
backups/<name>/   snapshots: manifest.json, org.json, secrets/
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from leakstop.store.files import is_temporary
from leakstop.store.names import SUFFIX, file_stem, name_of

STORE_FOLDER = "store"


@dataclass(frozen=True)
class OrgPaths:
    root: Path

    @property
    def org_file(self) -> Path:
        return self.root / "org.json"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    def secret(self, name: str) -> Path:
        return self.secrets / f"{file_stem(name)}{SUFFIX}"

    def secret_lock(self, name: str) -> Path:
        return self.locks / f"{file_stem(name)}.lock"

    def secret_files(self) -> Iterator[tuple[str, Path]]:
        """(name, path) of each secret file, in file-name order; other files are skipped."""
        return secret_files(self.secrets)


def org_paths(home: Path, org: str) -> OrgPaths:
    """The folder of `org` (a checked org name) under the leakstop home."""
    return OrgPaths(home / STORE_FOLDER / org)


def secret_files(folder: Path) -> Iterator[tuple[str, Path]]:
    try:
        paths = sorted(folder.iterdir())
    except FileNotFoundError:
        return
    for path in paths:
        if path.suffix != SUFFIX or is_temporary(path):
            continue
        name = name_of(path.name[: -len(SUFFIX)])
        if name is not None:
            yield name, path
