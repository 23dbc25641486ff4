"""The Action's respond and rotations modes end to end: the composite steps run as the runner
runs them, on a clone of a real repository, against the local store holding a managed secret
that the pushed commit leaks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.store import LocalStore
from tests.conftest import GitRepo, assert_safe_output
from tests.e2e.actions_runner import CompositeRunner, RunResult
from tests.e2e.test_action import CHECKOUT, standins

pytestmark = pytest.mark.e2e

MASTER = "master key of the action respond tests"
LEAKED = b"acme_Vb7Kq2Wx9Rm4Tz8Lp3Hn6Jd5Sf1Gc0Ya"
VAULT_TOKEN = "hvs.ActionRespondTestToken7Qm2"
CONFIG = """version: 1
providers:
  vault:
    type: vault
    url: "http://127.0.0.1:9"
    auth: {method: token, token_env: ACME_VAULT_TOKEN}
secrets:
  - name: billing/api-key
    store: {provider: local}
    generate: {length: 32, prefix: acme_}
"""


def run_action(
    workspace: Path, event_name: str, event: dict[str, Any], inputs: dict[str, str]
) -> RunResult:
    runner = CompositeRunner(
        CHECKOUT,
        workspace,
        event_name,
        event,
        standins=standins(),
        extra_env={"LEAKSTOP_MASTER_KEY": MASTER, "ACME_VAULT_TOKEN": VAULT_TOKEN},
    )
    return runner.run(inputs)


@pytest.fixture
def store(private_home: Path) -> LocalStore:
    audit_log = AuditLog.open(private_home / "audit", None)
    local = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("t", Source.API),
        iterations=1000,
    )
    local.write("billing/api-key", LEAKED, expected_version=None)
    return local


@pytest.fixture
def pushed(git_repo: GitRepo, tmp_path: Path, store: LocalStore) -> tuple[Path, dict[str, Any]]:
    """main holds the config; a push to main adds a file with the managed secret's value."""
    git_repo.write(".leakstop.yaml", CONFIG)
    git_repo.write("app.env", "MODE=prod\n")
    before = git_repo.commit("config")
    git_repo.write("app.env", f"MODE=prod\nACME_API_KEY={LEAKED.decode()}\n")
    after = git_repo.commit("leak the billing key")
    event = {
        "before": before,
        "after": after,
        "ref": "refs/heads/main",
        "repository": {"default_branch": "main", "full_name": "o/r", "fork": False},
    }
    return git_repo.shallow_clone(tmp_path / "workspace", "main").path, event


def _audit_records(result: RunResult) -> list[dict[str, Any]]:
    """The run's records from the audit-path output: exactly those this run appended."""
    path = Path(result.outputs["audit-path"])
    assert path.name == "audit-records.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records, "the run appended no audit records"
    seqs = [record["seq"] for record in records]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    return records


def _assert_no_secret(result: RunResult, *values: str) -> None:
    """No log line but a mask holds a value, and the summary holds none."""
    for line in result.log.splitlines():
        if any(value in line for value in values):
            assert line.startswith("::add-mask::"), f"a secret is printed: {line[:30]}"
    for value in values:
        assert value not in result.summary


def test_plan_confirms_the_leak_and_touches_nothing(
    pushed: tuple[Path, dict[str, Any]], store: LocalStore
) -> None:
    workspace, event = pushed
    result = run_action(workspace, "push", event, {"mode": "respond"})

    assert result.steps["respond"].outcome == "success", result.log
    assert result.steps["scan"].outcome == "skipped"
    assert not result.failed
    assert (result.outputs["confirmed"], result.outputs["rotated"], result.outputs["revoked"]) == (
        "1",
        "0",
        "0",
    )
    plan_path = Path(result.outputs["plan-path"])
    plan_text = plan_path.read_text()
    plan = json.loads(plan_text)
    assert plan["digest"] == result.outputs["plan-digest"]
    assert len(plan["digest"]) == 64
    assert plan["applied"] is False
    (entry,) = [e for e in plan["plan"] if e["confirmed"]]
    assert (entry["managed_secret"], entry["action"], entry["path"]) == (
        "billing/api-key",
        "rotate",
        "app.env",
    )
    assert entry["fingerprint"]
    assert LEAKED.decode() not in plan_text
    assert "## leakstop response plan (dry run)" in result.summary
    assert "| Rule | Location | Secret | Response | Provider | Status |" in result.summary
    assert "`app.env:2`" in result.summary
    assert "confirmed: the current value of billing/api-key" in result.summary
    assert f"Plan digest: `{plan['digest']}`" in result.summary
    audit = _audit_records(result)
    assert [r["action"] for r in audit] == ["secret_read", "finding_detected"]
    assert "| finding_detected | `" in result.summary
    assert store.read("billing/api-key") == LEAKED
    assert "using the config of the default branch main" in result.log
    # The provider credential named by token_env and the leaked value are masked, never shown.
    assert f"::add-mask::{VAULT_TOKEN}" in result.log
    assert f"::add-mask::{LEAKED.decode()}" in result.log
    _assert_no_secret(result, LEAKED.decode(), VAULT_TOKEN, MASTER)
    assert_safe_output(result.summary)


