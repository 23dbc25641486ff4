"""The gcp-secretmanager Store through the real google-cloud-secret-manager SDK (REST
transport), against a local HTTPS Secret Manager (tests/rotator/providers/fake_secretmanager.py)
that keeps versions, states, aliases and etags."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import ManagedSecret, StoreRef
from leakstop.errors import ConfigError, ProviderConflictError, ProviderError
from leakstop.rotator.machine import Machine, Outcome, Step
from leakstop.rotator.providers.base import CURRENT, PENDING, PREVIOUS
from leakstop.rotator.providers.gcp_secretmanager import (
    SecretManagerStore,
    parse_place,
    parse_settings,
)
from tests.rotator.providers.fake_secretmanager import FakeSecretManager

pytestmark = pytest.mark.slow

PROJECT = "billing-prod"
SECRET = "billing-db"
WHERE: Options = FrozenMap({"secret": SECRET})
FIRST = b"Zt5pWq8LmR3vXk7N"


@pytest.fixture
def gsm(tmp_path: Path) -> Iterator[FakeSecretManager]:
    fake = FakeSecretManager(tmp_path, PROJECT)
    yield fake
    fake.stop()


def _store(gsm: FakeSecretManager, token: str | None = None, **extra: Any) -> SecretManagerStore:
    options = FrozenMap(
        {
            "project": PROJECT,
            "api_endpoint": gsm.url,
            "tls": FrozenMap({"ca_file": gsm.ca_file}),
            "timeout": 5,
            **extra,
        }
    )
    settings = parse_settings("gsm", options, Origin())
    credentials = Credentials(token=token or gsm.token)  # type: ignore[no-untyped-call]
    return SecretManagerStore("gsm", settings, {}, credentials=credentials)


@pytest.fixture
def store(gsm: FakeSecretManager) -> SecretManagerStore:
    return _store(gsm)


def _aliases(gsm: FakeSecretManager) -> dict[str, int]:
    return dict(gsm.secrets[SECRET].aliases)


def test_a_secret_written_elsewhere_has_its_newest_enabled_version_current(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, b"older-value-0001")
    gsm.put(SECRET, FIRST)
    gsm.put(SECRET, b"disabled-value-03")
    gsm.secrets[SECRET].versions[2].state = "DISABLED"
    current = store.current("billing/db", WHERE)
    assert current is not None
    assert (current.version, current.labels) == ("2", (CURRENT,))
    assert store.read("billing/db", WHERE) == FIRST
    assert store.pending("billing/db", WHERE) is None


def test_pending_is_an_alias_beside_current(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    pending = store.put_pending("billing/db", WHERE, b"second-value-77", "1")
    assert (pending.version, pending.labels) == ("2", (PENDING,))
    assert _aliases(gsm) == {PENDING: 2}
    current = store.current("billing/db", WHERE)
    assert current is not None
    assert current.version == "1"
    assert store.read("billing/db", WHERE) == FIRST
    assert store.read("billing/db", WHERE, "2") == b"second-value-77"
    found = store.pending("billing/db", WHERE)
    assert found is not None
    assert found.version == "2"


def test_a_missing_secret_is_created_on_first_write(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    assert store.current("billing/db", WHERE) is None
    pending = store.put_pending("billing/db", WHERE, b"brand-new-value", None)
    assert pending.version == "1"
    assert gsm.secrets[SECRET].annotations == {"leakstop-secret": "billing/db"}
    assert store.current("billing/db", WHERE) is None
    store.promote("billing/db", WHERE, "1", None)
    assert store.read("billing/db", WHERE) == b"brand-new-value"


def test_a_stale_expected_current_writes_nothing(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    gsm.put(SECRET, b"someone-else-wrote")
    with pytest.raises(ProviderConflictError, match="changed by another writer"):
        store.put_pending("billing/db", WHERE, b"second-value-77", "1")
    with pytest.raises(ProviderConflictError):
        store.put_pending("billing/db", WHERE, b"second-value-77", None)
    assert len(gsm.secrets[SECRET].versions) == 2


def test_a_label_move_that_loses_the_etag_race_backs_out(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    real_route = gsm.server.route

    def racing(request: Any) -> Any:
        # Another writer moves an alias between leakstop's read and its write.
        if request.method == "PATCH":
            gsm.secrets[SECRET].touch()
        return real_route(request)

    gsm.server.route = racing
    with pytest.raises(ProviderConflictError, match="etag"):
        store.put_pending("billing/db", WHERE, b"second-value-77", "1")
    assert gsm.state(SECRET, 2) == "DISABLED"
    assert _aliases(gsm) == {}


def test_a_second_rotation_waits_for_the_one_in_flight(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    store.put_pending("billing/db", WHERE, b"second-value-77", "1")
    with pytest.raises(ProviderConflictError, match="pending version 2"):
        store.put_pending("billing/db", WHERE, b"third-value-888", "1")
    assert len(gsm.secrets[SECRET].versions) == 2


@pytest.mark.parametrize(
    ("old_versions", "state"), [("disable", "DISABLED"), ("destroy", "DESTROYED")]
)
def test_promote_moves_the_aliases_and_retires_what_is_two_rotations_old(
    gsm: FakeSecretManager, old_versions: str, state: str
) -> None:
    store = _store(gsm)
    where: Options = FrozenMap({"secret": SECRET, "old_versions": old_versions})
    gsm.put(SECRET, FIRST)
    store.put_pending("billing/db", where, b"second-value-77", "1")
    with pytest.raises(ProviderConflictError):
        store.promote("billing/db", where, "2", "7")
    store.promote("billing/db", where, "2", "1")
    store.promote("billing/db", where, "2", "1")  # repeating a finished promote is a no-op
    assert _aliases(gsm) == {CURRENT: 2, PREVIOUS: 1}
    assert store.read("billing/db", where) == b"second-value-77"
    assert [v.labels for v in store.versions("billing/db", where)] == [(PREVIOUS,), (CURRENT,)]
    store.put_pending("billing/db", where, b"third-value-888", "2")
    store.promote("billing/db", where, "3", "2")
    assert _aliases(gsm) == {CURRENT: 3, PREVIOUS: 2}
    assert (gsm.state(SECRET, 1), gsm.state(SECRET, 2)) == (state, "ENABLED")


def test_discard_disables_the_pending_version_and_latest_stays_readable(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    store.put_pending("billing/db", WHERE, b"second-value-77", "1")
    store.discard_pending("billing/db", WHERE, "2")
    store.discard_pending("billing/db", WHERE, "2")  # safe to repeat
    assert gsm.state(SECRET, 2) == "DISABLED"
    assert PENDING not in _aliases(gsm)
    assert store.pending("billing/db", WHERE) is None
    # versions/latest is readable again, with the current value, and it is `current`.
    assert gsm.secrets[SECRET].versions[-1].state == "ENABLED"
    assert gsm.payload(SECRET, 3) == FIRST
    assert _aliases(gsm)[CURRENT] == 3
    assert store.read("billing/db", WHERE) == FIRST


def test_discarding_the_current_version_is_refused(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    store.put_pending("billing/db", WHERE, b"second-value-77", "1")
    store.promote("billing/db", WHERE, "2", "1")
    with pytest.raises(ProviderConflictError, match="not pending"):
        store.discard_pending("billing/db", WHERE, "2")
    assert gsm.state(SECRET, 2) == "ENABLED"


def test_permission_denied_is_one_line(gsm: FakeSecretManager, store: SecretManagerStore) -> None:
    gsm.put(SECRET, FIRST)
    gsm.denied = {"access"}
    with pytest.raises(ProviderError) as caught:
        store.read("billing/db", WHERE)
    message = str(caught.value)
    assert message.startswith("gcp-secretmanager 'gsm': read billing-db version 1: ")
    assert "permission denied (403)" in message
    assert "\n" not in message


def test_a_refused_token_is_one_line_without_the_token(gsm: FakeSecretManager) -> None:
    store = _store(gsm, token="ya29.a-token-refused")
    with pytest.raises(
        ProviderError, match=r"not authenticated \(the access token was refused"
    ) as caught:
        store.current("billing/db", WHERE)
    assert "\n" not in str(caught.value)
    assert "ya29.a-token-refused" not in str(caught.value)


def test_a_missing_version_is_not_found(gsm: FakeSecretManager, store: SecretManagerStore) -> None:
    gsm.put(SECRET, FIRST)
    with pytest.raises(ProviderError, match=r"not found \(404\)"):
        store.read("billing/db", WHERE, "9")


def test_a_server_that_is_down_is_one_line(gsm: FakeSecretManager) -> None:
    store = _store(gsm)
    gsm.stop()
    with pytest.raises(ProviderError, match="cannot connect") as caught:
        store.current("billing/db", WHERE)
    assert "\n" not in str(caught.value)


def test_an_untrusted_certificate_is_named(gsm: FakeSecretManager) -> None:
    options = FrozenMap({"project": PROJECT, "api_endpoint": gsm.url})
    credentials = Credentials(token=gsm.token)  # type: ignore[no-untyped-call]
    store = SecretManagerStore("gsm", parse_settings("gsm", options, Origin()), {}, credentials)
    with pytest.raises(ProviderError, match="certificate is not trusted"):
        store.current("billing/db", WHERE)


def test_token_auth_reads_its_variable(gsm: FakeSecretManager) -> None:
    options = FrozenMap(
        {
            "project": PROJECT,
            "api_endpoint": gsm.url,
            "auth": FrozenMap({"method": "token", "token_env": "GSM_TOKEN"}),
            "tls": FrozenMap({"ca_file": gsm.ca_file}),
        }
    )
    settings = parse_settings("gsm", options, Origin())
    gsm.put(SECRET, FIRST)
    assert SecretManagerStore("gsm", settings, {"GSM_TOKEN": gsm.token}).read("a", WHERE) == FIRST
    with pytest.raises(ProviderError, match="GSM_TOKEN, which is not set"):
        SecretManagerStore("gsm", settings, {}).read("a", WHERE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "missing required option project"),
        ({"project": "No_Such"}, "not a Google Cloud project"),
        ({"project": PROJECT, "api_endpoint": "http://x"}, "api_endpoint"),
        ({"project": PROJECT, "region": "x"}, "unknown option region"),
    ],
)
def test_bad_provider_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings("gsm", FrozenMap(options), Origin(".leakstop.yaml", 3))


@pytest.mark.parametrize(
    "where", [{}, {"secret": "a/b"}, {"secret": SECRET, "old_versions": "keep"}, {"name": "x"}]
)
def test_bad_store_options_are_refused(where: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse_place("billing/db", FrozenMap(where))


def test_providers_check_reads_each_secret(
    gsm: FakeSecretManager, store: SecretManagerStore
) -> None:
    gsm.put(SECRET, FIRST)
    secrets = [
        ManagedSecret("billing/db", StoreRef("gsm", WHERE)),
        ManagedSecret("other/db", StoreRef("gsm", FrozenMap({"secret": "not-there"}))),
    ]
    # "other/db" is not written yet: the first rotation creates it, so nothing is wrong.
    assert store.check(secrets) == []
    assert store.check([]) == []
    gsm.denied = {"access"}
    problems = store.check(secrets)
    assert len(problems) == 1
    assert problems[0].startswith("billing/db: ")
    gsm.denied = {"list"}
    assert len(store.check([])) == 1


def test_a_full_rotation_through_the_machine_leaves_no_value_in_logs_or_audit(
    gsm: FakeSecretManager,
    store: SecretManagerStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    gsm.put(SECRET, FIRST)
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the secret manager tests")
    machine = Machine(store, None, audit_log, Context("tester", Source.CLI))
    secret = ManagedSecret(
        "billing/db-password",
        StoreRef("gsm", WHERE),
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(0)),
    )
    result = machine.rotate(secret, reason="leak confirmed")
    assert result.outcome is Outcome.ROTATED
    # grace 0: the old version is taken out of service at once.
    assert result.steps == (Step.CREATE, Step.SET, Step.FINISH, Step.REVOKE)
    assert (result.old_version, result.new_version) == ("1", "2")
    new = store.read("billing/db-password", WHERE)
    assert isinstance(new, bytes)
    assert new != FIRST
    assert len(new) == 32
    assert _aliases(gsm) == {CURRENT: 2, PREVIOUS: 1}
    assert (gsm.state(SECRET, 1), gsm.state(SECRET, 2)) == ("DISABLED", "ENABLED")
    audit_log.close()
    written = b"".join(p.read_bytes() for p in (tmp_path / "audit").glob("*.jsonl"))
    assert b"rotation_completed" in written
    import base64

    for value in (FIRST, new):
        assert value not in written
        assert value.decode() not in caplog.text
        assert base64.b64encode(value).decode() not in caplog.text
