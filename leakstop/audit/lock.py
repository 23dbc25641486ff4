"""One writer at a time: a lock on a file in the audit folder, held exclusively by every process
that appends, repairs, archives or prunes, and shared by `verify` so that it reads whole records
and an anchor that fits them.

POSIX uses `flock` (released by the kernel when the process dies, so a crashed writer never
leaves the log locked). Windows uses `msvcrt.locking` on the first byte, which has no shared
mode: there `verify` reads without the lock, and may report a record being written as torn.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"
_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the block; waits while another process holds it."""
    descriptor = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | _FLAGS, 0o600)
    try:
        _acquire(descriptor, shared=False)
        try:
            yield
        finally:
            _release(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def shared(folder: Path) -> Iterator[None]:
    """Hold the folder's lock shared, for readers. A folder no writer has locked yet, or one
    this user may only read, is read without it."""
    try:
        descriptor = os.open(folder / LOCK_NAME, os.O_RDONLY | _FLAGS)
    except (FileNotFoundError, PermissionError):
        yield
        return
    try:
        locked = _acquire(descriptor, shared=True)
        try:
            yield
        finally:
            if locked:
                _release(descriptor)
    finally:
        os.close(descriptor)


if sys.platform == "win32":
    import msvcrt

    def _acquire(descriptor: int, shared: bool) -> bool:
        if shared:
            return False
        os.lseek(descriptor, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)
                return True
            except OSError as exc:
                # EDEADLOCK: LK_LOCK gave up after its ten one-second retries; keep waiting.
                if exc.errno != errno.EDEADLOCK:
                    raise

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(descriptor: int, shared: bool) -> bool:
        fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        return True

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
