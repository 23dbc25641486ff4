"""The GitHub Action end to end: its composite steps run in order, as the runner runs them,
on a shallow clone of a real repository (what actions/checkout makes), for pull_request and
push events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import (
    AWS_KEY_ID,
    GITHUB_TOKEN,
    OWN_COMMANDS,
    GitRepo,
    assert_safe_output,
)
from tests.e2e.actions_runner import CompositeRunner, RunResult

pytestmark = pytest.mark.e2e
CHECKOUT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads(
    (CHECKOUT / "tests" / "data" / "schemas" / "sarif-schema-2.1.0.json").read_text()
)


class Uploads:
    """Stands in for github/codeql-action/upload-sarif; can refuse like a read-only token."""

    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[dict[str, str]] = []
        self.refuse = refuse

    def __call__(self, inputs: dict[str, str]) -> dict[str, str]:
        self.calls.append(inputs)
        if self.refuse:
            raise RuntimeError("Resource not accessible by integration")
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(
            json.loads(Path(inputs["sarif_file"]).read_text())
        )
        return {}


def cache_hit(inputs: dict[str, str]) -> dict[str, str]:
    """A restored cache: the virtualenv path holds this test's own environment."""
    venv = Path(inputs["path"].splitlines()[0])
    venv.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(sys.prefix, venv)
    return {"cache-hit": "true"}


def standins(uploads: Uploads | None = None, cache: Any = cache_hit) -> dict[str, Any]:
    """The third-party actions the composite steps use, as these tests stand them in."""
    return {
        "actions/setup-python": lambda _inputs: {"python-path": sys.executable},
        "actions/cache": cache,
        "github/codeql-action/upload-sarif": uploads or Uploads(),
    }


def run_action(
    workspace: Path,
    event_name: str,
    event: dict[str, Any],
    inputs: dict[str, str] | None = None,
    uploads: Uploads | None = None,
    cache: Any = cache_hit,
) -> RunResult:
    runner = CompositeRunner(
        CHECKOUT,
        workspace,
        event_name,
        event,
        standins=standins(uploads, cache),
    )
    return runner.run(inputs or {})


def _assert_secret_only_in_masks(result: RunResult, *secrets: str) -> None:
    for line in (result.log + result.summary).splitlines():
        if any(secret in line for secret in secrets):
            assert line.startswith("::add-mask::"), f"a secret is printed: {line[:40]}"


@pytest.fixture
def pull_request(git_repo: GitRepo, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """main has a config; the PR adds a secret *and* tries to allowlist everything."""
    git_repo.write(".leakstop.yaml", "version: 1\n")
    git_repo.write("app.env", "MODE=prod\n")
    base = git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("app.env", f"MODE=prod\nGITHUB_TOKEN={GITHUB_TOKEN}\n")
    git_repo.write(".leakstop.yaml", "version: 1\nallowlist:\n  paths: ['**']\n")
    head = git_repo.commit("add token and silence the scanner")
    git_repo.git("checkout", "-q", "main")
    git_repo.write("other.txt", "main moved on\n")
    git_repo.commit("main moves")
    git_repo.git("checkout", "-q", "-b", "pull-7-merge")
    git_repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    event = {
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": head, "ref": "feature", "repo": {"fork": False, "full_name": "o/r"}},
        },
        "repository": {"default_branch": "main", "full_name": "o/r"},
    }
    return git_repo.shallow_clone(tmp_path / "workspace", "pull-7-merge").path, event


def test_pull_request(pull_request: tuple[Path, dict[str, Any]]) -> None:
    workspace, event = pull_request
    uploads = Uploads()
    result = run_action(workspace, "pull_request", event, uploads=uploads)

    assert result.steps["scan"].outcome == "success", result.log
    assert result.outputs["findings"] == "1"
    assert result.outputs["new-findings"] == "1"
    sarif_path = Path(result.outputs["sarif-path"])
    sarif = json.loads(sarif_path.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert (
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"][
            "uri"
        ]
        == "app.env"
    )
    # The PR's allowlist of everything was ignored: config comes from the base commit.
    assert "using config, rule files and baseline from the base commit" in result.log
    assert (
        f"Equivalent local command: leakstop scan --diff {event['pull_request']['base']['sha']}.."
        in result.log
    )
    # Annotation on the added line, most severe level first.
    assert (
        "::error file=app.env,line=2,endLine=2,title=leakstop%3A github-pat,col=14,endColumn=54::"
        in result.log
    )
    # Job summary: a table, redacted.
    assert "| 🔴 critical | `github-pat` | `app.env:2` | `ghp_…4xXH` |" in result.summary
    _assert_secret_only_in_masks(result, GITHUB_TOKEN)
    assert f"::add-mask::{GITHUB_TOKEN}" in result.log
    # The upload got the SARIF file, and the job fails at the end, after the upload.
    assert uploads.calls == [{"sarif_file": str(sarif_path), "category": "leakstop"}]
    assert result.steps["verdict"].outcome == "failure"
    assert result.failed


