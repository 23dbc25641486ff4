"""Master-key rotation: everything re-encrypted, the old key retired, readable throughout, and
an interrupted rotation finished by the next run with either key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakstop.audit.log import AuditLog
from leakstop.errors import StoreAccessError, StoreDamagedError, StoreError
from leakstop.store import LocalStore, rotation
from leakstop.store.keys import DEFAULT_ITERATIONS
from leakstop.store.lock import locked
from tests.store.conftest import FAST, MASTER, everything_under, open_store, records

NEW = b"a new master key, never on argv"
VALUES = {f"app/secret-{i}": f"value-{i}-e81f4c".encode() for i in range(6)}


def _fill(store: LocalStore) -> None:
    for name, value in VALUES.items():
        store.write(name, b"old " + value, None)
        store.write(name, value, 1)


def _generations(store: LocalStore) -> set[int]:
    return {json.loads(p.read_bytes())["generation"] for _n, p in store.paths.secret_files()}


def _org(store: LocalStore) -> dict[str, object]:
    data: dict[str, object] = json.loads(store.paths.org_file.read_bytes())
    return data


def test_rotation_re_encrypts_every_version_and_retires_the_old_key(
    store: LocalStore, private_home: Path, audit_log: AuditLog
) -> None:
    _fill(store)
    before = {p.name: p.read_bytes() for _n, p in store.paths.secret_files()}
    result = store.rotate_master_key(NEW, iterations=FAST)
    assert (result.generation, result.secrets, result.resumed) == (2, len(VALUES), False)
    assert _generations(store) == {2}
    after = {p.name: p.read_bytes() for _n, p in store.paths.secret_files()}
    assert all(before[name] != after[name] for name in before)
    with pytest.raises(StoreAccessError):
        open_store(private_home, audit_log, key=MASTER)
    fresh = open_store(private_home, audit_log, key=NEW)
    for name, value in VALUES.items():
        assert fresh.read(name) == value
        assert fresh.read(name, version=1) == b"old " + value
    stages = [r["stage"] for r in records(audit_log) if r["action"] == "master_key_rotated"]
    assert stages == ["started", "completed"]
    assert _org(fresh)["rotation"] is None


def test_rotation_raises_the_iteration_count_to_the_default(store: LocalStore) -> None:
    store.write("db", b"v", None)
    result = store.rotate_master_key(NEW)  # a real 600,000-iteration derivation
    assert result.iterations == DEFAULT_ITERATIONS
    assert _org(store)["key"]["iterations"] == DEFAULT_ITERATIONS  # type: ignore[index]
    assert store.read("db") == b"v"  # this process keeps the key it unwrapped


def _interrupted(store: LocalStore, moved: int) -> None:
    """What a crash leaves: the rotation started, `moved` files re-encrypted, the rest not."""
    _generation, _resumed = rotation._start(store, NEW, FAST)
    with store.session() as session:
        for name, _path in list(store.paths.secret_files())[:moved]:
            with locked(store.paths.secret_lock(name)):
                rotation._move(store, session, name, sync=True)


@pytest.mark.parametrize("key", [MASTER, NEW], ids=["old-key", "new-key"])
def test_an_interrupted_rotation_reads_with_either_key_and_finishes_with_either(
    store: LocalStore, private_home: Path, audit_log: AuditLog, key: bytes
) -> None:
    _fill(store)
    _interrupted(store, moved=3)
    assert _generations(store) == {1, 2}
    reader = open_store(private_home, audit_log, key=key)
    for name, value in VALUES.items():
        assert reader.read(name) == value
    reader.write("app/secret-0", b"written mid-rotation", 2)
    assert reader.check({}).problems[0].startswith("a master-key rotation started at")
    result = reader.rotate_master_key(None)  # no new key: finish the one in flight
    assert (result.resumed, result.generation, result.secrets) == (True, 2, 3)
    assert _generations(store) == {2}
    done = open_store(private_home, audit_log, key=NEW)
    assert done.read("app/secret-0") == b"written mid-rotation"
    assert all(done.read(name) == value for name, value in list(VALUES.items())[1:])
    with pytest.raises(StoreAccessError):
        open_store(private_home, audit_log, key=MASTER)


def test_a_rotation_to_a_third_key_waits_for_the_unfinished_one(store: LocalStore) -> None:
    _fill(store)
    _interrupted(store, moved=1)
    with pytest.raises(StoreError, match="a rotation to another master key is unfinished"):
        store.rotate_master_key(b"a third key", iterations=FAST)
    assert store.rotate_master_key(NEW, iterations=FAST).resumed


def test_without_a_new_key_there_is_nothing_to_rotate(store: LocalStore) -> None:
    with pytest.raises(StoreError, match="set LEAKSTOP_NEW_MASTER_KEY"):
        store.rotate_master_key(None)


def test_a_damaged_file_stops_the_rotation_untouched_until_it_is_restored(
    store: LocalStore, private_home: Path, audit_log: AuditLog
) -> None:
    _fill(store)
    victim = store.paths.secret("app/secret-3")
    good = victim.read_bytes()
    victim.write_bytes(good[:-30])
    with pytest.raises(StoreDamagedError, match="secret-3"):
        store.rotate_master_key(NEW, iterations=FAST)
    assert victim.read_bytes() == good[:-30]
    assert _org(store)["rotation"] is not None
    failed = [r for r in records(audit_log) if r["action"] == "master_key_rotated"][-1]
    assert (failed["stage"], failed["success"]) == ("failed", False)
    victim.write_bytes(good)  # restored (from a backup)
    assert store.rotate_master_key(None).resumed
    assert (
        open_store(private_home, audit_log, key=NEW).read("app/secret-3") == VALUES["app/secret-3"]
    )


def test_no_key_material_or_value_in_clear_after_rotation(store: LocalStore) -> None:
    _fill(store)
    store.rotate_master_key(NEW, iterations=FAST)
    on_disk = everything_under(store.paths.root)
    assert NEW not in on_disk
    assert MASTER not in on_disk
    assert not any(value in on_disk for value in VALUES.values())
