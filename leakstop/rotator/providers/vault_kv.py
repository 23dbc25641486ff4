"""Typed calls to Vault's KV v2 engine (metadata, versions, check-and-set writes), each in its
own error translation, so vault_store deals in labels and the journal, not in hvac's dicts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from leakstop.errors import ProviderError
from leakstop.rotator.providers.vault_auth import VaultSession
from leakstop.rotator.providers.vault_errors import import_hvac, vault_errors

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class VersionInfo:
    created: datetime | None
    #: Not deleted, not destroyed: its data can be read.
    live: bool


@dataclass(frozen=True)
class Metadata:
    #: The latest version; 0 when there is none.
    current: int
    custom: dict[str, str]
    versions: dict[int, VersionInfo]


@dataclass(frozen=True)
class Version:
    """One version's fields (the secret itself: never logged) and when it was written."""

    fields: dict[str, Any] = field(repr=False)
    created: datetime | None = None


class KvClient:
    """KV v2 over one provider's session. Raises ProviderError; ProviderConflictError when a
    check-and-set write loses."""

    def __init__(self, session: VaultSession) -> None:
        self._session = session

    def metadata(self, mount: str, path: str) -> Metadata | None:
        """The secret's metadata; None when it does not exist."""
        hvac = import_hvac()
        doing = self._session.doing(f"read metadata of {mount}/{path}")
        with vault_errors(doing):
            try:
                response = self._kv().read_secret_metadata(path=path, mount_point=mount)
            except hvac.exceptions.InvalidPath as exc:
                if _is_absent(exc):
                    return None
                raise
        data = _body(response, doing)
        versions = {}
        for number, info in (data.get("versions") or {}).items():
            info = info if isinstance(info, dict) else {}
            live = not info.get("deletion_time") and not info.get("destroyed")
            versions[int(number)] = VersionInfo(_time(info.get("created_time")), live)
        custom = data.get("custom_metadata") or {}
        return Metadata(
            current=int(data.get("current_version") or 0),
            custom={str(k): str(v) for k, v in custom.items()},
            versions=versions,
        )

    def read(self, mount: str, path: str, version: int | None) -> Version | None:
        """`version` (None: the latest); None when it does not exist or was deleted."""
        hvac = import_hvac()
        doing = self._session.doing(f"read {mount}/{path}")
        with vault_errors(doing):
            try:
                response = self._kv().read_secret_version(
                    path=path, version=version, mount_point=mount, raise_on_deleted_version=True
                )
            except hvac.exceptions.InvalidPath as exc:
                if _is_absent(exc):
                    return None
                raise
        body = _body(response, doing)
        fields, metadata = body.get("data"), body.get("metadata")
        if not isinstance(fields, dict):
            return None
        return Version(fields, _time(metadata.get("created_time")) if metadata else None)

    def write(
        self, mount: str, path: str, fields: dict[str, Any], cas: int
    ) -> tuple[int, datetime | None]:
        """Write a new version only if the latest is still `cas` (0: none); its number and
        time."""
        doing = self._session.doing(f"write {mount}/{path} (check-and-set on version {cas})")
        with vault_errors(doing):
            response = self._kv().create_or_update_secret(
                path=path, secret=fields, cas=cas, mount_point=mount
            )
        data = _body(response, doing)
        return int(data.get("version") or 0), _time(data.get("created_time"))

    def delete_versions(self, mount: str, path: str, versions: list[int]) -> None:
        """Soft-delete `versions`: their data can no longer be read (a reader of the latest
        version gets nothing when it is one of them); `undelete` would bring them back."""
        with vault_errors(self._session.doing(f"delete versions of {mount}/{path}")):
            self._kv().delete_secret_versions(path=path, versions=versions, mount_point=mount)

    def delete(self, mount: str, path: str) -> None:
        """Delete the secret with its metadata and every version."""
        with vault_errors(self._session.doing(f"delete {mount}/{path}")):
            self._kv().delete_metadata_and_all_versions(path=path, mount_point=mount)

    def update_custom_metadata(
        self, mount: str, path: str, changes: Mapping[str, str | None]
    ) -> None:
        """Merge `changes` into the secret's custom_metadata (None removes a key); creates the
        metadata of a secret that has none yet. Vault has no check-and-set on metadata: a
        concurrent change to another key between the read and the write is lost."""
        meta = self.metadata(mount, path)
        custom = dict(meta.custom) if meta is not None else {}
        updated = dict(custom)
        for key, value in changes.items():
            if value is None:
                updated.pop(key, None)
            else:
                updated[key] = value
        if meta is not None and updated == custom:
            return
        hvac = import_hvac()
        url = hvac.utils.format_url("/v1/{mount}/metadata/{path}", mount=mount, path=path)
        # A POST with only custom_metadata keeps max_versions and delete_version_after (hvac's
        # update_metadata would reset delete_version_after to 0s), and needs no `patch`
        # capability, which many policies lack.
        with vault_errors(self._session.doing(f"write metadata of {mount}/{path}")):
            self._session.client().adapter.post(url, json={"custom_metadata": updated})

    def _kv(self) -> Any:
        return self._session.client().secrets.kv.v2


def _is_absent(exc: Any) -> bool:
    # KV answers 404 with no message for a secret or version that is not there (or deleted);
    # a missing mount is a 404 too, but says "no handler for route".
    return not exc.errors


def _body(response: Any, doing: str) -> dict[str, Any]:
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        raise ProviderError(f"{doing}: unexpected answer from Vault (is the mount KV v2?)")
    return data


def _time(text: Any) -> datetime | None:
    # Vault writes nanoseconds (2026-12-02T19:44:42.854660205Z); Python 3.10 parses neither
    # those nor `Z`.
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    parsed = datetime.fromisoformat(whole + (f".{fraction[:6]:0<6}" if fraction else ""))
    if zone == "Z":
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.replace(tzinfo=datetime.strptime(zone.replace(":", ""), "%z").tzinfo)
