"""Backups of an org: point-in-time, still encrypted, with a SHA-256 manifest.

    backups/<name>/manifest.json    what is in it, each file's SHA-256, sealed (HMAC) with the
                                    org key of the time
    backups/<name>/org.json         the org file of the time (its key parameters and check)
    backups/<name>/secrets/*.json   the secret files, byte for byte

A backup is taken under the org lock held exclusively, so no write is half in it; it is built
in a `.tmp-*` folder and renamed into place, so a crash leaves no half backup under its name.
Values stay encrypted: a backup is as safe to copy elsewhere as the store itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakstop.audit.record import Action, canonical, parse_timestamp, utc_timestamp
from leakstop.errors import StoreDamagedError, StoreError
from leakstop.store import secretfile
from leakstop.store.files import (
    TEMP_PREFIX,
    fsync_folder,
    is_temporary,
    make_folder,
    write_atomic,
    write_new,
)
from leakstop.store.names import check_backup_name

if TYPE_CHECKING:
    from leakstop.store.local import LocalStore, Session

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class BackupInfo:
    name: str
    path: Path
    created: datetime | None
    secrets: int
    #: The key generation it was taken under.
    generation: int
    #: Why its manifest cannot be read; None for a readable one.
    problem: str | None = None


def create(store: LocalStore, name: str | None = None) -> BackupInfo:
    """Take a backup named `name` (default: the UTC time, `20260105T100000Z`). Refused while a
    master-key rotation is unfinished, or when a secret file is damaged."""
    with store.session(exclusive=True) as session:
        info = write_backup(store, session, name)
    store.record(
        Action.BACKUP_CREATED,
        "",
        {"backup": info.name, "secrets": info.secrets, "generation": info.generation},
    )
    return info


def write_backup(store: LocalStore, session: Session, name: str | None) -> BackupInfo:
    """The backup itself, for a caller already holding the org lock exclusively."""
    if session.state.rotation is not None:
        raise StoreError("a master-key rotation is unfinished: run `leakstop store rotate-key`")
    now = datetime.now(timezone.utc)
    name = check_backup_name(name) if name is not None else _free_name(store, now)
    target = store.paths.backups / name
    if target.exists():
        raise StoreError(f"a backup named {name} exists already")
    make_folder(store.paths.backups)
    temp = store.paths.backups / f"{TEMP_PREFIX}{secrets.token_hex(6)}-{name}"
    try:
        make_folder(temp / "secrets")
        files: dict[str, str] = {}
        summary: dict[str, Any] = {}
        org_raw = store.paths.org_file.read_bytes()
        files["org.json"] = _copy(temp / "org.json", org_raw)
        for secret, path in store.paths.secret_files():
            raw = path.read_bytes()
            document = secretfile.check(raw, str(path), secret, session.keys)
            files[f"secrets/{path.name}"] = _copy(temp / "secrets" / path.name, raw)
            summary[secret] = {
                "revision": document.revision,
                "labels": dict(document.labels),
                "versions": [v.number for v in document.versions],
                "deleted": document.deleted is not None,
            }
        fsync_folder(temp / "secrets")
        key = session.keys.write
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "name": name,
            "org": store.org,
            "created": utc_timestamp(now),
            "actor": store.context.actor,
            "generation": key.generation,
            "files": files,
            "secrets": summary,
        }
        manifest["seal"] = key.seal(canonical(manifest))
        write_atomic(temp / MANIFEST, canonical(manifest) + b"\n")
        temp.rename(target)
        fsync_folder(store.paths.backups)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        raise StoreError(f"cannot write the backup {name}: {exc}") from None
    except StoreError:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return BackupInfo(name, target, now, len(summary), key.generation)


def list_backups(store: LocalStore) -> list[BackupInfo]:
    """Every backup of the org, oldest first (unreadable ones last, with their problem)."""
    found = []
    try:
        folders = sorted(p for p in store.paths.backups.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
    for folder in folders:
        if is_temporary(folder):
            continue
        try:
            manifest = read_manifest(folder)
            found.append(
                BackupInfo(
                    folder.name,
                    folder,
                    parse_timestamp(manifest["created"]),
                    len(manifest["secrets"]),
                    int(manifest["generation"]),
                )
            )
        except (StoreDamagedError, KeyError, TypeError, ValueError) as exc:
            found.append(BackupInfo(folder.name, folder, None, 0, 0, problem=str(exc)))
    return sorted(found, key=lambda b: (b.created is None, b.created or now_utc(), b.name))


def prune(store: LocalStore, older_than: timedelta, now: datetime | None = None) -> list[str]:
    """Delete backups taken more than `older_than` ago, each recorded; the newest backup is
    always kept, so pruning never leaves an org without one. Unreadable ones are left alone."""
    now = now or now_utc()
    readable = [b for b in list_backups(store) if b.created is not None]
    deleted = []
    with store.session(exclusive=True):
        for backup in readable[:-1]:
            assert backup.created is not None
            if now - backup.created <= older_than:
                continue
            try:
                shutil.rmtree(backup.path)
            except OSError as exc:
                raise StoreError(f"cannot delete the backup {backup.name}: {exc}") from None
            store.record(
                Action.BACKUP_DELETED,
                "",
                {"backup": backup.name, "created": utc_timestamp(backup.created)},
            )
            deleted.append(backup.name)
    return deleted


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest's fields (its seal and checksums not checked here)."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise StoreDamagedError(f"{folder} has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise StoreDamagedError(f"{path} cannot be read ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreDamagedError(f"{path} is not a backup manifest this leakstop reads")
    return manifest


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _copy(path: Path, raw: bytes) -> str:
    write_new(path, raw)
    return hashlib.sha256(raw).hexdigest()


def _free_name(store: LocalStore, now: datetime) -> str:
    stem = now.strftime("%Y%m%dT%H%M%SZ")
    name, count = stem, 1
    while (store.paths.backups / name).exists():
        count += 1
        name = f"{stem}-{count}"
    return name
