"""The vault provider as a Store, against a real OpenBao dev server (KV v2 at `secret/`).

The property every test keeps an eye on: a consumer reading the plain path (latest version)
only ever gets the current value, never a pending one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leakstop.errors import ProviderConflictError, ProviderError
from leakstop.rotator.providers.base import CURRENT, PENDING, PREVIOUS, disabler
from leakstop.rotator.providers.vault import VaultProvider
from leakstop.rotator.providers.vault_store import (
    CURRENT_KEY,
    PENDING_KEY,
    PREVIOUS_KEY,
    REVOKED_KEY,
)
from tests.rotator.providers.bao import (
    BaoServer,
    closed_port,
    provider_at,
    running_bao,
    where,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    yield from running_bao(tmp_path_factory.mktemp("bao"))


@pytest.fixture
def vault(bao: BaoServer) -> Iterator[VaultProvider]:
    provider = bao.provider()
    yield provider
    provider.close()


def consumer_reads(bao: BaoServer, path: str) -> tuple[int, dict[str, Any]] | None:
    """What a plain reader gets: the latest version of the path, or None."""
    kv = bao.admin.secrets.kv.v2
    metadata = kv.read_secret_metadata(path=path, mount_point="secret")["data"]
    if not metadata["current_version"]:
        return None
    answer = kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    return answer["data"]["metadata"]["version"], answer["data"]["data"]


def seed(bao: BaoServer, path: str, fields: dict[str, Any], cas: int | None = None) -> int:
    """A write by someone other than leakstop (a person, another tool)."""
    answer = bao.admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret=fields, cas=cas, mount_point="secret"
    )
    return int(answer["data"]["version"])


def custom_metadata(bao: BaoServer, path: str) -> dict[str, str]:
    kv = bao.admin.secrets.kv.v2
    return dict(
        kv.read_secret_metadata(path=path, mount_point="secret")["data"]["custom_metadata"] or {}
    )


def has_sibling(bao: BaoServer, path: str) -> bool:
    secrets = bao.admin.secrets.kv.v2.list_secrets(
        path=path.rsplit("/", 1)[0], mount_point="secret"
    )
    return path.rsplit("/", 1)[1] + ".leakstop-pending" in secrets["data"]["keys"]


def test_a_new_secret_is_invisible_to_readers_until_promoted(
    bao: BaoServer, vault: VaultProvider
) -> None:
    place = where("new/db")
    assert vault.current("new/db", place) is None

    pending = vault.put_pending("new/db", place, b"first-value", None)

    assert pending.version == "1"
    assert pending.labels == (PENDING,)
    assert pending.created is not None
    assert vault.pending("new/db", place) == pending
    assert vault.current("new/db", place) is None
    assert consumer_reads(bao, "new/db") is None  # nothing but metadata at the plain path
    assert vault.read("new/db", place, "1") == b"first-value"  # from the journal

    vault.promote("new/db", place, "1", None)

    assert consumer_reads(bao, "new/db") == (1, {"password": "first-value"})
    current = vault.current("new/db", place)
    assert current is not None
    assert (current.version, current.labels) == ("1", (CURRENT,))
    assert vault.pending("new/db", place) is None
    assert not has_sibling(bao, "new/db")
    assert custom_metadata(bao, "new/db")[CURRENT_KEY] == "1"
    assert PENDING_KEY not in custom_metadata(bao, "new/db")


def test_a_rotation_keeps_readers_on_the_current_value_and_other_fields(
    bao: BaoServer, vault: VaultProvider
) -> None:
    seed(bao, "billing/db", {"password": "old", "username": "billing_app"})
    place = where("billing/db")

    pending = vault.put_pending("billing/db", place, b"new", "1")

    assert pending.version == "2"
    assert has_sibling(bao, "billing/db")
    assert consumer_reads(bao, "billing/db") == (1, {"password": "old", "username": "billing_app"})
    assert custom_metadata(bao, "billing/db")[PENDING_KEY] == "2"
    assert vault.read("billing/db", place) == b"old"
    assert vault.read("billing/db", place, "2") == b"new"

    vault.promote("billing/db", place, "2", "1")

    assert consumer_reads(bao, "billing/db") == (2, {"password": "new", "username": "billing_app"})
    assert vault.read("billing/db", place, "1") == b"old"  # kept to revoke after the grace
    labels = {v.version: v.labels for v in vault.versions("billing/db", place)}
    assert labels == {"1": (PREVIOUS,), "2": (CURRENT,)}
    metadata = custom_metadata(bao, "billing/db")
    assert (metadata[CURRENT_KEY], metadata[PREVIOUS_KEY]) == ("2", "1")
    assert PENDING_KEY not in metadata
    assert not has_sibling(bao, "billing/db")


def test_discarding_leaves_the_current_version_alone(bao: BaoServer, vault: VaultProvider) -> None:
    seed(bao, "discard/db", {"password": "keep"})
    place = where("discard/db")
    vault.put_pending("discard/db", place, b"rolled-back", "1")

    vault.discard_pending("discard/db", place, "2")

    assert vault.pending("discard/db", place) is None
    assert not has_sibling(bao, "discard/db")
    assert consumer_reads(bao, "discard/db") == (1, {"password": "keep"})
    assert PENDING_KEY not in custom_metadata(bao, "discard/db")
    with pytest.raises(ProviderError, match="version 2 does not exist"):
        vault.read("discard/db", place, "2")
    vault.discard_pending("discard/db", place, "2")  # a repeated discard does nothing
    # The next rotation starts from the same current version.
    assert vault.put_pending("discard/db", place, b"again", "1").version == "2"


def test_a_writer_in_between_makes_put_pending_fail_without_writing(
    bao: BaoServer, vault: VaultProvider
) -> None:
    seed(bao, "race/put", {"password": "v1"})
    place = where("race/put")
    current = vault.current("race/put", place)
    assert current is not None
    seed(bao, "race/put", {"password": "someone-else"}, cas=1)

    with pytest.raises(ProviderConflictError, match="changed by another writer"):
        vault.put_pending("race/put", place, b"leakstop", current.version)

    assert consumer_reads(bao, "race/put") == (2, {"password": "someone-else"})
    assert vault.pending("race/put", place) is None
    assert not has_sibling(bao, "race/put")


def test_a_writer_in_between_makes_promote_fail_without_overwriting(
    bao: BaoServer, vault: VaultProvider
) -> None:
    seed(bao, "race/promote", {"password": "v1"})
    place = where("race/promote")
    vault.put_pending("race/promote", place, b"leakstop", "1")
    seed(bao, "race/promote", {"password": "someone-else"}, cas=1)

    pending = vault.pending("race/promote", place)
    assert pending is not None
    assert pending.labels == (PENDING,)  # version 2 is someone else's
    # The pending version reads from the journal: a rollback revokes what leakstop minted.
    assert vault.read("race/promote", place, "2") == b"leakstop"
    assert [(v.version, v.labels) for v in vault.versions("race/promote", place)] == [
        ("1", ()),
        ("2", (CURRENT,)),
        ("2", (PENDING,)),
    ]
    with pytest.raises(ProviderConflictError) as raised:
        vault.promote("race/promote", place, "2", "1")

    assert "\n" not in str(raised.value)
    assert consumer_reads(bao, "race/promote") == (2, {"password": "someone-else"})
    # The journal still says what was in flight, so the run can be rolled back.
    pending = vault.pending("race/promote", place)
    assert pending is not None
    assert pending.version == "2"
    vault.discard_pending("race/promote", place, "2")
    assert consumer_reads(bao, "race/promote") == (2, {"password": "someone-else"})


def test_only_one_rotation_can_be_in_flight(bao: BaoServer, vault: VaultProvider) -> None:
    seed(bao, "race/two", {"password": "v1"})
    place = where("race/two")
    vault.put_pending("race/two", place, b"first-run", "1")

    with pytest.raises(ProviderConflictError, match=r"already in flight \(pending version 2\)"):
        bao.provider().put_pending("race/two", place, b"second-run", "1")

    assert vault.read("race/two", place, "2") == b"first-run"


def test_the_sibling_journal_is_written_with_check_and_set(
    bao: BaoServer, vault: VaultProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(bao, "race/journal", {"password": "v1"})
    place = where("race/journal")
    kv = vault._store._kv
    real_metadata = kv.metadata

    def another_run_writes_first(mount: str, path: str) -> Any:
        found = real_metadata(mount, path)
        if path.endswith(".leakstop-pending"):
            # Another run writes its journal record right after this one looked.
            seed(bao, path, {"leakstop": "pending-v1", "version": 2, "base": 1, "fields": {}})
        return found

    monkeypatch.setattr(kv, "metadata", another_run_writes_first)
    with pytest.raises(ProviderConflictError, match="check-and-set"):
        vault.put_pending("race/journal", place, b"mine", "1")


def test_a_version_written_after_the_look_withdraws_the_pending_copy(
    bao: BaoServer, vault: VaultProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(bao, "race/after", {"password": "v1"})
    place = where("race/after")
    kv = vault._store._kv
    real_metadata = kv.metadata

    def someone_writes_after_the_look(mount: str, path: str) -> Any:
        if path.endswith(".leakstop-pending"):
            # After this run read version 1 and before it wrote its record (as another run
            # does when it finishes a whole rotation, its own record gone again).
            seed(bao, "race/after", {"password": "someone-else"}, cas=1)
        return real_metadata(mount, path)

    monkeypatch.setattr(kv, "metadata", someone_writes_after_the_look)
    with pytest.raises(ProviderConflictError, match="race/after was rotated or written") as raised:
        vault.put_pending("race/after", place, b"mine-never-applied", "1")

    assert "mine-never-applied" not in str(raised.value)
    monkeypatch.undo()
    assert not has_sibling(bao, "race/after")
    assert vault.pending("race/after", place) is None
    assert PENDING_KEY not in custom_metadata(bao, "race/after")
    assert consumer_reads(bao, "race/after") == (2, {"password": "someone-else"})


def test_promote_finishes_a_promotion_that_stopped_half_way(
    bao: BaoServer, vault: VaultProvider
) -> None:
    seed(bao, "resume/db", {"password": "v1"})
    place = where("resume/db")
    vault.put_pending("resume/db", place, b"v2", "1")
    # A run wrote the new version and was killed before it cleared the journal.
    seed(bao, "resume/db", {"password": "v2"}, cas=1)
    pending = vault.pending("resume/db", place)
    assert pending is not None
    assert pending.labels == (PENDING, CURRENT)
    with pytest.raises(ProviderConflictError, match="already current"):
        vault.discard_pending("resume/db", place, "2")

    vault.promote("resume/db", place, "2", "1")

    assert consumer_reads(bao, "resume/db") == (2, {"password": "v2"})  # not written twice
    assert vault.pending("resume/db", place) is None
    assert custom_metadata(bao, "resume/db")[CURRENT_KEY] == "2"
    vault.promote("resume/db", place, "2", "1")  # and a repeat is harmless
    assert consumer_reads(bao, "resume/db") == (2, {"password": "v2"})
    with pytest.raises(ProviderError, match="no pending version 3"):
        vault.promote("resume/db", place, "3", "2")


def test_disabling_a_revoked_version_hides_it_from_readers(
    bao: BaoServer, vault: VaultProvider
) -> None:
    seed(bao, "revoke/db", {"password": "leaked", "username": "app"})
    seed(bao, "revoke/db", {"password": "also-leaked", "username": "app"}, cas=1)
    place = where("revoke/db")
    assert disabler(vault) is vault

    vault.disable("revoke/db", place, "2")
    vault.disable("revoke/db", place, "2")  # repeating it changes nothing

    kv = bao.admin.secrets.kv.v2
    metadata = kv.read_secret_metadata(path="revoke/db", mount_point="secret")["data"]
    assert metadata["versions"]["2"]["deletion_time"]  # soft-deleted: KV keeps its history
    assert not metadata["versions"]["1"]["deletion_time"]
    assert custom_metadata(bao, "revoke/db")[REVOKED_KEY] == "2"
    # A plain reader of the path gets no value at all, not the revoked one.
    answer = kv.read_secret_version(
        path="revoke/db", mount_point="secret", raise_on_deleted_version=False
    )
    assert answer["data"]["data"] is None
    assert answer["data"]["metadata"]["version"] == 2
    with pytest.raises(
        ProviderError, match="its latest version does not exist or was deleted"
    ) as raised:
        vault.read("revoke/db", place)
    assert "also-leaked" not in str(raised.value)
    assert vault.read("revoke/db", place, "1") == b"leaked"  # other versions are untouched

    # Nothing is current now; the next rotation writes a new current version over it.
    assert vault.current("revoke/db", place) is None
    assert vault.put_pending("revoke/db", place, b"replacement", None).version == "3"
    with pytest.raises(ProviderConflictError, match="changed by another writer"):
        vault.promote("revoke/db", place, "3", "2")
    vault.promote("revoke/db", place, "3", None)
    assert consumer_reads(bao, "revoke/db") == (3, {"password": "replacement", "username": "app"})
    labels = {v.version: v.labels for v in vault.versions("revoke/db", place)}
    assert labels == {"1": (), "2": (), "3": (CURRENT,)}  # a revoked version is no previous

    vault.disable("revoke/db", place, "1")
    assert PREVIOUS_KEY not in custom_metadata(bao, "revoke/db")
    with pytest.raises(ProviderError, match="there is no version 9"):
        vault.disable("revoke/db", place, "9")
    with pytest.raises(ProviderError, match="there is no version 1"):
        vault.disable("revoke/missing", where("revoke/missing"), "1")


def test_rollback_writes_an_earlier_version_as_the_new_current(
    bao: BaoServer, vault: VaultProvider
) -> None:
    for value in ("one", "two", "three"):
        seed(bao, "rollback/db", {"password": value, "host": "db1"})
    place = where("rollback/db")

    with pytest.raises(ProviderConflictError):
        vault.rollback("rollback/db", place, "1", "2")
    new = vault.rollback("rollback/db", place, "1", "3")

    assert (new.version, new.labels) == ("4", (CURRENT,))
    assert consumer_reads(bao, "rollback/db") == (4, {"password": "one", "host": "db1"})
    metadata = custom_metadata(bao, "rollback/db")
    assert (metadata[CURRENT_KEY], metadata[PREVIOUS_KEY]) == ("4", "3")
    with pytest.raises(ProviderError, match="not earlier"):
        vault.rollback("rollback/db", place, "4", "4")
    vault.put_pending("rollback/db", place, b"five", "4")
    with pytest.raises(ProviderConflictError, match="in flight"):
        vault.rollback("rollback/db", place, "2", "4")


def test_metadata_and_settings_of_others_survive_rotations(
    bao: BaoServer, vault: VaultProvider
) -> None:
    kv = bao.admin.secrets.kv.v2
    seed(bao, "meta/db", {"password": "v1"})
    bao.admin.adapter.post(
        "/v1/secret/metadata/meta/db",
        json={
            "custom_metadata": {"owner": "team-billing"},
            "max_versions": 7,
            "delete_version_after": "720h",
        },
    )
    place = where("meta/db")

    vault.put_pending("meta/db", place, b"v2", "1")
    vault.promote("meta/db", place, "2", "1")

    metadata = kv.read_secret_metadata(path="meta/db", mount_point="secret")["data"]
    assert metadata["custom_metadata"]["owner"] == "team-billing"
    assert metadata["custom_metadata"]["leakstop-secret"] == "meta/db"
    assert metadata["max_versions"] == 7
    assert metadata["delete_version_after"] == "720h0m0s"


def test_structured_values_and_whole_secrets(bao: BaoServer, vault: VaultProvider) -> None:
    seed(bao, "struct/app", {"user": "app", "password": "old", "port": 5432})
    with_key, whole = where("struct/app"), where("struct/app", key=None)

    vault.put_pending("struct/app", with_key, {"password": "new", "user": "app2"}, "1")
    vault.promote("struct/app", with_key, "2", "1")

    assert vault.read("struct/app", whole) == {"user": "app2", "password": "new", "port": 5432}
    assert vault.read("struct/app", with_key) == b"new"
    assert vault.read("struct/app", where("struct/app", key="port")) == b"5432"
    with pytest.raises(ProviderError, match=r"needs store\.key"):
        vault.put_pending("struct/app", whole, b"single", "2")
    with pytest.raises(ProviderError, match="not UTF-8"):
        vault.put_pending("struct/app", with_key, b"\xff\xfe", "2")
    with pytest.raises(ProviderError, match="no field 'missing'"):
        vault.read("struct/app", where("struct/app", key="missing"))
    assert vault.pending("struct/app", with_key) is None


def test_namespaces(bao: BaoServer) -> None:
    # OpenBao's dev server has namespaces (like Vault Enterprise); each has its own mounts.
    bao.admin.adapter.post("/v1/sys/namespaces/team-a")
    in_team = bao.client(bao.root_token, namespace="team-a")
    in_team.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    vault = bao.provider({"namespace": "team-a"})
    place = where("ns/db")

    vault.put_pending("ns/db", place, b"in-namespace", None)
    vault.promote("ns/db", place, "1", None)

    answer = in_team.secrets.kv.v2.read_secret_version(
        path="ns/db", mount_point="secret", raise_on_deleted_version=True
    )
    assert answer["data"]["data"] == {"password": "in-namespace"}
    assert bao.provider().current("ns/db", place) is None  # not in the root namespace
    vault.close()


def test_errors_are_one_line_without_the_token(bao: BaoServer) -> None:
    narrow = bao.token_with_policy(
        "read-only",
        'path "secret/data/ro/*" { capabilities = ["read"] }\n'
        'path "secret/metadata/ro/*" { capabilities = ["read"] }',
    )
    seed(bao, "ro/db", {"password": "v1"})
    read_only = bao.provider(environ={"VAULT_TOKEN": narrow})
    assert read_only.read("ro/db", where("ro/db")) == b"v1"  # the policy does allow reading
    bad_token = bao.provider(environ={"VAULT_TOKEN": "s.not-a-real-token"})
    down = provider_at(f"http://127.0.0.1:{closed_port()}", {"VAULT_TOKEN": narrow})
    cases = [
        (lambda: read_only.put_pending("ro/db", where("ro/db"), b"x", "1"), "permission denied"),
        (
            lambda: bao.provider().current("x/db", where("x/db", mount="nosuch")),
            "no handler for route",
        ),
        (lambda: bad_token.current("ro/db", where("ro/db")), "permission denied"),
        (lambda: down.current("a/db", where("a/db")), "cannot connect (connection refused)"),
    ]
    for action, expected in cases:
        with pytest.raises(ProviderError) as raised:
            action()
        message = str(raised.value)
        assert expected in message
        assert message.startswith("vault 'vault': ")
        assert "\n" not in message
        assert narrow not in message
        assert bao.root_token not in message
        assert "not-a-real-token" not in message
    assert consumer_reads(bao, "ro/db") == (1, {"password": "v1"})


def test_versions_must_be_numbers(vault: VaultProvider) -> None:
    with pytest.raises(ProviderError, match="not a Vault KV version number"):
        vault.read("any", where("any"), "latest")


def test_a_foreign_secret_at_the_sibling_path_is_not_taken_for_a_journal(
    bao: BaoServer, vault: VaultProvider
) -> None:
    seed(bao, "odd/db", {"password": "v1"})
    seed(bao, "odd/db.leakstop-pending", {"something": "else"})

    with pytest.raises(ProviderError, match="not a leakstop journal record"):
        vault.pending("odd/db", where("odd/db"))


def test_provider_reprs_hold_no_token(bao: BaoServer, vault: VaultProvider) -> None:
    vault.current("repr/db", where("repr/db"))  # logged in
    assert bao.root_token not in repr(vault)
    assert bao.root_token not in repr(vault._session)
