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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path
from typing import cast

from leakstop.errors import SourceError
from leakstop.finding import Commit
from leakstop.scanner.sources import Chunk, SkipReason, gitrepo
from leakstop.scanner.sources.catfile import BlobReader, blob_chunk

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


def blob_chunks(reader: BlobReader, introductions: Iterable[Introduction]) -> Iterator[Chunk]:
    """The introduced blobs as chunks, in order; a missing blob is logged and left out."""
    for blob in reader.read(introductions, lambda entry: entry.blob_id):
        entry = blob.request
        if blob.missing:
            log.debug("blob %s (%s) is missing from the repository", entry.blob_id, entry.path)
        else:
            yield blob_chunk(entry.path, blob, commit=entry.commit)


@dataclass
class GitHistorySource:
    repo: Path
    #: Extra `git log` arguments (a range, --since, ...); default: every ref (--all).
    log_opts: list[str] = field(default_factory=list)
    max_size: int | None = None
    skip: Callable[[str], bool] = field(default=lambda _path: False)

    def warn_if_shallow(self) -> None:
        if gitrepo.is_shallow(self.repo):
            log.warning(
                "%s is a shallow clone: history before its oldest fetched commit is not "
                "scanned (git fetch --unshallow to scan all of it)",
                self.repo,
            )

    def chunks(self) -> Iterator[Chunk]:
        self.warn_if_shallow()
        allowlisted: list[str] = []
        introductions = self.introductions(allowlisted)
        with BlobReader(self.repo, self.max_size) as reader:
            yield from blob_chunks(reader, introductions)
        for path in allowlisted:
            yield Chunk(path, skipped=SkipReason.ALLOWLISTED)

    def introductions(self, allowlisted: list[str]) -> Iterator[Introduction]:
        """Each blob history introduces, oldest first; allowlisted paths go to `allowlisted`."""
        seen: set[bytes] = set()
        command = [
            "git",
            "log",
            *(self.log_opts or ["--all"]),
            "--date-order",
            "--reverse",
            "--no-renames",
            "--diff-merges=first-parent",
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-color",
            "--no-ext-diff",
            f"--format={LOG_FORMAT}",
            "--",
        ]
        process = subprocess.Popen(
            command,
            cwd=self.repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            for commit, blob_id, path, mode in parse_log(cast(BufferedReader, process.stdout)):
                if mode in _NOT_CONTENT:
                    continue
                key = bytes.fromhex(blob_id)
                if key in seen:
                    continue
                seen.add(key)
                if self.skip(path):
                    allowlisted.append(path)
                    continue
                yield Introduction(blob_id, path, commit)
        except BaseException:
            # Stopped early (an error, Ctrl-C, or the reader gave up): git's exit status
            # would only hide the real reason.
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        error = process.stderr.read().decode(errors="replace").strip()
        process.stderr.close()
        if process.wait() != 0:
            first = error.splitlines()[0] if error else f"exit code {process.returncode}"
            options = shlex.join(self.log_opts) if self.log_opts else "--all"
            raise SourceError(f"git log {options} failed: {first.removeprefix('fatal: ')}")


def parse_log(stream: BufferedReader) -> Iterator[tuple[Commit, str, str, bytes]]:
    """(commit, blob id, path, mode) for each added or modified file in `git log --raw -z`
    output made with LOG_FORMAT; deletions are left out."""
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
