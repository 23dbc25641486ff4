"""Files on disk: a git work tree's tracked and non-ignored files, or every file of a folder.

Symlinks are never followed; binary and oversize files are rejected from their first bytes;
FIFOs, sockets and devices are never opened for reading.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leakstop import gitcli
from leakstop.errors import SourceError
from leakstop.scanner.sources import Chunk, SkipReason
from leakstop.scanner.sources.sealed_files import is_sealed_file, open_sealed
from leakstop.scanner.text import SNIFF_BYTES, TextKind, sniff

log = logging.getLogger(__name__)


@dataclass
class FileSource:
    """Yields the files under `paths`, named relative to `root`, in a stable order."""

    paths: list[Path]
    root: Path
    max_size: int | None = None
    #: Honour .gitignore inside work trees; False scans every file (except .git/).
    use_git: bool = True
    #: Paths (relative to `root`) to skip without reading, e.g. allowlisted globally.
    skip: Callable[[str], bool] = field(default=lambda _path: False)
    unit: str = "file"

    def items(self) -> Iterator[tuple[str, str] | Chunk]:
        """`(absolute, relative)` for each file to read; a skipped file as its chunk."""
        for absolute, relative in self.files():
            if self.skip(relative):
                yield Chunk(relative, skipped=SkipReason.ALLOWLISTED)
            else:
                yield absolute, relative

    def reader(self) -> FileReader:
        return FileReader(self.max_size)

    def files(self) -> Iterator[tuple[str, str]]:
        """(absolute path, path relative to root) for each file, each once, sorted per path."""
        if len(self.paths) == 1:
            # One folder lists each file once: no set of every path (1,000,000 files held
            # ~120 MiB of them just to find no duplicate).
            for absolute in self._expand(self.paths[0]):
                yield absolute, relative_to(absolute, self.root)
            return
        seen: set[str] = set()
        for path in self.paths:
            for absolute in self._expand(path):
                if absolute not in seen:
                    seen.add(absolute)
                    yield absolute, relative_to(absolute, self.root)

    def _expand(self, path: Path) -> Iterator[str]:
        absolute = resolved_parent(path)
        try:
            info = os.lstat(absolute)
        except FileNotFoundError:
            raise SourceError(f"no such file or directory: {path}") from None
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from None
        if not stat.S_ISDIR(info.st_mode):
            yield absolute
            return
        if self.use_git and gitcli.toplevel(absolute) is not None:
            names = gitcli.list_worktree_files(Path(absolute))
            yield from (os.path.join(absolute, name) for name in names)
        else:
            yield from _walk(absolute)


@dataclass(frozen=True)
class FileReader:
    max_size: int | None = None

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def read(self, items: Iterable[tuple[str, str] | Chunk]) -> Iterator[Chunk]:
        for item in items:
            if isinstance(item, Chunk):
                yield item
            elif (chunk := read_file(*item, self.max_size)) is not None:
                yield chunk


def _walk(top: str) -> Iterator[str]:
    for directory, subdirs, files in os.walk(top, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if d != ".git")
        for name in sorted(files):
            yield os.path.join(directory, name)


def resolved_parent(path: Path | str) -> str:
    """Absolute path with its parent folders' symlinks resolved (git reports real paths) but
    not its last part's, so a symlink given as the target is still not followed."""
    absolute = os.path.abspath(path)
    parent, name = os.path.split(absolute)
    return os.path.join(os.path.realpath(parent), name) if name else absolute


def relative_to(absolute: str, root: Path) -> str:
    """`absolute` relative to `root`, with `/`; absolute when it lies outside `root`."""
    prefix = _folder_prefix(root)
    if prefix is not None and absolute.startswith(prefix):
        # A listed file under the root: its name is the rest (os.path.relpath normalises
        # both paths again for each of them, ~10 µs a file).
        rest = absolute[len(prefix) :]
        if rest and not _UNNORMAL.search(rest):
            return rest.replace(os.sep, "/")
    relative = os.path.relpath(absolute, root)
    # Only `..` as a whole first part leaves the root: `..env` is a file name.
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        relative = absolute
    return relative.replace(os.sep, "/")


