"""From an AWS key pair committed to a repository to a replaced key, against moto's server:
`respond` plans, `respond --apply` rotates the IAM key (stored in Secrets Manager) through the
machine, `audit query` tells the story, the old key is deleted and the new one works; nothing
printed or audited holds a secret key. leakstop's own credentials and the endpoint come from
the environment (AWS_ENDPOINT_URL), as boto3's default chain reads them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.cli import main
from tests.conftest import GitRepo
from tests.rotator.providers.moto_aws import KeyPair, MotoServer, running_moto, use_credentials

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: What the scanner's aws-access-key-id rule takes for a key id (moto's ids may hold 0, 1, 8, 9).
_SCANNABLE_ID = re.compile(r"^AKIA[A-Z2-7]{16}$")
CONFIG = (
    "version: 1\nproviders:\n  aws: {type: aws, region: us-east-1}\n"
    "secrets:\n  - name: ci/deployer-key\n"
    "    store: {provider: aws, secret_id: ci/deployer}\n"
    "    issuer: {provider: aws, iam_user: deployer}\n"
    "    policy: {interval: 90d, grace: 0s}\n"
)


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for server in running_moto(tmp_path):
        use_credentials(monkeypatch, server.environ(), tmp_path)
        yield server


def _scannable_key(moto: MotoServer, user: str) -> KeyPair:
    """A key of `user` whose id the scanner recognises (ids are random; most qualify)."""
    for _attempt in range(50):
        key = moto.new_key(user)
        if _SCANNABLE_ID.match(key.access_key_id):
            return key
        moto.client("iam").delete_access_key(UserName=user, AccessKeyId=key.access_key_id)
    raise AssertionError("moto made no key id the scanner recognises in 50 tries")


def test_a_committed_key_pair_is_confirmed_rotated_and_deleted(
    moto: MotoServer,
    git_repo: GitRepo,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    moto.user("deployer")
    leaked = _scannable_key(moto, "deployer")
    moto.client("secretsmanager").create_secret(
        Name="ci/deployer", SecretString=json.dumps(leaked.value())
    )
    monkeypatch.chdir(git_repo.path)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", "audit key of the aws e2e test")
    git_repo.write(".leakstop.yaml", CONFIG)
    git_repo.write(
        "deploy/aws.env",
        f"AWS_ACCESS_KEY_ID={leaked.access_key_id}\n"
        f"AWS_SECRET_ACCESS_KEY={leaked.secret_access_key}\n",
    )
    git_repo.commit("deploy credentials")

    assert main(["providers", "check"]) == 0
    assert capsys.readouterr().out.splitlines() == ["✓ aws (aws): ok"]

    assert main(["respond", "--git", "-j", "1", "-f", "json"]) == 0
    plan_text = capsys.readouterr().out
    plan = json.loads(plan_text)
    # Both halves of the pair are the managed secret's current value: one entry, confirmed.
    (entry,) = plan["plan"]
    assert (entry["confirmed"], entry["managed_secret"], entry["action"]) == (
        True,
        "ci/deployer-key",
        "rotate",
    )
    assert moto.keys("deployer") == {leaked.access_key_id: "Active"}  # the plan touched nothing

    assert main(["respond", "--git", "--apply", "-j", "1", "-f", "json"]) == 0
    apply_text = capsys.readouterr().out
    (result,) = json.loads(apply_text)["results"]
    assert result["outcome"] == "rotated"
    assert result["steps"] == ["create", "set", "test", "finish", "revoke"]
    stored = moto.client("secretsmanager").get_secret_value(
        SecretId="ci/deployer", VersionStage="AWSCURRENT"
    )
    new = KeyPair(**json.loads(stored["SecretString"]))
    assert new.access_key_id != leaked.access_key_id
    assert moto.keys("deployer") == {new.access_key_id: "Active"}
    assert str(moto.signs_in_as(new)).endswith(":user/deployer")
    assert moto.signs_in_as(leaked) is None

    assert main(["audit", "query", "--secret", "ci/deployer-key", "-f", "json"]) == 0
    query_text = capsys.readouterr().out
    actions = [r["action"] for r in json.loads(query_text)]
    assert {"rotation_started", "rotation_step", "rotation_completed", "revoked"} <= set(actions)
    assert main(["audit", "verify"]) == 0
    audit = "".join(p.read_text() for p in (private_home / "audit").glob("*.jsonl"))
    for text in (plan_text, apply_text, query_text, audit, capsys.readouterr().err):
        assert leaked.secret_access_key not in text
        assert new.secret_access_key not in text


def test_providers_check_says_what_is_wrong_one_line_each(
    moto: MotoServer,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    moto.user("deployer")
    moto.new_key("deployer")
    moto.new_key("deployer")  # two keys in use: the next rotation cannot make one
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".leakstop.yaml").write_text(CONFIG)
    assert main(["providers", "check"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("✗ aws (aws): ci/deployer-key: IAM user deployer already has two")

    moto.user("weak")
    weak = moto.new_key("weak")
    use_credentials(monkeypatch, moto.environ(weak), tmp_path)
    assert main(["providers", "check"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("✗ aws (aws): ")
    assert "not authorized" in line
    assert weak.secret_access_key not in line

    use_credentials(monkeypatch, {"AWS_ENDPOINT_URL": moto.url}, tmp_path)
    assert main(["providers", "check"]) == 1
    assert "no AWS credentials found" in capsys.readouterr().out

    (tmp_path / ".leakstop.yaml").write_text(CONFIG.replace("iam_user", "iam_users"))
    assert main(["providers", "check"]) == 1
    assert "unknown option iam_users" in capsys.readouterr().out


def test_a_key_id_of_a_managed_user_confirms_even_when_it_is_not_the_stored_value(
    moto: MotoServer,
    git_repo: GitRepo,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The store holds one key; another key of the same user (say, one made by hand and
    forgotten) is found in a file: it is confirmed by its id, as the managed secret's."""
    moto.user("deployer")
    stored = moto.new_key("deployer")
    moto.client("secretsmanager").create_secret(
        Name="ci/deployer", SecretString=json.dumps(stored.value())
    )
    forgotten = _scannable_key(moto, "deployer")
    moto.user("stranger")
    strangers = _scannable_key(moto, "stranger")
    monkeypatch.chdir(git_repo.path)
    git_repo.write(".leakstop.yaml", CONFIG)
    git_repo.write("a.env", f"AWS_ACCESS_KEY_ID={forgotten.access_key_id}\n")
    git_repo.write("b.env", f"AWS_ACCESS_KEY_ID={strangers.access_key_id}\n")
    git_repo.commit("two key ids")
    assert main(["respond", "-j", "1", "-f", "json"]) == 0
    entries = {e["path"]: e for e in json.loads(capsys.readouterr().out)["plan"]}
    assert entries["a.env"]["confirmed"] is True
    assert entries["a.env"]["managed_secret"] == "ci/deployer-key"
    assert entries["b.env"]["confirmed"] is False  # a key of a user leakstop does not manage
