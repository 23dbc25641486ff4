from __future__ import annotations

import os
import sys
import tracemalloc
from pathlib import Path

import pytest

from leakstop.errors import SourceError
from leakstop.scanner.sources import SkipReason, read_all
from leakstop.scanner.sources.files import FileSource
from tests.conftest import GitRepo


def _paths(source: FileSource) -> dict[str, SkipReason | None]:
    return {chunk.path: chunk.skipped for chunk in read_all(source)}


def test_git_work_tree_scans_tracked_and_unignored_files(git_repo: GitRepo) -> None:
    git_repo.write(".gitignore", "ignored.txt\nbuild/\n")
    git_repo.write("tracked.py", "x = 1\n")
    git_repo.commit("init")
    git_repo.write("untracked.py", "y = 2\n")
    git_repo.write("ignored.txt", "secret\n")
    git_repo.write("build/out.js", "z\n")
    found = _paths(FileSource([git_repo.path], git_repo.path))
    assert set(found) == {".gitignore", "tracked.py", "untracked.py"}


def test_deleted_tracked_file_is_ignored(git_repo: GitRepo) -> None:
    git_repo.write("gone.py", "x\n")
    git_repo.commit("init")
    (git_repo.path / "gone.py").unlink()
    assert _paths(FileSource([git_repo.path], git_repo.path)) == {}


def test_no_git_scans_everything_but_dot_git(git_repo: GitRepo) -> None:
    git_repo.write(".gitignore", "ignored.txt\n")
    git_repo.write("ignored.txt", "secret\n")
    git_repo.commit("init")
    found = _paths(FileSource([git_repo.path], git_repo.path, use_git=False))
    assert set(found) == {".gitignore", "ignored.txt"}


def test_outside_git_every_file_is_walked_in_order(tmp_path: Path) -> None:
    for name in ("b/2.txt", "a/1.txt", "c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    chunks = list(read_all(FileSource([tmp_path], tmp_path)))
    assert [c.path for c in chunks] == ["c.txt", "a/1.txt", "b/2.txt"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("x")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "real.txt").write_text("y")
    os.symlink(outside / "secret.txt", tree / "link.txt")
    os.symlink(outside, tree / "linkdir")
    found = _paths(FileSource([tree], tree))
    assert found == {"real.txt": None, "link.txt": SkipReason.SYMLINK}


def test_binary_and_oversize_files_are_skipped_from_their_first_bytes(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00" + b"x" * 100)
    (tmp_path / "big.txt").write_bytes(b"a" * 2000)
    (tmp_path / "small.txt").write_bytes(b"a" * 10)
    found = _paths(FileSource([tmp_path], tmp_path, max_size=1000))
    assert found == {
        "big.txt": SkipReason.TOO_LARGE,
        "image.png": SkipReason.BINARY,
        "small.txt": None,
    }


def test_utf16_file_is_text(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes("password=x".encode("utf-16"))
    assert _paths(FileSource([tmp_path], tmp_path)) == {"w.txt": None}


def test_missing_path_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or directory"):
        list(read_all(FileSource([tmp_path / "nope"], tmp_path)))


def test_explicit_file_and_paths_outside_root(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.txt").write_text("y")
    source = FileSource([tmp_path / "a.txt", other / "b.txt"], tmp_path)
    assert set(_paths(source)) == {"a.txt", "other/b.txt"}


@pytest.mark.skipif(sys.platform != "linux", reason="non-UTF-8 file names are a Linux thing")
def test_non_utf8_file_names_are_read(git_repo: GitRepo) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    (git_repo.path / name).write_bytes(b"data\n")
    git_repo.commit("latin-1 name")
    chunks = list(read_all(FileSource([git_repo.path], git_repo.path)))
    assert [c.data for c in chunks] == [b"data\n"]


def test_submodule_folder_is_skipped(git_repo: GitRepo, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    sub = GitRepo(tmp_path / "sub")
    sub.write("inner.txt", "x\n")
    sub.commit("sub")
    git_repo.write("top.txt", "y\n")
    git_repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "mod")
    git_repo.commit("with submodule")
    found = _paths(FileSource([git_repo.path], git_repo.path))
    assert set(found) == {".gitmodules", "top.txt"}


def test_names_starting_with_two_dots_are_inside_the_root(tmp_path: Path) -> None:
    """`..env` is a file in the folder, not a path that leaves it."""
    tree = tmp_path / "tree"
    (tree / "..config").mkdir(parents=True)
    (tree / "..env").write_text("x")
    (tree / "..config" / "..foo").write_text("y")
    (tmp_path / "outside.txt").write_text("z")
    source = FileSource([tree, tmp_path / "outside.txt"], tree)
    assert set(_paths(source)) == {"..env", "..config/..foo", (tmp_path / "outside.txt").as_posix()}


def test_listing_a_folder_holds_nothing_per_file(tmp_path: Path) -> None:
    """A million-file scan must not keep every path: the listing's peak is the same for 10,000
    files as for 250 (one folder's names at a time)."""
    peaks = []
    for count in (250, 10_000):
        top = tmp_path / str(count)
        for index in range(count):
            folder = top / f"d{index // 500:03d}"
            if index % 500 == 0:
                folder.mkdir(parents=True)
            (folder / f"f{index % 500:03d}.txt").touch()
        source = FileSource(paths=[top], root=top, use_git=False)
        tracemalloc.start()
        listed = sum(1 for _ in source.items())
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert listed == count
    # 10,000 paths held in a set would be ~1.2 MB.
    assert peaks[1] < peaks[0] + 256 * 1024, peaks
