"""The one door to git: input never becomes an option."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from leakstop import gitcli
from leakstop.errors import SourceError
from tests.conftest import GitRepo


@pytest.mark.parametrize(
    "value", ["", "-n", "--output=x", "--upload-pack=touch x", "a\nb", "a\0b", "HEAD\r"]
)
def test_what_could_be_an_option_is_not_a_revision(value: str) -> None:
    with pytest.raises(SourceError, match="is not a revision"):
        gitcli.revision(value)


@pytest.mark.parametrize("value", ["HEAD", "main..feature", "v1.0^{commit}", "a" * 40, "x-y"])
def test_revisions(value: str) -> None:
    assert gitcli.revision(value) == value


@pytest.mark.parametrize("value", ["a" * 40, "0123456789abcdef" * 4])
def test_object_ids(value: str) -> None:
    assert gitcli.object_id(value) == value


@pytest.mark.parametrize("value", ["A" * 40, "a" * 39, "--all", "main", "a" * 41, ""])
def test_anything_else_is_not_an_object_id(value: str) -> None:
    with pytest.raises(SourceError, match="is not a full commit id"):
        gitcli.object_id(value)


def test_revisions_go_after_end_of_options(git_repo: GitRepo) -> None:
    """Even a ref that git would read as an option when placed first is only a name."""
    git_repo.write("a.txt", "a\n")
    head = git_repo.commit("a")
    assert gitcli.commit_id(git_repo.path, "HEAD") == head
    assert gitcli.count_commits(git_repo.path, ["HEAD"]) == 1
    assert gitcli.merge_base(git_repo.path, head, "HEAD") == head
    with pytest.raises(SourceError):
        gitcli.commit_id(git_repo.path, "--all")


def test_show_file_and_fetch_refuse_options(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("conf.yaml", "x: 1\n")
    head = git_repo.commit("conf")
    assert gitcli.show_file(git_repo.path, head, "./conf.yaml") == b"x: 1\n"
    assert gitcli.show_file(git_repo.path, head, "missing.yaml") is None
    marker = tmp_path / "pwned"
    with pytest.raises(SourceError, match="is not a revision"):
        gitcli.fetch(git_repo.path, [], [f"--upload-pack=touch {marker}"])
    assert not marker.exists()


def test_git_errors_are_one_line(git_repo: GitRepo) -> None:
    with pytest.raises(SourceError, match=r"^git rev-list failed in .*: "):
        gitcli.run_git(["rev-list"], git_repo.path, revisions=["nope"])


BRANCH_NAMES = [
    "leakstop-audit",
    "audit/2026",
    "a.b",
    "-delete",
    "/lead",
    "trail/",
    "a..b",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "x.lock",
    "x.lock/y",
    ".hidden",
    "a/.b",
    "a//b",
    "a@{1}",
    "end.",
    "",
    "tab\there",
]


@pytest.mark.parametrize("name", BRANCH_NAMES)
def test_is_branch_name_agrees_with_git(name: str, tmp_path: Path) -> None:
    """Checked against `git check-ref-format --branch` itself."""
    result = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, cwd=tmp_path
    )
    assert gitcli.is_branch_name(name) == (result.returncode == 0)


def test_a_lone_at_sign_is_not_a_branch_name() -> None:
    # `check-ref-format --branch @` reads "@" as HEAD's shorthand; as a name git refuses it.
    assert not gitcli.is_branch_name("@")
