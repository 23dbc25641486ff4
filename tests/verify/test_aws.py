"""The AWS verifier's SigV4-signed GetCallerIdentity against moto in server mode."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import boto3
import pytest

from leakstop.verify.aws import AwsCheck
from leakstop.verify.base import CheckContext, Unverifiable
from leakstop.verify.http import GuardedHttp, HttpSettings
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential
from leakstop.verify.sigv4 import SigningKey, sign
from tests.verify.conftest import make_finding
from tests.verify.moto_server import moto_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[str, str, str]]:
    """moto's base URL and a key pair it issued; every later request must be signed."""
    # Two unsigned actions: CreateUser and CreateAccessKey.
    with moto_server(unauthenticated_actions=2) as base:
        iam = boto3.client(
            "iam",
            endpoint_url=base,
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="bootstrap-only-not-a-key",
        )
        iam.create_user(UserName="deployer")
        key = iam.create_access_key(UserName="deployer")["AccessKey"]
        yield base, key["AccessKeyId"], key["SecretAccessKey"]


def outcome(base: str, key_id: str, secret: str) -> tuple[Status, str]:
    settings = HttpSettings(endpoints={"sts.amazonaws.com": base}, retries=0, timeout=10)
    context = CheckContext(GuardedHttp(AwsCheck().hosts, settings), lambda f: None)
    credential = Credential(
        make_finding("aws-secret-access-key", secret, line=2),
        {"access_key_id": make_finding("aws-access-key-id", key_id, line=1)},
    )
    result = AwsCheck().check(credential, context)
    return result.status, result.reason


def test_a_working_pair_is_verified(moto: tuple[str, str, str]) -> None:
    base, key_id, secret = moto
    status, reason = outcome(base, key_id, secret)
    assert status is Status.VERIFIED, reason
    assert secret not in reason


def test_a_wrong_secret_fails_the_signature(moto: tuple[str, str, str]) -> None:
    base, key_id, secret = moto
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    status, reason = outcome(base, key_id, wrong)
    assert status is Status.INVALID
    assert "SignatureDoesNotMatch" in reason


def test_an_unknown_key_id_is_invalid(moto: tuple[str, str, str]) -> None:
    base, _, secret = moto
    status, reason = outcome(base, "AKIAZ7RQW2MPLK4NXV3D", secret)
    assert status is Status.INVALID
    assert "InvalidClientTokenId" in reason


def test_without_its_key_id_nothing_is_sent() -> None:
    settings = HttpSettings(endpoints={"sts.amazonaws.com": "http://127.0.0.1:9"})
    context = CheckContext(GuardedHttp(AwsCheck().hosts, settings), lambda f: None)
    with pytest.raises(Unverifiable, match="access key id"):
        AwsCheck().check(Credential(make_finding("aws-secret-access-key", "x" * 40)), context)


def test_signing_is_deterministic_and_covers_host_and_date() -> None:
    key = SigningKey(
        "AKIAQYLPMN5HHHFPZAM2", "9nT8Xo3uDk1bq0JvYp6mW2sLr7cZaEf4HgQiUy5N", "us-east-1", "sts"
    )
    when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    first = sign(key, "POST", "https://sts.amazonaws.com/", {}, b"x", when)
    assert first == sign(key, "POST", "https://sts.amazonaws.com/", {}, b"x", when)
    assert first["X-Amz-Date"] == "20260506T070809Z"
    assert (
        "Credential=AKIAQYLPMN5HHHFPZAM2/20260506/us-east-1/sts/aws4_request"
        in first["Authorization"]
    )
    assert "SignedHeaders=host;x-amz-date" in first["Authorization"]
    assert key.secret_access_key not in str(first)
    other = sign(key, "POST", "https://sts.amazonaws.com/", {}, b"y", when)
    assert other["Authorization"] != first["Authorization"]