@pytest.mark.skipif(sys.platform != "linux", reason="newlines and ESC in file names: Linux")
def test_hostile_names_cannot_steer_the_runner(git_repo: GitRepo, tmp_path: Path) -> None:
    """A pull request adds files whose names and lines hold workflow commands: every line of
    the log is still either ours or inert, and the reports keep the exact paths."""
    git_repo.write("README.md", "# demo\n")
    base = git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    names = ["a\n::stop-commands::x.env", "##[error]b.env"]
    for index, name in enumerate(names):
        git_repo.write(name, f"TOKEN_{index}={GITHUB_TOKEN}\n")
    git_repo.write("c.env", f"\x1b[2K\x1b[1A ##[stop-commands]tok \u202e T={GITHUB_TOKEN}\n")
    head = git_repo.commit("\x1b[2K##[stop-commands]tok")
    event = {
        "pull_request": {
            "number": 3,
            "base": {"sha": base},
            "head": {"sha": head, "repo": {"fork": False}},
        }
    }
    workspace = git_repo.shallow_clone(tmp_path / "ws", "feature").path
    result = run_action(workspace, "pull_request", event, {"log-level": "debug"})

    assert result.outputs["findings"] == "3", result.log
    assert_safe_output(result.log, OWN_COMMANDS)
    assert_safe_output(result.summary)
    annotations = [line for line in result.log.splitlines() if line.startswith("::error file=")]
    assert len(annotations) == 3
    assert "::error file=a\\n%3A%3Astop-commands%3A%3Ax.env,line=1," in result.log
    assert "`##\\[error]b.env:1`" in result.summary
    sarif = json.loads(Path(result.outputs["sarif-path"]).read_text())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert {urllib.parse.unquote(uri) for uri in uris} == {*names, "c.env"}
    _assert_secret_only_in_masks(result, GITHUB_TOKEN)
    assert result.failed


def test_fork_pull_request_skips_the_upload_with_a_warning(
    pull_request: tuple[Path, dict[str, Any]],
) -> None:
    workspace, event = pull_request
    event["pull_request"]["head"]["repo"]["fork"] = True
    uploads = Uploads()
    result = run_action(workspace, "pull_request", event, uploads=uploads)
    assert uploads.calls == []
    assert result.steps["upload"].outcome == "skipped"
    assert "::warning title=leakstop::The SARIF report was not uploaded" in result.log
    assert "::error file=app.env" in result.log


def test_a_refused_upload_warns_but_does_not_fail(
    pull_request: tuple[Path, dict[str, Any]],
) -> None:
    workspace, event = pull_request
    result = run_action(
        workspace, "pull_request", event, {"fail-on": "none"}, uploads=Uploads(refuse=True)
    )
    assert result.steps["upload"].outcome == "failure"
    assert "security-events: write" in result.log
    assert result.steps["verdict"].outcome == "skipped"
    assert not result.failed


