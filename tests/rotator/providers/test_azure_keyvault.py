"""The azure-keyvault Store through the real azure-keyvault-secrets SDK, against a local
HTTPS Key Vault (tests/rotator/providers/fake_keyvault.py) that keeps versions, tags and
enabled flags and challenges every client for a bearer token first."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import ManagedSecret, StoreRef
from leakstop.errors import ConfigError, ProviderConflictError, ProviderError
from leakstop.rotator.machine import Machine, Outcome, Step
from leakstop.rotator.providers.azure_keyvault import (
    LABEL_TAG,
    KeyVaultStore,
    StaticToken,
    parse_name,
    parse_settings,
)
from leakstop.rotator.providers.base import CURRENT, PENDING, PREVIOUS
from tests.rotator.providers.fake_keyvault import FakeKeyVault

pytestmark = pytest.mark.slow

NAME = "billing-db-password"
WHERE: Options = FrozenMap({"name": NAME})
FIRST = "Kq3vRt8ZmW2pLx6N"


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[FakeKeyVault]:
    fake = FakeKeyVault(tmp_path)
    yield fake
    fake.stop()


def _store(vault: FakeKeyVault, token: str | None = None) -> KeyVaultStore:
    options = FrozenMap(
        {"vault_url": vault.url, "tls": FrozenMap({"ca_file": vault.ca_file}), "timeout": 5}
    )
    settings = parse_settings("kv", options, Origin())
    return KeyVaultStore("kv", settings, {}, credential=StaticToken(token or vault.token))


@pytest.fixture
def store(vault: FakeKeyVault) -> KeyVaultStore:
    return _store(vault)


def _label(vault: FakeKeyVault, version: str) -> str | None:
    return vault.version(NAME, version).tags.get(LABEL_TAG)


def test_a_secret_written_elsewhere_has_its_latest_version_current(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    vault.put(NAME, "an-older-value-1")
    latest = vault.put(NAME, FIRST)
    current = store.current("billing/db", WHERE)
    assert current is not None
    assert (current.version, current.labels) == (latest, (CURRENT,))
    assert store.read("billing/db", WHERE) == FIRST.encode()
    assert store.pending("billing/db", WHERE) is None


def test_a_missing_secret_has_no_current_version(store: KeyVaultStore) -> None:
    assert store.current("billing/db", WHERE) is None
    with pytest.raises(ProviderError, match="has no current version"):
        store.read("billing/db", WHERE)


def test_pending_is_a_new_version_that_is_not_current(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    first = vault.put(NAME, FIRST)
    pending = store.put_pending("billing/db", WHERE, b"second-value-77", first)
    assert pending.labels == (PENDING,)
    assert pending.version != first
    assert _label(vault, pending.version) == PENDING
    assert vault.version(NAME, pending.version).value == "second-value-77"
    current = store.current("billing/db", WHERE)
    assert current is not None
    assert current.version == first
    assert store.read("billing/db", WHERE) == FIRST.encode()
    assert store.read("billing/db", WHERE, pending.version) == b"second-value-77"
    found = store.pending("billing/db", WHERE)
    assert found is not None
    assert found.version == pending.version


def test_a_stale_expected_current_writes_nothing(vault: FakeKeyVault, store: KeyVaultStore) -> None:
    first = vault.put(NAME, FIRST)
    vault.put(NAME, "someone-else-wrote-this")
    with pytest.raises(ProviderConflictError, match="changed by another writer"):
        store.put_pending("billing/db", WHERE, b"second-value-77", first)
    assert len(vault.secrets[NAME]) == 2
    with pytest.raises(ProviderConflictError):
        store.put_pending("billing/db", WHERE, b"second-value-77", None)


def test_a_second_rotation_waits_for_the_one_in_flight(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    first = vault.put(NAME, FIRST)
    pending = store.put_pending("billing/db", WHERE, b"second-value-77", first)
    with pytest.raises(ProviderConflictError, match=f"pending version {pending.version}"):
        store.put_pending("billing/db", WHERE, b"third-value-888", first)
    assert len(vault.secrets[NAME]) == 2


def test_promote_moves_the_labels_and_disables_what_is_two_rotations_old(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    first = vault.put(NAME, FIRST)
    second = store.put_pending("billing/db", WHERE, b"second-value-77", first).version
    with pytest.raises(ProviderConflictError):
        store.promote("billing/db", WHERE, second, "0" * 32)
    store.promote("billing/db", WHERE, second, first)
    store.promote("billing/db", WHERE, second, first)  # repeating a finished promote is a no-op
    assert (_label(vault, second), _label(vault, first)) == (CURRENT, PREVIOUS)
    assert store.read("billing/db", WHERE) == b"second-value-77"
    assert [v.labels for v in store.versions("billing/db", WHERE)] == [(PREVIOUS,), (CURRENT,)]

    third = store.put_pending("billing/db", WHERE, b"third-value-888", second).version
    store.promote("billing/db", WHERE, third, second)
    assert (_label(vault, third), _label(vault, second)) == (CURRENT, PREVIOUS)
    assert vault.version(NAME, first).enabled is False
    assert vault.version(NAME, second).enabled is True


def test_a_promotion_that_stopped_half_way_still_has_one_current(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    first = vault.put(NAME, FIRST, tags={LABEL_TAG: CURRENT})
    second = store.put_pending("billing/db", WHERE, b"second-value-77", first).version
    # What promote's first write leaves: both tagged current, the new one naming the old.
    vault.version(NAME, second).tags.update({LABEL_TAG: CURRENT, "leakstop-replaces": first})
    current = store.current("billing/db", WHERE)
    assert current is not None
    assert current.version == second
    assert store.pending("billing/db", WHERE) is None


def test_discard_disables_the_pending_version_and_readers_of_latest_keep_working(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    first = vault.put(NAME, FIRST)
    pending = store.put_pending("billing/db", WHERE, b"second-value-77", first).version
    store.discard_pending("billing/db", WHERE, pending)
    store.discard_pending("billing/db", WHERE, pending)  # safe to repeat
    assert vault.version(NAME, pending).enabled is False
    assert _label(vault, pending) == "discarded"
    assert store.pending("billing/db", WHERE) is None
    # A version-less read (what App Service references do) gets the current value again.
    assert vault.latest(NAME).enabled
    assert vault.latest(NAME).value == FIRST
    assert store.read("billing/db", WHERE) == FIRST.encode()
    current = store.current("billing/db", WHERE)
    assert current is not None
    assert current.version == vault.latest(NAME).id


def test_discarding_the_current_version_is_refused(
    vault: FakeKeyVault, store: KeyVaultStore
) -> None:
    first = vault.put(NAME, FIRST)
    second = store.put_pending("billing/db", WHERE, b"second-value-77", first).version
    store.promote("billing/db", WHERE, second, first)
    with pytest.raises(ProviderConflictError, match="not pending"):
        store.discard_pending("billing/db", WHERE, second)
    assert vault.version(NAME, second).enabled


def test_a_dict_value_round_trips_as_json(vault: FakeKeyVault, store: KeyVaultStore) -> None:
    pending = store.put_pending(
        "app/creds", WHERE, {"username": "app", "password": "pw-123456"}, None
    )
    assert vault.version(NAME, pending.version).content_type == "application/json"
    assert store.read("app/creds", WHERE, pending.version) == {
        "username": "app",
        "password": "pw-123456",
    }


def test_a_soft_deleted_secret_says_so(vault: FakeKeyVault, store: KeyVaultStore) -> None:
    vault.deleted.add(NAME)
    for action in (
        lambda: store.current("billing/db", WHERE),
        lambda: store.put_pending("billing/db", WHERE, b"new-value-123", None),
    ):
        with pytest.raises(ProviderError) as caught:
            action()
        assert "deleted but recoverable" in str(caught.value)
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("denied", "phrase"), [({"get"}, "permission denied (403"), ({"list"}, "permission denied")]
)
def test_permission_denied_is_one_line(
    vault: FakeKeyVault, store: KeyVaultStore, denied: set[str], phrase: str
) -> None:
    vault.put(NAME, FIRST)
    vault.denied = denied
    with pytest.raises(ProviderError) as caught:
        store.read("billing/db", WHERE)
    message = str(caught.value)
    assert message.startswith("azure-keyvault 'kv': ")
    assert phrase in message
    assert "\n" not in message
    assert FIRST not in message


def test_a_refused_token_is_one_line_without_the_token(vault: FakeKeyVault) -> None:
    store = _store(vault, token="a-token-the-vault-refuses")
    with pytest.raises(ProviderError) as caught:
        store.current("billing/db", WHERE)
    message = str(caught.value)
    assert "\n" not in message
    assert "a-token-the-vault-refuses" not in message


def test_a_vault_that_is_down_is_one_line(vault: FakeKeyVault) -> None:
    store = _store(vault)
    vault.stop()
    with pytest.raises(ProviderError, match="cannot connect") as caught:
        store.current("billing/db", WHERE)
    assert "\n" not in str(caught.value)


def test_an_untrusted_certificate_is_named(vault: FakeKeyVault, tmp_path: Path) -> None:
    settings = parse_settings("kv", FrozenMap({"vault_url": vault.url}), Origin())
    store = KeyVaultStore("kv", settings, {}, credential=StaticToken(vault.token))
    with pytest.raises(ProviderError, match="certificate is not trusted"):
        store.current("billing/db", WHERE)


def test_token_auth_reads_its_variable_and_says_when_it_is_missing(vault: FakeKeyVault) -> None:
    options = FrozenMap(
        {
            "vault_url": vault.url,
            "auth": FrozenMap({"method": "token", "token_env": "KV_TOKEN"}),
            "tls": FrozenMap({"ca_file": vault.ca_file}),
        }
    )
    settings = parse_settings("kv", options, Origin())
    assert KeyVaultStore("kv", settings, {"KV_TOKEN": vault.token}).current("a", WHERE) is None
    with pytest.raises(ProviderError, match="KV_TOKEN, which is not set"):
        KeyVaultStore("kv", settings, {}).current("a", WHERE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "missing required option vault_url"),
        ({"vault_url": "http://kv.vault.azure.net"}, "vault_url must be the vault's https URL"),
        ({"vault_url": "https://kv.vault.azure.net/secrets"}, "https URL"),
        ({"vault_url": "https://kv.vault.azure.net", "region": "x"}, "unknown option region"),
        (
            {"vault_url": "https://kv.vault.azure.net", "auth": FrozenMap({"method": "token"})},
            "token_env",
        ),
        ({"vault_url": "https://kv.vault.azure.net", "timeout": "soon"}, "timeout"),
    ],
)
def test_bad_provider_options_are_config_errors_at_their_line(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_settings("kv", FrozenMap(options), Origin(".leakstop.yaml", 7))  # type: ignore[arg-type]
    assert str(caught.value).startswith(".leakstop.yaml:7: provider 'kv' (azure-keyvault): ")


@pytest.mark.parametrize(
    "where", [{}, {"name": "has_underscore"}, {"name": "x" * 128}, {"name": NAME, "path": "a"}]
)
def test_bad_store_options_are_refused(where: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse_name("billing/db", FrozenMap(where))  # type: ignore[arg-type]


def test_providers_check_reads_each_secret(vault: FakeKeyVault, store: KeyVaultStore) -> None:
    vault.put(NAME, FIRST)
    secrets = [
        ManagedSecret("billing/db", StoreRef("kv", WHERE)),
        # Not written yet: the first rotation creates it, so nothing is wrong.
        ManagedSecret("other/db", StoreRef("kv", FrozenMap({"name": "not-there"}))),
        ManagedSecret("elsewhere", StoreRef("local")),
        ManagedSecret("bad/name", StoreRef("kv", FrozenMap({"name": "no_underscores"}))),
    ]
    problems = store.check(secrets)
    assert len(problems) == 1
    assert "no_underscores" in problems[0]
    vault.denied = {"get"}
    problems = store.check(secrets[:2])
    assert len(problems) == 1
    assert problems[0].startswith("billing/db: ")
    assert "permission denied" in problems[0]
    vault.denied = {"list"}
    assert len(store.check(secrets[:2])) == 2
    assert store.check([]) != []  # listing secrets is denied too


def test_a_disabled_version_says_so(vault: FakeKeyVault, store: KeyVaultStore) -> None:
    first = vault.put(NAME, FIRST)
    vault.version(NAME, first).enabled = False
    with pytest.raises(ProviderError, match="the version is disabled"):
        store.read("billing/db", WHERE, first)


def test_a_full_rotation_through_the_machine_leaves_no_value_in_logs_or_audit(
    vault: FakeKeyVault, store: KeyVaultStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = vault.put(NAME, FIRST)
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the key vault tests")
    machine = Machine(store, None, audit_log, Context("tester", Source.CLI))
    secret = ManagedSecret(
        "billing/db-password",
        StoreRef("kv", WHERE),
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(0)),
    )
    result = machine.rotate(secret, reason="leak confirmed")
    assert result.outcome is Outcome.ROTATED
    # grace 0: the old version is taken out of service at once.
    assert result.steps == (Step.CREATE, Step.SET, Step.FINISH, Step.REVOKE)
    assert result.old_version == first
    new = store.read("billing/db-password", WHERE)
    assert isinstance(new, bytes)
    assert new != FIRST.encode()
    assert len(new) == 32
    assert vault.version(NAME, str(result.new_version)).tags[LABEL_TAG] == CURRENT
    assert vault.version(NAME, first).enabled is False
    assert _label(vault, first) is None
    audit_log.close()
    written = b"".join(p.read_bytes() for p in (tmp_path / "audit").glob("*.jsonl"))
    assert b"rotation_completed" in written
    for value in (FIRST.encode(), new):
        assert value not in written
        assert value.decode() not in caplog.text
    assert vault.token not in caplog.text


def test_an_old_version_is_disabled_once_its_grace_period_is_over(
    vault: FakeKeyVault, store: KeyVaultStore, tmp_path: Path
) -> None:
    """No issuer: the store itself retires the old version, at the time the finish record
    set, through the same path `rotations run` takes."""
    from datetime import datetime, timezone

    from leakstop.audit.query import Query, select
    from leakstop.config import Config
    from leakstop.config.providers import ProviderSettings
    from leakstop.rotator.providers.registry import Providers
    from leakstop.rotator.runs import REVOCATION_RECORDS, Done, revoke_after_grace

    first = vault.put(NAME, FIRST)
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the key vault tests")
    context = Context("tester", Source.CLI)
    secret = ManagedSecret(
        "billing/db-password",
        StoreRef("kv", WHERE),
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(hours=1)),
    )
    result = Machine(store, None, audit_log, context).rotate(secret)
    assert result.steps == (Step.CREATE, Step.SET, Step.FINISH)
    assert result.revoke_after is not None
    assert vault.version(NAME, first).enabled is True  # consumers pinned to it still work

    config = Config(rules=(), providers=(ProviderSettings("kv", "azure-keyvault"),))
    providers = Providers(config, audit_log, context)
    providers._built["kv"] = store  # built from the config, it would be the same store
    records = list(select(tmp_path / "audit", Query(actions=REVOCATION_RECORDS)))
    now = datetime.now(timezone.utc)
    assert revoke_after_grace([secret], records, providers, audit_log, context, now) == []
    later = now + timedelta(hours=2)
    (outcome,) = revoke_after_grace([secret], records, providers, audit_log, context, later)
    assert outcome.done is Done.REVOKED
    assert vault.version(NAME, first).enabled is False
    assert vault.version(NAME, str(result.new_version)).enabled is True
    assert store.read("billing/db-password", WHERE) != FIRST.encode()
    audit_log.close()
