from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.errors import SourceError
from leakstop.scanner.sources.catfile import BlobReader
from tests.conftest import GitRepo

SIZE = 1 << 20


@pytest.fixture
def big_blob(git_repo: GitRepo) -> str:
    """The id of a 1 MiB text blob in a real repository."""
    git_repo.write("big.txt", ("x" * 1023 + "\n") * (SIZE // 1024))
    git_repo.commit("big")
    return git_repo.git("rev-parse", "HEAD:big.txt").strip()


#: Runs the real git, passes on the first LIMIT bytes of its output, then kills it.
_WRAPPER = """#!{python}
import subprocess, sys
git = subprocess.Popen([{git!r}, *sys.argv[1:]], stdout=subprocess.PIPE)
left = {limit}
while left:
    piece = git.stdout.read1(min(left, 1 << 16))
    if not piece:
        break
    sys.stdout.buffer.write(piece)
    sys.stdout.buffer.flush()
    left -= len(piece)
git.kill()
"""


def _git_killed_after(limit: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put a `git` first on PATH whose git process is killed once it wrote `limit` bytes."""
    real_git = shutil.which("git")
    assert real_git is not None
    folder = tmp_path / "bin"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(_WRAPPER.format(python=sys.executable, git=real_git, limit=limit))
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_reads_a_blob_whole(git_repo: GitRepo, big_blob: str) -> None:
    with BlobReader(git_repo.path) as reader:
        (blob,) = reader.read([big_blob], str)
    assert blob.data == (git_repo.path / "big.txt").read_bytes()
    assert blob.size == SIZE


@pytest.mark.skipif(sys.platform == "win32", reason="the git wrapper is a #! script")
@pytest.mark.timeout(20)
@pytest.mark.parametrize("max_size", [None, 1000], ids=["read", "drained"])
@pytest.mark.parametrize("cut", [100_000, SIZE], ids=["mid-blob", "before-newline"])
def test_git_dying_mid_blob_is_an_error(
    git_repo: GitRepo,
    big_blob: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    max_size: int | None,
    cut: int,
) -> None:
    header = f"{big_blob} blob {SIZE}\n"
    _git_killed_after(len(header) + cut, tmp_path, monkeypatch)
    with (
        BlobReader(git_repo.path, max_size=max_size) as reader,
        pytest.raises(SourceError, match=f"git cat-file stopped unexpectedly .*{big_blob}"),
    ):
        list(reader.read([big_blob], str))


def test_many_requests_come_back_in_order_with_unread_ones_in_place(git_repo: GitRepo) -> None:
    # More than IN_FLIGHT bytes of requests, so they are written in several rounds.
    for number in range(300):
        git_repo.write(f"f{number}.txt", f"file {number}\n")
    git_repo.commit("add")
    ids = git_repo.git("ls-files", "--stage").split()[1::4]
    assert len(ids) == 300
    requests = [name if index % 7 else None for index, name in enumerate(ids)]
    with BlobReader(git_repo.path) as reader:
        blobs = list(reader.read(requests, lambda name: name))
    assert [blob.request for blob in blobs] == requests
    assert all(blob.unread for blob in blobs[::7])
    read = [blob.data for blob in blobs if not blob.unread]
    names = [name for name in requests if name is not None]
    assert read == [git_repo.git("cat-file", "blob", name).encode() for name in names]


def test_a_failing_request_source_is_raised_after_the_answers_owed(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "a\n")
    git_repo.commit("add")
    blob_id = git_repo.git("rev-parse", "HEAD:a.txt").strip()

    def requests() -> Iterator[str]:
        yield blob_id
        yield blob_id
        raise SourceError("git log failed")

    received: list[bytes | None] = []

    def read_all() -> None:
        with BlobReader(git_repo.path) as reader:
            received.extend(blob.data for blob in reader.read(requests(), str))

    with pytest.raises(SourceError, match="git log failed"):
        read_all()
    assert received == [b"a\n", b"a\n"]