def test_baseline_from_the_base_commit(git_repo: GitRepo, tmp_path: Path) -> None:
    """A secret the base's baseline knows is not new; fail-on: new passes."""
    git_repo.write("old.env", f"aws_access_key_id={AWS_KEY_ID}\n")
    git_repo.commit("old leak")
    created = subprocess.run(
        [sys.executable, "-m", "leakstop", "baseline", "create"],
        cwd=git_repo.path,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    base = git_repo.commit("baseline")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("copy.env", f"AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")  # the same, known secret
    head = git_repo.commit("copy")
    event = {
        "pull_request": {
            "number": 1,
            "base": {"sha": base},
            "head": {"sha": head, "repo": {"fork": False}},
        }
    }
    workspace = git_repo.shallow_clone(tmp_path / "ws", "feature").path
    result = run_action(workspace, "pull_request", event, {"baseline": ".leakstop-baseline.json"})
    assert (result.outputs["findings"], result.outputs["new-findings"]) == ("1", "0"), result.log
    assert not result.failed
    assert "1 known findings are in the baseline" in result.summary
    sarif = json.loads(Path(result.outputs["sarif-path"]).read_text())
    assert sarif["runs"][0]["results"][0]["suppressions"][0]["status"] == "accepted"


def test_push_scans_every_pushed_commit(git_repo: GitRepo, tmp_path: Path) -> None:
    """A secret added and removed within one push is still found (history of the range)."""
    git_repo.write("app.env", "A=1\n")
    before = git_repo.commit("before")
    git_repo.write("app.env", f"A=1\nTOKEN={GITHUB_TOKEN}\n")
    oops = git_repo.commit("oops")
    git_repo.write("app.env", "A=1\n")
    after = git_repo.commit("fix")
    workspace = git_repo.shallow_clone(tmp_path / "ws", "main").path
    event = {"before": before, "after": after, "repository": {"default_branch": "main"}}
    result = run_action(workspace, "push", event)
    assert result.outputs["findings"] == "1", result.log
    assert f"| {oops[:10]} |" in result.summary  # the commit that introduced it
    assert result.failed


def test_push_of_a_new_branch_compares_with_the_default_branch(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.write("main.env", f"aws_access_key_id={AWS_KEY_ID}\n")  # on main: not this push's
    git_repo.commit("main")
    git_repo.git("checkout", "-q", "-b", "topic")
    git_repo.write("topic.env", f"TOKEN={GITHUB_TOKEN}\n")
    after = git_repo.commit("topic work")
    workspace = git_repo.shallow_clone(tmp_path / "ws", "topic").path
    event = {"before": "0" * 40, "after": after, "repository": {"default_branch": "main"}}
    result = run_action(workspace, "push", event, {"fail-on": "any"})
    assert result.outputs["findings"] == "1", result.log
    assert "::error file=topic.env" in result.log


def test_deleted_branch_has_nothing_to_scan(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.txt", "x\n")
    before = git_repo.commit("x")
    workspace = git_repo.shallow_clone(tmp_path / "ws", "main").path
    event = {"before": before, "after": "0" * 40, "deleted": True}
    result = run_action(workspace, "push", event)
    assert result.outputs["findings"] == "0"
    assert "a deleted branch: nothing to scan" in result.log
    assert not result.failed


def test_scheduled_scan_fetches_the_whole_history(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("old.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("old secret")
    (git_repo.path / "old.env").unlink()
    for number in range(3):
        git_repo.write("n.txt", f"{number}\n")
        git_repo.commit(f"later {number}")
    workspace = git_repo.shallow_clone(tmp_path / "ws", "main").path
    result = run_action(workspace, "schedule", {"schedule": "17 4 * * 1"})
    assert result.outputs["findings"] == "1", result.log
    assert (workspace / ".git" / "shallow").exists() is False


def test_inputs_reach_the_scan(pull_request: tuple[Path, dict[str, Any]]) -> None:
    workspace, event = pull_request
    result = run_action(
        workspace,
        "pull_request",
        event,
        {
            "exclude-paths": "docs/\n*.env\n",
            "annotations": "false",
            "summary": "false",
            "log-level": "debug",
        },
    )
    assert result.outputs["findings"] == "0"
    assert "--exclude-path docs/ --exclude-path '*.env'" in result.log
    assert "::error" not in result.log
    assert result.summary == ""


@pytest.mark.slow
def test_install_from_the_action_checkout(pull_request: tuple[Path, dict[str, Any]]) -> None:
    """A cache miss: the install step builds leakstop from the action's own checkout."""
    workspace, event = pull_request
    misses: list[dict[str, str]] = []

    def cache_miss(inputs: dict[str, str]) -> dict[str, str]:
        misses.append(inputs)
        return {"cache-hit": "false"}

    result = run_action(workspace, "pull_request", event, {"fail-on": "none"}, cache=cache_miss)
    assert result.steps["install"].outcome == "success", result.steps["install"].stderr
    assert misses[0]["key"].startswith("leakstop-Linux-X64-py")
    assert result.outputs["findings"] == "1"


def test_a_pull_request_cannot_weaken_its_scan_by_any_file(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    """The PR rewrites the extra rule file to redefine github-pat, marks every file binary
    for git, and hides a second token in a file named like a baseline: every token is still
    found, because what shapes the scan is read from the base commit."""
    acme = (
        "version: 1\nrules:\n  - id: acme-key\n    description: ACME key\n"
        "    regex: '\\b(?P<secret>acme_[a-z0-9]{32})\\b'\n    keywords: [acme_]\n"
    )
    git_repo.write("security/rules.yaml", acme)
    git_repo.write("app.env", "MODE=prod\n")
    base = git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write(
        "security/rules.yaml",
        "version: 1\nrules:\n  - id: github-pat\n    description: nothing\n"
        "    regex: 'x{900}'\n    keywords: [xxxx]\n",
    )
    git_repo.write(".gitattributes", "* -diff\n")
    git_repo.write("app.env", f"MODE=prod\nGITHUB_TOKEN={GITHUB_TOKEN}\n")
    git_repo.write("sub/.secrets.baseline", f"aws_access_key_id={AWS_KEY_ID}\n")
    head = git_repo.commit("weaken the scan")
    event = {
        "pull_request": {
            "number": 3,
            "base": {"sha": base},
            "head": {"sha": head, "repo": {"fork": False}},
        }
    }
    workspace = git_repo.shallow_clone(tmp_path / "ws", "feature").path
    result = run_action(workspace, "pull_request", event, {"extra-rules": "security/rules.yaml"})
    assert result.outputs["findings"] == "2", result.log
    assert "::error file=app.env,line=2" in result.log
    assert "file=sub/.secrets.baseline" in result.log
    assert result.failed


def test_an_event_cannot_smuggle_options_into_git(
    pull_request: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    workspace, event = pull_request
    marker = tmp_path / "pwned"
    event["pull_request"]["base"]["sha"] = f"--upload-pack=touch {marker};true"
    result = run_action(workspace, "pull_request", event)
    assert result.steps["scan"].outcome == "failure"
    assert "is not a full commit id" in result.log
    assert not marker.exists()
