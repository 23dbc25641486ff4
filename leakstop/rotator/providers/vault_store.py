"""Vault KV v2 as a leakstop Store: versions, check-and-set, and the rotation's labels.

How the labels map onto Vault, and why
--------------------------------------
Readers of Vault (`vault kv get`, Vault Agent and External Secrets templates, most SDK code)
read a secret's *latest* version. So:

* **current** is the latest KV version of `<mount>/<path>`, always. The store's version ids
  are KV version numbers.
* **pending** is *not* written to `<path>`: that would make an untested value "latest", and
  every plain reader would pick it up before it was proven to work. A pending value waits in
  a sibling secret, `<path>.leakstop-pending`, as a journal record `{leakstop, secret,
  version, base, fields}`: the whole new field set, the main version it was prepared
  against (`base`) and the one it becomes (`version` = base + 1). Promotion copies the
  fields to `<path>` with check-and-set on `base`, so the new version number is exactly
  `version`; then the sibling is deleted with all its versions. Readers of the plain path
  only ever see a value that was tested first. Grant leakstop's policy the sibling
  (`secret/data/billing/db*` covers both); consumers' policies need not.
* **previous** is the version that was current before the last promotion (or rollback); KV
  keeps its value (up to the mount's `max_versions`), so the old credential can still be
  read to revoke it after the grace period.

The sibling is the authoritative journal: it is written with check-and-set, exists exactly
while a rotation is in flight, and a resumed run finds it on any machine. The labels are
also written to the secret's `custom_metadata` (`leakstop-current`, `leakstop-previous`,
`leakstop-pending`, `leakstop-secret`) for people and for `vault kv metadata get`; Vault has no
check-and-set on metadata, so they are a record, merged into whatever else is there, and never
decide anything but whether an earlier promotion already finished.

Every write of `<path>` uses check-and-set on the version read at the start: a concurrent
writer makes the step fail with ProviderConflictError, never overwrites. Each step is safe to
repeat after a crash: `promote` finishes a promotion that wrote `<path>` but died before
clearing the journal; `discard_pending` of a pending version that is gone does nothing.

Values: with `key:` the value is that field's text (bytes, UTF-8), and writes keep the other
fields; a dict writes several fields; without `key:` the value is the dict of all fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leakstop.config.options import Options
from leakstop.errors import ProviderConflictError, ProviderError
from leakstop.rotator.providers.base import CURRENT, PENDING, PREVIOUS, StoredVersion, Value
from leakstop.rotator.providers.vault_auth import VaultSession
from leakstop.rotator.providers.vault_kv import KvClient, Metadata
from leakstop.rotator.providers.vault_options import KvPlace, parse_place

#: custom_metadata keys of the labels (values are KV version numbers as text).
CURRENT_KEY, PREVIOUS_KEY, PENDING_KEY = "leakstop-current", "leakstop-previous", "leakstop-pending"
#: The last version disabled because its credential was revoked (`leakstop revoke`).
REVOKED_KEY = "leakstop-revoked"
SECRET_KEY = "leakstop-secret"
#: Marks the sibling's data as leakstop's journal record (and its layout's version).
JOURNAL_MARK = "pending-v1"


@dataclass(frozen=True)
class _Pending:
    version: int
    base: int
    fields: dict[str, Any] = field(repr=False)
    created: datetime | None = None


class VaultKvStore:
    """The Store protocol over one Vault's KV v2 mounts. `where` is a secret's `store:`
    options: `mount` (default `secret`), `path`, `key`. Raises ProviderError (one line, no
    value) and ProviderConflictError when a check-and-set loses."""

    def __init__(self, session: VaultSession) -> None:
        self._session = session
        self._kv = KvClient(session)
        self.name = session.provider

    def current(self, name: str, where: Options) -> StoredVersion | None:
        place = parse_place(name, where)
        meta = self._metadata(place, place.path)
        current = _current(meta)
        if meta is None or current == 0:
            return None
        return _stored(meta, current, pending=None)

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        """The rotation in flight. Labelled current too when an earlier `promote` wrote it
        and stopped before clearing the journal: `promote` it again to finish."""
        place = parse_place(name, where)
        pending = self._pending(place)
        if pending is None:
            return None
        labels = (PENDING, CURRENT) if self._is_written(place, pending) else (PENDING,)
        return StoredVersion(str(pending.version), labels, pending.created)

    def pending_base(self, name: str, where: Options) -> str | None:
        """The version the journal's pending version was prepared against (KnowsPendingBase):
        still known after a promotion wrote the path and stopped before clearing the journal,
        when `current` already names the pending version."""
        place = parse_place(name, where)
        pending = self._pending(place)
        if pending is None or not pending.base:
            return None
        meta = self._metadata(place, place.path)
        if meta is not None and meta.custom.get(REVOKED_KEY) == str(pending.base):
            return None  # disabled by a revocation: no old value is left to revoke
        return str(pending.base)

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        """The latest value, or `version`'s. While a rotation is in flight its pending version
        reads from the journal, even if someone else has meanwhile written a KV version with
        that number: a rolled-back rotation must revoke what it minted, not their value."""
        place = parse_place(name, where)
        number = None if version is None else _number(version)
        pending = self._pending(place) if number is not None else None
        if pending is not None and pending.version == number:
            fields: dict[str, Any] | None = pending.fields
        else:
            fields = self._data(place, place.path, number)
        if fields is None:
            which = "its latest version" if number is None else f"version {number}"
            raise ProviderError(
                self._doing(f"read {place}: {which} does not exist or was deleted or destroyed")
            )
        return _value(place, fields, self._doing(f"read {place}"))

    def versions(self, name: str, where: Options) -> list[StoredVersion]:
        """Every version KV still lists, oldest first, with its labels; a pending version
        (not yet in KV) last."""
        place = parse_place(name, where)
        meta = self._metadata(place, place.path)
        pending = self._pending(place)
        written = pending is not None and self._is_written(place, pending)
        labelled = pending if written else None
        known = [] if meta is None else [_stored(meta, v, labelled) for v in sorted(meta.versions)]
        if pending is not None and not written:
            known.append(StoredVersion(str(pending.version), (PENDING,), pending.created))
        return known

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        place = parse_place(name, where)
        expected = _expected(expected_current)
        meta = self._metadata(place, place.path)
        current, latest = _current(meta), meta.current if meta is not None else 0
        if current != expected:
            raise self._changed(place, current, expected)
        base: dict[str, Any] = {}
        if current:
            found = self._data(place, place.path, current)
            if found is None:
                raise ProviderError(
                    self._doing(
                        f"write {place}: the current version {current} is deleted; undelete it "
                        "or write a new version first"
                    )
                )
            base = found
        elif latest and meta is not None:
            # The latest version was disabled by a revocation: the other fields (a username)
            # come from the newest version still readable.
            live = [v for v, info in meta.versions.items() if info.live]
            found = self._data(place, place.path, max(live)) if live else None
            base = found or {}
        fields = _merged(place, base, value, self._doing(f"write {place}"))
        sibling = self._metadata(place, place.pending_path)
        if sibling is not None and sibling.current:
            info = sibling.versions.get(sibling.current)
            if info is not None and info.live:
                in_flight = self._pending(place)
                which = f" (pending version {in_flight.version})" if in_flight else ""
                raise ProviderConflictError(
                    self._doing(
                        f"{place}: a rotation is already in flight{which}; resume or discard it"
                    )
                )
        record = {
            "leakstop": JOURNAL_MARK,
            "secret": name,
            "version": latest + 1,
            "base": latest,
            "fields": fields,
        }
        written = self._write(place, place.pending_path, record, sibling.current if sibling else 0)
        self._back_out_if_moved(place, name, current, latest, record)
        self._label(place, name, {PENDING_KEY: latest + 1})
        return StoredVersion(str(latest + 1), (PENDING,), written[1])

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        place = parse_place(name, where)
        number, expected = _number(version), _expected(expected_current)
        pending = self._pending(place)
        meta = self._metadata(place, place.path)
        current, latest = _current(meta), meta.current if meta is not None else 0
        if pending is None:
            done = meta is not None and meta.custom.get(CURRENT_KEY) == str(number)
            if done and current == number:
                return  # promoted by an earlier call
            raise ProviderError(self._doing(f"promote {place}: no pending version {number}"))
        if pending.version != number:
            raise self._other_pending(place, pending, number)
        if current == number and self._is_written(place, pending):
            pass  # an earlier promote wrote it and stopped before clearing the journal
        elif current != expected:
            raise self._changed(place, current, expected)
        elif pending.base != latest:
            raise ProviderConflictError(
                self._doing(
                    f"promote {place}: pending version {number} was prepared against version "
                    f"{pending.base}, but version {latest} is the latest"
                )
            )
        else:
            self._write(place, place.path, pending.fields, latest)
        # A base disabled by a revocation is no previous value: nothing is left to revoke.
        revoked_base = meta is not None and meta.custom.get(REVOKED_KEY) == str(pending.base)
        previous = None if revoked_base else pending.base or None
        self._label(place, name, {CURRENT_KEY: number, PREVIOUS_KEY: previous, PENDING_KEY: None})
        self._delete_pending(place)

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        place = parse_place(name, where)
        number = _number(version)
        pending = self._pending(place)
        if pending is None:
            meta = self._metadata(place, place.path)
            if meta is not None and meta.custom.get(PENDING_KEY) == str(number):
                self._label(place, name, {PENDING_KEY: None})  # a stale record of it
            return
        if pending.version != number:
            raise self._other_pending(place, pending, number)
        if self._is_written(place, pending):
            raise ProviderConflictError(
                self._doing(f"discard {place}: pending version {number} is already current")
            )
        self._delete_pending(place)
        self._label(place, name, {PENDING_KEY: None})

    def disable(self, name: str, where: Options, version: str) -> None:
        """Soft-delete KV `version` (its credential was revoked): readers of the path no longer
        get it, and KV keeps the version's history (and its data, for `kv undelete`, which
        would serve the revoked value again). Repeating it changes nothing."""
        place = parse_place(name, where)
        number = _number(version)
        meta = self._metadata(place, place.path)
        if meta is None or number not in meta.versions:
            raise ProviderError(self._doing(f"disable {place}: there is no version {number}"))
        if meta.versions[number].live:
            self._kv.delete_versions(place.mount, place.path, [number])
        labels: dict[str, int | None] = {REVOKED_KEY: number}
        if meta.custom.get(PREVIOUS_KEY) == str(number):
            labels[PREVIOUS_KEY] = None
        self._label(place, name, labels)

    def rollback(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> StoredVersion:
        """Write the fields of the earlier `version` as a new current version (KV's own
        rollback), with check-and-set on `expected_current`. Refused while a rotation is in
        flight. Returns the new version, labelled current."""
        place = parse_place(name, where)
        number, expected = _number(version), _expected(expected_current)
        pending = self._pending(place)
        if pending is not None:
            raise ProviderConflictError(
                self._doing(
                    f"roll back {place}: a rotation is in flight (pending version "
                    f"{pending.version}); resume or discard it first"
                )
            )
        meta = self._metadata(place, place.path)
        current = meta.current if meta is not None else 0
        if current != expected:
            raise self._changed(place, current, expected)
        if not 0 < number < current:
            raise ProviderError(
                self._doing(f"roll back {place}: version {number} is not earlier than {current}")
            )
        fields = self._data(place, place.path, number)
        if fields is None:
            raise ProviderError(
                self._doing(f"roll back {place}: version {number} was deleted or destroyed")
            )
        new, created = self._write(place, place.path, fields, current)
        self._label(place, name, {CURRENT_KEY: new, PREVIOUS_KEY: current})
        return StoredVersion(str(new), (CURRENT,), created)

    def _back_out_if_moved(
        self, place: KvPlace, name: str, current: int, latest: int, ours: dict[str, Any]
    ) -> None:
        """Delete the journal record just written (`ours`) and raise
        ProviderConflictError when `<path>` moved since put_pending read it. Another run can
        finish a whole rotation (its record written and deleted again) between that read and
        our check-and-set-0 write of the sibling, which then succeeds: without this check the
        caller would apply a value whose promotion is bound to fail."""
        meta = self._metadata(place, place.path)
        now, now_latest = _current(meta), meta.current if meta is not None else 0
        if now == current and now_latest == latest:
            return
        # Only our own record: a third run may have written its record after a deletion.
        if self._data(place, place.pending_path, None) == ours:
            self._delete_pending(place)
        raise ProviderConflictError(
            self._doing(
                f"{place}: {name} was rotated or written by another run while this one wrote "
                f"its pending version (latest version is now {now_latest}, was "
                f"{latest or 'none'}); its pending version was withdrawn"
            )
        )

    def _doing(self, action: str) -> str:
        return self._session.doing(action)

    def _metadata(self, place: KvPlace, path: str) -> Metadata | None:
        return self._kv.metadata(place.mount, path)

    def _data(self, place: KvPlace, path: str, version: int | None) -> dict[str, Any] | None:
        """The fields of `version` (None: the latest); None when missing or deleted."""
        found = self._kv.read(place.mount, path, version)
        return found.fields if found is not None else None

    def _write(
        self, place: KvPlace, path: str, fields: dict[str, Any], cas: int
    ) -> tuple[int, datetime | None]:
        return self._kv.write(place.mount, path, fields, cas)

    def _pending(self, place: KvPlace) -> _Pending | None:
        """The journal record of a rotation in flight, from the sibling; None when none."""
        found = self._kv.read(place.mount, place.pending_path, None)
        if found is None:
            return None
        record = found.fields
        version, base, fields = record.get("version"), record.get("base"), record.get("fields")
        if (
            record.get("leakstop") != JOURNAL_MARK
            or not isinstance(version, int)
            or not isinstance(base, int)
            or not isinstance(fields, dict)
        ):
            raise ProviderError(
                self._doing(
                    f"{place.mount}/{place.pending_path} is not a leakstop journal record; "
                    "move it away"
                )
            )
        return _Pending(version, base, fields, found.created)

    def _is_written(self, place: KvPlace, pending: _Pending) -> bool:
        """Whether `pending` is already the latest version of the path (a promotion that
        stopped half-way); a version someone else wrote in between has other fields."""
        meta = self._metadata(place, place.path)
        if meta is None or meta.current != pending.version:
            return False
        return self._data(place, place.path, pending.version) == pending.fields

    def _delete_pending(self, place: KvPlace) -> None:
        self._kv.delete(place.mount, place.pending_path)

    def _label(self, place: KvPlace, name: str, changes: dict[str, int | None]) -> None:
        """Record labels in the secret's custom_metadata (None removes one)."""
        updates: dict[str, str | None] = {SECRET_KEY: name}
        updates.update({k: None if v is None else str(v) for k, v in changes.items()})
        self._kv.update_custom_metadata(place.mount, place.path, updates)

    def _changed(self, place: KvPlace, current: int, expected: int) -> ProviderConflictError:
        return ProviderConflictError(
            self._doing(
                f"{place}: changed by another writer (current version is {current or 'none'}, "
                f"expected {expected or 'none'}); nothing was written"
            )
        )

    def _other_pending(self, place: KvPlace, pending: _Pending, number: int) -> ProviderError:
        return ProviderConflictError(
            self._doing(f"{place}: the pending version is {pending.version}, not {number}")
        )


