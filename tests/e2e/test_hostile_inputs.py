"""Hostile files never crash or hang a scan: each is skipped with one warning and a count, or
scanned, and a real token beside them is still found. Run with the installed `leakstop`
command, with a timeout, in a plain folder and in git repositories (work tree, history, diff,
staged), including one whose objects are damaged."""

from __future__ import annotations

import codecs
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GITHUB_TOKEN, GitRepo, assert_safe_output, installed_tool

pytestmark = pytest.mark.e2e

#: Seconds any one command may take here before the test calls it a hang. The engine's own
#: budgets are 5 s of searching and 20 s of confirming per file.
HANG = 60.0
#: What a scan of the small corpus may take (start-up is ~1 s; CI machines are slower).
QUICK = 20.0

YAML_BOMB = "".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n" for level in range(1, 10)
)
YAML_BOMB = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + YAML_BOMB
DEEP = 100_000

#: Regular files a repository can hold that are hard to parse, decode or name; each must be
#: scanned or skipped as binary, never crash the scan.
CONTENTS: dict[bytes, bytes] = {
    b"nested.json": b"[" * DEEP + b"]" * DEEP,
    b"nested.yaml": b"a: " + b"[" * DEEP + b"]" * DEEP + b"\n",
    b"nested-map.yaml": b"".join(b" " * i + b"k:\n" for i in range(2000)),
    b"bomb.yaml": YAML_BOMB.encode(),
    b"bad-utf8.txt": b"caf\xc3 \xff\xfe \xed\xa0\x80 \xc0\xaf\n" * 200,
    b"bad-utf16.txt": codecs.BOM_UTF16_LE + "ok".encode("utf-16-le") + b"\x00\xd8\x41\x00\x00",
    b"utf16-odd.txt": codecs.BOM_UTF16_BE + b"\x00a\x00",
    b"nul.bin": b"key=\x00\x00\x00value\n" * 50,
    b"line\nbreak.txt": b"plain text\n",
    b"esc\x1b[31mred\x07.txt": b"plain text\n",
    b"bad-\xff\xfe-name.txt": b"plain text\n",
    b"::warning::pwned.txt": b"plain text\n",
    b"\xe2\x80\xaereversed.txt": b"plain text\n",
}
PLANTED = b"planted.env"
#: Name → how its one warning line must show it: escaped, never raw.
FIFO = b"pipe\nname"
UNREADABLE = b"locked\x1b[2K.txt"
UNREADABLE_BAD_NAME = b"locked-\xff.txt"
SHOWN = {
    FIFO: "pipe\\nname",
    UNREADABLE: "locked\\x1b[2K.txt",
    UNREADABLE_BAD_NAME: "locked-\\udcff.txt",
}


