"""The aws provider's options: what is accepted, and the one line that says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from leakstop.config.options import FrozenMap, Origin
from leakstop.errors import ConfigError
from leakstop.rotator.providers.aws_options import (
    DEACTIVATE,
    DEFAULT_TEST_WAIT,
    DEFAULT_TIMEOUT,
    AwsSettings,
    IamKeySpec,
    SecretPlace,
    parse_issuer,
    parse_place,
    parse_settings,
)
from tests.rotator.providers.bao import frozen

ORIGIN = Origin(".leakstop.yaml", 7)


def _settings(environ: dict[str, str] | None = None, **values: Any) -> AwsSettings:
    options = frozen(values)
    assert isinstance(options, FrozenMap)
    return parse_settings("aws", options, environ or {}, ORIGIN)


def test_region_and_defaults() -> None:
    assert _settings(region="eu-central-1") == AwsSettings(
        "eu-central-1", None, DEFAULT_TIMEOUT, DEFAULT_TEST_WAIT
    )
    parsed = _settings(
        region="us-gov-west-1", endpoint_url="http://127.0.0.1:5000", timeout="1m", test_wait=5
    )
    assert (parsed.endpoint_url, parsed.timeout, parsed.test_wait) == (
        "http://127.0.0.1:5000",
        60.0,
        5.0,
    )


def test_region_comes_from_the_environment_when_not_configured() -> None:
    assert _settings({"AWS_DEFAULT_REGION": "ap-southeast-2"}).region == "ap-southeast-2"
    assert _settings({"AWS_REGION": "sa-east-1", "AWS_DEFAULT_REGION": "x"}).region == "sa-east-1"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "'region' is missing"),
        ({"region": "US East"}, "not an AWS region name"),
        ({"region": "us-east-1", "endpoint_url": "ftp://x"}, "http:// or https:// URL"),
        ({"region": "us-east-1", "timeout": "soon"}, "'timeout'"),
        ({"region": "us-east-1", "test_wait": 0}, "more than 0"),
        ({"region": "us-east-1", "profile": "prod"}, "unknown option profile"),
        ({"region": 5}, "'region' must be a string"),
    ],
)
def test_bad_provider_options_fail_at_the_provider_line(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(**values)
    text = str(caught.value)
    assert message in text
    assert ".leakstop.yaml:7" in text
    assert "\n" not in text


def test_store_options() -> None:
    assert parse_place("a", FrozenMap({"secret_id": "prod/billing"})) == SecretPlace("prod/billing")
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/billing-AbCdEf"
    assert parse_place("a", FrozenMap({"secret_id": arn, "key": "pair"})) == SecretPlace(
        arn, "pair"
    )
    for bad, message in [
        ({}, "'secret_id' is missing"),
        ({"secret_id": "has space"}, "not a Secrets Manager name"),
        ({"secret_id": "x", "key": ""}, "'key' must not be empty"),
        ({"secret_id": "x", "path": "y"}, "unknown option path"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_place("a", FrozenMap(bad), ORIGIN)


def test_issuer_options() -> None:
    assert parse_issuer("a", FrozenMap({"iam_user": "deployer"})) == IamKeySpec("deployer")
    assert parse_issuer(
        "a", FrozenMap({"iam_user": "ci+bot@x", "retire": "deactivate"})
    ) == IamKeySpec("ci+bot@x", DEACTIVATE)
    for bad, message in [
        ({}, "'iam_user' is missing"),
        ({"iam_user": "no/slashes"}, "not an IAM user name"),
        ({"iam_user": "u", "retire": "shred"}, "'retire' must be delete or deactivate"),
        ({"iam_user": "u", "approle": "x"}, "unknown option approle"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_issuer("a", FrozenMap(bad), ORIGIN)


def test_without_boto3_the_provider_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before any call: a rotation must not die on an ImportError halfway."""
    import sys

    from leakstop.errors import ProviderError
    from leakstop.rotator.providers.aws import AwsProvider
    from leakstop.rotator.providers.base import ProviderContext

    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` raises ImportError
    settings = frozen({"region": "us-east-1"})
    assert isinstance(settings, FrozenMap)
    with pytest.raises(ProviderError, match=r"needs boto3: pip install 'leakstop\[aws\]'"):
        AwsProvider.from_settings(ProviderContext("aws", settings, {}, Origin()))
