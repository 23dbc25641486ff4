"""AWS access from GitHub Actions with no stored AWS key: the aws provider's `auth.method:
github-oidc` asks the runner for the job's OIDC token (audience sts.amazonaws.com), trades it
with STS AssumeRoleWithWebIdentity for the role's temporary credentials, and rotates a leaked
IAM key with them. Against moto's server (STS, IAM, Secrets Manager) and the local stand-in for
GitHub's token endpoint; the environment holds no AWS credential at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.cli import main
from tests.conftest import GitRepo
from tests.rotator.providers.moto_aws import MotoServer, running_moto, use_credentials
from tests.rotator.providers.oidc_issuer import OidcIssuer, running_issuer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROLE = "leakstop-rotator"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Federated": "arn:aws:iam::123456789012:oidc-provider/"
                "token.actions.githubusercontent.com"
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
            },
        }
    ],
}
ROTATE_KEYS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:*", "secretsmanager:*"], "Resource": "*"}],
}


def _config(server: MotoServer, auth: str) -> str:
    return (
        "version: 1\nproviders:\n"
        f"  aws: {{type: aws, region: us-east-1, endpoint_url: '{server.url}', test_wait: 2s,\n"
        f"        auth: {auth}}}\n"
        "secrets:\n  - name: ci/deployer-key\n"
        "    store: {provider: aws, secret_id: ci/deployer}\n"
        "    issuer: {provider: aws, iam_user: deployer}\n"
        "    policy: {interval: 90d, grace: 0s}\n"
    )


OIDC_AUTH = f"{{method: github-oidc, role_arn: '{ROLE_ARN}'}}"


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    yield from running_issuer()


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for server in running_moto(tmp_path, authenticate=False):
        server.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
        server.client("iam").put_role_policy(
            RoleName=ROLE, PolicyName="rotate", PolicyDocument=json.dumps(ROTATE_KEYS)
        )
        # The job's environment: no AWS credential of any kind, only the runner's variables.
        use_credentials(monkeypatch, {}, tmp_path)
        yield server


def test_a_leaked_key_is_rotated_with_the_jobs_oidc_token_alone(
    moto: MotoServer,
    issuer: OidcIssuer,
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    moto.user("deployer")
    leaked = moto.new_key("deployer")
    moto.client("secretsmanager").create_secret(
        Name="ci/deployer", SecretString=json.dumps(leaked.value())
    )
    for name, value in issuer.runner_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", "audit key of the aws oidc test")
    monkeypatch.chdir(git_repo.path)
    git_repo.write(".leakstop.yaml", _config(moto, OIDC_AUTH))

    assert main(["providers", "check"]) == 0
    check = capsys.readouterr().out
    assert "✓ aws (aws): ok" in check
    # The runner was asked for a token for AWS's audience, and STS got it.
    assert issuer.audiences == ["sts.amazonaws.com"]

    assert main(["rotate", "ci/deployer-key", "--apply"]) == 0
    out, err = capsys.readouterr()
    current = json.loads(
        moto.client("secretsmanager").get_secret_value(
            SecretId="ci/deployer", VersionStage="AWSCURRENT"
        )["SecretString"]
    )
    assert current["access_key_id"] != leaked.access_key_id
    assert moto.keys("deployer") == {current["access_key_id"]: "Active"}
    for value in (leaked.secret_access_key, current["secret_access_key"], *issuer.minted):
        assert value not in out + err
    # Each command asked for a token of its own: none is kept between runs.
    assert issuer.audiences == ["sts.amazonaws.com", "sts.amazonaws.com"]


def test_without_the_runners_variables_the_error_says_what_the_job_needs(
    moto: MotoServer,
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(git_repo.path)
    git_repo.write(".leakstop.yaml", _config(moto, OIDC_AUTH))
    assert main(["providers", "check"]) == 1
    out = capsys.readouterr().out
    assert "not in a GitHub Actions job that may ask for its OIDC token" in out
    assert "id-token: write" in out


def test_a_refused_token_request_is_one_line(
    moto: MotoServer,
    issuer: OidcIssuer,
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.request_url)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "a stale runner token")
    monkeypatch.chdir(git_repo.path)
    git_repo.write(".leakstop.yaml", _config(moto, OIDC_AUTH))
    assert main(["providers", "check"]) == 1
    out = capsys.readouterr().out
    assert "answered HTTP 401" in out
    assert "a stale runner token" not in out


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ("{method: github-oidc}", "needs auth.role_arn"),
        ("{method: github-oidc, role_arn: 'arn:aws:iam::12:user/x'}", "is not an IAM role ARN"),
        ("{method: oidc}", "auth.method must be one of default, github-oidc"),
        ("{method: default, role_arn: 'x'}", "unknown option auth.role_arn"),
        (f"{{method: github-oidc, role_arn: '{ROLE_ARN}', session_name: 'a b'}}", "session_name"),
    ],
)
def test_bad_auth_options_are_one_line_naming_the_file(
    moto: MotoServer,
    git_repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    auth: str,
    message: str,
) -> None:
    monkeypatch.chdir(git_repo.path)
    git_repo.write(".leakstop.yaml", _config(moto, auth))
    assert main(["providers", "check"]) == 1
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("✗ aws (aws): .leakstop.yaml:3: provider 'aws': ")
    assert message in line
