"""The Action's respond mode end to end on its composite steps, as a runner runs them: a push to
the default branch commits a password that is the current value of a Vault-managed secret; the
job has no stored Vault credential, only the runner's OIDC variables. `respond: plan` confirms
the leak; `respond: apply` with the plan's digest rotates it in OpenBao. The run's audit records
reach the `leakstop-audit` branch of a bare repository (verifiable from a clone), the
`audit-path` artifact file and the job summary; no step's log shows a credential."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakstop.cli import main
from tests.conftest import GitRepo
from tests.e2e.actions_runner import CompositeRunner, RunResult
from tests.e2e.test_action import CHECKOUT, standins
from tests.rotator.providers.bao import BaoServer, kv_data, running_bao
from tests.rotator.providers.bao_jwt import add_jwt_role, configure_jwt_auth
from tests.rotator.providers.oidc_issuer import Job, OidcIssuer, running_issuer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPOSITORY = "acme/ledger"
AUDIENCE = "https://vault.ledger.acme.example"
ROLE = "leakstop-ledger"
LEAKED = "Tq6wRz3YpK8nVx2LmB4s"
AUDIT_KEY = "audit key of the action respond vault e2e"
#: An OpenBao/Vault token: service (`s.`) or the newer `hvs.` form.
VAULT_TOKEN = re.compile(r"\b(?:hv)?s\.[A-Za-z0-9]{24}\b")


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    yield from running_issuer()


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory, issuer: OidcIssuer) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao-action-e2e")):
        configure_jwt_auth(server, issuer)
        add_jwt_role(server, ROLE, AUDIENCE, {"repository": REPOSITORY})
        yield server


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def _config(bao: BaoServer, audit_remote: Path) -> str:
    return (
        "version: 1\n"
        "providers:\n"
        f"  vault: {{type: vault, url: '{bao.url}',\n"
        f"          auth: {{method: jwt, role: {ROLE}, audience: '{AUDIENCE}'}}}}\n"
        "secrets:\n"
        "  - name: ledger/db-password\n"
        "    store: {provider: vault, mount: secret, path: billing/ledger-db, key: password}\n"
        "audit:\n"
        f"  sinks:\n    - {{type: git, remote: '{audit_remote}', branch: leakstop-audit}}\n"
    )


@pytest.fixture
def pushed(
    bao: BaoServer, git_repo: GitRepo, tmp_path: Path, private_home: Path
) -> tuple[Path, dict[str, Any], Path]:
    """main holds the config; a push to main adds the Vault secret's current value. Returns
    the runner's checkout, the push event and the bare repository of the audit branch."""
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path="billing/ledger-db",
        secret={"password": LEAKED, "user": "ledger"},
        mount_point="secret",
    )
    audit_remote = tmp_path / "audit.git"
    _git("init", "--quiet", "--bare", str(audit_remote))
    git_repo.write(".leakstop.yaml", _config(bao, audit_remote))
    git_repo.write("config/database.yml", "production:\n  adapter: postgresql\n")
    before = git_repo.commit("config")
    git_repo.write("config/database.yml", f"production:\n  password: {LEAKED}\n")
    after = git_repo.commit("database password")
    event = {
        "before": before,
        "after": after,
        "ref": "refs/heads/main",
        "repository": {"default_branch": "main", "full_name": REPOSITORY, "fork": False},
    }
    return git_repo.shallow_clone(tmp_path / "workspace", "main").path, event, audit_remote


def run_action(
    workspace: Path, event: dict[str, Any], issuer: OidcIssuer, inputs: dict[str, str]
) -> RunResult:
    runner = CompositeRunner(
        CHECKOUT,
        workspace,
        "push",
        event,
        standins=standins(),
        extra_env={
            "LEAKSTOP_AUDIT_KEY": AUDIT_KEY,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_RUN_ID": "8100042",
            "GITHUB_ACTOR": "octocat-ops",
            **issuer.runner_environ(),
        },
    )
    return runner.run({"mode": "respond", **inputs})


def kv(bao: BaoServer) -> dict[str, Any]:
    return kv_data(bao.admin, "billing/ledger-db")


def assert_log_holds_no_credential(log: str, secrets: list[str], issuer: OidcIssuer) -> None:
    """Only the runner's `::add-mask::` lines may carry a secret (the runner hides those)."""
    for line in log.splitlines():
        if line.startswith("::add-mask::"):
            continue
        for secret in secrets:
            assert secret not in line, f"a secret is printed: {line[:30]}"
        assert issuer.request_token not in line
        for token in issuer.minted:
            assert token not in line
            assert token.split(".")[2] not in line
        assert not VAULT_TOKEN.search(line), line[:30]


def _show(job: str, result: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The job's summary and outputs, printed when LEAKSTOP_TRANSCRIPT is set (the run's
    transcript: `LEAKSTOP_TRANSCRIPT=1 pytest tests/e2e/test_action_respond_vault.py`)."""
    if not os.environ.get("LEAKSTOP_TRANSCRIPT"):
        return
    with capsys.disabled():
        print(f"\n==== {job}: outputs")
        for name, value in sorted(result.outputs.items()):
            print(f"{name}={value}")
        print(f"==== {job}: job summary\n{result.summary}")


def test_a_pushed_vault_password_is_planned_approved_and_rotated(
    bao: BaoServer,
    issuer: OidcIssuer,
    pushed: tuple[Path, dict[str, Any], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace, event, audit_remote = pushed
    issuer.job = Job(repository=REPOSITORY)
    issuer.issued_at = None
    issuer.audiences.clear()
    issuer.minted.clear()
    for name in ("VAULT_TOKEN", "VAULT_ADDR", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)

    planned = run_action(workspace, event, issuer, {"respond": "plan"})

    assert planned.steps["respond"].outcome == "success", planned.log
    assert (planned.outputs["confirmed"], planned.outputs["rotated"]) == ("1", "0"), (
        planned.log + planned.summary
    )
    digest = planned.outputs["plan-digest"]
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "confirmed: the current value of ledger/db-password" in planned.summary
    assert kv(bao)["password"] == LEAKED  # a plan touches nothing
    _show("plan job", planned, capsys)

    applied = run_action(workspace, event, issuer, {"respond": "apply", "plan-digest": digest})
    _show("apply job", applied, capsys)

    assert applied.steps["respond"].outcome == "success", applied.log
    assert (applied.outputs["confirmed"], applied.outputs["rotated"]) == ("1", "1")
    stored = kv(bao)
    new = stored["password"]
    assert new != LEAKED
    assert stored["user"] == "ledger"
    # Each job logged in with its own OIDC token, asked for the configured audience.
    assert issuer.audiences
    assert set(issuer.audiences) == {AUDIENCE}

    # The job summary shows the outcome and the run's audit records.
    assert "## leakstop response plan (applied)" in applied.summary
    assert "| `ledger/db-password` | rotated |" in applied.summary
    assert "### Audit records of this run" in applied.summary
    assert "| rotation_completed | `ledger/db-password` | ok |" in applied.summary

    # The artifact file: exactly the records the apply run appended, ending its work.
    artifact = Path(applied.outputs["audit-path"])
    run_records = [json.loads(line) for line in artifact.read_text().splitlines()]
    actions = [r["action"] for r in run_records]
    assert "rotation_completed" in actions
    assert "finding_detected" in actions
    assert all(r["seq"] > 0 for r in run_records)

    # The audit branch holds both runs' records and verifies from a clone.
    clone = tmp_path / "audit-clone"
    _git("clone", "--quiet", "--branch", "leakstop-audit", str(audit_remote), str(clone))
    branch_records = [
        json.loads(line) for path in sorted(clone.glob("audit-*.jsonl")) for line in path.open()
    ]
    # Copies keep each record's id; both runs' records are there, in order.
    branch_ids = [r["id"] for r in branch_records]
    planned_ids = [
        json.loads(line)["id"]
        for line in Path(planned.outputs["audit-path"]).read_text().splitlines()
    ]
    assert branch_ids == planned_ids + [r["id"] for r in run_records]
    assert [r["seq"] for r in branch_records] == list(range(1, len(branch_records) + 1))
    assert len(_git("log", "--format=%H", cwd=clone).split()) == 2  # one commit per run
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    assert main(["audit", "verify", "--dir", str(clone)]) == 0
    assert f"{len(branch_records)} records" in capsys.readouterr().out

    # No step's log, summary, plan or audit record shows a credential: the runner was asked
    # to mask the leaked value, and that request is the only line that holds it.
    assert f"::add-mask::{LEAKED}" in planned.log
    secrets = [LEAKED, new, bao.root_token]
    for result in (planned, applied):
        assert_log_holds_no_credential(result.log, secrets, issuer)
    texts = [planned.summary, applied.summary, artifact.read_text()]
    texts += [Path(applied.outputs["plan-path"]).read_text()]
    texts += [p.read_text() for p in clone.glob("audit-*.jsonl")]
    for text in texts:
        assert_log_holds_no_credential(text, secrets, issuer)
