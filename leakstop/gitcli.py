"""Every `git` command leakstop runs, through one door that keeps input from becoming options.

A revision, ref or path that came from a user, an event payload or a repository is passed only
after `--end-of-options` (git ≥ 2.24) and is refused outright when it starts with `-`: a pull
request must not be able to turn `--diff='--upload-pack=…'` into a command that runs. Options
are ours, fixed, and come first.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from leakstop.errors import SourceError

log = logging.getLogger(__name__)

END_OF_OPTIONS = "--end-of-options"
#: A full object id: SHA-1 (40) or SHA-256 (64) hex digits.
_OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def git_available() -> bool:
    return shutil.which("git") is not None


def revision(value: str, what: str = "revision") -> str:
    """`value` if it can only be read as a revision; raises SourceError for anything git
    could take for an option (or that holds a NUL or a line break)."""
    if not value or value.startswith("-") or any(c in value for c in "\0\n\r"):
        raise SourceError(
            f"{what} {value!r} is not a revision (revisions cannot be empty or start with '-')"
        )
    return value


def is_branch_name(name: str) -> bool:
    """Whether `git check-ref-format --branch` would take `name` (checked here, without git,
    so that the config loader can say so)."""
    if not name or name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock")):
        return False
    if name == "@" or any(part in name for part in ("..", "@{", "//")):
        return False
    if any(ord(c) < 0x20 or c == "\x7f" or c in " ~^:?*[\\" for c in name):
        return False
    return not any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))


def is_remote_name(name: str) -> bool:
    """A remote's name as `git remote add` takes it (origin, upstream), not a URL or path."""
    return bool(_REMOTE_NAME.match(name))


def object_id(value: str, what: str = "commit") -> str:
    """A full hex object id, as an event payload carries; anything else is refused."""
    if not _OBJECT_ID.match(value):
        raise SourceError(f"{what} {value!r} is not a full commit id")
    return value


def run_git(
    args: Sequence[str],
    cwd: Path | str,
    *,
    revisions: Sequence[str] = (),
    paths: Sequence[str] | None = None,
    check: bool = True,
) -> bytes:
    """Run `git ARGS [--end-of-options REVISIONS] [-- PATHS]` and return its stdout.

    `args` are fixed options (ours); `revisions` are checked with `revision()` and go after
    `--end-of-options`. A failure raises SourceError with git's own first line.
    """
    command = ["git", *args]
    if revisions:
        command += [END_OF_OPTIONS, *(revision(r) for r in revisions)]
    if paths is not None:
        command += ["--", *paths]
    try:
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise SourceError("git is not installed or not on PATH") from None
    except NotADirectoryError:
        raise SourceError(f"not a directory: {cwd}") from None
    if check and result.returncode != 0:
        raise SourceError(f"git {args[0]} failed in {cwd}: {first_error_line(result.stderr)}")
    return result.stdout


def first_error_line(stderr: bytes, fallback: str = "unknown error") -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[0].removeprefix("fatal: ") if lines else fallback


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
    out = run_git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], directory)
    return sorted({os.fsdecode(name) for name in out.split(b"\0") if name})


def root_commits(directory: Path | str) -> list[str]:
    """Ids of the repository's root commits (empty for a repository without commits)."""
    try:
        out = run_git(["rev-list", "--max-parents=0"], directory, revisions=["HEAD"])
    except SourceError:
        return []
    return sorted(out.decode().split())


def is_shallow(directory: Path | str) -> bool:
    out = run_git(["rev-parse", "--is-shallow-repository"], directory, check=False)
    return out.strip() == b"true"


def commit_id(directory: Path | str, ref: str) -> str | None:
    """The commit `ref` names, or None when there is none."""
    out = run_git(
        ["rev-parse", "--verify", "--quiet"],
        directory,
        revisions=[revision(ref) + "^{commit}"],
        check=False,
    )
    return out.decode().strip() or None


def has_commit(directory: Path | str, ref: str) -> bool:
    return commit_id(directory, ref) is not None


def merge_base(directory: Path | str, base: str, head: str) -> str | None:
    out = run_git(["merge-base"], directory, revisions=[base, head], check=False)
    return out.decode().strip() or None


def count_commits(directory: Path | str, revisions: Sequence[str]) -> int:
    """How many commits `git rev-list REVISIONS` selects (`^ref` excludes)."""
    out = run_git(["rev-list", "--count"], directory, revisions=revisions)
    return int(out.decode().strip() or 0)


def show_file(directory: Path | str, commit: str, path: str) -> bytes | None:
    """The bytes of `path` as it is in `commit`, or None when it is not there."""
    name = Path(path).as_posix().removeprefix("./")
    try:
        return run_git(["show"], directory, revisions=[f"{commit}:{name}"])
    except SourceError:
        return None


def fetch(directory: Path | str, options: Sequence[str], refspecs: Sequence[str]) -> None:
    """`git fetch OPTIONS origin REFSPECS`: the refspecs go after `--end-of-options`."""
    checked = [revision(spec.removeprefix("+"), "refspec") and spec for spec in refspecs]
    command = ["fetch", "--quiet", "--no-tags", *options, END_OF_OPTIONS, "origin", *checked]
    try:
        run_git(command, directory)
    except SourceError as exc:
        raise SourceError(f"could not fetch the commits to compare: {exc}") from None


def fetch_missing(directory: Path | str, refs: Sequence[str]) -> None:
    """Fetch from origin the commits (or branches) this clone lacks, shallowly in a shallow
    clone."""
    missing = [ref for ref in refs if not has_commit(directory, ref)]
    if missing:
        log.info("fetching %s from origin", ", ".join(missing))
        depth = ["--depth=1"] if is_shallow(directory) else []
        fetch(directory, depth, missing)


def deepen_until_merge_base(
    directory: Path | str, base: str, head: str, refspecs: Sequence[str] | None = None
) -> str | None:
    """Deepen a shallow clone step by step (50, 100, 200, ... commits) until BASE and HEAD
    meet, then stop; unshallow as a last resort. `refspecs` say what to fetch from origin
    when BASE or HEAD are local names (default: BASE and HEAD themselves)."""
    depth = 50
    while is_shallow(directory) and depth <= 6400:
        log.info("deepening the shallow clone by %d commits to find the merge base", depth)
        fetch(directory, [f"--deepen={depth}"], refspecs or [base, head])
        if (found := merge_base(directory, base, head)) is not None:
            return found
        depth *= 2
    if is_shallow(directory):
        fetch(directory, ["--unshallow"], [])
    return merge_base(directory, base, head)
