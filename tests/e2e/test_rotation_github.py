"""GitHub end to end through the CLI, against a local GitHub (tests/rotator/providers/
github_server.py): a password kept in a GitHub Actions secret, committed to a file, is
confirmed, rotated by a real credential program (the command issuer) and written to GitHub
sealed; a personal access token committed to a file is revoked through GitHub's credential
revocation API; `providers check` speaks for both."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.cli import main
from leakstop.rules.validators import base62_crc32
from leakstop.store import LocalStore
from tests.conftest import GitRepo
from tests.rotator.providers.github_server import TOKEN, FakeGitHub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Hn4tWq8ZpL2vRx7KmB3c"
MASTER = "master key of the github e2e test"
AUDIT = "audit key of the github e2e test"
SERVICE = Path(__file__).parents[1] / "data" / "providers" / "credential_service.py"
BODY = "k7Qm2VxR9tLp4ZwN8cYb3HsJ6dFg1A"
PAT = "ghp_" + BODY + base62_crc32(BODY)


@pytest.fixture
def github(httpserver_ipv4: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver_ipv4)


@pytest.fixture
def journal(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT)
    audit_log = AuditLog.open(private_home / "audit", AUDIT.encode())
    return LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("ops", Source.CLI),
        iterations=1000,
    )


def test_a_leaked_actions_secret_is_rotated_into_github(
    github: FakeGitHub,
    journal: LocalStore,
    git_repo: GitRepo,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, seen = tmp_path / "working.json", tmp_path / "seen.jsonl"
    state.write_text(json.dumps([LEAKED]))
    journal.write("ci/db-password", LEAKED.encode(), expected_version=None)
    monkeypatch.chdir(git_repo.path)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    argv = json.dumps([sys.executable, str(SERVICE), str(state), str(seen)])
    git_repo.write(
        ".leakstop.yaml",
        "version: 1\nproviders:\n"
        f"  github: {{type: github, api_url: '{github.url}'}}\n"
        f"  db-tool: {{type: command, command: {argv}, timeout: 30s}}\n"
        "secrets:\n  - name: ci/db-password\n"
        "    store: {provider: github, repository: acme/api, secret: DB_PASSWORD}\n"
        "    issuer: {provider: db-tool, cluster: eu}\n"
        "    policy: {interval: 30d, grace: 0s}\n",
    )
    git_repo.write("deploy/app.env", f'DB_USER=api\nDB_PASSWORD="{LEAKED}"\n')
    git_repo.commit("deploy config")

    assert main(["providers", "check"]) == 0
    checked = capsys.readouterr().out
    assert "✓ github (github): ok" in checked
    assert "✓ db-tool (command): ok" in checked

    assert main(["respond", "--git", "--apply", "-j", "1", "-f", "json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    (entry,) = [e for e in document["plan"] if e["confirmed"]]
    assert entry["managed_secret"] == "ci/db-password"
    (result,) = document["results"]
    assert result["outcome"] == "rotated", result["error"]
    assert result["steps"] == ["create", "set", "apply", "test", "finish", "revoke"]
    new = journal.read("ci/db-password")
    assert isinstance(new, bytes)
    assert github.value("/repos/acme/api/actions/secrets", "DB_PASSWORD") == new
    assert json.loads(state.read_text()) == [new.decode()]

    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    for where in (
        written,
        seen.read_bytes(),
        (captured.out + captured.err).encode(),
        *github.bodies,
    ):
        assert LEAKED.encode() not in where
        assert new not in where


def test_a_leaked_personal_access_token_is_revoked_at_github(
    github: FakeGitHub,
    journal: LocalStore,
    git_repo: GitRepo,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    journal.write("ci/bot-pat", PAT.encode(), expected_version=None)
    monkeypatch.chdir(git_repo.path)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # the revocation API needs no token
    git_repo.write(
        ".leakstop.yaml",
        "version: 1\nproviders:\n"
        # The local server answers as github.com does: revocations go unauthenticated.
        f"  github: {{type: github, api_url: '{github.url}', revoke_authenticated: false}}\n"
        "secrets:\n  - name: ci/bot-pat\n    store: {provider: local}\n"
        "    issuer: {provider: github}\n"
        "respond: {rules: {github-pat: revoke}}\n",
    )
    git_repo.write("scripts/release.sh", f"export GH_TOKEN={PAT}\n")
    git_repo.commit("release script")

    assert main(["providers", "check"]) == 0
    assert "✓ github (github): ok" in capsys.readouterr().out
    # A critical finding: the revocation waits for a second person (approval_from: high).
    monkeypatch.setenv("LOGNAME", "alice")
    assert main(["respond", "--git", "--apply", "-j", "1", "-f", "json"]) == 0
    captured = capsys.readouterr()
    (result,) = json.loads(captured.out)["results"]
    assert result["outcome"] == "pending approval", result["error"]
    assert github.revoked == []
    request_id = result["error"].split("leakstop approve ")[1].split()[0]
    monkeypatch.setenv("LOGNAME", "bob")
    assert main(["approve", request_id, "--by", "bob"]) == 0
    assert f"Revocation {request_id}: done (approved by bob)" in capsys.readouterr().out
    assert github.revoked == [[PAT]]
    assert main(["audit", "query", "--secret", "ci/bot-pat", "-f", "json"]) == 0
    actions = [r["action"] for r in json.loads(capsys.readouterr().out)]
    assert "revoked" in actions
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    assert PAT.encode() not in written
    assert PAT not in captured.out + captured.err


def test_providers_check_reports_a_bad_token_and_a_missing_program(
    github: FakeGitHub,
    journal: LocalStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    wrong = "ghp_" + "W" * 36
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  github: {{type: github, api_url: '{github.url}'}}\n"
        f"  db-tool: {{type: command, command: ['{tmp_path}/no-such-tool']}}\n"
        "  hook: {type: webhook, url: 'http://hooks.example.com/x', hmac_key_env: HOOK_KEY}\n"
        "secrets:\n  - name: ci/db-password\n"
        "    store: {provider: github, repository: acme/api, secret: DB_PASSWORD}\n"
        "    issuer: {provider: db-tool}\n"
    )
    assert main(["providers", "check"]) == 1
    out = capsys.readouterr().out
    assert "✗ github (github): github 'github': GET /rate_limit failed with 401" in out
    assert f"✗ db-tool (command): '{tmp_path}/no-such-tool' is not an executable file" in out
    assert (
        "✗ hook (webhook): .leakstop.yaml:5: provider 'hook': 'url': "
        "'http://hooks.example.com/x' would send credentials in clear text; use https://"
    ) in out
    assert wrong not in out
