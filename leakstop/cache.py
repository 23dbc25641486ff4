"""A per-user cache directory for things that are slow to build and safe to rebuild
(compiled Hyperscan databases). Every failure to read or write it is silent: the cache
only ever saves time.

Entries are named `kind-<hex key>.ext` (`hyperscan-3f2a….db`). Each rule-set change makes new
ones, so `store` evicts: entries unused for MAX_AGE_SECONDS, and all but the MAX_ENTRIES most
recently used (`load` and `store` mark use through the file's mtime). Only files named like
entries (and this module's abandoned temporary files) are ever deleted, so a
`LEAKSTOP_CACHE_DIR` that points at a shared folder loses nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

#: Entries not read or written for this long are deleted.
MAX_AGE_SECONDS = 30 * 24 * 3600
#: At most this many entries stay. A rule set makes two (its compiled Hyperscan database,
#: a few MB, and its regex reaches) and each leakstop version one more (its parsed rule
#: files), so the last several rule sets (versions, repositories with their own rules) stay
#: warm; a miss costs a few seconds of compiling.
MAX_ENTRIES = 24

_ENTRY_NAME = r"[a-z][a-z0-9_]*-[0-9a-f]{16,64}\.[a-z]{1,8}"
_ENTRY = re.compile(_ENTRY_NAME)
#: What `store` writes before renaming: `.` + the entry's name + `.` + a random suffix.
_TEMPORARY = re.compile(rf"\.{_ENTRY_NAME}\.\w+")


def cache_dir() -> Path:
    """`$LEAKSTOP_CACHE_DIR`, else the platform's user cache folder."""
    override = os.environ.get("LEAKSTOP_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs  # ~10 ms, and most runs find the folder through the override or once

    return Path(platformdirs.user_cache_dir("leakstop", appauthor=False))


def load(name: str) -> bytes | None:
    path = cache_dir() / name
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # The mtime, not the atime, marks use: file systems are often mounted noatime.
    with contextlib.suppress(OSError):
        os.utime(path)
    return data


def store(name: str, data: bytes) -> None:
    """Write atomically, so a concurrent run never reads half a file; then evict.

    Raises ValueError for a name not shaped `kind-<hex key>.ext` (a bug: eviction would
    never see the entry)."""
    if not _ENTRY.fullmatch(name):
        raise ValueError(f"cache entry names look like kind-<hex key>.ext, not {name!r}")
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, folder / name)
    except OSError as exc:
        log.debug("cannot write the cache in %s: %s", folder, exc)
        return
    for path in files_to_evict(_files(folder), keep=name, now=time.time()):
        with contextlib.suppress(OSError):  # gone already, or in use (Windows)
            os.remove(folder / path)


def files_to_evict(files: Iterable[tuple[str, float]], keep: str, now: float) -> list[str]:
    """Which of the (name, mtime) files to delete: entries unused for MAX_AGE_SECONDS or
    beyond the MAX_ENTRIES most recently used, and temporary files as old (a write that
    was interrupted; a younger one may be another run's write in progress). Never `keep`,
    never a file not named like an entry."""
    stale = now - MAX_AGE_SECONDS
    entries = []
    doomed = []
    for name, mtime in files:
        if _ENTRY.fullmatch(name) and name != keep:
            entries.append((mtime, name))
        elif _TEMPORARY.fullmatch(name) and mtime < stale:
            doomed.append(name)
    entries.sort(reverse=True)
    # `keep` was just written: it is the most recently used, and takes one of the places.
    for place, (mtime, name) in enumerate(entries):
        if place >= MAX_ENTRIES - 1 or mtime < stale:
            doomed.append(name)
    return doomed


def _files(folder: Path) -> list[tuple[str, float]]:
    """(name, mtime) of each regular file in `folder`; none when it cannot be listed."""
    found = []
    with contextlib.suppress(OSError), os.scandir(folder) as listing:
        for entry in listing:
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    found.append((entry.name, entry.stat(follow_symlinks=False).st_mtime))
    return found
