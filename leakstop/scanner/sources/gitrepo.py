"""The few git queries the sources need, through the `git` command (fast and always present
where git repositories are)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from leakstop.errors import SourceError

log = logging.getLogger(__name__)


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


def has_commit(directory: Path | str, ref: str) -> bool:
    out = run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], directory, check=False)
    return bool(out.strip())


def merge_base(directory: Path | str, base: str, head: str) -> str | None:
    out = run_git(["merge-base", base, head], directory, check=False)
    return out.decode().strip() or None


def fetch(directory: Path | str, args: list[str]) -> None:
    try:
        run_git(["fetch", "--quiet", "--no-tags", *args], directory)
    except SourceError as exc:
        raise SourceError(f"could not fetch the commits to compare: {exc}") from None


def fetch_missing(directory: Path | str, refs: list[str]) -> None:
    """Fetch from origin the commits (or branches) this clone lacks, shallowly in a shallow
    clone."""
    missing = [ref for ref in refs if not has_commit(directory, ref)]
    if missing:
        log.info("fetching %s from origin", ", ".join(missing))
        depth = ["--depth=1"] if is_shallow(directory) else []
        fetch(directory, [*depth, "origin", *missing])


def deepen_until_merge_base(
    directory: Path | str, base: str, head: str, refspecs: list[str] | None = None
) -> str | None:
    """Deepen a shallow clone step by step (50, 100, 200, ... commits) until BASE and HEAD
    meet, then stop; unshallow as a last resort. `refspecs` say what to fetch from origin
    when BASE or HEAD are local names (default: BASE and HEAD themselves)."""
    depth = 50
    while is_shallow(directory) and depth <= 6400:
        log.info("deepening the shallow clone by %d commits to find the merge base", depth)
        fetch(directory, [f"--deepen={depth}", "origin", *(refspecs or [base, head])])
        if (found := merge_base(directory, base, head)) is not None:
            return found
        depth *= 2
    if is_shallow(directory):
        fetch(directory, ["--unshallow", "origin"])
    return merge_base(directory, base, head)
