"""The local store: an org's secrets under `$LEAKSTOP_HOME/store/<org>/`, each value encrypted
with Fernet under a key derived from the master key, each change recorded in the audit log.

    store = LocalStore.open(home, "default", master_key, audit_log, context)
    store.write("billing/api-key", b"…", expected_version=None)    # creates version 1
    store.read("billing/api-key")                                  # current version's value

Every operation reads org.json under the org's lock (shared) and checks the master key first:
a wrong key is an `access_denied` record and StoreAccessError before any file is touched.
Changes to one secret hold its own lock around read-check-write, so two writers never lose
each other's update: a check-and-set that lost raises StoreConflictError. Values never reach
a message, a log line, a repr or an audit record: records carry names, versions and labels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, utc_timestamp
from leakstop.errors import AuditIntegrityError, AuditStorageError, StoreAccessError, StoreError
from leakstop.store import changes, secretfile
from leakstop.store.access import KeyCache, Keys
from leakstop.store.document import LABELS, SecretDocument
from leakstop.store.files import make_folder, previous_kept
from leakstop.store.info import SecretInfo, VersionInfo, describe_document
from leakstop.store.keys import KdfParams, derive
from leakstop.store.lock import locked
from leakstop.store.names import check_name, check_org
from leakstop.store.orgfile import KeyRecord, OrgState, read_org, write_org
from leakstop.store.paths import OrgPaths, org_paths
from leakstop.store.secretfile import Value

if TYPE_CHECKING:
    from leakstop.store.backup import BackupInfo
    from leakstop.store.health import HealthReport
    from leakstop.store.restore import RestorePlan
    from leakstop.store.rotation import RotationResult

log = logging.getLogger(__name__)

#: What a change computes from the secret's document (None: no file yet), the time and the
#: org's keys (see `changes`).
Change = Callable[[SecretDocument | None, str, Keys], changes.Outcome]


@dataclass(frozen=True)
class Session:
    """One operation's view of the org: org.json as read under the org lock, and its keys."""

    state: OrgState
    keys: Keys