def _current(meta: Metadata | None) -> int:
    """The current version: the latest, unless `disable` took it out of service after its
    credential was revoked (then none, 0, until the next rotation writes one)."""
    if meta is None:
        return 0
    info = meta.versions.get(meta.current)
    disabled = meta.custom.get(REVOKED_KEY) == str(meta.current)
    return 0 if disabled and info is not None and not info.live else meta.current


def _stored(meta: Metadata, version: int, pending: _Pending | None) -> StoredVersion:
    labels = []
    if version == _current(meta) and version:
        labels.append(CURRENT)
    elif meta.custom.get(PREVIOUS_KEY) == str(version):
        labels.append(PREVIOUS)
    if pending is not None and pending.version == version:
        labels.append(PENDING)
    info = meta.versions.get(version)
    return StoredVersion(str(version), tuple(labels), info.created if info else None)


def _merged(place: KvPlace, base: dict[str, Any], value: Value, doing: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return {**base, **{str(k): _text(v, doing) for k, v in value.items()}}
    if place.key is None:
        raise ProviderError(f"{doing}: a single value needs store.key (the field to write)")
    return {**base, place.key: _text(value, doing)}


def _text(value: Any, doing: str) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ProviderError(f"{doing}: the value is not UTF-8 text (KV holds JSON)") from None
    return value


def _value(place: KvPlace, fields: dict[str, Any], doing: str) -> Value:
    if place.key is None:
        return dict(fields)
    if place.key not in fields:
        raise ProviderError(f"{doing}: the secret has no field {place.key!r}")
    value = fields[place.key]
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode("utf-8")


def _number(version: str) -> int:
    if not version.isdigit() or int(version) < 1:
        raise ProviderError(f"{version!r} is not a Vault KV version number")
    return int(version)


def _expected(version: str | None) -> int:
    return 0 if version is None else _number(version)
