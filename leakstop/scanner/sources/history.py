"""Git history: every blob that any commit in range introduced, read once.

`git log --reverse --raw` lists, oldest commit first, the blobs each commit adds or changes;
a blob is requested from `git cat-file --batch` the first time it appears, so a blob in 500
commits is scanned once and attributed to the commit (and path) that introduced it. Both git
processes stream: memory holds the set of blob ids seen, never the repository.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path
from typing import Any, cast

from leakstop import gitcli
from leakstop.errors import SourceError
from leakstop.finding import Commit
from leakstop.scanner.sources import Chunk, SkipReason
from leakstop.scanner.sources.catfile import Blob, CatFileChunkReader, blob_chunk

log = logging.getLogger(__name__)

#: Header of each commit in the log stream: \x01 then fields separated by \x1f.
LOG_FORMAT = "%x01%H%x1f%an%x1f%ae%x1f%aI%x1f%s"
#: File modes that are not file contents: submodule commits and symlink targets.
_NOT_CONTENT = (b"160000", b"120000")
_READ_SIZE = 1 << 16


@dataclass(frozen=True, slots=True)
class Introduction:
    """A blob as first seen in history: which commit added it, under which path."""

    blob_id: str
    path: str
    commit: Commit
    #: What the blob's hits are remembered by (`Chunk.blob_id`): the blob id, and the group
    #: of path-restricted rules its path gets, if any (`GitHistorySource.path_group`).
    key: str = ""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled for every blob a worker reads: a tuple, not the slots dataclass's
        # field-by-field state (several times faster).
        return type(self), (self.blob_id, self.path, self.commit, self.key)


class BlobChunkReader(CatFileChunkReader[Introduction]):
    """Reads introduced blobs through one `git cat-file --batch`, or from the work tree."""

    reads_worktree = True

    def chunk(self, entry: Introduction, blob: Blob[Any]) -> Chunk | None:
        """The blob as a chunk; one git cannot read (missing, or damaged: `git cat-file`
        answers `missing` for both) is skipped as unreadable, with a warning."""
        if blob.missing:
            log.warning(
                "%s: skipped, git object %s is missing or damaged (see `git fsck`)",
                entry.path,
                entry.blob_id,
            )
            return Chunk(entry.path, commit=entry.commit, skipped=SkipReason.UNREADABLE)
        return blob_chunk(entry.path, blob, commit=entry.commit, blob_id=entry.key or entry.blob_id)


@dataclass
class GitHistorySource:
    """Every blob that the selected commits introduced, each read once.

    A blob found again under another path (a copy, a rename, a second file with the same
    bytes) is not read again: it is passed on as a `same_as` chunk, so what it holds is
    reported under every path, each with its own allowlisting, as of the commit that first
    put it there.
    """

    repo: Path
    #: `git log` options (`--since=…`, `--author=…`, revisions and `-- paths` as a user
    #: types them); they follow ours. Default: every ref (`--all`).
    log_opts: list[str] = field(default_factory=list)
    #: Revisions from a program (an event payload): passed after `--end-of-options`.
    revisions: list[str] = field(default_factory=list)
    max_size: int | None = None
    skip: Callable[[str], bool] = field(default=lambda _path: False)
    #: Which path-restricted rules apply at a path (`Engine.path_group`): a blob seen before
    #: is read again at a path with other such rules (a `notes.txt` copied to `.netrc`).
    path_group: Callable[[str], str] = field(default=lambda _path: "")
    unit: str = "blob"

    def warn_if_shallow(self) -> None:
        if gitcli.is_shallow(self.repo):
            log.warning(
                "%s is a shallow clone: history before its oldest fetched commit is not "
                "scanned (git fetch --unshallow to scan all of it)",
                self.repo,
            )

    def reader(self) -> BlobChunkReader:
        return BlobChunkReader(self.repo, self.max_size)

    def items(self) -> Iterator[Introduction | Chunk]:
        """Each (blob, path) that history introduces, oldest first: an Introduction the first
        time a blob is seen at a path that is not skipped, a `same_as` chunk for a blob seen
        before, an ALLOWLISTED chunk for a skipped path."""
        self.warn_if_shallow()
        read: set[bytes] = set()
        placed: set[bytes] = set()
        for commit, blob_id, path, mode in self._log():
            if mode in _NOT_CONTENT:
                continue
            place = bytes.fromhex(blob_id) + os.fsencode(path)
            if place in placed:
                continue
            placed.add(place)
            if self.skip(path):
                yield Chunk(path, commit=commit, skipped=SkipReason.ALLOWLISTED)
                continue
            group = self.path_group(path)
            key = bytes.fromhex(blob_id) + group.encode()
            remembered = f"{blob_id}:{group}" if group else blob_id
            if key in read:
                yield Chunk(path, commit=commit, same_as=remembered)
            else:
                read.add(key)
                yield Introduction(blob_id, path, commit, remembered)

    def command(self) -> list[str]:
        """`git log`: our options first (so no user option can reorder or hide them), then
        the user's, then the program's revisions after `--end-of-options`."""
        check_log_opts(self.log_opts)
        command = [
            "git",
            "log",
            "--date-order",
            "--reverse",
            "--no-renames",
            "--diff-merges=first-parent",
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            f"--format={LOG_FORMAT}",
        ]
        command += self.log_opts
        if self.revisions:
            command += [gitcli.END_OF_OPTIONS, *(gitcli.revision(r) for r in self.revisions)]
        elif not self.log_opts:
            command.append("--all")
        if "--" not in self.log_opts:
            command.append("--")
        return command

    def describe(self) -> str:
        return shlex.join([*self.log_opts, *self.revisions]) or "--all"

    def _log(self) -> Iterator[tuple[Commit, str, str, bytes]]:
        """(commit, blob id, path, mode) from `git log --raw`, streamed; raises SourceError
        when git fails or selects no commit at all."""
        process = subprocess.Popen(
            self.command(),
            cwd=self.repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        commits = _CommitCounter()
        try:
            yield from parse_log(cast(BufferedReader, process.stdout), commits)
        except BaseException:
            # Stopped early (an error, Ctrl-C, or the reader gave up): git's exit status
            # would only hide the real reason.
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        error = process.stderr.read()
        process.stderr.close()
        if process.wait() != 0:
            first = gitcli.first_error_line(error, f"exit code {process.returncode}")
            raise SourceError(f"git log {self.describe()} failed: {first}")
        if commits.count == 0:
            # Nothing selected is never what a history scan means: a range that is empty, a
            # path that never existed, an empty repository.
            if self.log_opts or self.revisions:
                raise SourceError(
                    f"git log {self.describe()} selects no commits: check the range, the "
                    "filters and any paths after '--'"
                )
            raise SourceError(f"{self.repo} has no commits to scan")


#: `git log` options that change what it prints: ours must stay as they are to be parsed.
_OUTPUT_OPTIONS = (
    "--format",
    "--pretty",
    "--oneline",
    "--output",
    "--graph",
    "--name-only",
    "--name-status",
    "--stat",
    "--shortstat",
    "--numstat",
    "--dirstat",
    "--summary",
    "--patch",
    "--raw",
    "--no-raw",
    "--follow",
    "--find-renames",
    "--find-copies",
    "--diff-merges",
    "--cc",
    "--combined-all-paths",
    "--walk-reflogs",
    "--line-prefix",
    "--relative",
    "--abbrev",
    "--null",
    "--textconv",
    "--ext-diff",
    "--color",
    "--notes",
    "--show-signature",
)
_OUTPUT_SHORT = ("-p", "-u", "-z", "-M", "-C", "-c", "-m", "-g", "-s", "-U", "-L")


def check_log_opts(options: list[str]) -> None:
    """Refuse `--log-opts` that would change `git log`'s output (it would then be misread);
    revisions, paths and filters such as --since, --author, --branches are what it is for."""
    paths = False
    for option in options:
        if option == "--":
            paths = True
        if paths or not option.startswith("-"):
            continue
        name = option.split("=", 1)[0]
        if name.startswith(_OUTPUT_OPTIONS) or (
            not name.startswith("--") and name.startswith(_OUTPUT_SHORT)
        ):
            raise SourceError(
                f"--log-opts: {option!r} changes git log's output, which leakstop reads; use "
                "it to choose commits (ranges, --since, --author, --branches, -- paths)"
            )


class _CommitCounter:
    def __init__(self) -> None:
        self.count = 0


def parse_log(
    stream: BufferedReader, commits: _CommitCounter | None = None
) -> Iterator[tuple[Commit, str, str, bytes]]:
    """(commit, blob id, path, mode) for each added or modified file in `git log --raw -z`
    output made with LOG_FORMAT; deletions are left out. `commits` counts the commits."""
    commit: Commit | None = None
    meta: bytes | None = None
    for token in _nul_tokens(stream):
        token = token.lstrip(b"\n")
        if meta is not None:
            # ":old_mode new_mode old_id new_id status" then the path token
            _old_mode, new_mode, _old_id, new_id, status = meta[1:].split(b" ", 4)
            meta = None
            if status.startswith(b"D") or commit is None:
                continue
            yield commit, new_id.decode(), os.fsdecode(token), new_mode
        elif token.startswith(b"\x01"):
            sha, name, email, date, subject = (
                token[1:].decode("utf-8", errors="replace").split("\x1f", 4)
            )
            commit = Commit(sha, name, email, date, subject)
            if commits is not None:
                commits.count += 1
        elif token.startswith(b":"):
            meta = token


def _nul_tokens(stream: BufferedReader) -> Iterator[bytes]:
    rest = b""
    while block := stream.read1(_READ_SIZE):
        parts = (rest + block).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest
