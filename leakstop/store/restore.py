"""Restoring a backup: verified first, shown as a plan, applied under the org lock.

A backup is restored only when every file matches its SHA-256 in the manifest, no file was
added, the manifest's seal verifies under the org key it was taken with, and every secret
file's own seal verifies: a tampered backup is refused whole. The key is the current one, or an
earlier generation kept (wrapped) in org.json since a rotation, or one the master key derives.

Applying a plan first takes a `pre-restore-…` backup of what it replaces. Restored secrets get a
new revision above both the store's and the backup's, and keep `next_version` at the higher of
the two, so a version number is never reused. A secret the backup does not have is purged
(deleted, values erased; the pre-restore backup still holds them).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import InvalidToken

from leakstop.audit.record import Action, canonical, parse_timestamp, utc_timestamp
from leakstop.errors import StoreDamagedError, StoreError
from leakstop.store import secretfile
from leakstop.store.access import Keys
from leakstop.store.backup import MANIFEST, read_manifest, write_backup
from leakstop.store.changes import purged
from leakstop.store.document import SecretDocument, State
from leakstop.store.files import fsync_folder
from leakstop.store.keys import Key
from leakstop.store.names import SUFFIX, check_backup_name, name_of
from leakstop.store.orgfile import KeyRecord, read_org

if TYPE_CHECKING:
    from leakstop.store.local import LocalStore, Session


@dataclass(frozen=True)
class Summary:
    """A secret's shape on one side of a restore."""

    revision: int
    #: Versions that still hold a value.
    versions: tuple[int, ...]
    labels: Mapping[str, int]
    deleted: bool

    @classmethod
    def of(cls, document: SecretDocument) -> Summary:
        return cls(
            document.revision,
            tuple(v.number for v in document.versions if v.state is State.ACTIVE),
            dict(document.labels),
            document.deleted is not None,
        )

    def same_as(self, other: Summary) -> bool:
        """Equal but for the revision (a master-key rotation changes only that)."""
        return (self.versions, dict(self.labels), self.deleted) == (
            other.versions,
            dict(other.labels),
            other.deleted,
        )


@dataclass(frozen=True)
class SecretDiff:
    name: str
    #: In the store now; None: the restore adds it.
    before: Summary | None
    #: In the backup; None: the restore removes it.
    after: Summary | None

    @property
    def change(self) -> str:
        """`added` or `removed` as a reader of the secret sees it (a deleted secret is not
        there), else `changed`."""
        was = self.before is not None and not self.before.deleted
        will = self.after is not None and not self.after.deleted
        if was == will:
            return "changed"
        return "added" if will else "removed"


@dataclass(frozen=True)
class RestorePlan:
    backup: str
    created: datetime
    diffs: tuple[SecretDiff, ...]
    unchanged: int
    #: The backup taken of the state the restore replaced (None for a dry run).
    pre_restore: str | None = None

    def of_kind(self, change: str) -> list[SecretDiff]:
        return [diff for diff in self.diffs if diff.change == change]


@dataclass(frozen=True)
class _Verified:
    name: str
    created: datetime
    key: Key
    documents: Mapping[str, SecretDocument]


def plan(store: LocalStore, name: str) -> RestorePlan:
    """What restoring backup `name` would change, after verifying it (StoreDamagedError for a
    tampered or damaged backup)."""
    with store.session() as session:
        verified = _verify(store, session, name)
        return _plan(verified, _current(store, session))


def restore(store: LocalStore, name: str) -> RestorePlan:
    """Verify backup `name`, back up the present state, and make the store what the backup
    holds. Every changed secret is recorded, then `backup_restored`."""
    with store.session(exclusive=True) as session:
        if session.state.rotation is not None:
            raise StoreError("a master-key rotation is unfinished: run `leakstop store rotate-key`")
        verified = _verify(store, session, name)
        current = _current(store, session)
        result = _plan(verified, current)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        pre = write_backup(store, session, f"pre-restore-{stamp}-{name}"[:64])
        store.record(
            Action.BACKUP_CREATED,
            "",
            {"backup": pre.name, "secrets": pre.secrets, "generation": pre.generation},
        )
        now = utc_timestamp()
        for diff in result.diffs:
            _apply(store, session, verified, current.get(diff.name), diff, now)
        fsync_folder(store.paths.secrets)
        store.record(
            Action.BACKUP_RESTORED,
            "",
            {
                "backup": verified.name,
                "added": len(result.of_kind("added")),
                "changed": len(result.of_kind("changed")),
                "removed": len(result.of_kind("removed")),
                "pre_restore": pre.name,
            },
        )
    return dataclasses.replace(result, pre_restore=pre.name)


def _apply(
    store: LocalStore,
    session: Session,
    verified: _Verified,
    before: SecretDocument | None,
    diff: SecretDiff,
    now: str,
) -> None:
    path = store.paths.secret(diff.name)
    write = session.keys.write
    restored = verified.documents.get(diff.name)
    if restored is None:
        assert before is not None
        before = secretfile.move_to(before, session.keys, write, str(path))
        new = before.changed(
            now, deleted=before.deleted or now, labels={}, versions=purged(before.versions)
        )
        action = Action.SECRET_DELETED
    else:
        moved = secretfile.reencrypt(restored, verified.key, write, f"backup {verified.name}")
        revision = max(restored.revision, before.revision if before else 0) + 1
        next_version = max(restored.next_version, before.next_version if before else 1)
        new = dataclasses.replace(moved, revision=revision, next_version=next_version, updated=now)
        action = Action.SECRET_CREATED if before is None else Action.SECRET_UPDATED
    secretfile.save(path, new, write, sync_folder=False)
    store.record(
        action,
        diff.name,
        {"restored_from": verified.name, "change": diff.change, "revision": new.revision},
    )


def _plan(verified: _Verified, current: Mapping[str, SecretDocument]) -> RestorePlan:
    diffs, unchanged = [], 0
    for name in sorted(set(verified.documents) | set(current)):
        before = Summary.of(current[name]) if name in current else None
        after = Summary.of(verified.documents[name]) if name in verified.documents else None
        if before is not None and after is not None and before.same_as(after):
            unchanged += 1
        elif not (after is None and before is not None and before.deleted and not before.versions):
            diffs.append(SecretDiff(name, before, after))  # (an erased secret stays erased)
    return RestorePlan(verified.name, verified.created, tuple(diffs), unchanged)


def _current(store: LocalStore, session: Session) -> dict[str, SecretDocument]:
    found = {}
    for name, path in store.paths.secret_files():
        document = secretfile.load(path, name, session.keys)
        if document is not None:
            found[name] = document
    return found


def _verify(store: LocalStore, session: Session, name: str) -> _Verified:
    folder = store.paths.backups / check_backup_name(name)
    if not folder.is_dir():
        raise StoreError(f"no backup named {name} (`leakstop store backups` lists them)")
    refused = f"backup {name} is refused: "
    manifest = read_manifest(folder)
    try:
        files: dict[str, str] = manifest["files"]
        _check_files(folder, files, refused)
        backup_org = read_org(folder / "org.json")
        if backup_org.org != store.org or manifest["org"] != store.org:
            raise StoreError(f"backup {name} is of org {backup_org.org!r}, not {store.org!r}")
        key = _key_for(store, session, backup_org.key)
        if key is None:
            raise StoreError(
                f"backup {name} was taken under a master key this org does not know: "
                "nothing was restored"
            )
        body = {k: v for k, v in manifest.items() if k != "seal"}
        if not key.is_sealed(canonical(body), manifest["seal"]):
            raise StoreDamagedError(refused + "its manifest was changed since it was taken")
        keys = Keys({key.generation: key}, key)
        documents = {}
        for relative in files:
            if relative == "org.json":
                continue
            secret = name_of(relative[len("secrets/") : -len(SUFFIX)])
            assert secret is not None  # _check_files let only secret file names through
            documents[secret] = secretfile.check(
                (folder / relative).read_bytes(), f"backup {name}: {relative}", secret, keys
            )
        if set(documents) != set(manifest["secrets"]):
            raise StoreDamagedError(refused + "its manifest and its files disagree")
        return _Verified(name, parse_timestamp(manifest["created"]), key, documents)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreDamagedError(refused + f"its manifest is malformed ({exc!r})") from None
    except OSError as exc:
        raise StoreError(f"cannot read backup {name}: {exc.strerror}") from None


def _check_files(folder: Path, files: Mapping[str, Any], refused: str) -> None:
    """Each listed file matches its SHA-256; the folder holds no file the manifest lacks."""
    listed = set(files)
    if "org.json" not in listed:
        raise StoreDamagedError(refused + "its manifest lists no org.json")
    present = {"org.json"} | {f"secrets/{p.name}" for p in (folder / "secrets").iterdir()}
    for relative in sorted(listed | present):
        if relative != "org.json" and (
            not relative.startswith("secrets/")
            or name_of(relative[len("secrets/") :].removesuffix(SUFFIX)) is None
            or not relative.endswith(SUFFIX)
        ):
            raise StoreDamagedError(refused + f"{relative!r} is not a file a backup holds")
        if relative not in listed:
            raise StoreDamagedError(refused + f"{relative} was added after it was taken")
        path = folder / relative
        if not path.is_file():
            raise StoreDamagedError(refused + f"{relative} is missing")
        if hashlib.sha256(path.read_bytes()).hexdigest() != files[relative]:
            raise StoreDamagedError(refused + f"{relative} does not match its SHA-256")
    extra = {p.name for p in folder.iterdir()} - {"org.json", "secrets", MANIFEST}
    if extra:
        raise StoreDamagedError(refused + f"{sorted(extra)[0]} was added after it was taken")


def _key_for(store: LocalStore, session: Session, record: KeyRecord) -> Key | None:
    """The key of the generation a backup was taken under, if this org can open it."""
    state = session.state
    if record.params.salt == state.key.params.salt:
        return session.keys.get(state.key.params.generation, "org.json")
    current = session.keys.get(state.key.params.generation, "org.json")
    for retired in state.retired:
        if retired.key.params.salt == record.params.salt:
            try:
                key = current.unwrap(record.params.generation, retired.wrapped)
            except InvalidToken:
                raise StoreDamagedError("org.json: a retired key does not unwrap") from None
            return key if key.opens(record.check) else None
    return store.key_cache.open_record(record)
