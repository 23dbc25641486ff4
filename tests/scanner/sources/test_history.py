from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from leakstop.errors import SourceError
from leakstop.scanner.detector import Detector
from leakstop.scanner.runner import run_scan
from leakstop.scanner.sources import SkipReason, read_all
from leakstop.scanner.sources.history import GitHistorySource
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo


def _chunks(repo: GitRepo, **kwargs):  # type: ignore[no-untyped-def]
    return list(read_all(GitHistorySource(repo.path, **kwargs)))


def _findings(repo: GitRepo, detector: Detector, **kwargs):  # type: ignore[no-untyped-def]
    return [f for chunk in _chunks(repo, **kwargs) if chunk.data for f in detector.detect(chunk)]


def test_a_blob_is_scanned_once_and_attributed_to_its_first_commit(
    git_repo: GitRepo, detector: Detector
) -> None:
    git_repo.write("config.env", f"TOKEN={GITHUB_TOKEN}\n")
    first = git_repo.commit("add token", env={"GIT_AUTHOR_DATE": "2020-01-02T03:04:05+00:00"})
    for number in range(5):
        git_repo.write(f"other{number}.txt", f"{number}\n")
        git_repo.commit(f"unrelated {number}")
    git_repo.git("mv", "config.env", "moved.env")  # a rename: same blob, not read again
    renamed = git_repo.commit("rename")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("feature.txt", "x\n")
    git_repo.commit("feature")
    chunks = _chunks(git_repo)
    read = [c for c in chunks if c.data]
    assert [c.path for c in read].count("config.env") == 1
    (moved,) = [c for c in chunks if c.path == "moved.env"]
    assert moved.data == b""
    assert moved.same_as == read[0].blob_id
    # ... but what it holds is reported under both paths, each at the commit that put it there.
    result = run_scan(GitHistorySource(git_repo.path), detector, [])
    (finding, at_new_path) = sorted(result.findings, key=lambda f: f.location.path)
    assert finding.location.path == "config.env"
    assert finding.commit is not None
    assert finding.commit.sha == first
    assert finding.commit.summary == "add token"
    assert finding.commit.author_email == "author@example.com"
    assert finding.commit.date == "2020-01-02T03:04:05+00:00"
    assert at_new_path.location.path == "moved.env"
    assert at_new_path.commit is not None
    assert at_new_path.commit.sha == renamed
    assert result.stats.scanned == len(read)


