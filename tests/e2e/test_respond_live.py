"""`leakstop respond` with live verification: a GitHub token its issuer says is live is
confirmed without being a managed secret and, with --apply, revoked through GitHub's credential
revocation API; a dead one is reported as such and left alone; an AWS key id and its secret
key are one credential. GitHub is played by local servers (its API for the live check, and the
revocation endpoint of a configured `github` provider)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.cli import main
from tests.conftest import GitRepo
from tests.rotator.providers.github_server import FakeGitHub

pytestmark = pytest.mark.e2e

LIVE = "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"
DEAD = "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"
KEY_ID = "AKIAQ3EGTRW7NXPBK2MZ"
SECRET_KEY = "hT7kP2vQ9xLm4RsWn8ZbY3cJ6dFg1HuE5aKo0NiV"


@pytest.fixture
def github_api(httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """api.github.com as the live check sees it: one token live, one rejected."""
    httpserver_ipv4.clear()
    httpserver_ipv4.expect_request(
        "/user", headers={"Authorization": f"Bearer {LIVE}"}
    ).respond_with_json({"login": "someone"})
    httpserver_ipv4.expect_request(
        "/user", headers={"Authorization": f"Bearer {DEAD}"}
    ).respond_with_json({"message": "Bad credentials"}, status=401)
    endpoints = {"api.github.com": httpserver_ipv4.url_for("").rstrip("/")}
    monkeypatch.setenv("LEAKSTOP_VERIFY_ENDPOINTS", json.dumps(endpoints))
    return httpserver_ipv4


@pytest.fixture
def revocations() -> Iterator[FakeGitHub]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield FakeGitHub(server)
    finally:
        server.clear()
        server.stop()


def _repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, github_url: str) -> GitRepo:
    git_repo.write(
        ".leakstop.yaml",
        "version: 1\nproviders:\n"
        f"  github: {{type: github, api_url: '{github_url}', revoke_authenticated: false}}\n",
    )
    git_repo.write("deploy.py", f'TOKEN = "{LIVE}"\n\n\nOLD_TOKEN = "{DEAD}"\n')
    git_repo.write("aws.env", f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET_KEY}\n")
    git_repo.commit("deploy config")
    monkeypatch.chdir(git_repo.path)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return git_repo


def test_a_live_unmanaged_github_token_is_revoked_and_a_dead_one_left_alone(
    git_repo: GitRepo,
    github_api: HTTPServer,
    revocations: FakeGitHub,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _repo(git_repo, monkeypatch, revocations.url)

    assert main(["respond", "-j", "1", "-f", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    by_rule = {(e["rule_id"], e["line"]): e for e in plan}
    live, dead = by_rule[("github-pat", 1)], by_rule[("github-pat", 4)]
    assert live["confirmed"] is True
    assert live["managed_secret"] is None
    assert (live["provider"], live["action"]) == ("github", "revoke")
    assert live["verification"]["status"] == "verified"
    assert dead["confirmed"] is False
    assert dead["verification"] == {
        "status": "invalid",
        "reason": "api.github.com rejected it (HTTP 401)",
        "verifier": "github",
    }
    # The key id and its secret key: one credential, one entry.
    [aws] = [e for e in plan if e["rule_id"].startswith("aws-")]
    assert aws["rule_id"] == "aws-secret-access-key"
    assert [p["rule_id"] for p in aws["parts"]] == ["aws-access-key-id"]
    assert revocations.revoked == []  # a plan touches nothing

    assert main(["respond", "--apply", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert "confirmed live: verified" in out
    assert "not confirmed: checked live, invalid (api.github.com rejected it (HTTP 401))" in out
    assert "with aws-access-key-id  line 1" in out
    assert "github-pat ghp_…4xXH: revoked" in out
    assert revocations.revoked == [[LIVE]]  # the dead token is never sent

    assert main(["audit", "query", "--action", "revoked", "-f", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["success"] is True
    assert record["details"]["status"] == "submitted"
    assert record["details"]["verified_by"] == "github"
    everything = out + json.dumps(record) + json.dumps(plan)
    for secret in (LIVE, DEAD, SECRET_KEY):
        assert secret not in everything
        assert secret[4:20] not in everything
    for audit_file in (private_home / "audit").rglob("*"):
        if audit_file.is_file():
            data = audit_file.read_bytes()
            assert LIVE.encode() not in data
            assert SECRET_KEY.encode() not in data


def test_no_verify_sends_nothing_and_confirms_nothing(
    git_repo: GitRepo,
    github_api: HTTPServer,
    revocations: FakeGitHub,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _repo(git_repo, monkeypatch, revocations.url)
    assert main(["respond", "--apply", "--no-verify", "-j", "1", "-f", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert not any(e["confirmed"] for e in document["plan"])
    assert all(e["verification"] is None for e in document["plan"])
    assert document["results"] == []
    assert github_api.log == []
    assert revocations.revoked == []
