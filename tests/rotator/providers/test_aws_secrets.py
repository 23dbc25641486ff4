"""Secrets Manager as a Store, against moto's server: AWSPENDING is the journal, AWSCURRENT
moves only with check-and-set, AWSPREVIOUS keeps the old value, consumers never see a pending
value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakstop.errors import ProviderConflictError, ProviderError
from leakstop.rotator.providers import aws_secrets
from leakstop.rotator.providers.aws import AwsProvider
from leakstop.rotator.providers.base import CURRENT, PENDING
from tests.rotator.providers.moto_aws import (
    MotoServer,
    options,
    provider_for,
    running_moto,
    use_credentials,
)

pytestmark = pytest.mark.slow

NAME = "billing/api-key"
WHERE = options(secret_id="prod/billing")
FIRST = "first value Lq8RzT2wVb"
SECOND = "second value Kp3NdX7yHa"


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for server in running_moto(tmp_path):
        use_credentials(monkeypatch, server.environ(), tmp_path)
        yield server


@pytest.fixture
def aws(moto: MotoServer) -> AwsProvider:
    moto.client("secretsmanager").create_secret(Name="prod/billing", SecretString=FIRST)
    return provider_for(moto)


def _consumer_reads(moto: MotoServer, secret_id: str = "prod/billing") -> str:
    """What an application reading the secret gets (AWS's default stage, named explicitly:
    moto's default differs)."""
    read = moto.client("secretsmanager").get_secret_value(
        SecretId=secret_id, VersionStage="AWSCURRENT"
    )
    return str(read["SecretString"])


def _stages(moto: MotoServer) -> dict[str, list[str]]:
    described = moto.client("secretsmanager").describe_secret(SecretId="prod/billing")
    return {k: sorted(v) for k, v in described["VersionIdsToStages"].items()}


def test_a_rotation_moves_the_labels_and_consumers_see_only_tested_values(
    moto: MotoServer, aws: AwsProvider
) -> None:
    current = aws.current(NAME, WHERE)
    assert current is not None
    assert current.labels == (CURRENT,)
    assert aws.pending(NAME, WHERE) is None
    assert aws.read(NAME, WHERE) == FIRST.encode()

    pending = aws.put_pending(NAME, WHERE, SECOND.encode(), current.version)
    assert pending.labels == (PENDING,)
    assert pending.created is not None
    assert aws.pending(NAME, WHERE) == pending
    assert _consumer_reads(moto) == FIRST  # not yet
    assert aws.read(NAME, WHERE, pending.version) == SECOND.encode()
    assert aws.read(NAME, WHERE) == FIRST.encode()

    aws.promote(NAME, WHERE, pending.version, current.version)
    assert _consumer_reads(moto) == SECOND
    assert aws.pending(NAME, WHERE) is None
    assert _stages(moto) == {current.version: ["AWSPREVIOUS"], pending.version: ["AWSCURRENT"]}
    assert aws.read(NAME, WHERE, current.version) == FIRST.encode()  # for revocation after grace
    aws.promote(NAME, WHERE, pending.version, current.version)  # repeating is harmless
    assert _stages(moto)[pending.version] == ["AWSCURRENT"]


def test_check_and_set_refuses_a_stale_expected_version(moto: MotoServer, aws: AwsProvider) -> None:
    current = aws.current(NAME, WHERE)
    assert current is not None
    with pytest.raises(ProviderConflictError, match="changed by another writer"):
        aws.put_pending(NAME, WHERE, SECOND.encode(), "not-the-current-version")
    assert len(_stages(moto)) == 1  # nothing written
    pending = aws.put_pending(NAME, WHERE, SECOND.encode(), current.version)
    with pytest.raises(ProviderConflictError, match="already in flight"):
        aws.put_pending(NAME, WHERE, b"a third value", current.version)
    # Someone else writes a new current version meanwhile: the promotion must not win.
    moto.client("secretsmanager").put_secret_value(SecretId="prod/billing", SecretString="other")
    with pytest.raises(ProviderConflictError):
        aws.promote(NAME, WHERE, pending.version, current.version)
    assert _consumer_reads(moto) == "other"


def test_discard_pending_leaves_the_current_value(moto: MotoServer, aws: AwsProvider) -> None:
    current = aws.current(NAME, WHERE)
    assert current is not None
    pending = aws.put_pending(NAME, WHERE, SECOND.encode(), current.version)
    aws.discard_pending(NAME, WHERE, pending.version)
    assert aws.pending(NAME, WHERE) is None
    after = aws.current(NAME, WHERE)
    assert after is not None
    # Not `created`: moto answers ListSecretVersionIds with the time of the listing.
    assert (after.version, after.labels) == (current.version, current.labels)
    assert _consumer_reads(moto) == FIRST
    aws.discard_pending(NAME, WHERE, pending.version)  # again: nothing to do
    with pytest.raises(ProviderError, match="not pending"):
        aws.promote(NAME, WHERE, pending.version, current.version)


def test_structured_values_are_json_and_key_selects_one_field(
    moto: MotoServer, aws: AwsProvider
) -> None:
    pair = {"access_key_id": "AKIAQYLPMN5HHHFPZAM2", "secret_access_key": "s" * 40}
    current = aws.current(NAME, WHERE)
    assert current is not None
    written = aws.put_pending(NAME, WHERE, pair, current.version)
    aws.promote(NAME, WHERE, written.version, current.version)
    assert json.loads(_consumer_reads(moto)) == pair
    assert aws.read(NAME, WHERE) == pair

    secrets = moto.client("secretsmanager")
    secrets.create_secret(Name="prod/db", SecretString=json.dumps({"user": "app", "password": "a"}))
    field = options(secret_id="prod/db", key="password")
    before = aws.current("db", field)
    assert before is not None
    assert aws.read("db", field) == b"a"
    new = aws.put_pending("db", field, b"b-new-password", before.version)
    aws.promote("db", field, new.version, before.version)
    assert json.loads(_consumer_reads(moto, "prod/db")) == {
        "user": "app",
        "password": "b-new-password",
    }
    with pytest.raises(ProviderError, match="no JSON field 'missing'"):
        aws.read("db", options(secret_id="prod/db", key="missing"))


def test_a_new_secret_is_created_by_its_first_rotation(moto: MotoServer) -> None:
    aws = provider_for(moto)
    where = options(secret_id="new/one")
    assert aws.current("new", where) is None
    written = aws.put_pending("new", where, SECOND.encode(), None)
    # Secrets Manager makes a secret's first version current at once.
    assert set(written.labels) == {CURRENT, PENDING}
    aws.promote("new", where, written.version, None)
    assert aws.pending("new", where) is None
    assert _consumer_reads(moto, "new/one") == SECOND


def test_denied_and_unreachable_are_one_line_errors(moto: MotoServer, tmp_path: Path) -> None:
    moto.client("secretsmanager").create_secret(Name="prod/billing", SecretString=FIRST)
    moto.user("reader")
    denied_key = moto.new_key("reader")
    provider = provider_for(moto)
    with pytest.MonkeyPatch.context() as patch:
        use_credentials(patch, moto.environ(denied_key), tmp_path)
        with pytest.raises(ProviderError) as caught:
            provider.read(NAME, WHERE)
    message = str(caught.value)
    assert message.startswith("aws 'aws': read prod/billing")
    assert "AccessDenied" in message or "not authorized" in message
    assert "\n" not in message
    assert denied_key.secret_access_key not in message
    moto.stop()
    with pytest.raises(ProviderError, match="aws 'aws': list the versions of prod/billing"):
        provider_for(moto, timeout=2).current(NAME, WHERE)


def test_a_run_whose_write_took_another_runs_label_gives_it_back(
    moto: MotoServer, aws: AwsProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both runs looked before either wrote; the other wrote first and may already be
    applying its value. PutSecretValue moves AWSPENDING without asking, so the late writer
    takes the label, sees the other's version, hands the label back and withdraws."""
    current = aws.current(NAME, WHERE)
    assert current is not None
    other = provider_for(moto)
    theirs: list[str] = []
    real_encode = aws_secrets._encode

    def the_other_writes_first(*args: Any, **kwargs: Any) -> Any:
        if not theirs:  # between the late run's look and its write
            theirs.append("")
            theirs[0] = other.put_pending(NAME, WHERE, SECOND.encode(), current.version).version
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(aws_secrets, "_encode", the_other_writes_first)
    with pytest.raises(ProviderConflictError, match="written by another run at the same time"):
        aws.put_pending(NAME, WHERE, b"late value never applied", current.version)

    monkeypatch.undo()
    pending = aws.pending(NAME, WHERE)
    assert pending is not None
    assert pending.version == theirs[0]  # the label is back where the other run expects it
    assert [v for v, stages in _stages(moto).items() if "AWSPENDING" in stages] == [theirs[0]]
    other.promote(NAME, WHERE, theirs[0], current.version)
    assert _consumer_reads(moto) == SECOND


def test_a_run_that_slept_through_a_whole_rotation_withdraws(
    moto: MotoServer, aws: AwsProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = aws.current(NAME, WHERE)
    assert current is not None
    other = provider_for(moto)
    real_encode = aws_secrets._encode
    done: list[bool] = []

    def the_other_rotates(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            version = other.put_pending(NAME, WHERE, SECOND.encode(), current.version).version
            other.promote(NAME, WHERE, version, current.version)
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(aws_secrets, "_encode", the_other_rotates)
    with pytest.raises(ProviderConflictError, match="rotated by another run") as raised:
        aws.put_pending(NAME, WHERE, b"late value never applied", current.version)

    assert "late value" not in str(raised.value)
    monkeypatch.undo()
    assert aws.pending(NAME, WHERE) is None
    assert not any("AWSPENDING" in stages for stages in _stages(moto).values())
    assert _consumer_reads(moto) == SECOND