def test_deleted_secrets_are_still_in_history(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("keys.txt", f"aws_access_key_id={AWS_KEY_ID}\n")
    git_repo.commit("oops")
    (git_repo.path / "keys.txt").unlink()
    git_repo.commit("remove")
    assert [f.rule_id for f in _findings(git_repo, detector)] == ["aws-access-key-id"]


def test_every_ref_is_walked_and_log_opts_narrow_it(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("a.txt", "a\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "side")
    git_repo.write("side.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("side secret")
    git_repo.git("checkout", "-q", "main")
    assert len(_findings(git_repo, detector)) == 1
    assert _findings(git_repo, detector, log_opts=["main"]) == []
    assert len(_findings(git_repo, detector, log_opts=["main..side"])) == 1


def test_merge_resolutions_are_scanned(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("conf.txt", "value=1\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "other")
    git_repo.write("conf.txt", "value=2\n")
    git_repo.commit("other")
    git_repo.git("checkout", "-q", "main")
    git_repo.write("conf.txt", "value=3\n")
    git_repo.commit("main")
    subprocess.run(
        ["git", "merge", "-q", "other"], cwd=git_repo.path, capture_output=True, check=False
    )
    git_repo.write("conf.txt", f"value=4\ntoken={GITHUB_TOKEN}\n")
    merge = git_repo.commit("merge other")
    (finding,) = _findings(git_repo, detector)
    assert finding.commit is not None
    assert finding.commit.sha == merge


def test_binary_huge_symlink_and_submodule_entries(
    git_repo: GitRepo, tmp_path: Path, detector: Detector
) -> None:
    git_repo.write("image.png", b"\x89PNG\r\n\x1a\n\x00" + GITHUB_TOKEN.encode())
    git_repo.write("huge.txt", "x" * 5000 + f"\n{GITHUB_TOKEN}\n")
    if sys.platform != "win32":
        os.symlink("image.png", git_repo.path / "link")
    (tmp_path / "sub").mkdir()
    sub = GitRepo(tmp_path / "sub")
    sub.write("inner.txt", "x\n")
    sub.commit()
    git_repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "mod")
    git_repo.commit("all kinds")
    chunks = {c.path: c.skipped for c in _chunks(git_repo, max_size=1000)}
    assert chunks == {
        ".gitmodules": None,
        "huge.txt": SkipReason.TOO_LARGE,
        "image.png": SkipReason.BINARY,
    }
    assert _findings(git_repo, detector, max_size=1000) == []


def test_lfs_pointers_are_plain_text_without_findings(
    git_repo: GitRepo, detector: Detector
) -> None:
    git_repo.write(
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n",
    )
    git_repo.commit("lfs pointer")
    assert [c.path for c in _chunks(git_repo)] == ["model.bin"]
    assert _findings(git_repo, detector) == []


@pytest.mark.skipif(sys.platform != "linux", reason="non-UTF-8 file names are a Linux thing")
def test_non_utf8_paths_and_missing_author_email(git_repo: GitRepo, detector: Detector) -> None:
    (git_repo.path / os.fsdecode(b"caf\xe9.env")).write_text(f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("no email", env={"GIT_AUTHOR_EMAIL": "", "GIT_COMMITTER_EMAIL": ""})
    (finding,) = _findings(git_repo, detector)
    assert finding.location.path == "caf\ufffd.env"
    assert finding.commit is not None
    assert finding.commit.author_email == ""


def test_bad_range_is_a_source_error(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "a\n")
    git_repo.commit()
    with pytest.raises(SourceError, match=r"git log nope\.\.HEAD failed: .*nope"):
        _chunks(git_repo, log_opts=["nope..HEAD"])


def test_empty_repository_is_an_error_not_a_clean_scan(git_repo: GitRepo) -> None:
    with pytest.raises(SourceError, match="has no commits to scan"):
        _chunks(git_repo)


def test_memory_stays_bounded(git_repo: GitRepo) -> None:
    """60 MB of history in 600 blobs: the source holds one blob at a time, not the history."""
    blob_size = 100_000
    stream = ["reset refs/heads/main\n"]
    for commit in range(30):
        stream.append(
            f"commit refs/heads/main\ncommitter A <a@b> {1600000000 + commit} +0000\ndata 2\nc\n"
        )
        for number in range(20):
            prefix = f"{commit}-{number}-"
            content = (prefix * (blob_size // len(prefix) + 1))[:blob_size]
            stream.append(f"M 100644 inline f{number}.txt\ndata {len(content)}\n{content}\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=git_repo.path,
        input="".join(stream).encode(),
        check=True,
    )
    tracemalloc.start()
    total = 0
    for chunk in read_all(GitHistorySource(git_repo.path)):
        total += len(chunk.data)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == 600 * blob_size
    assert peak < 12 * blob_size, f"peak {peak / 1e6:.1f} MB for {total / 1e6:.0f} MB of history"


@pytest.mark.timeout(60)
def test_many_blobs_stream_through_without_deadlock(git_repo: GitRepo) -> None:
    """More object ids than a pipe holds (64 KiB / 41 bytes ~ 1,600), and answers large enough
    to fill git's output pipe too: writer, git and reader must keep each other moving."""
    stream = [
        "reset refs/heads/main\n",
        "commit refs/heads/main\ncommitter A <a@b> 1600000000 +0000\ndata 1\nc\n",
    ]
    for number in range(6000):
        content = f"file {number}\n" * 200
        stream.append(f"M 100644 inline f{number:05d}.txt\ndata {len(content)}\n{content}\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=git_repo.path,
        input="".join(stream).encode(),
        check=True,
    )
    chunks = list(read_all(GitHistorySource(git_repo.path)))
    assert len(chunks) == 6000


def test_a_secret_that_stays_in_a_file_is_reported_once(
    git_repo: GitRepo, detector: Detector
) -> None:
    from leakstop.scanner.runner import run_scan

    git_repo.write("settings.py", f'TOKEN = "{GITHUB_TOKEN}"\nVERSION = 0\n')
    first = git_repo.commit("add")
    for number in range(1, 4):
        git_repo.write("settings.py", f'TOKEN = "{GITHUB_TOKEN}"\nVERSION = {number}\n')
        git_repo.commit(f"bump {number}")
    git_repo.write("copy.py", f'TOKEN = "{GITHUB_TOKEN}"\n')  # a new place: a new finding
    copied = git_repo.commit("copy")
    result = run_scan(GitHistorySource(git_repo.path), detector, [])
    assert result.stats.scanned == 5
    found = [(f.location.path, f.commit.sha if f.commit else "") for f in result.findings]
    assert found == [("copy.py", copied), ("settings.py", first)]
