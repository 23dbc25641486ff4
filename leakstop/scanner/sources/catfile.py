"""Read git objects through one long-lived `git cat-file --batch` process.

Requests are written ahead of the answers being read, a few dozen at a time, so the pipe never
stalls on a round trip per object; no more are in flight than git's input pipe holds, so a
write never waits on git, and one thread does it all. Objects larger than a limit are drained
in pieces and never held in memory.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from leakstop.errors import SourceError
from leakstop.finding import Commit
from leakstop.scanner.sources import Chunk, SkipReason
from leakstop.scanner.sources.sealed_files import open_sealed
from leakstop.scanner.sources.worktree_blobs import WorktreeBlobs
from leakstop.scanner.text import SNIFF_BYTES, TextKind, sniff

T = TypeVar("T")
_DRAIN = 1 << 20
#: Bytes of requests (object names and newlines) git may have and not yet have answered: at
#: most the smallest pipe buffer of the systems we run on, so writing a request never blocks
#: (git, in turn, may block writing answers until we read them; nothing waits in a circle).
IN_FLIGHT = 4096
#: Items held waiting for the answers before them: a bound for a long run of items that ask
#: nothing of git (a history's blobs seen before).
HELD = 1024


@dataclass(frozen=True, slots=True)
class Blob(Generic[T]):
    request: T
    #: The object's bytes; None when missing or over the size limit.
    data: bytes | None
    size: int
    missing: bool = False
    #: The request named no object (`object_id` gave None): nothing was asked of git.
    unread: bool = False


class BlobReader:
    """`git cat-file --batch` in `repo`; use as a context manager."""

    def __init__(self, repo: Path, max_size: int | None = None) -> None:
        self.max_size = max_size
        try:
            self._process = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=repo,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=1 << 16,
            )
        except FileNotFoundError:
            raise SourceError("git is not installed or not on PATH") from None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop git, also when reading stopped early with answers unread: git is killed
        (it only reads) rather than waited on, and closing stdin cannot fail the close."""
        process = self._process
        if process.stdout is not None:
            process.stdout.close()
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                process.stdin.close()

    def read(
        self, requests: Iterable[T], object_id: Callable[[T], str | None]
    ) -> Iterator[Blob[T]]:
        """Each request's object, in request order. A request whose `object_id` is None
        comes back `unread`, in its place. An error from `requests` is raised once the
        requests before it have been answered."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        items = iter(requests)
        #: In request order: each request, and the bytes it asked of git (0: nothing).
        held: deque[tuple[T, int]] = deque()
        in_flight = 0
        failure: BaseException | None = None
        more = True
        while True:
            # Refill once half the budget is answered: one write for a few dozen requests.
            if more and in_flight <= IN_FLIGHT // 2:
                lines: list[bytes] = []
                try:
                    while in_flight < IN_FLIGHT and len(held) < HELD:
                        request = next(items, _END)
                        if request is _END:
                            more = False
                            break
                        name = object_id(request)
                        line = b"" if name is None else name.encode() + b"\n"
                        lines.append(line)
                        held.append((request, len(line)))
                        in_flight += len(line)
                except BaseException as exc:  # noqa: BLE001 - raised after the answers owed
                    failure, more = exc, False
                if any(lines):
                    try:
                        stdin.write(b"".join(lines))
                        stdin.flush()
                    except BrokenPipeError:
                        pass  # git has gone: reading its answer says so
            if not held:
                break
            request, asked = held.popleft()
            if asked:
                in_flight -= asked
                yield self._answer(request, stdout)
            else:
                yield Blob(request, None, 0, unread=True)
        if failure is not None:
            raise failure

    def _answer(self, request: T, stdout: IO[bytes]) -> Blob[T]:
        """The next object's answer. Raises SourceError when git's output ends early: at EOF
        `read` returns short (b"" when drained), never an error."""
        header = stdout.readline()
        if not header:
            raise SourceError("git cat-file stopped unexpectedly; check the repository")
        parts = header.split()
        if len(parts) < 3 or parts[1] == b"missing":
            return Blob(request, None, 0, missing=True)
        object_id, size = parts[0].decode("ascii", "replace"), int(parts[2])
        # Each object's bytes are followed by a newline.
        if self.max_size is not None and size > self.max_size:
            remaining = size + 1
            while remaining:
                piece = stdout.read(min(remaining, _DRAIN))
                if not piece:
                    raise _stopped(object_id, size + 1 - remaining, size)
                remaining -= len(piece)
            return Blob(request, None, size)
        data = stdout.read(size)
        if len(data) < size or stdout.read(1) != b"\n":
            raise _stopped(object_id, len(data), size)
        return Blob(request, data, size)


_END: Any = object()


def _stopped(object_id: str, received: int, size: int) -> SourceError:
    return SourceError(
        f"git cat-file stopped unexpectedly while reading object {object_id} "
        f"({min(received, size)} of {size} bytes); was git killed, or is the repository "
        "damaged (`git fsck`)?"
    )


def blob_chunk(
    path: str,
    blob: Blob[Any],
    commit: Commit | None = None,
    added_lines: frozenset[int] | None = None,
    blob_id: str | None = None,
) -> Chunk:
    """A blob that was found, as a chunk: skipped when over the size limit or binary."""
    if blob.data is None:
        return Chunk(
            path, commit=commit, skipped=SkipReason.TOO_LARGE, size=blob.size, blob_id=blob_id
        )
    plain = open_sealed(path, blob.data)  # before the binary check: it is ciphertext
    if plain is not None:
        return Chunk(
            path, plain, commit=commit, size=blob.size, added_lines=added_lines, blob_id=blob_id
        )
    if sniff(blob.data[:SNIFF_BYTES]) is TextKind.BINARY:
        return Chunk(
            path, commit=commit, skipped=SkipReason.BINARY, size=blob.size, blob_id=blob_id
        )
    return Chunk(
        path, blob.data, commit=commit, size=blob.size, added_lines=added_lines, blob_id=blob_id
    )


class BlobRequest(Protocol):
    """An item that names the blob it is read from."""

    @property
    def blob_id(self) -> str: ...


R = TypeVar("R", bound=BlobRequest)


class CatFileChunkReader(Generic[R]):
    """A source's reader over one `git cat-file --batch`, started when entered (picklable
    before, so each worker process starts its own). Finished chunks among the items pass
    through; each request's blob becomes a chunk through `chunk`."""

    #: Read a blob the work tree holds unchanged from its file (see worktree_blobs). Worth
    #: the index listing for a history, where most of HEAD's blobs are read; not for a diff
    #: of a few files in a large tree.
    reads_worktree = False

    def __init__(self, repo: Path, max_size: int | None) -> None:
        self.repo = repo
        self.max_size = max_size
        self._blobs: BlobReader | None = None
        self._worktree: WorktreeBlobs | None = None
        #: For a blob whose file turned out changed: asked of git one at a time.
        self._fallback: BlobReader | None = None

    def __enter__(self) -> CatFileChunkReader[R]:
        self._blobs = BlobReader(self.repo, self.max_size)
        self._worktree = WorktreeBlobs.of(self.repo) if self.reads_worktree else None
        return self

    def __exit__(self, *_exc: object) -> None:
        for reader in (self._blobs, self._fallback):
            if reader is not None:
                reader.close()
        self._blobs = self._fallback = self._worktree = None

    def __getstate__(self) -> tuple[Path, int | None]:
        return self.repo, self.max_size

    def __setstate__(self, state: tuple[Path, int | None]) -> None:
        self.repo, self.max_size = state
        self._blobs = self._fallback = self._worktree = None

    def read(self, items: Iterable[R | Chunk]) -> Iterator[Chunk]:
        """Chunks in item order."""
        assert self._blobs is not None, "enter the reader first"
        for blob in self._blobs.read(items, self._object_to_ask):
            request = blob.request
            if isinstance(request, Chunk):
                yield request
                continue
            found = self._from_worktree(request) if blob.unread else blob
            if (chunk := self.chunk(request, found)) is not None:
                yield chunk

    def chunk(self, request: R, blob: Blob[Any]) -> Chunk | None:
        """What `request`'s blob yields; None to leave it out."""
        raise NotImplementedError

    def _object_to_ask(self, item: R | Chunk) -> str | None:
        """The object git is asked for; None for a finished chunk, or a blob whose file the
        work tree should hold (it is read when its turn comes)."""
        if isinstance(item, Chunk):
            return None
        if self._worktree is not None and self._worktree.holds(item.blob_id):
            return None
        return item.blob_id

    def _from_worktree(self, request: R) -> Blob[R]:
        assert self._worktree is not None
        data = self._worktree.read(request.blob_id, self.max_size)
        if data is not None:
            return Blob(request, data, len(data))
        if self._fallback is None:
            self._fallback = BlobReader(self.repo, self.max_size)
        (blob,) = self._fallback.read([request], _blob_id)
        return blob


def _blob_id(request: BlobRequest) -> str:
    return request.blob_id