def _privilege_drop() -> list[str]:
    """A prefix that lets root be refused a mode-000 file, as any other user is: without
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. Empty when not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv: cannot make a file unreadable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def report(self) -> dict[str, object]:
        data = json.loads(self.stdout)
        assert isinstance(data, dict)
        return data

    @property
    def skipped(self) -> dict[str, int]:
        stats = self.report["stats"]
        assert isinstance(stats, dict)
        return dict(stats["skipped"])

    @property
    def found(self) -> list[tuple[str, str]]:
        findings = self.report["findings"]
        assert isinstance(findings, list)
        return [(f["path"], f["rule_id"]) for f in findings]

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "WARNING" in line]


def scan(*args: str, cwd: Path, timeout: float = HANG) -> Run:
    """`leakstop ARGS` as a user (unprivileged) runs it; a hang fails the test."""
    executable = installed_tool("leakstop")
    command = [executable] if executable else [sys.executable, "-m", "leakstop"]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "LEAKSTOP_CONFIG")}
    started = time.monotonic()
    try:
        result = subprocess.run(
            [*_privilege_drop(), *command, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="surrogateescape",
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"leakstop {' '.join(args)} did not finish within {timeout:g} s")
    run = Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)
    assert "Traceback" not in run.stderr, run.stderr
    assert_safe_output(run.stderr)
    return run


def write_corpus(folder: Path) -> None:
    """The regular hostile files, the planted token and symlink loops under `folder`."""
    root = os.fsencode(folder)
    for name, content in CONTENTS.items():
        with open(os.path.join(root, name), "wb") as handle:
            handle.write(content)
    (folder / "planted.env").write_bytes(b"TOKEN=" + GITHUB_TOKEN.encode() + b"\n")
    os.symlink("loop-b", folder / "loop-a")
    os.symlink("loop-a", folder / "loop-b")
    os.symlink("self", folder / "self")


def add_specials(folder: Path) -> None:
    """What git cannot hold: a FIFO (with no writer: opening it to read would block) and
    files no one may read."""
    root = os.fsencode(folder)
    os.mkfifo(os.path.join(root, FIFO))
    for name in (UNREADABLE, UNREADABLE_BAD_NAME):
        path = os.path.join(root, name)
        with open(path, "wb") as handle:
            handle.write(b"TOKEN=" + GITHUB_TOKEN.encode() + b"\n")
        os.chmod(path, 0)


def assert_one_warning_each(run: Run, names: list[bytes]) -> None:
    """Exactly one warning per skipped special file, naming it escaped."""
    warnings = run.warnings()
    for name in names:
        naming = [line for line in warnings if SHOWN[name] in line]
        assert len(naming) == 1, (name, warnings)
    assert len(warnings) == len(names), warnings


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    folder = tmp_path / "tree"
    folder.mkdir()
    write_corpus(folder)
    add_specials(folder)
    return folder


def test_a_hostile_folder_scans_to_completion(tree: Path) -> None:
    run = scan("scan", str(tree), "--no-git", "-f", "json", cwd=tree.parent)
    assert run.returncode == 1, run.stderr
    assert run.seconds < QUICK
    assert run.found == [("planted.env", "github-pat")]
    assert run.skipped == {"binary": 1, "not a regular file": 1, "symlink": 3, "unreadable": 2}
    assert_one_warning_each(run, [FIFO, UNREADABLE, UNREADABLE_BAD_NAME])
    assert run.report["stats"]["scanned"] == len(CONTENTS) + 1 - 1  # type: ignore[index]


def test_a_fifo_or_device_given_as_the_argument_is_skipped_not_read(tree: Path) -> None:
    fifo = os.fsdecode(os.path.join(os.fsencode(tree), FIFO))
    for target in (fifo, "/dev/zero"):
        run = scan("scan", target, "--no-git", "-f", "json", cwd=tree)
        assert run.returncode == 0, run.stderr
        assert run.skipped == {"not a regular file": 1}
        assert len(run.warnings()) == 1, run.stderr


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    """The corpus committed on `feature` (branched from `main`), specials in the work tree."""
    git_repo.write("README.md", "base\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    write_corpus(git_repo.path)
    git_repo.commit("hostile files")
    add_specials(git_repo.path)
    return git_repo


def test_a_hostile_work_tree_scans_to_completion(repo: GitRepo) -> None:
    """The work tree's files are what git lists, and git lists no FIFO (it can hold only
    files and symlinks): the FIFO is not even seen, so it cannot block."""
    run = scan("scan", "-f", "json", cwd=repo.path)
    assert run.returncode == 1, run.stderr
    assert run.seconds < QUICK
    assert run.found == [("planted.env", "github-pat")]
    assert run.skipped == {"binary": 1, "symlink": 3, "unreadable": 2}
    assert_one_warning_each(run, [UNREADABLE, UNREADABLE_BAD_NAME])


@pytest.mark.parametrize("mode", [("--git",), ("--diff", "main..feature")], ids=["history", "diff"])
def test_hostile_history_and_diff_scan_to_completion(repo: GitRepo, mode: tuple[str, ...]) -> None:
    run = scan("scan", *mode, "-f", "json", cwd=repo.path)
    assert run.returncode == 1, run.stderr
    assert run.seconds < QUICK
    assert run.found == [("planted.env", "github-pat")]
    assert run.skipped == {"binary": 1}
    assert run.warnings() == []


def test_hostile_staged_files_scan_to_completion(git_repo: GitRepo) -> None:
    git_repo.write("README.md", "base\n")
    git_repo.commit("base")
    write_corpus(git_repo.path)
    git_repo.git("add", "-A")
    run = scan("scan", "--staged", "-f", "json", cwd=git_repo.path)
    assert run.returncode == 1, run.stderr
    assert run.found == [("planted.env", "github-pat")]
    assert run.skipped == {"binary": 1}


def _object_file(repo: GitRepo, object_id: str) -> Path:
    path = repo.path / ".git" / "objects" / object_id[:2] / object_id[2:]
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return path


@pytest.fixture
def damaged(git_repo: GitRepo) -> Iterator[tuple[GitRepo, str]]:
    git_repo.write("planted.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.write("victim.txt", "a file whose object will be damaged\n")
    git_repo.commit("two files")
    return git_repo, git_repo.git("rev-parse", "HEAD:victim.txt").strip()


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_history_with_a_damaged_blob_skips_it_with_one_warning(
    damaged: tuple[GitRepo, str], damage: str
) -> None:
    repo, blob = damaged
    path = _object_file(repo, blob)
    if damage == "corrupt":
        path.write_bytes(b"not zlib at all")
    else:
        path.unlink()
    # Gone from the work tree too: a file still holding the blob would be read instead.
    (repo.path / "victim.txt").unlink()
    run = scan("scan", "--git", "-f", "json", cwd=repo.path)
    assert run.returncode == 1, run.stderr
    assert run.found == [("planted.env", "github-pat")]
    assert run.skipped == {"unreadable": 1}
    (warning,) = run.warnings()
    assert "victim.txt" in warning
    assert blob in warning


def test_a_damaged_tree_is_one_error_line(damaged: tuple[GitRepo, str]) -> None:
    """Without its tree git cannot list what a commit holds: the repository (the command's
    input) is bad, so the scan stops with one line, exit 2."""
    repo, _blob = damaged
    _object_file(repo, repo.git("rev-parse", "HEAD^{tree}").strip()).write_bytes(b"junk")
    for args in (("--git",), ("--staged",)):
        run = scan("scan", *args, cwd=repo.path)
        assert run.returncode == 2, run.stdout + run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert run.stderr.startswith("leakstop: error: git "), run.stderr


NESTED_YAML = "version: 1\nallowlist: " + "[" * DEEP + "]" * DEEP + "\n"
NESTED_MAP = "version: 1\nallowlist:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3000))
BOMB_CONFIG = "version: 1\n" + YAML_BOMB
BOMB_IN_A_KEY = (
    "version: 1\nallowlist:\n  description: &d [lol, lol, lol, lol, lol, lol, lol, lol]\n"
    "  paths: [[*d, *d, *d, *d, *d, *d, *d, *d]]\n"
)
BOMB_RULES = "rules:\n" + "".join(
    f"  - id: r{level}\n    regex: '(?P<secret>x{level})'\n    keywords: &k{level} "
    + (
        "[lol, lol, lol, lol, lol, lol, lol, lol, lol]"
        if level == 0
        else "[" + ", ".join([f"*k{level - 1}"] * 9) + "]"
    )
    + "\n"
    for level in range(9)
)
NESTED_JSON = '{"version": 1, "findings": ' + "[" * DEEP + "]" * DEEP + "}"


@pytest.mark.parametrize(
    ("how", "name", "content"),
    [
        ("found", ".leakstop.yaml", BOMB_CONFIG),
        ("found", ".leakstop.yaml", NESTED_YAML),
        ("--config", "bomb.yaml", BOMB_IN_A_KEY),
        ("--config", "nested.yaml", NESTED_MAP),
        ("--baseline", "nested.json", NESTED_JSON),
        ("--baseline", "bomb.yaml", BOMB_CONFIG),
        ("--rules", "bomb.yaml", BOMB_RULES),
        ("--rules", "nested.yaml", NESTED_YAML.replace("allowlist", "rules")),
    ],
    ids=[
        "config-bomb",
        "config-nested",
        "config-bomb-in-key",
        "config-nested-map",
        "baseline-nested-json",
        "baseline-yaml-bomb",
        "rules-bomb",
        "rules-nested",
    ],
)
def test_a_hostile_config_baseline_or_rule_file_is_one_error_line(
    git_repo: GitRepo, how: str, name: str, content: str
) -> None:
    git_repo.write("planted.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.write(name, content)
    git_repo.commit("hostile settings")
    options = () if how == "found" else (how, name)
    run = scan("scan", *options, cwd=git_repo.path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.seconds < QUICK
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"leakstop: error: {name}"), run.stderr
    if how == "--rules":
        check = scan("rules", "check", name, cwd=git_repo.path)
        assert check.returncode == 2
        assert len(check.stderr.strip().splitlines()) == 1


# --- size and density: the slow part ---------------------------------------------------------

HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def long_line(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one 100 MB line of base64 characters (no newline) and a planted token."""
    folder = tmp_path_factory.mktemp("long-line")
    piece = b"QUtJQTEyMzQ1Njc4OTAxMjM0NTY3ODkwYWJjZGVm+/=" * 24_966  # ~1 MiB
    with open(folder / "one-line.txt", "wb") as handle:
        written = 0
        while written < HUNDRED_MB:
            handle.write(piece[: HUNDRED_MB - written])
            written += min(len(piece), HUNDRED_MB - written)
    (folder / "planted.env").write_text(f"TOKEN={GITHUB_TOKEN}\n")
    return folder


