"""File locks for the store: one per org (`.lock`: shared by every operation, exclusive while
a rotation starts or ends, a backup is taken or restored) and one per secret (exclusive around
each read-modify-write). Always the org lock first, then the secret's: no deadlock.

POSIX uses `flock`, which the kernel drops when a process dies: a crash never leaves a store
locked. Windows has no shared mode in `msvcrt.locking`, so there every lock is exclusive
(correct, only less concurrent).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


@contextmanager
def locked(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the lock on the file `path` (created when missing) for the block; waits for it."""
    descriptor = os.open(path, _FLAGS, 0o600)
    try:
        _acquire(descriptor, shared)
        try:
            yield
        finally:
            _release(descriptor)
    finally:
        os.close(descriptor)


if sys.platform == "win32":
    import msvcrt

    def _acquire(descriptor: int, shared: bool) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)
                return
            except OSError as exc:
                # EDEADLOCK: LK_LOCK gave up after its ten one-second retries; keep waiting.
                if exc.errno != errno.EDEADLOCK:
                    raise

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(descriptor: int, shared: bool) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
