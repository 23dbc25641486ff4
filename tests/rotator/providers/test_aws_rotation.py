"""The rotation machine with the aws provider, against moto's server: an IAM key stored in
Secrets Manager (and in the local store) is replaced, proven and its old key deleted; a failed
test rolls back; a run that stops half-way is finished or rolled back by the next one; the
audit log never holds a secret key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.rotator.machine import LEASE, Machine, Outcome, Step
from leakstop.rotator.providers.aws import AwsProvider
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.store import LocalStore
from tests.rotator.providers.moto_aws import (
    KeyPair,
    MotoServer,
    options,
    provider_for,
    running_moto,
    use_credentials,
)

pytestmark = pytest.mark.slow

CONTEXT = Context("tester", Source.CLI)
NAME = "ci/deployer-key"


class Stop(BaseException):
    """The process dies here (not a LeakstopError: nothing in the machine handles it)."""


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for server in running_moto(tmp_path):
        use_credentials(monkeypatch, server.environ(), tmp_path)
        server.user("deployer")
        yield server


@pytest.fixture
def audit_log(tmp_path: Path) -> AuditLog:
    return AuditLog.open(tmp_path / "audit", b"audit key of the aws rotation tests")


def _secret(store: str = "aws", grace: timedelta = timedelta(0)) -> ManagedSecret:
    where = options(secret_id="ci/deployer") if store == "aws" else options()
    return ManagedSecret(
        name=NAME,
        store=StoreRef(store, where),
        issuer=IssuerRef("aws", options(iam_user="deployer")),
        policy=RotationPolicy(grace=grace),
    )


def _seed_secrets_manager(moto: MotoServer) -> KeyPair:
    """The user's key in use now, current in Secrets Manager."""
    key = moto.new_key("deployer")
    moto.client("secretsmanager").create_secret(
        Name="ci/deployer", SecretString=json.dumps(key.value())
    )
    return key


def _current_pair(aws: AwsProvider) -> KeyPair:
    value = aws.read(NAME, options(secret_id="ci/deployer"))
    assert isinstance(value, dict)
    return KeyPair(value["access_key_id"], value["secret_access_key"])


def _audit_text(tmp_path: Path) -> str:
    return "".join(p.read_text() for p in (tmp_path / "audit").glob("*.jsonl"))


def test_an_iam_key_in_secrets_manager_is_rotated_and_the_old_one_deleted(
    moto: MotoServer, audit_log: AuditLog, tmp_path: Path
) -> None:
    old = _seed_secrets_manager(moto)
    aws = provider_for(moto)
    result = Machine(aws, aws, audit_log, CONTEXT).rotate(_secret(), reason="leaked")
    assert result.outcome is Outcome.ROTATED, result.error
    assert result.steps == (Step.CREATE, Step.SET, Step.TEST, Step.FINISH, Step.REVOKE)
    new = _current_pair(aws)
    assert new.access_key_id != old.access_key_id
    assert moto.keys("deployer") == {new.access_key_id: "Active"}
    assert str(moto.signs_in_as(new)).endswith(":user/deployer")
    assert moto.signs_in_as(old) is None
    previous = aws.read(NAME, options(secret_id="ci/deployer"), result.old_version)
    assert previous == old.value()  # AWSPREVIOUS keeps the old pair
    audit = _audit_text(tmp_path)
    assert "rotation_completed" in audit
    assert new.secret_access_key not in audit
    assert old.secret_access_key not in audit


def test_with_grace_the_old_key_works_until_revoked(moto: MotoServer, audit_log: AuditLog) -> None:
    old = _seed_secrets_manager(moto)
    aws = provider_for(moto)
    secret = _secret(grace=timedelta(hours=1))
    machine = Machine(aws, aws, audit_log, CONTEXT)
    result = machine.rotate(secret)
    assert result.outcome is Outcome.ROTATED
    assert result.revoke_after is not None
    new = _current_pair(aws)
    assert moto.keys("deployer") == {old.access_key_id: "Active", new.access_key_id: "Active"}
    # What `rotations run` does once the grace period is over.
    machine.revoke(secret, result.old_version, old.value())
    assert moto.keys("deployer") == {new.access_key_id: "Active"}