def _peak_rss_mib() -> float:
    """The largest resident set of any finished child so far (Linux: KiB), in MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@pytest.mark.slow
def test_a_100_mb_line_is_skipped_by_default_with_one_warning(long_line: Path) -> None:
    run = scan("scan", ".", "--no-git", "-f", "json", cwd=long_line)
    assert run.returncode == 1, run.stderr
    assert run.seconds < QUICK
    assert run.found == [("planted.env", "github-pat")]
    assert run.skipped == {"too large": 1}
    (warning,) = run.warnings()
    assert "one-line.txt" in warning
    assert str(HUNDRED_MB) in warning


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_a_100_mb_line_without_a_size_limit_is_scanned_in_bounded_time_and_memory(
    long_line: Path,
) -> None:
    run = scan(
        "scan", ".", "--no-git", "--max-file-size", "0", "-j", "1", "-f", "json", cwd=long_line
    )
    assert run.returncode == 1, run.stderr
    assert run.found == [("planted.env", "github-pat")]
    assert run.report["stats"]["bytes"] == HUNDRED_MB + len(f"TOKEN={GITHUB_TOKEN}\n")  # type: ignore[index]
    # Measured: 1.2 s and 247 MiB (the file, its lowered copy for the scoped rules, Python).
    assert run.seconds < 30
    assert _peak_rss_mib() < 700


@pytest.mark.slow
def test_a_line_dense_with_keywords_stops_searching_within_the_budget(tmp_path: Path) -> None:
    """Eight MB of `password=token=…`, under the default size limit: a prefilter match every
    few bytes. Before the per-file budget this took ~4 s per MB (400 s for 100 MB)."""
    unit = b"password=token=secret=api_key="
    (tmp_path / "dense.txt").write_bytes(unit * (8 * 1024 * 1024 // len(unit)))
    (tmp_path / "planted.env").write_text(f"TOKEN={GITHUB_TOKEN}\n")
    run = scan("scan", ".", "--no-git", "-j", "1", "-f", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert run.found == [("planted.env", "github-pat")]
    # 5 s of searching, at most 20 s of confirming, start-up; slack for a loaded CI machine.
    assert run.seconds < 45, run.seconds
    assert run.skipped.get("search timed out") == 1, run.skipped
    assert any("dense.txt: searching took over" in w for w in run.warnings()), run.stderr
