"""The store's Python API: versions, labels, check-and-set, deletes and rollbacks; every call an
audit record with names and versions, never values; damage and wrong keys refused, untouched."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from leakstop.audit.log import AuditLog
from leakstop.errors import StoreAccessError, StoreConflictError, StoreDamagedError, StoreError
from leakstop.store import LocalStore
from tests.store.conftest import (
    ALICE,
    FAST,
    MASTER,
    edit_json,
    everything_under,
    open_store,
    records,
)

VALUE_1 = b"pw-one-7f3a9c1e5b"
VALUE_2 = b"pw-two-0d6e2b8a4c"


def test_a_write_is_version_1_and_reads_back(store: LocalStore) -> None:
    info = store.write("billing/api-key", VALUE_1, expected_version=None)
    assert (info.number, info.labels, info.kind, info.created_by) == (
        1,
        ("current",),
        "bytes",
        "alice",
    )
    assert store.read("billing/api-key") == VALUE_1


def test_versions_and_labels_move_like_secrets_manager_stages(store: LocalStore) -> None:
    store.write("db", VALUE_1, None)
    store.write("db", VALUE_2, 1)
    assert store.read("db") == VALUE_2
    assert store.read("db", label="previous") == VALUE_1
    assert store.read("db", version=1) == VALUE_1
    pending = store.write("db", b"pw-three", 2, label="pending")
    assert pending.labels == ("pending",)
    assert store.read("db") == VALUE_2  # readers still get current
    store.move_label("db", "current", 3, expected_version=2)
    assert store.describe("db").labels == {"current": 3, "previous": 2}
    assert [v.labels for v in store.versions("db")] == [(), ("previous",), ("current",)]


def test_check_and_set_refuses_a_stale_version(store: LocalStore) -> None:
    store.write("db", VALUE_1, None)
    store.write("db", VALUE_2, 1)
    with pytest.raises(StoreConflictError, match="latest version is 2, not 1"):
        store.write("db", b"lost?", 1)
    with pytest.raises(StoreConflictError, match="latest version is 2, not none"):
        store.write("db", b"lost?", None)
    with pytest.raises(StoreConflictError, match="current is version 2, not 1"):
        store.move_label("db", "current", 1, expected_version=1)
    assert store.read("db") == VALUE_2
    assert store.describe("db").latest == 2


def test_discarding_a_pending_version_erases_it(store: LocalStore) -> None:
    store.write("db", VALUE_1, None)
    store.write("db", VALUE_2, 1, label="pending")
    with pytest.raises(StoreConflictError, match="not the pending one"):
        store.discard("db", 1)
    store.discard("db", 2)
    versions = store.versions("db")
    assert [(v.number, v.state, v.labels) for v in versions] == [
        (1, "active", ("current",)),
        (2, "discarded", ()),
    ]
    with pytest.raises(StoreError, match="version 2 was discarded"):
        store.read("db", version=2)
    assert store.write("db", b"next", 2).number == 3  # numbers are never reused
    assert store.paths.secret("db").read_text().count("gAAAA") == 2  # versions 1 and 3


def test_revoking_a_version_erases_it_and_drops_its_labels(store: LocalStore) -> None:
    store.write("db", VALUE_1, None)
    store.write("db", VALUE_2, 1)
    store.revoke_version("db", 2)
    store.revoke_version("db", 2)  # repeating it changes nothing
    versions = store.versions("db")
    assert [(v.number, v.state, v.labels) for v in versions] == [
        (1, "active", ("previous",)),
        (2, "revoked", ()),
    ]
    with pytest.raises(StoreError, match="has no current version"):
        store.read("db")
    with pytest.raises(StoreError, match="version 2 was revoked: its value is gone"):
        store.read("db", version=2)
    with pytest.raises(StoreError, match="has no version 7"):
        store.revoke_version("db", 7)
    assert store.paths.secret("db").read_text().count("gAAAA") == 1  # only version 1's
    assert store.write("db", b"replacement", 2).number == 3  # the next write is current
    assert store.read("db") == b"replacement"


def test_delete_is_soft_rollback_revives_purge_erases(store: LocalStore) -> None:
    store.write("db", VALUE_1, None)
    store.write("db", VALUE_2, 1)
    store.delete("db")
    with pytest.raises(StoreError, match="was deleted at"):
        store.read("db")
    assert store.list_secrets() == []
    assert [s.name for s in store.list_secrets(include_deleted=True)] == ["db"]
    store.rollback("db", 1)
    assert store.read("db") == VALUE_1
    assert store.describe("db").labels == {"current": 1, "previous": 2}
    token_count = store.paths.secret("db").read_text().count("gAAAA")
    store.delete("db", purge=True)
    assert token_count == 2
    assert "gAAAA" not in store.paths.secret("db").read_text()
    with pytest.raises(StoreError, match="was purged"):
        store.rollback("db", 1)
    assert store.write("db", b"again", 2).number == 3


def test_structured_values_are_json_objects(store: LocalStore) -> None:
    store.write("db/conn", {"user": "app", "password": "pw-x", "port": 5432}, None)
    assert store.read("db/conn") == {"user": "app", "password": "pw-x", "port": 5432}
    assert store.versions("db/conn")[0].kind == "json"
    with pytest.raises(StoreError, match="JSON object"):
        store.write("db/conn", {"bad": object()}, 1)


def test_values_are_encrypted_and_files_private(store: LocalStore) -> None:
    store.write("billing/api-key", VALUE_1, None)
    store.write("db", {"password": VALUE_2.decode()}, None)
    on_disk = everything_under(store.paths.root)
    assert VALUE_1 not in on_disk
    assert VALUE_2 not in on_disk
    path = store.paths.secret("billing/api-key")
    assert path.name == "billing_2Fapi-key.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.paths.root.stat().st_mode) == 0o700


def test_every_operation_is_recorded_with_names_and_versions_never_values(
    store: LocalStore, audit_log: AuditLog
) -> None:
    store.write("db", VALUE_1, None)
    store.read("db")
    store.write("db", VALUE_2, 1, label="pending")
    store.move_label("db", "current", 2, 1)
    store.rollback("db", 1)
    store.delete("db")
    with pytest.raises(StoreConflictError):
        store.write("db", b"x", 7)
    got = [(r["action"], r["secret"], r["success"]) for r in records(audit_log)]
    assert got == [
        ("store_created", "", True),
        ("secret_created", "db", True),
        ("secret_read", "db", True),
        ("secret_updated", "db", True),
        ("secret_updated", "db", True),
        ("rollback", "db", True),
        ("secret_deleted", "db", True),
        ("secret_updated", "db", False),
    ]
    read = records(audit_log)[2]
    assert (read["version"], read["label"], read["labels"]) == (1, "current", ["current"])
    assert all(r.org == "default" and r.actor == "alice" for r in audit_log.records())
    log_bytes = everything_under(audit_log.folder)
    assert VALUE_1 not in log_bytes
    assert VALUE_2 not in log_bytes
    assert audit_log.verify().ok


def test_two_orgs_never_share_a_key(private_home: Path, audit_log: AuditLog) -> None:
    one = LocalStore.init(private_home, "one", MASTER, audit_log, ALICE, iterations=FAST)
    two = LocalStore.init(private_home, "two", MASTER, audit_log, ALICE, iterations=FAST)
    one.write("db", VALUE_1, None)
    # The same master key, another salt: org two's key cannot open org one's file.
    (two.paths.secrets / "db.json").write_bytes(one.paths.secret("db").read_bytes())
    with pytest.raises(StoreDamagedError, match="seal does not verify"):
        two.read("db")
    salts = {json.loads(s.paths.org_file.read_bytes())["key"]["salt"] for s in (one, two)}
    assert len(salts) == 2


def test_init_refuses_an_existing_org_and_open_a_missing_one(
    store: LocalStore, private_home: Path, audit_log: AuditLog
) -> None:
    with pytest.raises(StoreError, match="already exists"):
        LocalStore.init(private_home, "default", MASTER, audit_log, ALICE, iterations=FAST)
    with pytest.raises(StoreError, match="store init --org other"):
        open_store(private_home, audit_log, org="other")


def test_a_wrong_key_is_refused_up_front_and_recorded(
    store: LocalStore, private_home: Path, audit_log: AuditLog
) -> None:
    store.write("db", VALUE_1, None)
    before = everything_under(store.paths.root)
    with pytest.raises(StoreAccessError, match="does not open org 'default'"):
        open_store(private_home, audit_log, key=b"not the key")
    assert everything_under(store.paths.root) == before
    denied = records(audit_log)[-1]
    assert (denied["action"], denied["success"]) == ("access_denied", False)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:57]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(
            lambda p: p.write_bytes(p.read_bytes().replace(b"gAAAA", b"gAAAB", 1)), id="token"
        ),
        pytest.param(lambda p: edit_json(p, {"labels": {"current": 1}}), id="label-edit"),
        pytest.param(lambda p: edit_json(p, {"revision": 99}), id="revision-edit"),
        pytest.param(lambda p: edit_json(p, {"generation": 7}), id="generation-edit"),
        pytest.param(lambda p: p.write_bytes(b"\xff\xfe garbage"), id="garbage"),
    ],
)
def test_a_damaged_file_is_refused_and_never_written_over(
    store: LocalStore, audit_log: AuditLog, damage: object
) -> None:
    store.write("db", VALUE_1, None)
    store.write("db", VALUE_2, 1)
    path = store.paths.secret("db")
    damage(path)  # type: ignore[operator]
    damaged = path.read_bytes()
    for attempt in (
        lambda: store.read("db"),
        lambda: store.write("db", b"new", 2),
        lambda: store.delete("db", purge=True),
        lambda: store.rollback("db", 1),
        lambda: store.list_secrets(),
    ):
        with pytest.raises(StoreDamagedError, match=r"db\.json"):
            attempt()
    assert path.read_bytes() == damaged
    failed = [r for r in records(audit_log) if not r["success"]]
    assert [r["action"] for r in failed] == [
        "secret_read",
        "secret_updated",
        "secret_deleted",
        "rollback",
    ]


def test_a_file_moved_under_another_name_is_refused(store: LocalStore) -> None:
    store.write("a", VALUE_1, None)
    store.write("b", VALUE_2, None)
    store.paths.secret("b").write_bytes(store.paths.secret("a").read_bytes())
    with pytest.raises(StoreDamagedError, match="holds another secret"):
        store.read("b")


def test_a_truncated_org_file_is_one_clear_error(
    store: LocalStore, private_home: Path, audit_log: AuditLog
) -> None:
    store.paths.org_file.write_bytes(store.paths.org_file.read_bytes()[:40])
    with pytest.raises(StoreDamagedError, match=r"org\.json is damaged"):
        open_store(private_home, audit_log)


def test_reads_and_misses_say_what_is_wrong(store: LocalStore) -> None:
    with pytest.raises(StoreError, match="no secret nope in org 'default'"):
        store.read("nope")
    store.write("db", VALUE_1, None)
    with pytest.raises(StoreError, match="db has no pending version"):
        store.read("db", label="pending")
    with pytest.raises(StoreError, match="db has no version 4"):
        store.read("db", version=4)
    with pytest.raises(StoreError, match="is not a secret name"):
        store.read("../etc/passwd")
    with pytest.raises(StoreError, match="at most 1024 KiB"):
        store.write("db", b"x" * (1024 * 1024 + 1), 1)


def test_no_value_in_reprs(store: LocalStore) -> None:
    store.write("db", VALUE_1, None)
    shown = repr(store) + repr(store.describe("db")) + repr(store.key_cache)
    with store.session() as session:
        shown += repr(session)
    assert "pw-one" not in shown
    assert MASTER.decode() not in shown
