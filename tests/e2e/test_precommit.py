"""The pre-commit hook as users install it: `.pre-commit-config.yaml` naming this repository,
`pre-commit install`, then real `git commit`s."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GIT_GLOBAL_CONFIG, GITHUB_TOKEN, GitRepo, installed_tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def _run(repo: GitRepo, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(GIT_GLOBAL_CONFIG),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_COLOR": "never",
    }
    return subprocess.run(args, cwd=repo.path, capture_output=True, text=True, env=env, check=False)


def test_commit_with_a_secret_is_blocked_and_a_clean_one_passes(
    git_repo: GitRepo, pre_commit_home: Path
) -> None:
    pre_commit = installed_tool("pre-commit")
    assert pre_commit, "pre-commit is a test dependency"
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True, check=True
    ).stdout.strip()
    git_repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {CHECKOUT}\n    rev: {revision}\n    hooks:\n      - id: leakstop\n",
    )
    git_repo.write("README.md", "# project\n")
    git_repo.commit("initial")
    installed = _run(git_repo, pre_commit, "install", home=pre_commit_home)
    assert installed.returncode == 0, installed.stderr

    git_repo.write("settings.env", f"API=1\nGITHUB_TOKEN={GITHUB_TOKEN}\n")
    git_repo.git("add", "settings.env")
    blocked = _run(git_repo, "git", "commit", "-m", "add settings", home=pre_commit_home)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "settings.env" in output
    assert "2:14" in output
    assert "github-pat" in output
    assert "Commit blocked" in output
    assert GITHUB_TOKEN not in output
    assert git_repo.git("log", "--oneline").count("\n") == 1  # nothing was committed

    git_repo.write("settings.env", "API=1\nGITHUB_TOKEN=${GITHUB_TOKEN}\n")
    git_repo.git("add", "settings.env")
    clean = _run(git_repo, "git", "commit", "-m", "add settings", home=pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout + clean.stderr
