"""A GitHub Actions job with no stored Vault credential: the runner's OIDC variables are all it
has. `providers check`, `respond` and `respond --apply` log in to OpenBao with the job's token
(jwt auth bound to the repository and an audience), the leaked password committed to the
repository is rotated in Vault KV, and neither the job's OIDC tokens, the runner's request token
nor a Vault token appears in any output, log line or audit record."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakstop.cli import main
from tests.conftest import GitRepo
from tests.rotator.providers.bao import BaoServer, kv_data, running_bao
from tests.rotator.providers.bao_jwt import add_jwt_role, configure_jwt_auth
from tests.rotator.providers.oidc_issuer import Job, OidcIssuer, running_issuer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPOSITORY = "acme/billing"
AUDIENCE = "https://vault.acme.example"
ROLE = "leakstop-billing"
LEAKED = "Hw4nQz7TrX2mVp9KcL5b"
AUDIT_KEY = "audit key of the vault oidc e2e test"
#: An OpenBao service token (`s.` + 24 characters).
VAULT_TOKEN = re.compile(r"\bs\.[A-Za-z0-9]{24}\b")


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    yield from running_issuer()


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory, issuer: OidcIssuer) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao-oidc-e2e")):
        configure_jwt_auth(server, issuer)
        add_jwt_role(server, ROLE, AUDIENCE, {"repository": REPOSITORY})
        yield server


@pytest.fixture
def job(
    issuer: OidcIssuer, git_repo: GitRepo, private_home: Path, monkeypatch: pytest.MonkeyPatch
) -> OidcIssuer:
    """The runner's environment for a push to main of acme/billing, with id-token: write."""
    issuer.job = Job(repository=REPOSITORY)
    issuer.issued_at = None
    issuer.audiences.clear()
    monkeypatch.chdir(git_repo.path)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    for name in ("VAULT_TOKEN", "VAULT_ADDR", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    # A runner's checkout: the event payload names the default branch, and `origin` has it
    # (here the repository itself), since in Actions the config is read from there.
    event = private_home / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main", "fork": False}}))
    git_repo.git("remote", "add", "origin", str(git_repo.path))
    runner = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_PATH": str(event),
        "RUNNER_TEMP": str(private_home / "runner-temp"),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "7000001",
        "GITHUB_ACTOR": "octocat-dev",
        **issuer.runner_environ(),
    }
    for name, value in runner.items():
        monkeypatch.setenv(name, value)
    return issuer


def write_config(git_repo: GitRepo, bao: BaoServer, path: str, audience: str) -> None:
    git_repo.write(
        ".leakstop.yaml",
        "version: 1\nproviders:\n"
        f"  vault: {{type: vault, url: '{bao.url}',\n"
        f"          auth: {{method: jwt, role: {ROLE}, audience: '{audience}'}}}}\n"
        "secrets:\n  - name: billing/db-password\n"
        f"    store: {{provider: vault, mount: secret, path: {path}, key: password}}\n"
        "    policy: {interval: 30d}\n",
    )


def assert_no_credentials(text: str, issuer: OidcIssuer) -> None:
    assert issuer.request_token not in text
    for token in issuer.minted:
        assert token not in text
        assert token.split(".")[2] not in text
    assert not VAULT_TOKEN.search(text), VAULT_TOKEN.search(text)


def test_a_job_rotates_a_leaked_vault_password_with_its_oidc_token(
    bao: BaoServer,
    job: OidcIssuer,
    git_repo: GitRepo,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path="billing/db", secret={"password": LEAKED, "user": "billing"}, mount_point="secret"
    )
    write_config(git_repo, bao, "billing/db", AUDIENCE)
    git_repo.write("config/database.yml", f"production:\n  password: {LEAKED}\n")
    git_repo.commit("database config")
    seen: list[str] = []

    with caplog.at_level(logging.DEBUG):
        assert main(["providers", "check", "-vv"]) == 0
        seen.append(capsys.readouterr().out)
        assert main(["respond", "-j", "1", "-vv"]) == 0
        plan = capsys.readouterr()
        seen += [plan.out, plan.err]
        assert main(["respond", "--apply", "-j", "1", "-vv"]) == 0
        applied = capsys.readouterr()
        seen += [applied.out, applied.err]

    assert "confirmed: the current value of billing/db-password" in plan.out
    assert "billing/db-password: rotated (version 1 → 2)" in applied.out
    stored = kv_data(bao.admin, "billing/db")
    assert stored["password"] != LEAKED
    assert stored["user"] == "billing"
    # One login per command, each with a token asked for the configured audience.
    assert job.audiences == [AUDIENCE] * 3
    assert len(job.minted) == len(job.audiences)

    assert main(["audit", "verify"]) == 0
    assert main(["audit", "query", "--secret", "billing/db-password", "-f", "json"]) == 0
    records = capsys.readouterr().out
    assert '"rotation_completed"' in records
    assert '"action"' in records  # the records say the run was a GitHub Actions one
    audit_files = "".join(p.read_text() for p in (private_home / "audit").glob("*.jsonl"))
    # In Actions, respond first tells the runner to mask each found secret: the
    # `::add-mask::` command line is the runner's, never shown in the job's log.
    masks = [line for text in seen for line in text.splitlines() if line.startswith("::add-mask::")]
    assert f"::add-mask::{LEAKED}" in masks
    seen = [
        "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
        for text in seen
    ]
    for text in (*seen, caplog.text, records, audit_files):
        assert_no_credentials(text, job)
        assert LEAKED not in text
        assert stored["password"] not in text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"repository": "mallory/billing"}, 'claim "repository" does not match'),
        ({"audience": "https://vault.elsewhere.example"}, "invalid audience (aud) claim"),
        ({"expired": True}, "token is expired"),
    ],
)
def test_a_job_vault_does_not_admit_fails_in_one_line(
    bao: BaoServer,
    job: OidcIssuer,
    git_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    reason: str,
) -> None:
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path="billing/refused", secret={"password": LEAKED}, mount_point="secret"
    )
    write_config(git_repo, bao, "billing/refused", change.get("audience", AUDIENCE))
    if "repository" in change:
        job.for_job(repository=change["repository"])
    if change.get("expired"):
        job.issued_at = 1_700_000_000  # long before now; the token lived 5 minutes

    assert main(["rotate", "billing/db-password", "--apply"]) == 2

    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert f"vault 'vault': JWT login as role '{ROLE}' at auth/jwt: " in line
    assert reason in line
    assert "Traceback" not in err
    assert_no_credentials(out + err, job)
    assert kv_data(bao.admin, "billing/refused")["password"] == LEAKED  # nothing was touched
