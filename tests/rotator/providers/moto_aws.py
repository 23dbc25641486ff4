"""moto's server standing in for IAM, STS and Secrets Manager (`moto_server`, from the
`moto[server]` wheel), for the aws provider's tests.

Each test gets its own server on a free 127.0.0.1 port (~0.4 s to start). It first creates an
`admin` user allowed everything, then turns moto's request authentication on: from then on a
wrong secret key, a deleted key or a missing permission is refused as AWS refuses it (moto
still accepts an *inactive* key: FIELD_NOTES.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.rotator.providers.aws import AwsProvider
from leakstop.rotator.providers.base import ProviderContext
from tests.conftest import installed_tool
from tests.rotator.providers.bao import frozen

REGION = "us-east-1"
START_TIMEOUT = 20
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class KeyPair:
    access_key_id: str
    secret_access_key: str

    def value(self) -> dict[str, str]:
        return {"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key}


class MotoServer:
    """One `moto_server` process; `admin` is a key allowed everything."""

    def __init__(self, folder: Path, authenticate: bool = True) -> None:
        moto = installed_tool("moto_server")
        if moto is None:
            pytest.fail("moto_server is not installed: pip install -e '.[test]' (moto[server])")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        self.log = folder / "moto.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [moto, "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=folder,
            )
        if not self._wait_ready():
            self.stop()
            output = self.log.read_text(errors="replace")[-2000:]
            pytest.fail(f"moto_server did not start: {output}")
        bootstrap = KeyPair("AKIABOOTSTRAPBOOTSTR", "bootstrap")
        self.client("iam", bootstrap).create_user(UserName="admin")
        self.client("iam", bootstrap).put_user_policy(
            UserName="admin", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL)
        )
        self.admin = self.new_key("admin", bootstrap)
        # From here on every request must be signed by a key moto knows, with its policies.
        # Not for STS web identity tests: moto's authenticator fails (HTTP 500) on the
        # unsigned AssumeRoleWithWebIdentity request AWS documents (FIELD_NOTES proposal).
        if authenticate:
            requests.post(
                f"{self.url}/moto-api/reset-auth", data=b"0", timeout=5
            ).raise_for_status()

    def client(self, service: str, key: KeyPair | None = None) -> Any:
        key = key or self.admin
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
        )

    def new_key(self, user: str, signer: KeyPair | None = None) -> KeyPair:
        made = self.client("iam", signer)
        created = made.create_access_key(UserName=user)["AccessKey"]
        return KeyPair(created["AccessKeyId"], created["SecretAccessKey"])

    def user(self, name: str, *, policy: Mapping[str, Any] | None = None) -> str:
        self.client("iam").create_user(UserName=name)
        if policy is not None:
            self.client("iam").put_user_policy(
                UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy)
            )
        return name

    def keys(self, user: str) -> dict[str, str]:
        """Key id → status of the user's keys."""
        listed = self.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
        return {k["AccessKeyId"]: k["Status"] for k in listed}

    def signs_in_as(self, key: KeyPair) -> str | None:
        """The ARN STS answers for `key`; None when it refuses the key."""
        from botocore.exceptions import ClientError

        try:
            return str(self.client("sts", key).get_caller_identity()["Arn"])
        except ClientError:
            return None

    def environ(self, key: KeyPair | None = None) -> dict[str, str]:
        """The variables leakstop's own credentials come from (boto3's default chain)."""
        key = key or self.admin
        return {
            "AWS_ACCESS_KEY_ID": key.access_key_id,
            "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if requests.get(f"{self.url}/moto-api/", timeout=1).status_code == 200:
                    return True
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.05)
        return False


def running_moto(folder: Path, authenticate: bool = True) -> Iterator[MotoServer]:
    server = MotoServer(folder, authenticate)
    try:
        yield server
    finally:
        server.stop()


def use_credentials(
    monkeypatch: pytest.MonkeyPatch, environ: Mapping[str, str], home: Path
) -> None:
    """Make boto3's default chain find exactly `environ`'s credentials (no ~/.aws files)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config-none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials-none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


def provider_for(server: MotoServer, **options: Any) -> AwsProvider:
    """A provider `aws` as the registry builds it, configured at .leakstop.yaml:3."""
    settings = frozen({"region": REGION, "endpoint_url": server.url, "test_wait": 2, **options})
    assert isinstance(settings, FrozenMap)
    return AwsProvider.from_settings(
        ProviderContext("aws", settings, {}, Origin(".leakstop.yaml", 3))
    )


def options(**values: Any) -> Options:
    result = frozen(values)
    assert isinstance(result, FrozenMap)
    return result
