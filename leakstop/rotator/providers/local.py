"""The embedded store (`leakstop store`) as a rotation `Store`: its labels are the machine's
labels, its check-and-set is on the latest version number."""

from __future__ import annotations

from leakstop.config.options import Options
from leakstop.errors import ProviderConflictError, StoreConflictError
from leakstop.rotator.providers.base import StoredVersion, Value
from leakstop.store import LocalStore
from leakstop.store.info import SecretInfo, VersionInfo


class LocalStoreProvider:
    """One org of the local store. `where` (the secret's `store:` options) is unused: the
    managed secret's name is its name in the store."""

    def __init__(self, store: LocalStore, name: str = "local") -> None:
        self._store = store
        self.name = name

    def current(self, name: str, where: Options) -> StoredVersion | None:
        info = self._info(name)
        return _stored(info.current) if info is not None and info.current else None

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        info = self._info(name)
        if info is None or "pending" not in info.labels:
            return None
        number = info.labels["pending"]
        return next((_stored(v) for v in info.versions if v.number == number), None)

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        return self._store.read(name, version=int(version) if version is not None else None)

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        info = self._info(name)
        current = info.labels.get("current") if info is not None else None
        if (str(current) if current is not None else None) != expected_current:
            raise ProviderConflictError(
                f"{name} changed in the local store since the rotation read it"
            )
        # Another run's pending version, written after ours looked: writing a second one
        # would pass the check on `latest` below (it is that version) and race to promote.
        if info is not None and info.labels.get("pending") is not None:
            raise ProviderConflictError(f"{name} has another run's pending version")
        latest = info.latest if info is not None else None
        try:
            written = self._store.write(name, value, expected_version=latest, label="pending")
        except StoreConflictError as exc:
            raise ProviderConflictError(str(exc)) from exc
        return _stored(written)

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        expected = int(expected_current) if expected_current is not None else None
        try:
            self._store.move_label(name, "current", int(version), expected_version=expected)
        except StoreConflictError as exc:
            raise ProviderConflictError(str(exc)) from exc

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        self._store.discard(name, int(version))

    def disable(self, name: str, where: Options, version: str) -> None:
        self._store.revoke_version(name, int(version))

    def _info(self, name: str) -> SecretInfo | None:
        if self._store.latest_version(name) is None:
            return None
        return self._store.describe(name)


def _stored(version: VersionInfo) -> StoredVersion:
    return StoredVersion(str(version.number), version.labels, version.created)
