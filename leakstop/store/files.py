"""Whole-file writes that a crash cannot tear: write a temporary file beside the target, `fsync`
it, rename it over the target, then `fsync` the folder so the rename itself survives.

Readers never see a half-written file: they open either the old file or the new one. A crash
leaves at most a `.tmp-*` file behind, which every listing ignores.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
TEMP_PREFIX = ".tmp-"
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def write_atomic(path: Path, data: bytes, *, sync_folder: bool = True) -> None:
    """Replace `path` with `data` (mode 0600). `sync_folder=False` leaves the folder's `fsync`
    to the caller (`sync_folder(path.parent)`), for batches: one per file costs ~as much again
    as the file's own. Raises OSError; the old file is then untouched."""
    temp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}-{path.name}")
    descriptor = os.open(temp, _WRITE, FILE_MODE)
    try:
        try:
            _write_all(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if sync_folder:
        fsync_folder(path.parent)


@contextmanager
def previous_kept(path: Path) -> Iterator[Callable[[], None]]:
    """Keep the file at `path` as it is now while the block replaces it; the function it
    yields puts it back (or removes `path`, when there was none). The old file is kept as a
    hard link, so putting it back is a rename that needs no room on a full disk. The link
    is gone when the block ends."""
    kept: Path | None = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}-prev-{path.name}")
    assert kept is not None
    try:
        os.link(path, kept)
    except FileNotFoundError:
        kept = None

    def put_back() -> None:
        nonlocal kept
        if kept is None:
            path.unlink(missing_ok=True)
        else:
            os.replace(kept, path)
            kept = None
        fsync_folder(path.parent)

    try:
        yield put_back
    finally:
        if kept is not None:
            kept.unlink(missing_ok=True)


def write_new(path: Path, data: bytes) -> None:
    """Create `path` (mode 0600; it must not exist) holding `data`, `fsync`ed."""
    descriptor = os.open(path, _WRITE, FILE_MODE)
    try:
        _write_all(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_folder(folder: Path) -> None:
    """Make renames and new names in `folder` durable (a no-op where folders cannot be opened,
    as on Windows)."""
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def make_folder(folder: Path) -> None:
    """`folder` and its missing parents, mode 0700 (only this user reads a store)."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def is_temporary(path: Path) -> bool:
    return path.name.startswith(TEMP_PREFIX)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