#: A part of a path that os.path.relpath would normalise away: `.`, `..` or an empty one.
_UNNORMAL = re.compile(r"(?:^|[/\\])\.{0,2}(?:[/\\]|$)")


@functools.lru_cache(maxsize=8)
def _folder_prefix(root: Path) -> str | None:
    """`root` as the normalised absolute prefix (ending in a separator) of the paths under
    it; None when `root` is relative."""
    folder = os.fspath(root)
    if not os.path.isabs(folder) or os.path.normpath(folder) != folder:
        return None
    return os.path.join(folder, "")


def read_file(absolute: str, relative: str, max_size: int | None) -> Chunk | None:
    """Read one file, or say why it was skipped; None for folders (submodules) and files that
    vanished since listing."""
    try:
        info = os.lstat(absolute)
    except FileNotFoundError:
        return None  # listed by git but deleted in the work tree
    except OSError as exc:
        return _unreadable(relative, exc)
    if stat.S_ISLNK(info.st_mode):
        return Chunk(relative, skipped=SkipReason.SYMLINK)
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return Chunk(relative, skipped=SkipReason.NOT_REGULAR)
    try:
        # The file may have been swapped since lstat: never follow a link, never wait for a
        # FIFO's writer, and check again what was opened.
        descriptor = os.open(absolute, OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(relative, exc, info.st_size)
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            return Chunk(relative, skipped=SkipReason.NOT_REGULAR)
        if max_size is not None and opened.st_size > max_size:
            return Chunk(relative, skipped=SkipReason.TOO_LARGE, size=opened.st_size)
        try:
            head = os.read(descriptor, SNIFF_BYTES)
            binary = sniff(head) is TextKind.BINARY
            # A binary file is read no further, unless it is a credential file stored
            # encrypted (its ciphertext may also sniff as Latin-1 text).
            sealed = is_sealed_file(relative)
            if binary and not sealed:
                return Chunk(relative, skipped=SkipReason.BINARY, size=opened.st_size)
            # A file that grows while it is read stops at the limit (plus one byte, to tell).
            limit = None if max_size is None else max_size + 1
            data = head if len(head) < SNIFF_BYTES else read_whole(descriptor, opened, limit)
        except OSError as exc:
            return _unreadable(relative, exc, opened.st_size)
    finally:
        os.close(descriptor)
    if max_size is not None and len(data) > max_size:
        return Chunk(relative, skipped=SkipReason.TOO_LARGE, size=len(data))
    plain = open_sealed(relative, data) if sealed else None
    if plain is not None:
        return Chunk(relative, plain, size=len(data))
    if binary:
        return Chunk(relative, skipped=SkipReason.BINARY, size=len(data))
    return Chunk(relative, data, size=len(data))


def read_whole(descriptor: int, opened: os.stat_result, limit: int | None) -> bytes:
    """The file from its first byte to its end, or to `limit` bytes.

    Plain `os.read`s into one buffer the size of the file, not a buffered reader whose head
    and rest are joined (half the time for the throughput corpus: 65 ms instead of 150 for
    160 MB); the head is read again, from the page cache."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    parts: list[bytes] = []
    total = 0
    while limit is None or total < limit:
        # Asking one byte more than the file holds reads it in one call; the next one
        # returns b"" at its end, or what was appended since fstat.
        wanted = max(opened.st_size + 1 - total, _READ_MORE)
        part = os.read(descriptor, wanted if limit is None else min(wanted, limit - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


#: What a read asks for once the file has outgrown its fstat size.
_READ_MORE = 1 << 20

#: O_NOFOLLOW and O_NONBLOCK are POSIX; Windows has neither (nor FIFOs in the tree), and
#: needs O_BINARY for line ends to be read as they are.
OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


def _unreadable(relative: str, exc: OSError, size: int = 0) -> Chunk:
    log.warning("%s: skipped, cannot read it: %s", relative, exc.strerror or exc)
    return Chunk(relative, skipped=SkipReason.UNREADABLE, size=size)
