"""What a change adds: a commit range (a pull request) or the index (a pre-commit hook).

Each changed file is scanned whole at its new version, so multi-line secrets and file-type
rules see their context, and a finding is kept only if it touches a line the change added.
A deleted line is never reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leakstop.errors import SourceError
from leakstop.scanner.sources import Chunk, SkipReason, gitrepo
from leakstop.scanner.sources.catfile import BlobReader, blob_chunk

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)
_NOT_CONTENT = ("160000", "120000")


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    blob_id: str
    added: frozenset[int]


@dataclass
class DiffSource:
    """The files changed between `base` and `head` (a commit), or `base` and the index."""

    repo: Path
    base: str
    #: A commit-ish; None compares `base` with the index (`git diff --cached`).
    head: str | None
    max_size: int | None = None
    skip: Callable[[str], bool] = field(default=lambda _path: False)

    def chunks(self) -> Iterator[Chunk]:
        changes = []
        for change in self.changes():
            if self.skip(change.path):
                yield Chunk(change.path, skipped=SkipReason.ALLOWLISTED)
            elif change.added:
                changes.append(change)
        with BlobReader(self.repo, self.max_size) as reader:
            for blob in reader.read(changes, lambda change: change.blob_id):
                change = blob.request
                if blob.missing:
                    raise SourceError(f"git object {change.blob_id} ({change.path}) is missing")
                yield blob_chunk(change.path, blob, added_lines=change.added)

    def changes(self) -> list[Change]:
        target = ["--cached", self.base] if self.head is None else [self.base, self.head]
        output = gitrepo.run_git(
            [
                "diff",
                "--patch-with-raw",
                "-z",
                "-U0",
                "-M",
                "--no-color",
                "--no-ext-diff",
                "--no-abbrev",
                "--no-textconv",
                *target,
                "--",
            ],
            self.repo,
        )
        return parse_diff(output)


def parse_diff(output: bytes) -> list[Change]:
    """Changes from `git diff --patch-with-raw -z -U0`: the raw records come first (NUL
    separated, ending with an empty record), then one patch section per record, in order."""
    entries: list[tuple[str, str, str]] = []  # (status, new blob id, new path)
    tokens = output.split(b"\0")
    position = 0
    while position < len(tokens) and tokens[position].startswith(b":"):
        fields = tokens[position][1:].split(b" ")
        new_mode, new_id, status = fields[1].decode(), fields[3].decode(), fields[4].decode()
        paths = 2 if status[:1] in ("R", "C") else 1
        path = os.fsdecode(tokens[position + paths])
        entries.append((status, new_id, path if new_mode not in _NOT_CONTENT else ""))
        position += 1 + paths
    patch = b"\0".join(tokens[position:]).lstrip(b"\0")
    sections = re.split(rb"(?m)^diff --git ", patch)[1:] if patch else []
    if len(sections) != len(entries):
        raise SourceError("could not read git diff output (raw and patch parts differ)")
    changes = []
    for (status, blob_id, path), section in zip(entries, sections, strict=True):
        if status.startswith("D") or not path:
            continue
        added: set[int] = set()
        for match in _HUNK.finditer(section):
            start = int(match.group(1))
            count = int(match.group(2)) if match.group(2) is not None else 1
            added.update(range(start, start + count))
        changes.append(Change(path, blob_id, frozenset(added)))
    return changes


def empty_tree(repo: Path) -> str:
    """The id of the empty tree in this repository's hash format."""
    return gitrepo.run_git(["hash-object", "-t", "tree", os.devnull], repo).decode().strip()


def resolve_range(repo: Path, spec: str, fetch: bool = False) -> tuple[str, str]:
    """`BASE..HEAD` or `BASE...HEAD` → (merge base of BASE and HEAD, HEAD) as commit ids.

    Both forms mean what a pull request adds: the changes on HEAD since it forked from BASE,
    also when BASE has moved on. In a shallow clone, missing commits are fetched when `fetch`
    is set; otherwise the error says what to fetch.
    """
    base, dots, head = spec.partition("...")
    if not dots:
        base, dots, head = spec.partition("..")
    if not dots or not base or not head:
        raise SourceError(f"--diff expects BASE..HEAD, got {spec!r}")
    if fetch:
        gitrepo.fetch_missing(repo, [base, head])
    base_id, head_id = (_commit_id(repo, ref, spec) for ref in (base, head))
    merge_base = gitrepo.merge_base(repo, base_id, head_id)
    if merge_base is None and fetch and gitrepo.is_shallow(repo):
        merge_base = gitrepo.deepen_until_merge_base(repo, base_id, head_id)
    if merge_base is None:
        if gitrepo.is_shallow(repo):
            raise SourceError(
                f"{base} and {head} share no history in this shallow clone: fetch more, e.g. "
                "`git fetch --deepen=100 origin` (or `--unshallow`), or pass --fetch"
            )
        raise SourceError(f"{base} and {head} have no common ancestor")
    return merge_base, head_id


def _commit_id(repo: Path, ref: str, spec: str) -> str:
    out = gitrepo.run_git(
        ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo, check=False
    )
    if not out.strip():
        hint = ""
        if gitrepo.is_shallow(repo):
            hint = f" (shallow clone: `git fetch --depth=1 origin {ref}`, or pass --fetch)"
        raise SourceError(f"--diff {spec}: {ref!r} is not a commit in this repository{hint}")
    return out.decode().strip()


def staged_base(repo: Path) -> str:
    """What the index is compared with: HEAD, or the empty tree before the first commit."""
    out = gitrepo.run_git(["rev-parse", "--verify", "--quiet", "HEAD"], repo, check=False)
    return out.decode().strip() or empty_tree(repo)
