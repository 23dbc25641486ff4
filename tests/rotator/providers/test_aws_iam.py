"""IAM access keys as an Issuer, against moto's server with request authentication on: a new
key is minted and proven with STS, the old one deactivated and deleted only once that is
proven safe, and the two-keys limit is never "solved" by deleting a key that may be in use."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leakstop.config.options import Origin
from leakstop.errors import ProviderError
from leakstop.rotator.providers.aws import AwsProvider
from leakstop.rotator.providers.aws_iam import (
    LEFTOVER_AGE,
    MINTED_TAG,
    PROVEN_TAG,
    IamKeyIssuer,
)
from leakstop.rotator.providers.aws_options import IamKeySpec, parse_settings
from leakstop.rotator.providers.aws_session import AwsSession
from tests.rotator.providers.moto_aws import (
    KeyPair,
    MotoServer,
    options,
    provider_for,
    running_moto,
    use_credentials,
)

pytestmark = pytest.mark.slow

NAME = "ci/deployer-key"
HOW = options(iam_user="deployer")


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for server in running_moto(tmp_path):
        use_credentials(monkeypatch, server.environ(), tmp_path)
        server.user("deployer")
        yield server


@pytest.fixture
def aws(moto: MotoServer) -> AwsProvider:
    return provider_for(moto)


def _pair(value: object) -> KeyPair:
    assert isinstance(value, dict)
    return KeyPair(value["access_key_id"], value["secret_access_key"])


def _tags(moto: MotoServer, user: str = "deployer") -> dict[str, str]:
    tags = moto.client("iam").list_user_tags(UserName=user)["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


def _issuer(moto: MotoServer, now: datetime) -> IamKeyIssuer:
    where = options(region="us-east-1", endpoint_url=moto.url, test_wait=2)
    settings = parse_settings("aws", where, {}, Origin())
    return IamKeyIssuer(AwsSession("aws", settings), clock=lambda: now)


def test_mint_test_revoke_replaces_the_key(moto: MotoServer, aws: AwsProvider) -> None:
    old = moto.new_key("deployer")
    new = _pair(aws.mint(NAME, HOW))
    assert new.access_key_id != old.access_key_id
    assert moto.keys("deployer") == {old.access_key_id: "Active", new.access_key_id: "Active"}
    assert _tags(moto) == {MINTED_TAG: new.access_key_id}
    aws.test(NAME, HOW, new.value())
    assert _tags(moto)[PROVEN_TAG] == new.access_key_id
    aws.revoke(NAME, HOW, old.value())
    assert moto.keys("deployer") == {new.access_key_id: "Active"}
    assert moto.signs_in_as(old) is None
    assert str(moto.signs_in_as(new)).endswith(":user/deployer")
    aws.revoke(NAME, HOW, old.value())  # gone already: nothing to do


def test_a_wrong_secret_fails_the_test_without_showing_it(
    moto: MotoServer, aws: AwsProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    minted = _pair(aws.mint(NAME, HOW))
    wrong = KeyPair(minted.access_key_id, "W" * 40)
    with pytest.raises(ProviderError) as caught:
        aws.test(NAME, HOW, wrong.value())
    message = str(caught.value)
    assert "SignatureDoesNotMatch" in message
    assert "\n" not in message
    assert minted.secret_access_key not in message + caplog.text
    assert wrong.secret_access_key not in message + caplog.text
    assert minted.access_key_id not in message  # shown shortened
    assert PROVEN_TAG not in _tags(moto)


def test_a_key_of_another_user_or_an_inactive_key_fails_the_test(
    moto: MotoServer, aws: AwsProvider
) -> None:
    moto.user("someone-else")
    other = moto.new_key("someone-else")
    with pytest.raises(ProviderError, match="does not exist"):
        aws.test(NAME, HOW, other.value())
    mine = moto.new_key("deployer")
    moto.client("iam").update_access_key(
        UserName="deployer", AccessKeyId=mine.access_key_id, Status="Inactive"
    )
    with pytest.raises(ProviderError, match="is inactive"):
        aws.test(NAME, HOW, mine.value())


def test_two_keys_of_unknown_use_are_never_deleted(moto: MotoServer, aws: AwsProvider) -> None:
    first, second = moto.new_key("deployer"), moto.new_key("deployer")
    with pytest.raises(ProviderError) as caught:
        aws.mint(NAME, HOW)
    message = str(caught.value)
    assert "already has two access keys" in message
    assert "delete the one not in use" in message
    assert first.access_key_id not in message  # ids are shortened
    assert moto.keys("deployer") == {first.access_key_id: "Active", second.access_key_id: "Active"}
    # An inactive key is not proof either, while no other key is proven.
    moto.client("iam").update_access_key(
        UserName="deployer", AccessKeyId=second.access_key_id, Status="Inactive"
    )
    with pytest.raises(ProviderError, match="already has two access keys"):
        aws.mint(NAME, HOW)
    assert len(moto.keys("deployer")) == 2


def test_an_inactive_key_replaced_by_a_proven_one_makes_room(moto: MotoServer) -> None:
    aws = provider_for(moto)
    old = moto.new_key("deployer")
    new = _pair(aws.mint(NAME, HOW))
    aws.test(NAME, HOW, new.value())
    moto.client("iam").update_access_key(
        UserName="deployer", AccessKeyId=old.access_key_id, Status="Inactive"
    )
    newest = _pair(aws.mint(NAME, HOW))
    assert moto.keys("deployer") == {new.access_key_id: "Active", newest.access_key_id: "Active"}


def test_an_unproven_leftover_is_deleted_only_once_its_run_is_surely_dead(
    moto: MotoServer,
) -> None:
    current = moto.new_key("deployer")
    now = datetime.now(timezone.utc)
    issuer = _issuer(moto, now)
    spec = IamKeySpec("deployer")
    leftover = _pair(issuer.mint(spec))  # a run died before storing it
    with pytest.raises(ProviderError, match="already has two access keys"):
        issuer.mint(spec)  # it may be another run at work
    later = _issuer(moto, now + LEFTOVER_AGE + timedelta(seconds=5))
    replacement = _pair(later.mint(spec))
    assert moto.keys("deployer") == {
        current.access_key_id: "Active",
        replacement.access_key_id: "Active",
    }
    assert leftover.access_key_id not in moto.keys("deployer")


def test_revoking_without_a_proven_replacement_only_deactivates(
    moto: MotoServer, aws: AwsProvider
) -> None:
    leaked = moto.new_key("deployer")
    aws.revoke(NAME, HOW, leaked.value())  # an emergency revocation: no new key
    assert moto.keys("deployer") == {leaked.access_key_id: "Inactive"}


def test_retire_deactivate_keeps_the_replaced_key(moto: MotoServer, aws: AwsProvider) -> None:
    how = options(iam_user="deployer", retire="deactivate")
    old = moto.new_key("deployer")
    new = _pair(aws.mint(NAME, how))
    aws.test(NAME, how, new.value())
    aws.revoke(NAME, how, old.value())
    assert moto.keys("deployer") == {old.access_key_id: "Inactive", new.access_key_id: "Active"}


def test_a_rolled_back_key_is_deleted(moto: MotoServer, aws: AwsProvider) -> None:
    old = moto.new_key("deployer")
    minted = _pair(aws.mint(NAME, HOW))
    aws.revoke(NAME, HOW, minted.value())  # what the machine does when its test fails
    assert moto.keys("deployer") == {old.access_key_id: "Active"}


def test_key_ids_confirm_a_leaked_pair_by_its_id(moto: MotoServer, aws: AwsProvider) -> None:
    key = moto.new_key("deployer")
    assert aws.key_ids(NAME, HOW) == {key.access_key_id}
    assert aws.owns(NAME, HOW, key.access_key_id)
    assert not aws.owns(NAME, HOW, "AKIAQYLPMN5HHHFPZAM2")
    assert not aws.owns(NAME, HOW, key.secret_access_key)  # not an id: never sent


def test_permission_denied_is_one_line(moto: MotoServer, tmp_path: Path) -> None:
    moto.user("weak")
    weak = moto.new_key("weak")
    aws = provider_for(moto)
    with pytest.MonkeyPatch.context() as patch:
        use_credentials(patch, moto.environ(weak), tmp_path)
        with pytest.raises(ProviderError) as caught:
            aws.mint(NAME, HOW)
    message = str(caught.value)
    assert message.startswith("aws 'aws': list the access keys of IAM user deployer: ")
    assert "not authorized" in message
    assert weak.secret_access_key not in message
