"""What each change does to a secret's document, as pure functions: the new document, the audit
action and the record's details (names, versions, labels; never a value). `LocalStore.modify`
runs them under the secret's lock and writes the result.

Labels work as AWS Secrets Manager's stages do: a new version is `current` (the old current
becomes `previous`) or `pending` (a rotation in flight); promoting a version to `current` moves
the old one to `previous` and clears `pending` when it pointed there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from leakstop.audit.record import Action
from leakstop.errors import StoreConflictError, StoreError
from leakstop.store.document import SecretDocument, State, Version
from leakstop.store.keys import Key
from leakstop.store.secretfile import encrypt

#: The new document, the audit action, the record's details.
Outcome = tuple[SecretDocument, Action, dict[str, Any]]


def add_version(
    document: SecretDocument | None,
    name: str,
    now: str,
    key: Key,
    value: Any,
    expected_version: int | None,
    label: str,
    actor: str,
) -> Outcome:
    latest = document.latest if document is not None else None
    if latest != expected_version:
        raise StoreConflictError(
            f"{name} changed: its latest version is {_shown(latest)}, not "
            f"{_shown(expected_version)}; read it again and retry"
        )
    kind, token = encrypt(value, key)
    if document is None:
        document = SecretDocument(name, 0, key.generation, now, now, 1, {}, ())
    number = document.next_version
    labels = dict(document.labels)
    if label == "current":
        labels = relabel(labels, "current", number)
    else:
        labels["pending"] = number
    action = Action.SECRET_CREATED if document.revision == 0 else Action.SECRET_UPDATED
    new = document.changed(
        now,
        next_version=number + 1,
        labels=labels,
        versions=(*document.versions, Version(number, now, actor, kind, State.ACTIVE, token)),
        deleted=None,
    )
    return new, action, {"version": number, "label": label, "kind": kind.value}


def move_label(
    document: SecretDocument | None,
    name: str,
    now: str,
    label: str,
    version: int | None,
    expected_version: int | None,
) -> Outcome:
    document = must_exist(document, name)
    if document.labels.get(label) != expected_version:
        raise StoreConflictError(
            f"{name}: {label} is version {_shown(document.labels.get(label))}, not "
            f"{_shown(expected_version)}; read it again and retry"
        )
    labels = dict(document.labels)
    if version is None:
        labels.pop(label, None)
    else:
        active(document, version, name)
        labels = relabel(labels, label, version)
    details = {"label": label, "version": version, "from": expected_version}
    return document.changed(now, labels=labels), Action.SECRET_UPDATED, details


def discard(document: SecretDocument | None, name: str, now: str, version: int) -> Outcome:
    document = must_exist(document, name)
    if document.labels.get("pending") != version:
        raise StoreConflictError(f"{name}: version {version} is not the pending one")
    if version in (document.labels.get("current"), document.labels.get("previous")):
        raise StoreError(f"{name}: version {version} is also current or previous")
    labels = {k: v for k, v in document.labels.items() if k != "pending"}
    versions = tuple(
        dataclasses.replace(v, state=State.DISCARDED, token=None) if v.number == version else v
        for v in document.versions
    )
    new = document.changed(now, labels=labels, versions=versions)
    return new, Action.SECRET_UPDATED, {"discarded": version}


def revoke(document: SecretDocument | None, name: str, now: str, version: int) -> Outcome:
    """`version` out of service for good: its value erased, its labels dropped (a revoked
    current version leaves the secret without a current one until the next write)."""
    document = must_exist(document, name)
    entry = document.version(version)
    if entry is None:
        raise StoreError(f"{name} has no version {version}")
    if entry.state is State.REVOKED:
        return document.changed(now), Action.SECRET_UPDATED, {"revoked": version, "already": True}
    labels = {k: v for k, v in document.labels.items() if v != version}
    versions = tuple(
        dataclasses.replace(v, state=State.REVOKED, token=None) if v.number == version else v
        for v in document.versions
    )
    dropped = document.labels_of(version)
    new = document.changed(now, labels=labels, versions=versions)
    return new, Action.SECRET_UPDATED, {"revoked": version, "labels_dropped": dropped}


def delete(document: SecretDocument | None, name: str, now: str, purge: bool) -> Outcome:
    document = must_exist(document, name)
    new = document.changed(now, deleted=document.deleted or now)
    if purge:
        new = dataclasses.replace(new, labels={}, versions=purged(document.versions))
    details = {"purge": purge, "versions": len(document.versions)}
    return new, Action.SECRET_DELETED, details


def rollback(document: SecretDocument | None, name: str, now: str, to: int) -> Outcome:
    document = must_exist(document, name)
    active(document, to, name)
    details = {"from": document.labels.get("current"), "to": to}
    labels = relabel(dict(document.labels), "current", to)
    return document.changed(now, labels=labels, deleted=None), Action.ROLLBACK, details


def purged(versions: Iterable[Version]) -> tuple[Version, ...]:
    """`versions` with every value erased (numbers and dates kept)."""
    return tuple(
        dataclasses.replace(v, state=State.PURGED, token=None) if v.state is State.ACTIVE else v
        for v in versions
    )


def must_exist(document: SecretDocument | None, name: str, org: str = "") -> SecretDocument:
    if document is None:
        where = f" in org {org!r}" if org else ""
        raise StoreError(f"no secret {name}{where}")
    return document


def active(document: SecretDocument, number: int, name: str) -> Version:
    entry = document.version(number)
    if entry is None:
        raise StoreError(f"{name} has no version {number}")
    if entry.state is not State.ACTIVE:
        raise StoreError(f"{name} version {number} was {entry.state.value}: its value is gone")
    return entry


def relabel(labels: dict[str, int], label: str, version: int) -> dict[str, int]:
    if label == "current":
        old = labels.get("current")
        if old is not None and old != version:
            labels["previous"] = old
        if labels.get("pending") == version:
            del labels["pending"]
    labels[label] = version
    return labels


def _shown(version: int | None) -> str:
    return "none" if version is None else str(version)
