"""Read git objects through one long-lived `git cat-file --batch` process.

Requests are written by a thread while the caller reads the answers in the same order, so the
pipe never stalls on a round trip per object. Objects larger than a limit are drained in
pieces and never held in memory.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from leakstop.errors import SourceError
from leakstop.finding import Commit
from leakstop.scanner.sources import Chunk, SkipReason
from leakstop.scanner.sources.sealed_files import open_sealed
from leakstop.scanner.text import SNIFF_BYTES, TextKind, sniff

T = TypeVar("T")
_DRAIN = 1 << 20


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
        """Stop git. Safe when reading stopped early: the writer thread may then be blocked
        on a full pipe holding the stdin lock, so stdout goes first and git is killed (it
        only reads) before stdin is closed."""
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
        """Each request's object, in request order. `requests` is consumed on a thread; a
        request whose `object_id` is None comes back `unread`, in its place."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        sent: queue.SimpleQueue[tuple[T, bool] | None] = queue.SimpleQueue()
        failure: list[BaseException] = []

        def feed() -> None:
            # Only this thread touches stdin, and a request is queued once git has it: then
            # every queued request's answer is on its way and the reader only reads stdout.
            # (Had the reader flushed stdin, it could wait on the buffer's lock while this
            # thread, holding it, waits on git, which waits on the reader: a deadlock.)
            try:
                for request in requests:
                    name = object_id(request)
                    if name is not None:
                        stdin.write(name.encode() + b"\n")
                        stdin.flush()
                    sent.put((request, name is not None))
            except BrokenPipeError:
                pass
            except BaseException as exc:  # noqa: BLE001 - handed to the reader, which re-raises it
                failure.append(exc)
            finally:
                sent.put(None)

        writer = threading.Thread(target=feed, name="leakstop-cat-file", daemon=True)
        writer.start()
        while (item := sent.get()) is not None:
            request, asked = item
            yield self._answer(request, stdout) if asked else Blob(request, None, 0, unread=True)
        writer.join()
        if failure:
            raise failure[0]

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

    def __init__(self, repo: Path, max_size: int | None) -> None:
        self.repo = repo
        self.max_size = max_size
        self._blobs: BlobReader | None = None

    def __enter__(self) -> CatFileChunkReader[R]:
        self._blobs = BlobReader(self.repo, self.max_size)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._blobs is not None:
            self._blobs.close()
            self._blobs = None

    def __getstate__(self) -> tuple[Path, int | None]:
        return self.repo, self.max_size

    def __setstate__(self, state: tuple[Path, int | None]) -> None:
        self.repo, self.max_size = state
        self._blobs = None

    def read(self, items: Iterable[R | Chunk]) -> Iterator[Chunk]:
        """Chunks in item order."""
        assert self._blobs is not None, "enter the reader first"
        for blob in self._blobs.read(items, _blob_to_read):
            request = blob.request
            if isinstance(request, Chunk):
                yield request
            elif (chunk := self.chunk(request, blob)) is not None:
                yield chunk

    def chunk(self, request: R, blob: Blob[Any]) -> Chunk | None:
        """What `request`'s blob yields; None to leave it out."""
        raise NotImplementedError


def _blob_to_read(item: BlobRequest | Chunk) -> str | None:
    return None if isinstance(item, Chunk) else item.blob_id
