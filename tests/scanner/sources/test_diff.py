from __future__ import annotations

import codecs
import os
import sys
from pathlib import Path

import pytest

from leakstop.errors import SourceError
from leakstop.scanner.detector import Detector
from leakstop.scanner.runner import run_scan
from leakstop.scanner.sources.diff import DiffSource, parse_diff, resolve_range, staged_base
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo

OTHER_TOKEN = "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"


def _diff_findings(repo: GitRepo, detector: Detector, spec: str, fetch: bool = False):  # type: ignore[no-untyped-def]
    base, head = resolve_range(repo.path, spec, fetch)
    result = run_scan(DiffSource(repo.path, base, head), detector, [])
    return [(f.location.path, f.location.line, f.rule_id) for f in result.findings]


def _staged_findings(repo: GitRepo, detector: Detector):  # type: ignore[no-untyped-def]
    result = run_scan(DiffSource(repo.path, staged_base(repo.path), None), detector, [])
    return [(f.location.path, f.location.line, f.rule_id) for f in result.findings]


@pytest.fixture
def branched(git_repo: GitRepo) -> GitRepo:
    """main has an old secret; feature adds one and deletes another."""
    git_repo.write("app.env", f"OLD={GITHUB_TOKEN}\nKEEP=1\n")
    git_repo.write("gone.env", f"aws_access_key_id={AWS_KEY_ID}\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("app.env", f"OLD={GITHUB_TOKEN}\nKEEP=2\nNEW={OTHER_TOKEN}\n")
    (git_repo.path / "gone.env").unlink()
    git_repo.commit("feature work")
    return git_repo


def test_only_added_lines_are_reported(branched: GitRepo, detector: Detector) -> None:
    assert _diff_findings(branched, detector, "main..feature") == [("app.env", 3, "github-pat")]


def test_base_that_moved_on_is_compared_at_the_merge_base(
    branched: GitRepo, detector: Detector
) -> None:
    branched.git("checkout", "-q", "main")
    branched.write("main-only.env", f"aws_access_key_id={AWS_KEY_ID}\n")
    branched.commit("main moves on")
    for spec in ("main..feature", "main...feature"):
        assert _diff_findings(branched, detector, spec) == [("app.env", 3, "github-pat")]


def test_a_rename_adds_nothing(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("a.env", f"T={GITHUB_TOKEN}\n")
    git_repo.commit("one")
    git_repo.git("mv", "a.env", "b.env")
    git_repo.commit("rename")
    assert _diff_findings(git_repo, detector, "HEAD~1..HEAD") == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("main", "--diff expects BASE..HEAD"),
        ("main..nope", "'nope' is not a commit"),
        ("..main", "--diff expects BASE..HEAD"),
    ],
)
def test_bad_ranges(branched: GitRepo, spec: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        resolve_range(branched.path, spec)


def test_unrelated_histories(branched: GitRepo) -> None:
    branched.git("checkout", "-q", "--orphan", "lonely")
    branched.commit("orphan")
    with pytest.raises(SourceError, match="no common ancestor"):
        resolve_range(branched.path, "main..lonely")


def test_shallow_clone_says_what_to_fetch_or_fetches(
    branched: GitRepo, tmp_path: Path, detector: Detector
) -> None:
    for number in range(3):
        branched.write("app.env", f"OLD={GITHUB_TOKEN}\nKEEP={number}\nNEW={OTHER_TOKEN}\n")
        branched.commit(f"more {number}")
    base = branched.git("rev-parse", "main").strip()
    clone = branched.shallow_clone(tmp_path / "clone", "feature")
    with pytest.raises(SourceError, match="shallow clone: `git fetch --depth=1 origin"):
        resolve_range(clone.path, f"{base}..HEAD")
    found = _diff_findings(clone, detector, f"{base}..HEAD", fetch=True)
    assert found == [("app.env", 3, "github-pat")]


def test_staged_scans_the_index_not_the_work_tree(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("a.env", "X=1\n")
    git_repo.commit("base")
    git_repo.write("a.env", f"X=1\nT={GITHUB_TOKEN}\n")
    git_repo.git("add", "a.env")
    git_repo.write("a.env", "X=1\n")  # the work tree no longer has it: the index does
    git_repo.write("b.env", f"T={OTHER_TOKEN}\n")  # not staged: not reported
    assert _staged_findings(git_repo, detector) == [("a.env", 2, "github-pat")]


def test_staged_before_the_first_commit(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("first.env", f"T={GITHUB_TOKEN}\n")
    git_repo.git("add", "first.env")
    assert _staged_findings(git_repo, detector) == [("first.env", 1, "github-pat")]


def test_nothing_staged(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("a.env", f"T={GITHUB_TOKEN}\n")
    git_repo.commit("committed already")
    assert _staged_findings(git_repo, detector) == []


@pytest.mark.skipif(sys.platform != "linux", reason="non-UTF-8 file names are a Linux thing")
def test_awkward_paths(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("plain.txt", "x\n")
    git_repo.commit("base")
    for name in ('sp ace "q".env', os.fsdecode(b"caf\xe9.env"), "tab\tname.env"):
        (git_repo.path / name).write_text(f"T={GITHUB_TOKEN}\n")
    git_repo.git("add", "-A")
    paths = sorted(path for path, _line, _rule in _staged_findings(git_repo, detector))
    assert paths == sorted(['sp ace "q".env', "caf\ufffd.env", "tab\tname.env"])


def test_parse_diff_pairs_raw_records_with_patches() -> None:
    output = (
        b":100644 100644 " + b"1" * 40 + b" " + b"2" * 40 + b" R090\0old.txt\0new.txt\0"
        b":000000 100644 " + b"0" * 40 + b" " + b"3" * 40 + b" A\0bin.dat\0"
        b":100644 000000 " + b"4" * 40 + b" " + b"0" * 40 + b" D\0dead.txt\0"
        b":100644 100644 " + b"5" * 40 + b" " + b"6" * 40 + b" M\0m.txt\0\0"
        b"diff --git a/old.txt b/new.txt\n@@ -2 +2,2 @@\n-a\n+b\n+c\n"
        b"diff --git a/bin.dat b/bin.dat\nBinary files /dev/null and b/bin.dat differ\n"
        b"diff --git a/dead.txt b/dead.txt\n@@ -1 +0,0 @@\n-gone\n"
        b"diff --git a/m.txt b/m.txt\n@@ -3,0 +4 @@ ctx\n+x\n@@ -9,2 +10,0 @@\n-y\n-z\n"
    )
    changes = {change.path: change for change in parse_diff(output)}
    assert set(changes) == {"new.txt", "bin.dat", "m.txt"}
    assert changes["new.txt"].added == {2, 3}
    assert changes["new.txt"].old_blob_id == "1" * 40
    assert changes["bin.dat"].added is None  # a new file: every line is added
    assert changes["bin.dat"].binary
    assert changes["m.txt"].added == {4}
    assert not changes["m.txt"].binary


@pytest.mark.parametrize("attribute", ["* -diff", "* binary", "*.env diff=secret-hider"])
def test_gitattributes_cannot_hide_a_file_from_a_diff(
    git_repo: GitRepo, detector: Detector, attribute: str
) -> None:
    """git prints 'Binary files differ' (no hunks) for a file a `.gitattributes` marks so;
    a pull request must not be able to hide a token that way."""
    git_repo.write("README.md", "base\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.git("config", "diff.secret-hider.textconv", "sed s/ghp_/xxxx/")
    git_repo.write(".gitattributes", f"{attribute}\n")
    git_repo.write("app.env", f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("hide it")
    assert _diff_findings(git_repo, detector, "main..feature") == [("app.env", 2, "github-pat")]


def test_gitattributes_cannot_hide_staged_lines(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("app.env", "MODE=prod\n")
    git_repo.commit("base")
    git_repo.write(".gitattributes", "* -diff\n")
    git_repo.write("app.env", f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n")
    git_repo.git("add", "-A")
    assert _staged_findings(git_repo, detector) == [("app.env", 2, "github-pat")]


def test_a_changed_file_git_calls_binary_reports_only_its_added_lines(
    git_repo: GitRepo, detector: Detector
) -> None:
    """UTF-16 is binary to git (NUL bytes) and text to leakstop: its added lines come from a
    text diff of the two blobs, so the token already there is not reported again."""
    old = f"A=1\nOLD={GITHUB_TOKEN}\nB=2\n"
    git_repo.write("win.ini", codecs.BOM_UTF16_LE + old.encode("utf-16-le"))
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    new = old + f"NEW={OTHER_TOKEN}\n"
    git_repo.write("win.ini", codecs.BOM_UTF16_LE + new.encode("utf-16-le"))
    git_repo.commit("add a token")
    assert _diff_findings(git_repo, detector, "main..feature") == [("win.ini", 4, "github-pat")]


def test_a_new_utf16_file_is_scanned_whole(git_repo: GitRepo, detector: Detector) -> None:
    git_repo.write("README.md", "base\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    text = f"A=1\nTOKEN={GITHUB_TOKEN}\n"
    git_repo.write("win.ini", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    git_repo.write("image.png", b"\x89PNG\r\n\x1a\n\x00\x00" + GITHUB_TOKEN.encode())
    git_repo.commit("add")
    base, head = resolve_range(git_repo.path, "main..feature")
    result = run_scan(DiffSource(git_repo.path, base, head), detector, [])
    assert [(f.location.path, f.location.line) for f in result.findings] == [("win.ini", 2)]
    assert result.stats.skipped["binary"] == 1  # the PNG: binary to leakstop too, and counted


@pytest.mark.parametrize(
    "spec",
    ["--upload-pack=touch pwned;true ..HEAD", "main..--output=pwned", "-n..HEAD"],
)
def test_a_range_cannot_smuggle_an_option_into_git(
    branched: GitRepo, spec: str, tmp_path: Path
) -> None:
    with pytest.raises(SourceError, match="is not a revision"):
        resolve_range(branched.path, spec, fetch=True)
    assert not (branched.path / "pwned").exists()