class LocalStore:
    """One org of the local store. Build it with `LocalStore.init` or `LocalStore.open`."""

    def __init__(
        self,
        paths: OrgPaths,
        org: str,
        keys: KeyCache,
        audit_log: AuditLog,
        context: Context,
    ) -> None:
        self.paths = paths
        self.org = org
        self.audit_log = audit_log
        self.context = context.in_org(org)
        self.key_cache = keys

    def __repr__(self) -> str:
        return f"LocalStore({str(self.paths.root)!r})"

    @classmethod
    def init(
        cls,
        home: Path,
        org: str,
        master_key: bytes,
        audit_log: AuditLog,
        context: Context,
        *,
        iterations: int | None = None,
    ) -> LocalStore:
        """Create the org (a random salt, the key check) and return it open. `iterations`
        lowers PBKDF2's count for tests only; the default is 600,000. Raises StoreError when
        the org exists."""
        paths = org_paths(home, check_org(org))
        params = KdfParams.new(iterations=iterations)
        key = derive(master_key, params)
        try:
            make_folder(paths.root)
            with locked(paths.lock):
                if paths.org_file.exists():
                    raise StoreError(f"org {org!r} already exists in {paths.root}")
                for folder in (paths.secrets, paths.locks, paths.backups):
                    make_folder(folder)
                write_org(
                    paths.org_file,
                    OrgState(org, utc_timestamp(), KeyRecord(params, key.check_token())),
                )
        except OSError as exc:
            raise StoreError(f"cannot create the store in {paths.root}: {exc.strerror}") from None
        cache = KeyCache(master_key)
        store = cls(paths, org, cache, audit_log, context)
        store.record(
            Action.STORE_CREATED,
            "",
            {"generation": 1, "iterations": params.iterations},
        )
        return store

    @classmethod
    def open(
        cls,
        home: Path,
        org: str,
        master_key: bytes,
        audit_log: AuditLog,
        context: Context,
        *,
        subject: str = "",
    ) -> LocalStore:
        """The org, its master key checked (StoreAccessError and an `access_denied` record, for
        the secret `subject` when the caller names one, when it is not the org's). Raises
        StoreError when the org does not exist."""
        paths = org_paths(home, check_org(org))
        if not paths.org_file.exists():
            raise StoreError(
                f"no store for org {org!r} in {paths.root.parent}: create it with "
                f"`leakstop store init --org {org}`"
            )
        store = cls(paths, org, KeyCache(master_key), audit_log, context)
        with store.session(subject):
            pass
        return store

    # Reading

    def read(self, name: str, version: int | None = None, label: str = "current") -> Value:
        """The value of `version`, else of the version `label` points at: bytes, or a dict for
        a structured value. Recorded as `secret_read` before it is returned."""
        check_name(name)
        if label not in LABELS:
            raise StoreError(f"{label!r} is not a label: use one of {', '.join(LABELS)}")
        asked = {"version": version} if version is not None else {"label": label}
        with self._attempt(Action.SECRET_READ, name, asked), self.session(name) as session:
            document = self._existing(name, session)
            if document.deleted is not None:
                raise StoreError(
                    f"{name} was deleted at {document.deleted}: `leakstop store rollback {name} "
                    "--to N` brings a version back"
                )
            number = version if version is not None else document.labels.get(label)
            if number is None:
                raise StoreError(f"{name} has no {label} version")
            entry = changes.active(document, number, name)
            where = str(self.paths.secret(name))
            value = secretfile.decrypt(entry, session.keys.get(document.generation, where), where)
            self.record(
                Action.SECRET_READ,
                name,
                {"version": number, "labels": document.labels_of(number), **asked},
            )
            return value

    def describe(self, name: str) -> SecretInfo:
        """Metadata of `name` (versions, labels, dates; never a value). Not recorded."""
        check_name(name)
        with self.session(name) as session:
            return describe_document(self._existing(name, session))

    def latest_version(self, name: str) -> int | None:
        """The highest version number of `name`; None when there is no such secret."""
        check_name(name)
        with self.session(name) as session:
            document = secretfile.load(self.paths.secret(name), name, session.keys)
        return document.latest if document is not None else None

    def versions(self, name: str) -> list[VersionInfo]:
        return list(self.describe(name).versions)

    def list_secrets(self, *, include_deleted: bool = False) -> list[SecretInfo]:
        """Every secret's metadata, by name. Raises StoreDamagedError at the first bad file."""
        found = []
        with self.session() as session:
            for name, path in self.paths.secret_files():
                document = secretfile.load(path, name, session.keys)
                if document is not None and (include_deleted or document.deleted is None):
                    found.append(describe_document(document))
        return sorted(found, key=lambda info: info.name)

    # Writing

    def write(
        self,
        name: str,
        value: bytes | Mapping[str, Any],
        expected_version: int | None,
        label: str = "current",
    ) -> VersionInfo:
        """Add a version holding `value` and point `label` (`current` or `pending`) at it.
        Check-and-set: `expected_version` must be the latest version number (None: the secret
        does not exist yet), else StoreConflictError. Writing a deleted secret revives it."""
        check_name(name)
        if label not in ("current", "pending"):
            raise StoreError("a new version is labelled current or pending")
        actor = self.context.actor
        document = self.modify(
            name,
            Action.SECRET_UPDATED,
            lambda document, now, keys: changes.add_version(
                document, name, now, keys.write, value, expected_version, label, actor
            ),
        )
        return describe_document(document).versions[-1]

    def move_label(
        self, name: str, label: str, version: int | None, expected_version: int | None
    ) -> None:
        """Point `label` at `version` (None: remove it; `current` cannot be removed).
        Check-and-set on where the label points now (`expected_version`). Moving `current`
        makes the old current `previous`, and clears `pending` when it pointed at `version`."""
        check_name(name)
        if label not in LABELS:
            raise StoreError(f"{label!r} is not a label: use one of {', '.join(LABELS)}")
        if version is None and label == "current":
            raise StoreError("the current label cannot be removed: delete the secret instead")
        self.modify(
            name,
            Action.SECRET_UPDATED,
            lambda document, now, _keys: changes.move_label(
                document, name, now, label, version, expected_version
            ),
        )

    def discard(self, name: str, version: int) -> None:
        """Throw away the pending `version`: its value is erased and the label removed."""
        check_name(name)
        self.modify(
            name,
            Action.SECRET_UPDATED,
            lambda document, now, _keys: changes.discard(document, name, now, version),
        )

    def revoke_version(self, name: str, version: int) -> None:
        """Take `version` out of service for good (its credential was revoked): its value is
        erased and its labels dropped. Repeating it changes nothing."""
        check_name(name)
        self.modify(
            name,
            Action.SECRET_UPDATED,
            lambda document, now, _keys: changes.revoke(document, name, now, version),
        )

    def delete(self, name: str, purge: bool = False) -> None:
        """Mark `name` deleted (its versions stay, `rollback` revives it); `purge` also erases
        every value for good (the name and version history stay: numbers are never reused)."""
        check_name(name)
        self.modify(
            name,
            Action.SECRET_DELETED,
            lambda document, now, _keys: changes.delete(document, name, now, purge),
        )

    def rollback(self, name: str, to: int) -> None:
        """Point `current` back at version `to` (the old current becomes `previous`); a deleted
        secret is revived."""
        check_name(name)
        self.modify(
            name,
            Action.ROLLBACK,
            lambda document, now, _keys: changes.rollback(document, name, now, to),
        )

    # Upkeep: master key, backups, health (each in its own module)

    def rotate_master_key(
        self, new_master_key: bytes | None, *, iterations: int | None = None
    ) -> RotationResult:
        """See `leakstop.store.rotation.rotate`."""
        from leakstop.store.rotation import rotate

        return rotate(self, new_master_key, iterations=iterations)

    def backup(self, name: str | None = None) -> BackupInfo:
        """See `leakstop.store.backup.create`."""
        from leakstop.store.backup import create

        return create(self, name)

    def backups(self) -> list[BackupInfo]:
        from leakstop.store.backup import list_backups

        return list_backups(self)

    def restore(self, name: str, *, dry_run: bool = False) -> RestorePlan:
        """See `leakstop.store.restore.restore` (`dry_run`: `plan`, nothing changed)."""
        from leakstop.store import restore

        return restore.plan(self, name) if dry_run else restore.restore(self, name)

    def prune_backups(self, older_than: timedelta) -> list[str]:
        """See `leakstop.store.backup.prune`."""
        from leakstop.store.backup import prune

        return prune(self, older_than)

    def check(self, policies: Mapping[str, timedelta]) -> HealthReport:
        """See `leakstop.store.health.check`."""
        from leakstop.store.health import check

        return check(self, policies)

    # For the modules that extend the store

    @contextmanager
    def session(self, subject: str = "", *, exclusive: bool = False) -> Iterator[Session]:
        """Hold the org lock (shared, or `exclusive`), read org.json and open its keys. A
        master key that opens nothing: an `access_denied` record (for `subject`) and
        StoreAccessError."""
        try:
            with locked(self.paths.lock, shared=not exclusive):
                state = read_org(self.paths.org_file)
                keys = self.key_cache.unlock(state)
                if keys is None:
                    self.record(
                        Action.ACCESS_DENIED,
                        subject,
                        {"store": self.org},
                        success=False,
                        error="the master key does not open this org",
                    )
                    raise StoreAccessError(
                        f"the master key does not open org {self.org!r} (wrong key, or one "
                        "retired by rotate-key): nothing was read or changed"
                    )
                yield Session(state, keys)
        except OSError as exc:
            raise StoreError(f"cannot use the store in {self.paths.root}: {exc}") from None

    def modify(self, name: str, action: Action, change: Change) -> SecretDocument:
        """Under the secret's lock: load its document, move it to the write key, apply
        `change`, write it atomically, record it. A StoreError on the way is recorded as a
        failed `action`, and nothing is written."""
        with self._attempt(action, name, {}), self.session(name) as session:
            path = self.paths.secret(name)
            with locked(self.paths.secret_lock(name)):
                document = secretfile.load(path, name, session.keys)
                if document is not None:
                    document = secretfile.move_to(
                        document, session.keys, session.keys.write, str(path)
                    )
                new, taken, details = change(document, utc_timestamp(), session.keys)
                with previous_kept(path) as put_back:
                    secretfile.save(path, new, session.keys.write)
                    try:
                        self.record(taken, name, {"revision": new.revision, **details})
                    except (AuditStorageError, AuditIntegrityError):
                        # A change the audit log cannot show must not stand (a full disk
                        # took the record, not the secret's file): undo it, then say why.
                        put_back()
                        raise
        return new

    def record(
        self,
        action: Action,
        secret: str,
        details: Mapping[str, Any],
        *,
        success: bool = True,
        error: str | None = None,
    ) -> None:
        self.audit_log.append(
            action, secret, self.context, details=details, success=success, error=error
        )

    @contextmanager
    def _attempt(self, action: Action, name: str, details: Mapping[str, Any]) -> Iterator[None]:
        try:
            yield
        except StoreAccessError:
            raise  # recorded as access_denied
        except StoreError as exc:
            self.record(action, name, details, success=False, error=str(exc))
            raise

    def _existing(self, name: str, session: Session) -> SecretDocument:
        return changes.must_exist(
            secretfile.load(self.paths.secret(name), name, session.keys), name, self.org
        )
