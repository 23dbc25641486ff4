"""Blobs read from the work tree must be exactly git's blobs: whatever the work tree holds
now (edits, conversions, links, a missing file), a history scan reports what was committed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from leakstop.scanner.detector import Detector
from leakstop.scanner.runner import run_scan
from leakstop.scanner.sources import read_all
from leakstop.scanner.sources.history import GitHistorySource
from leakstop.scanner.sources.worktree_blobs import WorktreeBlobs
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo


def _blob(repo: GitRepo, path: str) -> str:
    return repo.git("rev-parse", f"HEAD:{path}").strip()


def _history(repo: GitRepo) -> dict[str, bytes]:
    """Each path's bytes as a history scan reads them."""
    return {c.path: c.data for c in read_all(GitHistorySource(repo.path)) if c.data}


def test_an_unchanged_file_is_read_from_the_work_tree(git_repo: GitRepo) -> None:
    git_repo.write("app/config.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("add")
    worktree = WorktreeBlobs.of(git_repo.path)
    assert worktree is not None
    blob_id = _blob(git_repo, "app/config.env")
    assert worktree.holds(blob_id)
    assert worktree.read(blob_id, None) == f"TOKEN={GITHUB_TOKEN}\n".encode()


def test_a_file_changed_since_the_commit_is_read_from_git(
    git_repo: GitRepo, detector: Detector
) -> None:
    git_repo.write("config.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("add the token")
    # Uncommitted: the token removed from the file, another secret put in its place.
    git_repo.write("config.env", f"KEY_ID={AWS_KEY_ID}\n")
    worktree = WorktreeBlobs.of(git_repo.path)
    assert worktree is not None
    assert worktree.read(_blob(git_repo, "config.env"), None) is None
    assert _history(git_repo) == {"config.env": f"TOKEN={GITHUB_TOKEN}\n".encode()}
    result = run_scan(GitHistorySource(git_repo.path), detector, [])
    assert [f.rule_id for f in result.findings] == ["github-pat"]


def test_a_file_of_the_same_size_changed_in_place_is_read_from_git(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "committed text\n")
    git_repo.commit("add")
    git_repo.write("a.txt", "replaced text!\n")  # same length, other bytes
    assert _history(git_repo) == {"a.txt": b"committed text\n"}


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_file_replaced_by_a_link_is_read_from_git(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.txt", "committed\n")
    git_repo.commit("add")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("committed\n")  # the very bytes: still not followed
    (git_repo.path / "a.txt").unlink()
    os.symlink(elsewhere, git_repo.path / "a.txt")
    worktree = WorktreeBlobs.of(git_repo.path)
    assert worktree is not None
    assert worktree.read(_blob(git_repo, "a.txt"), None) is None
    assert _history(git_repo) == {"a.txt": b"committed\n"}


def test_a_deleted_file_and_an_old_version_are_read_from_git(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "version one\n")
    git_repo.write("b.txt", "gone soon\n")
    git_repo.commit("add")
    git_repo.write("a.txt", "version two\n")
    git_repo.commit("change")
    (git_repo.path / "b.txt").unlink()  # deleted, not committed
    chunks = [c for c in read_all(GitHistorySource(git_repo.path)) if c.data]
    assert sorted(c.data for c in chunks) == [b"gone soon\n", b"version one\n", b"version two\n"]


def test_a_file_over_the_size_limit_is_skipped_as_too_large(git_repo: GitRepo) -> None:
    git_repo.write("big.txt", "x" * 5000)
    git_repo.commit("add")
    (chunk,) = read_all(GitHistorySource(git_repo.path, max_size=1000))
    assert chunk.skipped is not None
    assert chunk.skipped.name == "TOO_LARGE"
    assert chunk.size == 5000


def test_a_bare_repository_has_no_work_tree(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.txt", "committed\n")
    git_repo.commit("add")
    bare = tmp_path / "bare.git"
    git_repo.git("clone", "-q", "--bare", str(git_repo.path), str(bare))
    assert WorktreeBlobs.of(bare) is None
    assert _history(GitRepo.existing(bare)) == {"a.txt": b"committed\n"}


def test_a_sha256_repository(tmp_path: Path) -> None:
    path = tmp_path / "repo256"
    path.mkdir()
    repo = GitRepo.existing(path)
    try:
        repo.git("init", "-q", "--object-format=sha256", "-b", "main")
    except AssertionError:
        pytest.skip("this git cannot make SHA-256 repositories")
    repo.git("config", "user.name", "Test Author")
    repo.git("config", "user.email", "author@example.com")
    repo.write("a.txt", "committed\n")
    repo.commit("add")
    blob_id = _blob(repo, "a.txt")
    assert len(blob_id) == 64
    worktree = WorktreeBlobs.of(path)
    assert worktree is not None
    assert worktree.read(blob_id, None) == b"committed\n"


def test_a_work_tree_that_converts_every_file_stops_being_tried(git_repo: GitRepo) -> None:
    for number in range(100):
        git_repo.write(f"f{number}.txt", f"line {number}\n")
    git_repo.commit("add")
    for number in range(100):  # what a checkout converting line ends leaves
        git_repo.write(f"f{number}.txt", f"line {number}\r\n")
    worktree = WorktreeBlobs.of(git_repo.path)
    assert worktree is not None
    blob_ids = [_blob(git_repo, f"f{number}.txt") for number in range(100)]
    tried = [worktree.read(blob_id, None) for blob_id in blob_ids if worktree.holds(blob_id)]
    assert tried == [None] * 64  # judged after 64 tries, all misses: not tried again
    history = _history(git_repo)
    assert history == {f"f{number}.txt": f"line {number}\n".encode() for number in range(100)}


def test_history_reads_the_work_tree_rather_than_asking_git(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "committed\n")
    git_repo.commit("add")
    blob_id = _blob(git_repo, "a.txt")
    # The loose object gone: git could no longer answer for it, the work tree still can.
    loose = git_repo.path / ".git" / "objects" / blob_id[:2] / blob_id[2:]
    loose.chmod(0o644)
    loose.unlink()
    assert _history(git_repo) == {"a.txt": b"committed\n"}