def test_apply_of_the_approved_plan_rotates(
    pushed: tuple[Path, dict[str, Any]], store: LocalStore
) -> None:
    workspace, event = pushed
    planned = run_action(workspace, "push", event, {"mode": "respond"})
    digest = planned.outputs["plan-digest"]

    applied = run_action(
        workspace, "push", event, {"mode": "respond", "respond": "apply", "plan-digest": digest}
    )

    assert applied.steps["respond"].outcome == "success", applied.log
    assert (applied.outputs["confirmed"], applied.outputs["rotated"]) == ("1", "1")
    assert applied.outputs["plan-digest"] == digest
    new = store.read("billing/api-key")
    assert isinstance(new, bytes)
    assert new != LEAKED
    assert new.startswith(b"acme_")
    assert "## leakstop response plan (applied)" in applied.summary
    assert "| `billing/api-key` | rotated |" in applied.summary
    plan = json.loads(Path(applied.outputs["plan-path"]).read_text())
    assert [(r["secret"], r["outcome"]) for r in plan["results"]] == [
        ("billing/api-key", "rotated")
    ]
    _assert_no_secret(applied, LEAKED.decode(), new.decode(), VAULT_TOKEN, MASTER)
    audit = _audit_records(applied)
    assert "rotation_completed" in [r["action"] for r in audit]
    assert "| rotation_completed | `billing/api-key` | ok |" in applied.summary
    for value in (LEAKED.decode(), new.decode(), MASTER):
        assert value not in Path(applied.outputs["audit-path"]).read_text()


def test_apply_refuses_a_plan_that_is_not_the_approved_one(
    pushed: tuple[Path, dict[str, Any]], store: LocalStore
) -> None:
    workspace, event = pushed
    result = run_action(
        workspace, "push", event, {"mode": "respond", "respond": "apply", "plan-digest": "0" * 64}
    )
    assert result.steps["respond"].outcome == "failure"
    assert "the plan is not the approved one (digest " in result.log
    assert "nothing was applied" in result.log
    assert "Traceback" not in result.log
    assert store.read("billing/api-key") == LEAKED
    # The job still says why it stopped, and hands over the records written before that.
    assert "### leakstop stopped" in result.summary
    assert "the plan is not the approved one" in result.summary
    actions = [r["action"] for r in _audit_records(result)]
    assert actions[-1] == "access_denied"
    assert "| access_denied | `plan:" in result.summary
    assert "| failed: the plan is not the approved one |" in result.summary