def test_an_iam_key_in_the_local_store_is_rotated(
    moto: MotoServer, audit_log: AuditLog, tmp_path: Path
) -> None:
    old = moto.new_key("deployer")
    store = LocalStore.init(
        tmp_path / "home", "default", b"master", audit_log, CONTEXT, iterations=1000
    )
    store.write(NAME, old.value(), expected_version=None)
    aws = provider_for(moto)
    result = Machine(LocalStoreProvider(store), aws, audit_log, CONTEXT).rotate(_secret("local"))
    assert result.outcome is Outcome.ROTATED, result.error
    stored = store.read(NAME)
    assert isinstance(stored, dict)
    new = KeyPair(stored["access_key_id"], stored["secret_access_key"])
    assert moto.keys("deployer") == {new.access_key_id: "Active"}
    assert moto.signs_in_as(new) is not None
    assert moto.signs_in_as(old) is None


def test_a_failed_test_rolls_back_to_the_old_key(moto: MotoServer, audit_log: AuditLog) -> None:
    old = _seed_secrets_manager(moto)
    aws = provider_for(moto)

    def someone_deletes_the_new_key(step: Step) -> None:
        # Between set and test, the new key disappears (an admin, a policy bot): its test fails.
        if step is Step.SET:
            for key_id in moto.keys("deployer"):
                if key_id != old.access_key_id:
                    moto.client("iam").delete_access_key(UserName="deployer", AccessKeyId=key_id)

    machine = Machine(aws, aws, audit_log, CONTEXT, after_step=someone_deletes_the_new_key)
    result = machine.rotate(_secret())
    assert result.outcome is Outcome.ROLLED_BACK
    assert "does not exist" in str(result.error)
    assert moto.keys("deployer") == {old.access_key_id: "Active"}
    assert aws.pending(NAME, options(secret_id="ci/deployer")) is None
    assert _current_pair(aws) == old
    assert moto.signs_in_as(old) is not None


def test_the_two_keys_limit_fails_the_rotation_and_touches_nothing(
    moto: MotoServer, audit_log: AuditLog
) -> None:
    old = _seed_secrets_manager(moto)
    stranger = moto.new_key("deployer")
    aws = provider_for(moto)
    result = Machine(aws, aws, audit_log, CONTEXT).rotate(_secret())
    assert result.outcome is Outcome.FAILED
    assert "already has two access keys" in str(result.error)
    assert moto.keys("deployer") == {old.access_key_id: "Active", stranger.access_key_id: "Active"}
    assert _current_pair(aws) == old


@pytest.mark.parametrize(
    ("stop_after", "outcome"),
    [(Step.SET, Outcome.RESUMED), (Step.TEST, Outcome.RESUMED), (Step.FINISH, None)],
)
def test_a_run_that_stopped_is_finished_by_the_next(
    moto: MotoServer, audit_log: AuditLog, stop_after: Step, outcome: Outcome | None
) -> None:
    old = _seed_secrets_manager(moto)
    aws = provider_for(moto)

    def die(step: Step) -> None:
        if step is stop_after:
            raise Stop

    with pytest.raises(Stop):
        Machine(aws, aws, audit_log, CONTEXT, after_step=die).rotate(_secret())
    # Right after the stop, one key works and it is the current one... or the pending one is
    # proven and waiting; the old key is never deleted before the new one is current.
    assert old.access_key_id in moto.keys("deployer")
    later = datetime.now(timezone.utc) + LEASE + timedelta(minutes=1)
    next_run = Machine(
        provider_for(moto), provider_for(moto), audit_log, CONTEXT, clock=lambda: later
    )
    result = next_run.rotate(_secret())
    if outcome is None:  # it had finished: the next run is a whole new rotation
        assert result.outcome is Outcome.FAILED  # old key (not yet revoked) + new = two keys
        assert "already has two access keys" in str(result.error)
        return
    assert result.outcome is outcome, result.error
    new = _current_pair(aws)
    assert moto.keys("deployer") == {new.access_key_id: "Active"}
    assert moto.signs_in_as(new) is not None
