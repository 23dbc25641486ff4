"""A pull request that weakens its own scan (blanket allowlist, baseline entry, inline
`leakstop:allow` on a live token) is flagged, and its own high-severity leak stays a finding:
`leakstop action` on a shallow clone of a real repository, as the runner runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GITHUB_TOKEN, GitRepo, assert_safe_output, installed_tool

pytestmark = pytest.mark.e2e

#: A low-severity custom rule: an inline allow on it is honoured (only listed).
LOW_RULE = """\
version: 1
rules:
  - id: acme-ticket
    description: ACME ticket key
    regex: '\\b(?P<secret>acme_[a-z0-9]{16})\\b'
    keywords: [acme_]
    severity: low
"""
ACME_KEY = "acme_k3j9x2m7q4w8e1r5"


@dataclass
class ActionRun:
    returncode: int
    log: str
    stderr: str
    summary: str
    sarif: dict[str, Any]
    outputs: str


def pull_request_action(
    git_repo: GitRepo, tmp_path: Path, change: dict[str, str | bytes], *args: str
) -> ActionRun:
    """Branch `feature` off main, apply `change` (path → content), make the merge commit
    GitHub checks out, clone it one commit deep and run `leakstop action` on it."""
    base = git_repo.git("rev-parse", "HEAD").strip()
    git_repo.git("checkout", "-q", "-b", "feature")
    for path, content in change.items():
        git_repo.write(path, content)
    head = git_repo.commit("the pull request")
    git_repo.git("checkout", "-q", "-b", "pull-9-merge", base)
    git_repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    workspace = git_repo.shallow_clone(tmp_path / "workspace", "pull-9-merge").path
    event = {
        "number": 9,
        "pull_request": {
            "number": 9,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": head, "ref": "feature", "repo": {"fork": True}},
        },
        "repository": {"default_branch": "main"},
    }
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "event.json").write_text(json.dumps(event))
    env = {
        **{k: v for k, v in os.environ.items() if k != "LEAKSTOP_CONFIG"},
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(runner / "event.json"),
        "RUNNER_TEMP": str(runner),
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_OUTPUT": str(runner / "output"),
    }
    executable = installed_tool("leakstop")
    command = [executable] if executable else [sys.executable, "-m", "leakstop"]
    sarif = runner / "out.sarif"
    done = subprocess.run(
        [*command, "action", "--sarif-file", str(sarif), *args],
        cwd=workspace,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    summary = runner / "summary.md"
    return ActionRun(
        done.returncode,
        done.stdout,
        done.stderr,
        summary.read_text() if summary.exists() else "",
        json.loads(sarif.read_text()) if sarif.exists() else {},
        (runner / "output").read_text() if (runner / "output").exists() else "",
    )


@pytest.fixture
def main(git_repo: GitRepo) -> GitRepo:
    git_repo.write(".leakstop.yaml", LOW_RULE)
    git_repo.write("app.env", "MODE=prod\n")
    git_repo.commit("base")
    return git_repo


def _output(run: ActionRun, name: str) -> str:
    """One step output from $GITHUB_OUTPUT (`name<<DELIMITER`, value, DELIMITER)."""
    lines = run.outputs.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"{name}<<"):
            return lines[index + 1]
    raise AssertionError(f"no output {name!r}")


def _warnings(run: ActionRun) -> list[str]:
    return [line for line in run.log.splitlines() if line.startswith("::warning title=")]


def _assert_no_secret(run: ActionRun, *secrets: str) -> None:
    for text in (run.log, run.stderr, run.summary, json.dumps(run.sarif)):
        for line in text.splitlines():
            if any(secret in line for secret in secrets):
                assert line.startswith("::add-mask::"), f"a secret is printed: {line[:30]}"
    assert_safe_output(run.summary)


def test_a_blanket_allowlist_is_flagged_and_does_not_apply(main: GitRepo, tmp_path: Path) -> None:
    run = pull_request_action(
        main,
        tmp_path,
        {
            ".leakstop.yaml": LOW_RULE + "allowlist:\n  paths: ['**']\n",
            "app.env": f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n",
        },
    )
    assert run.returncode == 1, run.log + run.stderr
    assert _output(run, "findings") == "1"
    assert "this pull request suppresses 1 finding and loosens the scan in 1 way" in run.log
    (warning,) = _warnings(run)
    assert "github-pat at app.env:2" in warning
    assert "by its config" in warning
    assert "adds an allowlist for every rule: paths **" in warning
    assert "### ⚠️ Suppressed by this pull request" in run.summary
    assert "| `github-pat` | `app.env:2` | `ghp_…" in run.summary
    assert "| its config | yes |" in run.summary
    _assert_no_secret(run, GITHUB_TOKEN)


def test_a_new_baseline_entry_is_flagged(main: GitRepo, tmp_path: Path) -> None:
    main.write(".leakstop-baseline.json", _empty_baseline(main))
    main.commit("empty baseline")
    # The pull request's baseline lists its own token (made as a user would, by the command).
    main.git("checkout", "-q", "-b", "draft")
    main.write("app.env", f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n")
    baseline = _baseline_of(main)
    main.git("checkout", "-q", "--", ".")
    main.git("checkout", "-q", "main")
    main.git("branch", "-q", "-D", "draft")
    run = pull_request_action(
        main,
        tmp_path,
        {".leakstop-baseline.json": baseline, "app.env": f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n"},
        "--baseline",
        ".leakstop-baseline.json",
    )
    assert run.returncode == 1, run.log + run.stderr
    (warning,) = _warnings(run)
    assert "github-pat at app.env:2" in warning
    assert "by its baseline" in warning
    assert "adds 1 baseline entry: app.env" in warning
    assert "| its baseline | yes |" in run.summary
    _assert_no_secret(run, GITHUB_TOKEN)


def test_an_inline_allow_on_a_live_token_is_reported_anyway(main: GitRepo, tmp_path: Path) -> None:
    run = pull_request_action(
        main,
        tmp_path,
        {
            "app.env": (
                f"MODE=prod\nTOKEN={GITHUB_TOKEN}  # leakstop:allow\n"
                f"# pragma: allowlist nextline secret\nTICKET={ACME_KEY}\n"
            )
        },
    )
    assert run.returncode == 1, run.log + run.stderr
    assert _output(run, "findings") == "1"  # the token; the low-severity ticket key stays allowed
    assert "this pull request suppresses 2 findings (1 reported anyway" in run.log
    errors = [line for line in run.log.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    assert "suppressed by this pull request; reported%3A live or high severity" in errors[0]
    assert "file=app.env,line=2," in errors[0]
    (result,) = run.sarif["runs"][0]["results"]
    assert result["ruleId"] == "github-pat"
    assert result["properties"]["suppressedByThisChange"] is True
    assert "| `acme-ticket` | `app.env:4` |" in run.summary
    assert "| a leakstop:allow comment it adds | no |" in run.summary
    assert "| a leakstop:allow comment it adds | yes |" in run.summary
    _assert_no_secret(run, GITHUB_TOKEN, ACME_KEY)


def test_an_inline_allow_on_a_low_severity_line_is_listed_not_failed(
    main: GitRepo, tmp_path: Path
) -> None:
    run = pull_request_action(
        main, tmp_path, {"app.env": f"MODE=prod\nTICKET={ACME_KEY}  # leakstop:allow\n"}
    )
    assert run.returncode == 0, run.log + run.stderr
    assert _output(run, "findings") == "0"
    (warning,) = _warnings(run)
    assert "acme-ticket at app.env:2" in warning
    assert "by a leakstop:allow comment it adds" in warning


def test_a_pull_request_that_weakens_nothing_gets_no_section(main: GitRepo, tmp_path: Path) -> None:
    run = pull_request_action(main, tmp_path, {"app.env": f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n"})
    assert run.returncode == 1, run.log + run.stderr
    assert not _warnings(run)
    assert "Suppressed by this pull request" not in run.summary


def test_a_config_that_does_not_load_cannot_hide_its_markers(main: GitRepo, tmp_path: Path) -> None:
    run = pull_request_action(
        main,
        tmp_path,
        {
            ".leakstop.yaml": "version: 1\nallowlist: [oops\n",
            "app.env": f"MODE=prod\nTOKEN={GITHUB_TOKEN}  # leakstop:allow\n",
        },
    )
    assert run.returncode == 1, run.log + run.stderr
    assert "Its own config does not load" in run.summary
    assert "| a leakstop:allow comment it adds | yes |" in run.summary
    assert "Traceback" not in run.stderr


def _empty_baseline(repo: GitRepo) -> str:
    return _baseline_of(repo)


def _baseline_of(repo: GitRepo) -> str:
    executable = installed_tool("leakstop")
    command = [executable] if executable else [sys.executable, "-m", "leakstop"]
    out = repo.path.parent / "baseline-made.json"
    subprocess.run(
        [*command, "baseline", "create", "-o", str(out), "."],
        cwd=repo.path,
        capture_output=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"},
    )
    return out.read_text()