REFUSALS = {
    "pull_request": (
        "pull_request",
        {"pull_request": {"head": {"repo": {"fork": False}}}},
        "respond --apply never runs for pull_request events",
    ),
    "pull_request_target": (
        "pull_request_target",
        {"pull_request": {"head": {"repo": {"fork": False}}}},
        "respond --apply never runs for pull_request_target events",
    ),
    "fork pull request": (
        "pull_request",
        {"pull_request": {"head": {"repo": {"fork": True}}}},
        "respond --apply never runs for pull_request events",
    ),
    "workflow_run of a fork's pull request": (
        "workflow_run",
        {"workflow_run": {"head_repository": {"fork": True}}, "repository": {"fork": False}},
        "respond --apply never runs for a fork",
    ),
    "push to a fork": (
        "push",
        {"repository": {"fork": True}},
        "respond --apply never runs for a fork",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_apply_is_refused_for_pull_requests_and_forks(
    case: str, pushed: tuple[Path, dict[str, Any]], store: LocalStore
) -> None:
    workspace, push_event = pushed
    event_name, payload, message = REFUSALS[case]
    event = {**push_event, **payload}
    event["repository"] = {**push_event["repository"], **payload.get("repository", {})}
    result = run_action(workspace, event_name, event, {"mode": "respond", "respond": "apply"})
    assert result.steps["respond"].outcome == "failure"
    errors = [line for line in result.log.splitlines() if line.startswith("leakstop: error:")]
    assert len(errors) == 1, result.log
    assert message in errors[0]
    assert "Traceback" not in result.log
    assert store.read("billing/api-key") == LEAKED


def test_config_comes_from_the_default_branch_not_the_pushed_commit(
    git_repo: GitRepo, tmp_path: Path, store: LocalStore
) -> None:
    """A branch rewrites the config so that the leak would not be managed (and names another
    secret): its plan still confirms the leak, with the default branch's inventory."""
    git_repo.write(".leakstop.yaml", CONFIG)
    git_repo.commit("config")
    git_repo.git("checkout", "-q", "-b", "topic")
    git_repo.write(
        ".leakstop.yaml",
        "version: 1\nsecrets:\n  - name: other/thing\n    store: {provider: local}\n",
    )
    git_repo.write("app.env", f"ACME_API_KEY={LEAKED.decode()}\n")
    after = git_repo.commit("rewrite the config and leak")
    workspace = git_repo.shallow_clone(tmp_path / "ws", "topic").path
    event = {"before": "0" * 40, "after": after, "repository": {"default_branch": "main"}}
    result = run_action(workspace, "push", event, {"mode": "respond"})
    assert result.steps["respond"].outcome == "success", result.log
    assert result.outputs["confirmed"] == "1"
    assert "confirmed: the current value of billing/api-key" in result.summary
    assert "other/thing" not in result.summary


def test_a_default_branch_without_config_is_a_clear_error(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.write("app.env", "A=1\n")
    before = git_repo.commit("no config")
    git_repo.write("app.env", f"A=1\nACME_API_KEY={LEAKED.decode()}\n")
    after = git_repo.commit("leak")
    workspace = git_repo.shallow_clone(tmp_path / "ws", "main").path
    event = {"before": before, "after": after, "repository": {"default_branch": "main"}}
    result = run_action(workspace, "push", event, {"mode": "respond"})
    assert result.steps["respond"].outcome == "failure"
    assert (
        "leakstop: error: cannot read the config from the default branch main: .leakstop.yaml "
        "or .leakstop.yml is not there" in result.log
    )
    del event["repository"]
    result = run_action(workspace, "push", event, {"mode": "respond"})
    assert "the event payload has no repository.default_branch" in result.log
    assert "Traceback" not in result.log


def test_rotations_mode_rotates_what_is_due(
    git_repo: GitRepo, tmp_path: Path, store: LocalStore
) -> None:
    git_repo.write(
        ".leakstop.yaml",
        CONFIG.replace(
            "prefix: acme_}\n",
            "prefix: acme_}\n    policy: {interval: on_access, auto_rotate: true}\n",
        ),
    )
    git_repo.commit("config")
    store.read("billing/api-key")  # read once: on_access makes it due
    workspace = git_repo.shallow_clone(tmp_path / "ws", "main").path
    event = {"schedule": "23 5 * * *", "repository": {"default_branch": "main", "fork": False}}
    result = run_action(workspace, "schedule", event, {"mode": "rotations"})
    assert result.steps["rotations"].outcome == "success", result.log
    assert result.steps["scan"].outcome == "skipped"
    assert (result.outputs["due"], result.outputs["rotated"]) == ("1", "1")
    assert "## leakstop scheduled rotations" in result.summary
    assert "| `billing/api-key` |" in result.summary
    new = store.read("billing/api-key")
    assert isinstance(new, bytes)
    assert new != LEAKED
    _assert_no_secret(result, LEAKED.decode(), new.decode(), VAULT_TOKEN, MASTER)
    assert "rotation_completed" in [r["action"] for r in _audit_records(result)]
    assert "| rotation_completed | `billing/api-key` | ok |" in result.summary

    forked = {**event, "repository": {"default_branch": "main", "fork": True}}
    refused = run_action(workspace, "schedule", forked, {"mode": "rotations"})
    assert refused.steps["rotations"].outcome == "failure"
    assert "leakstop: error: rotations run never runs for a fork" in refused.log
    assert store.read("billing/api-key") == new


def test_plan_for_a_pull_request_covers_what_it_adds(
    git_repo: GitRepo, tmp_path: Path, store: LocalStore
) -> None:
    """A pull request may plan (never apply): the lines it adds, with the default branch's
    inventory even though the pull request deletes the config."""
    git_repo.write(".leakstop.yaml", CONFIG)
    git_repo.write("old.env", f"ACME_API_KEY={LEAKED.decode()}\n")  # on main: not the PR's
    base = git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    (git_repo.path / ".leakstop.yaml").unlink()
    git_repo.write("new.env", f"BILLING_API_KEY={LEAKED.decode()}\n")
    head = git_repo.commit("leak it again and drop the config")
    event = {
        "pull_request": {
            "number": 9,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": head, "repo": {"fork": False}},
        },
        "repository": {"default_branch": "main", "fork": False},
    }
    workspace = git_repo.shallow_clone(tmp_path / "ws", "feature").path
    result = run_action(workspace, "pull_request", event, {"mode": "respond"})
    assert result.steps["respond"].outcome == "success", result.log
    assert result.outputs["confirmed"] == "1"
    assert "`new.env:1`" in result.summary
    assert "old.env" not in result.summary
    assert store.read("billing/api-key") == LEAKED
    _assert_no_secret(result, LEAKED.decode())
