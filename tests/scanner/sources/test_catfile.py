from __future__ import annotations

import os
import shutil
import sys
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
