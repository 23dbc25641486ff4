"""Backups: point-in-time and still encrypted; a restore shows exactly what changes, verifies
every checksum and seal first, refuses a tampered backup, and keeps what it replaces."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from leakstop.audit.log import AuditLog
from leakstop.errors import StoreDamagedError, StoreError
from leakstop.store import LocalStore
from tests.store.conftest import FAST, everything_under, open_store, records


@pytest.fixture
def backed_up(store: LocalStore) -> str:
    """kept (2 versions), changed (1 version, then more after the backup), gone (deleted
    after the backup); after the backup, added appears."""
    store.write("kept", b"kept-1", None)
    store.write("kept", b"kept-2", 1)
    store.write("changed", b"changed-1", None)
    store.write("gone", b"gone-1", None)
    name = store.backup("b1").name
    store.write("changed", b"changed-2", 1)
    store.write("added", b"added-1", None)
    store.delete("gone", purge=True)
    return name


def test_a_backup_is_encrypted_with_a_sha256_manifest(store: LocalStore, backed_up: str) -> None:
    folder = store.paths.backups / backed_up
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert sorted(manifest["files"]) == [
        "org.json",
        "secrets/changed.json",
        "secrets/gone.json",
        "secrets/kept.json",
    ]
    for relative, digest in manifest["files"].items():
        assert hashlib.sha256((folder / relative).read_bytes()).hexdigest() == digest
    assert manifest["seal"].startswith("hmac-sha256:")
    assert b"kept-2" not in everything_under(folder)
    assert [(b.name, b.secrets) for b in store.backups()] == [("b1", 3)]


def test_a_dry_run_shows_what_would_change_and_changes_nothing(
    store: LocalStore, backed_up: str
) -> None:
    before = everything_under(store.paths.secrets)
    plan = store.restore(backed_up, dry_run=True)
    assert [(d.name, d.change) for d in plan.diffs] == [
        ("added", "removed"),
        ("changed", "changed"),
        ("gone", "added"),
    ]
    assert plan.unchanged == 1
    changed = plan.diffs[1]
    assert changed.before is not None
    assert changed.after is not None
    assert (changed.before.versions, changed.after.versions) == ((1, 2), (1,))
    assert everything_under(store.paths.secrets) == before


def test_a_restore_brings_the_backup_back_and_keeps_what_it_replaced(
    store: LocalStore, audit_log: AuditLog, backed_up: str
) -> None:
    revision = store.describe("changed").revision
    plan = store.restore(backed_up)
    assert plan.pre_restore is not None
    assert plan.pre_restore.startswith("pre-restore-")
    assert store.read("changed") == b"changed-1"
    assert store.read("gone") == b"gone-1"
    assert store.read("kept") == b"kept-2"
    with pytest.raises(StoreError, match="was deleted"):
        store.read("added")
    assert store.describe("changed").revision > revision  # revisions only go up
    assert store.write("changed", b"changed-3", 1).number == 3  # version 2 is never reused
    # What the restore replaced is in the pre-restore backup.
    undo = store.restore(plan.pre_restore, dry_run=True)
    assert {d.name for d in undo.diffs} >= {"added", "gone"}
    actions = [(r["action"], r["secret"]) for r in records(audit_log)[-6:]]
    assert ("backup_restored", "") in actions
    assert audit_log.verify().ok


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda f: (f / "secrets/kept.json").write_bytes(
                (f / "secrets/kept.json").read_bytes().replace(b'"current":2', b'"current":1')
            ),
            id="edited-secret",
        ),
        pytest.param(lambda f: (f / "secrets/kept.json").unlink(), id="removed-secret"),
        pytest.param(
            lambda f: (f / "secrets/extra.json").write_bytes(
                (f / "secrets/kept.json").read_bytes()
            ),
            id="added-secret",
        ),
        pytest.param(lambda f: (f / "org.json").write_bytes(b"{}"), id="edited-org"),
        pytest.param(lambda f: (f / "manifest.json").write_bytes(b"{"), id="cut-manifest"),
        pytest.param(lambda f: _rehash(f), id="edited-with-new-checksums"),
        pytest.param(lambda f: (f / "notes.txt").write_text("hi"), id="added-file"),
    ],
)
def test_a_tampered_backup_is_refused_and_nothing_changes(
    store: LocalStore, backed_up: str, tamper: object
) -> None:
    tamper(store.paths.backups / backed_up)  # type: ignore[operator]
    before = everything_under(store.paths.secrets)
    with pytest.raises(StoreDamagedError, match="b1"):
        store.restore(backed_up, dry_run=True)
    with pytest.raises(StoreDamagedError, match="b1"):
        store.restore(backed_up)
    assert everything_under(store.paths.secrets) == before
    assert [b.name for b in store.backups()] == ["b1"]  # no pre-restore backup either


def _rehash(folder: Path) -> None:
    """An edit whose checksums are recomputed: only the manifest's seal can tell."""
    path = folder / "secrets/kept.json"
    data = json.loads(path.read_bytes())
    data["labels"] = {"current": 1}
    path.write_text(json.dumps(data))
    manifest = json.loads((folder / "manifest.json").read_bytes())
    for relative in manifest["files"]:
        manifest["files"][relative] = hashlib.sha256((folder / relative).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_backup_from_before_a_rotation_restores_with_the_new_key(
    store: LocalStore, private_home: Path, audit_log: AuditLog, backed_up: str
) -> None:
    store.rotate_master_key(b"the next key", iterations=FAST)
    rotated = open_store(private_home, audit_log, key=b"the next key")
    rotated.restore(backed_up)
    assert rotated.read("changed") == b"changed-1"
    assert {json.loads(p.read_bytes())["generation"] for _n, p in rotated.paths.secret_files()} == {
        2
    }


def test_backups_refuse_names_taken_and_a_damaged_store(store: LocalStore, backed_up: str) -> None:
    with pytest.raises(StoreError, match="exists already"):
        store.backup(backed_up)
    store.paths.secret("kept").write_bytes(b"{")
    with pytest.raises(StoreDamagedError, match=r"kept\.json"):
        store.backup("b2")
    assert [b.name for b in store.backups()] == ["b1"]
    assert not any(p.name.startswith(".tmp-") for p in store.paths.backups.iterdir())


def test_pruning_deletes_old_backups_but_keeps_the_newest(
    store: LocalStore, audit_log: AuditLog
) -> None:
    store.write("db", b"v", None)
    for name in ("old-1", "old-2", "new"):
        store.backup(name)
        time.sleep(0.01)
    month_ago = time.time() - 40 * 86400
    for name in ("old-1", "old-2"):
        manifest = store.paths.backups / name / "manifest.json"
        data = json.loads(manifest.read_bytes())
        data["created"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(month_ago))
        manifest.write_text(json.dumps(data))
    assert store.prune_backups(timedelta(days=30)) == ["old-1", "old-2"]
    assert [b.name for b in store.backups()] == ["new"]
    assert store.prune_backups(timedelta(0)) == []  # the newest is kept
    pruned = [r["backup"] for r in records(audit_log) if r["action"] == "backup_deleted"]
    assert pruned == ["old-1", "old-2"]
    assert os.listdir(store.paths.backups) == ["new"]
