"""The few git queries the sources need, through the `git` command (fast and always present
where git repositories are)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from leakstop.errors import SourceError


def git_available() -> bool:
    return shutil.which("git") is not None


def run_git(args: list[str], cwd: Path | str, *, check: bool = True) -> bytes:
    """Run git and return its stdout; a failure raises SourceError with git's own first line."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise SourceError("git is not installed or not on PATH") from None
    except NotADirectoryError:
        raise SourceError(f"not a directory: {cwd}") from None
    if check and result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        first = message[0] if message else f"exit code {result.returncode}"
        raise SourceError(f"git {args[0]} failed in {cwd}: {first.removeprefix('fatal: ')}")
    return result.stdout


def toplevel(directory: Path | str) -> Path | None:
    """The work tree's top directory holding `directory`, or None outside a work tree."""
    if not git_available():
        return None
    try:
        out = run_git(["rev-parse", "--show-toplevel"], directory)
    except SourceError:
        return None
    return Path(os.fsdecode(out.rstrip(b"\n")))


def list_worktree_files(directory: Path) -> list[str]:
    """Tracked files plus untracked files that .gitignore does not exclude, relative to
    `directory` (raw file-system names, so undecodable names still open)."""
    out = run_git(
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        directory,
    )
    return sorted({os.fsdecode(name) for name in out.split(b"\0") if name})


def root_commits(directory: Path | str) -> list[str]:
    """Ids of the repository's root commits (empty for a repository without commits)."""
    try:
        out = run_git(["rev-list", "--max-parents=0", "HEAD"], directory)
    except SourceError:
        return []
    return sorted(out.decode().split())


def is_shallow(directory: Path | str) -> bool:
    out = run_git(["rev-parse", "--is-shallow-repository"], directory, check=False)
    return out.strip() == b"true"
