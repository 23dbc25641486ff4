"""`leakstop scan --git|--diff|--staged` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo
from tests.e2e.test_scan_command import leakstop

pytestmark = pytest.mark.e2e


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("app.env", "A=1\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("app.env", f"A=1\nTOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("add token")
    git_repo.write("app.env", "A=1\n")
    git_repo.commit("remove token")
    return git_repo


def test_history_finds_what_the_tree_no_longer_has(repo: GitRepo) -> None:
    assert leakstop("scan", cwd=repo.path).returncode == 0
    result = leakstop("scan", "--git", "-f", "json", cwd=repo.path)
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["commit"]["summary"] == "add token"
    text = leakstop("scan", "--git", cwd=repo.path).stdout
    assert "commit " in text
    assert "scanned 2 blobs" in text


def test_diff_reports_what_the_branch_adds(repo: GitRepo) -> None:
    assert leakstop("scan", "--diff", "main..feature~1", cwd=repo.path).returncode == 1
    assert leakstop("scan", "--diff", "main..feature", cwd=repo.path).returncode == 0


def test_staged(repo: GitRepo) -> None:
    repo.write("new.sh", f"export AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")
    repo.git("add", "new.sh")
    result = leakstop("scan", "--staged", cwd=repo.path)
    assert result.returncode == 1
    assert "Commit blocked" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--git", "--log-opts", "nope..HEAD"], "git log nope..HEAD failed"),
        (["--diff", "nope..HEAD"], "'nope' is not a commit"),
        (["--diff", "HEAD"], "--diff expects BASE..HEAD"),
        (["--log-opts=--all"], "--log-opts needs --git"),
        (["--git", "--log-opts", "--all"], "join it with '=': --log-opts='--all'"),
        (["--fetch"], "--fetch needs --diff"),
        (["--git", "--staged"], "not allowed with argument"),
        (["--git", "a", "b"], "take one repository path"),
    ],
)
def test_bad_git_input_is_one_line_and_exit_2(repo: GitRepo, args: list[str], message: str) -> None:
    result = leakstop("scan", *args, cwd=repo.path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


@pytest.mark.parametrize("mode", ["--git", "--staged", "--diff=a..b"])
def test_not_a_repository(tmp_path: Path, mode: str) -> None:
    result = leakstop("scan", mode, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "leakstop: error: not a git repository: .\n"
