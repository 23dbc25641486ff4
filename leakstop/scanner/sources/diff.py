"""What a change adds: a commit range (a pull request) or the index (a pre-commit hook).

Each changed file is scanned whole at its new version, so multi-line secrets and file-type
rules see their context, and a finding is kept only if it touches a line the change added.
A deleted line is never reported.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakstop import gitcli
from leakstop.errors import SourceError
from leakstop.scanner.sources import Chunk, SkipReason
from leakstop.scanner.sources.catfile import Blob, CatFileChunkReader, blob_chunk

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)
_BINARY = re.compile(rb"^Binary files .* differ$", re.MULTILINE)
_NOT_CONTENT = ("160000", "120000")
ZERO_ID = re.compile(r"^0+$")
#: The options every `git diff` here runs with: no colour, no external diff or textconv
#: driver (a repository's `.gitattributes` must not choose what we see), full ids.
_DIFF_OPTIONS = (
    "-z",
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-abbrev",
    "--no-textconv",
)


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    blob_id: str
    #: Lines the change added (1-based). None: every line (a new file).
    added: frozenset[int] | None
    #: The blob this one replaced; None for a new file.
    old_blob_id: str | None = None
    #: git printed "Binary files … differ" instead of hunks (NUL bytes, UTF-16, or a
    #: `-diff`/`binary` attribute): the added lines are worked out from the blobs.
    binary: bool = False


@dataclass
class DiffSource:
    """The files changed between `base` and `head` (a commit), or `base` and the index."""

    repo: Path
    base: str
    #: A commit-ish; None compares `base` with the index (`git diff --cached`).
    head: str | None
    max_size: int | None = None
    skip: Callable[[str], bool] = field(default=lambda _path: False)
    unit: str = "file"

    def items(self) -> Iterator[Change | Chunk]:
        for change in self.changes():
            if self.skip(change.path):
                yield Chunk(change.path, skipped=SkipReason.ALLOWLISTED)
            elif change.added is None or change.added or change.binary:
                yield change

    def reader(self) -> DiffChunkReader:
        return DiffChunkReader(self.repo, self.max_size)

    def changes(self) -> list[Change]:
        cached = ["--cached"] if self.head is None else []
        revisions = [self.base] if self.head is None else [self.base, self.head]
        output = gitcli.run_git(
            ["diff", "--patch-with-raw", "-M", *_DIFF_OPTIONS, *cached],
            self.repo,
            revisions=revisions,
            paths=[],
        )
        return parse_diff(output)


class DiffChunkReader(CatFileChunkReader[Change]):
    """Reads changed files' new blobs through one `git cat-file --batch`."""

    def chunk(self, change: Change, blob: Blob[Any]) -> Chunk:
        if blob.missing:
            raise SourceError(f"git object {change.blob_id} ({change.path}) is missing")
        chunk = blob_chunk(change.path, blob, added_lines=change.added)
        if change.binary and chunk.skipped is None:
            # Text to us, binary to git: its hunks come from a text diff of the blobs.
            chunk = dataclasses.replace(chunk, added_lines=self._added_lines(change))
        return chunk

    def _added_lines(self, change: Change) -> frozenset[int] | None:
        if change.old_blob_id is None:
            return None
        output = gitcli.run_git(
            ["diff", "--text", *_DIFF_OPTIONS],
            self.repo,
            revisions=[change.old_blob_id, change.blob_id],
        )
        return hunk_lines(output)


def hunk_lines(patch: bytes) -> frozenset[int]:
    """The new-side line numbers that `-U0` hunks add."""
    added: set[int] = set()
    for match in _HUNK.finditer(patch):
        start = int(match.group(1))
        count = int(match.group(2)) if match.group(2) is not None else 1
        added.update(range(start, start + count))
    return frozenset(added)


def parse_diff(output: bytes) -> list[Change]:
    """Changes from `git diff --patch-with-raw -z -U0`: the raw records come first (NUL
    separated, ending with an empty record), then one patch section per record, in order."""
    entries: list[tuple[str, str, str, str]] = []  # (status, old id, new id, new path)
    tokens = output.split(b"\0")
    position = 0
    while position < len(tokens) and tokens[position].startswith(b":"):
        fields = tokens[position][1:].split(b" ")
        new_mode, old_id, new_id = fields[1].decode(), fields[2].decode(), fields[3].decode()
        status = fields[4].decode()
        paths = 2 if status[:1] in ("R", "C") else 1
        path = os.fsdecode(tokens[position + paths])
        entries.append((status, old_id, new_id, path if new_mode not in _NOT_CONTENT else ""))
        position += 1 + paths
    patch = b"\0".join(tokens[position:]).lstrip(b"\0")
    sections = re.split(rb"(?m)^diff --git ", patch)[1:] if patch else []
    if len(sections) != len(entries):
        raise SourceError("could not read git diff output (raw and patch parts differ)")
    changes = []
    for (status, old_id, blob_id, path), section in zip(entries, sections, strict=True):
        if status.startswith("D") or not path:
            continue
        new_file = ZERO_ID.match(old_id) is not None or status.startswith("A")
        binary = _BINARY.search(section) is not None
        if new_file:
            changes.append(Change(path, blob_id, None, None, binary))
        else:
            changes.append(Change(path, blob_id, hunk_lines(section), old_id, binary))
    return changes


def empty_tree(repo: Path) -> str:
    """The id of the empty tree in this repository's hash format."""
    return gitcli.run_git(["hash-object", "-t", "tree", os.devnull], repo).decode().strip()


def resolve_range(repo: Path, spec: str, fetch: bool = False) -> tuple[str, str]:
    """`BASE..HEAD` or `BASE...HEAD` → (merge base of BASE and HEAD, HEAD) as commit ids.

    Both forms mean what a pull request adds: the changes on HEAD since it forked from BASE,
    also when BASE has moved on. In a shallow clone, missing commits are fetched when `fetch`
    is set; otherwise the error says what to fetch. Neither side may look like an option.
    """
    base, dots, head = spec.partition("...")
    if not dots:
        base, dots, head = spec.partition("..")
    if not dots or not base or not head:
        raise SourceError(f"--diff expects BASE..HEAD, got {spec!r}")
    for ref in (base, head):
        gitcli.revision(ref, f"--diff {spec}:")
    if fetch:
        gitcli.fetch_missing(repo, [base, head])
    base_id, head_id = (_commit_id(repo, ref, spec) for ref in (base, head))
    merge_base = gitcli.merge_base(repo, base_id, head_id)
    if merge_base is None and fetch and gitcli.is_shallow(repo):
        merge_base = gitcli.deepen_until_merge_base(repo, base_id, head_id)
    if merge_base is None:
        if gitcli.is_shallow(repo):
            raise SourceError(
                f"{base} and {head} share no history in this shallow clone: fetch more, e.g. "
                "`git fetch --deepen=100 origin` (or `--unshallow`), or pass --fetch"
            )
        raise SourceError(f"{base} and {head} have no common ancestor")
    return merge_base, head_id


def _commit_id(repo: Path, ref: str, spec: str) -> str:
    found = gitcli.commit_id(repo, ref)
    if found is None:
        hint = ""
        if gitcli.is_shallow(repo):
            hint = f" (shallow clone: `git fetch --depth=1 origin {ref}`, or pass --fetch)"
        raise SourceError(f"--diff {spec}: {ref!r} is not a commit in this repository{hint}")
    return found


def staged_base(repo: Path) -> str:
    """What the index is compared with: HEAD, or the empty tree before the first commit."""
    return gitcli.commit_id(repo, "HEAD") or empty_tree(repo)
